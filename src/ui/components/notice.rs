//! Result and error notices, announced to screen readers.

use leptos::prelude::*;

/// The current notice: `(is_error, text)`.
#[derive(Clone, Copy)]
pub struct Notices(pub RwSignal<Option<(bool, String)>>);

/// Shows a notice from anywhere below `<Notice/>`'s provider.
pub fn notify(is_error: bool, text: impl Into<String>) {
    if let Some(n) = use_context::<Notices>() {
        n.0.set(Some((is_error, text.into())));
    }
}

#[component]
pub fn Notice() -> impl IntoView {
    let notices = expect_context::<Notices>();
    view! {
        <div class="notice-area" role="status" aria-live="polite">
            {move || {
                notices
                    .0
                    .get()
                    .map(|(is_error, text)| {
                        view! {
                            <p class="notice" class:notice-error=is_error>
                                {text}
                                <button type="button" class="link" on:click=move |_| notices.0.set(None)>
                                    "Dismiss"
                                </button>
                            </p>
                        }
                    })
            }}
        </div>
    }
}
