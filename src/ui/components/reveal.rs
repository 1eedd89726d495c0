//! The one-time reveal of a freshly generated secret (an API key or a REST token), with a
//! Copy button. Once the dialog closes the value is gone from the page for good.

use leptos::prelude::*;

#[component]
pub fn SecretReveal(
    id: &'static str,
    label: &'static str,
    value: String,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy_value = value.clone();
    let copy = move |_| {
        let _ = window().navigator().clipboard().write_text(&copy_value);
        copied.set(true);
    };
    view! {
        <p class="warning">"Copy it now. This is the only time it is shown: the console keeps only its hash."</p>
        <div class="field">
            <label for=id>{label}</label>
            <input id=id class="mono" type="text" readonly value=value />
        </div>
        <div class="actions">
            <button type="button" on:click=copy>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
            <button type="button" class="primary" on:click=move |_| on_done.run(())>"Done"</button>
        </div>
    }
}
