//! The one-time reveal of a freshly generated secret (an API key, a credential's secret or a
//! REST token), with a Copy button, and the rotation dialog that makes one. Once the dialog
//! closes the value is gone from the page for good.

use super::{notify, send, Dialog, Form};
use crate::error::AppError;
use leptos::prelude::*;

/// The grace periods a rotation offers the old value (of a key or a credential's secret), in
/// seconds.
pub const GRACE_PERIODS: &[(i64, &str)] = &[
    (0, "None: the old value stops at once"),
    (3_600, "1 hour"),
    (86_400, "24 hours"),
    (604_800, "7 days"),
];

#[component]
pub fn SecretReveal(
    id: &'static str,
    label: &'static str,
    value: String,
    #[prop(into)] on_done: Callback<()>,
    /// The value is kept sealed (a signing secret the check must read), not as a hash.
    #[prop(optional)]
    sealed: bool,
) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy_value = value.clone();
    let copy = move |_| {
        let _ = window().navigator().clipboard().write_text(&copy_value);
        copied.set(true);
    };
    view! {
        <p class="warning">{if sealed {
            "Copy it now. This is the only time it is shown: the console keeps it encrypted and never shows it again."
        } else {
            "Copy it now. This is the only time it is shown: the console keeps only its hash."
        }}</p>
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

/// What a rotation dialog calls the thing it rotates and its secret.
pub struct Rotation {
    /// The dialog's title: "Rotate Key".
    pub title: &'static str,
    /// "Key", "Credential": what the form and the notice call it.
    pub noun: &'static str,
    /// What the form says after the name: " a new value. Its ID … stay the same."
    pub what_happens: &'static str,
    /// The grace period select's ID and label.
    pub grace_id: &'static str,
    pub grace_label: &'static str,
    /// The new secret's field ID and label, and whether it is kept sealed (not hashed).
    pub reveal_id: &'static str,
    pub reveal_label: &'static str,
    pub sealed: bool,
}

/// Rotate: the old secret's grace period asked for, then the new secret shown once.
/// `rotate` makes the new secret with a grace period in seconds and answers it.
#[component]
pub fn RotateDialog<F, Fut>(
    rotation: Rotation,
    /// The name of what rotates.
    name: String,
    rotate: F,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView
where
    F: Fn(i64) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<String, AppError>> + 'static,
{
    let grace = RwSignal::new(0i64);
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let revealed = RwSignal::new(None::<String>);
    let Rotation {
        title,
        noun,
        what_happens,
        grace_id,
        grace_label,
        reveal_id,
        reveal_label,
        sealed,
    } = rotation;
    let done = format!("{noun} {name} rotated.");
    let submit = Callback::new(move |_: ()| {
        let done = done.clone();
        send(
            pending,
            server,
            rotate(grace.get_untracked()),
            move |secret| {
                notify(false, done);
                revealed.set(Some(secret));
            },
        );
    });
    let noun = noun.to_lowercase();
    view! {
        <Dialog title=title on_close=on_close>
            {move || match revealed.get() {
                None => {
                    let (noun, name) = (noun.clone(), name.clone());
                    view! {
                    <Form on_close=on_close on_submit=submit pending=pending server=server>
                        <p>"Give the " {noun} " " <strong>{name}</strong> {what_happens}</p>
                        <div class="field">
                            <label for=grace_id>{grace_label}</label>
                            <select id=grace_id on:change=move |ev| grace.set(event_target_value(&ev).parse().unwrap_or(0))>
                                {GRACE_PERIODS.iter().map(|(s, label)| view! { <option value=s.to_string()>{*label}</option> }).collect_view()}
                            </select>
                        </div>
                    </Form>
                }.into_any()
                }
                Some(secret) => view! {
                    <SecretReveal id=reveal_id label=reveal_label value=secret sealed=sealed on_done=on_done />
                }.into_any(),
            }}
        </Dialog>
    }
}
