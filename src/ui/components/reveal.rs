//! The one-time reveal of a freshly generated secret (an API key or a REST token), with a
//! Copy button. Once the dialog closes the value is gone from the page for good.

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
