//! Labelled form fields whose errors are announced and tied to the input.

use crate::domain::{Description, Name};
use crate::error::AppError;
use leptos::prelude::*;

/// A text input (or textarea) with its `<label>` and an inline error.
#[component]
pub fn TextField(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(optional)] required: bool,
    #[prop(optional)] multiline: bool,
    #[prop(optional, into)] on_edit: Option<Callback<()>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let described_by = error_id.clone();
    let invalid = move || {
        if error.get().is_some() {
            "true"
        } else {
            "false"
        }
    };
    let on_input = move |ev: leptos::ev::Event| {
        value.set(event_target_value(&ev));
        if let Some(cb) = on_edit {
            cb.run(());
        }
    };
    let input = if multiline {
        view! {
            <textarea id=id rows="3" aria-invalid=invalid aria-describedby=described_by.clone() prop:value=move || value.get() on:input=on_input></textarea>
        }
        .into_any()
    } else {
        view! {
            <input
                id=id
                type="text"
                autocomplete="off"
                required=required
                aria-invalid=invalid
                aria-describedby=described_by.clone()
                prop:value=move || value.get()
                on:input=on_input
            />
        }
        .into_any()
    };
    view! {
        <div class="field">
            <label for=id>{label} {required.then_some(view! { <span class="required" aria-hidden="true">" *"</span> })}</label>
            {input}
            <p class="field-error" id=error_id>{move || error.get()}</p>
        </div>
    }
}

/// A labelled multi-select whose chosen values land in `selected`.
#[component]
pub fn SelectMany(
    id: &'static str,
    label: &'static str,
    options: Vec<(String, String)>,
    selected: RwSignal<Vec<String>>,
) -> impl IntoView {
    let on_change = move |ev: leptos::ev::Event| selected.set(selected_values(&ev));
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <select id=id multiple size="4" on:change=on_change>
                {options
                    .into_iter()
                    .map(|(value, text)| {
                        let v = value.clone();
                        view! { <option value=value selected=move || selected.get().contains(&v)>{text}</option> }
                    })
                    .collect_view()}
            </select>
        </div>
    }
}

/// The values of the selected options of the `<select>` an event came from.
pub fn selected_values(ev: &leptos::ev::Event) -> Vec<String> {
    use wasm_bindgen::JsCast;
    let Some(select) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
    else {
        return vec![];
    };
    let options = select.selected_options();
    (0..options.length())
        .filter_map(|i| options.item(i))
        .filter_map(|e| e.dyn_into::<web_sys::HtmlOptionElement>().ok())
        .map(|o| o.value())
        .collect()
}

/// A labelled single-choice `<select>` whose value lands in `value`.
#[component]
pub fn SelectOne(
    id: &'static str,
    label: &'static str,
    options: Vec<(String, String)>,
    value: RwSignal<String>,
    #[prop(optional, into)] error: Option<Signal<Option<String>>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <select id=id aria-describedby=error_id.clone() on:change=move |ev| value.set(event_target_value(&ev))>
                {options
                    .into_iter()
                    .map(|(v, text)| {
                        let current = v.clone();
                        view! { <option value=v selected=move || value.get() == current>{text}</option> }
                    })
                    .collect_view()}
            </select>
            <p class="field-error" id=error_id>{move || error.and_then(|e| e.get())}</p>
        </div>
    }
}

/// The inline error of a name field as the user types: the same `Name::parse` the server runs,
/// once something is typed; until then (and when the browser finds nothing) what the server
/// said about `field`.
pub fn typed_name_error(
    value: RwSignal<String>,
    server: RwSignal<Option<AppError>>,
    field: &'static str,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        let typed = value.get();
        (!typed.is_empty())
            .then(|| Name::parse(&typed).err().map(|e| e.to_string()))
            .flatten()
            .or_else(|| server.get().and_then(|e| e.field_message(field)))
    })
}

/// The inline error of a description field, from the same `Description::parse` the server
/// runs.
pub fn description_error(value: RwSignal<String>) -> Signal<Option<String>> {
    Signal::derive(move || {
        Description::parse(&value.get())
            .err()
            .map(|e| e.to_string())
    })
}
