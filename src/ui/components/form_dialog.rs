//! The frame of every form in a dialog: the modal `Dialog`, a form that is checked in the
//! browser before it is sent (fields show their own errors, from `domain/` as the user types
//! and from the server after a refusal), the server's other errors as one alert under the
//! fields, and the same two buttons: the submit (disabled while the change is on its way)
//! and Cancel.

use super::Dialog;
use crate::error::AppError;
use leptos::prelude::*;

/// A form in a dialog (see [`Form`] for the props).
#[component]
pub fn FormDialog(
    #[prop(into)] title: String,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_submit: Callback<()>,
    pending: RwSignal<bool>,
    server: RwSignal<Option<AppError>>,
    #[prop(optional)] fields: &'static [&'static str],
    #[prop(optional, into)] invalid: Option<Signal<bool>>,
    #[prop(optional, into)] ready: Option<Signal<bool>>,
    #[prop(optional)] submit_label: Option<&'static str>,
    #[prop(optional)] danger: bool,
    children: Children,
) -> impl IntoView {
    view! {
        <Dialog title=title on_close=on_close>
            <Form on_close=on_close on_submit=on_submit pending=pending server=server fields=fields
                invalid=invalid ready=ready submit_label=submit_label danger=danger>
                {children()}
            </Form>
        </Dialog>
    }
}

/// The form itself, for a dialog that shows something else once it is sent (a secret shown
/// once): its fields, the alert for the server's other errors, OK and Cancel.
#[component]
pub fn Form(
    #[prop(into)] on_close: Callback<()>,
    /// Sends the form; typically `save(…)`. Runs only when `invalid` says nothing.
    #[prop(into)]
    on_submit: Callback<()>,
    /// True while the change is on its way.
    pending: RwSignal<bool>,
    /// The server's refusal of the last attempt.
    server: RwSignal<Option<AppError>>,
    /// The fields (by the server's field name, "Name") that show their own server error
    /// beside them; any other refusal is shown under the form.
    #[prop(optional)]
    fields: &'static [&'static str],
    /// True while a field's own check fails: the form is not sent then (OK stays enabled,
    /// and the fields say what is wrong).
    #[prop(optional_no_strip)]
    invalid: Option<Signal<bool>>,
    /// False until a choice or confirmation the form needs is made: OK is disabled until then.
    #[prop(optional_no_strip)]
    ready: Option<Signal<bool>>,
    /// The submit button's text ("OK" unless said).
    #[prop(optional_no_strip)]
    submit_label: Option<&'static str>,
    /// The submit takes something away (revoke, unbind): drawn as such.
    #[prop(optional)]
    danger: bool,
    children: Children,
) -> impl IntoView {
    let other = move || {
        server
            .get()
            .filter(|e| fields.iter().all(|f| e.field_message(f).is_none()))
            .map(|e| e.to_string())
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let not_ready = ready.is_some_and(|r| !r.get_untracked());
        if pending.get_untracked() || not_ready || invalid.is_some_and(|i| i.get_untracked()) {
            return;
        }
        on_submit.run(());
    };
    view! {
        <form on:submit=submit novalidate>
            {children()}
            <p role="alert" class="field-error">{other}</p>
            <div class="actions">
                <button type="submit" class=if danger { "primary danger" } else { "primary" } disabled=move || pending.get() || ready.is_some_and(|r| !r.get())>{submit_label.unwrap_or("OK")}</button>
                <button type="button" on:click=move |_| on_close.run(())>"Cancel"</button>
            </div>
        </form>
    }
}
