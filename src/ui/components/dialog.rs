//! A real modal dialog: the native `<dialog>` opened with `showModal()`, so focus is trapped
//! and the rest of the page is inert; Esc closes it; the title labels it.

use super::notify;
use crate::error::AppError;
use leptos::html;
use leptos::prelude::*;
use std::future::Future;

#[component]
pub fn Dialog(
    #[prop(into)] title: String,
    #[prop(into)] on_close: Callback<()>,
    children: Children,
) -> impl IntoView {
    let node = NodeRef::<html::Dialog>::new();
    Effect::new(move |_| {
        if let Some(d) = node.get() {
            if !d.open() {
                let _ = d.show_modal();
            }
        }
    });
    // Esc closes, wherever the focus is (a re-render inside the dialog can drop it to the
    // body, where the native `cancel` no longer reaches us).
    let esc = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            on_close.run(());
        }
    });
    on_cleanup(move || esc.remove());
    let title_id = format!("dialog-{}", title.to_ascii_lowercase().replace(' ', "-"));
    let labelled_by = title_id.clone();
    view! {
        <dialog
            node_ref=node
            class="dialog"
            aria-labelledby=labelled_by
            on:cancel=move |ev: leptos::ev::Event| ev.prevent_default()
        >
            <h2 id=title_id>{title}</h2>
            {children()}
        </dialog>
    }
}

/// Sends a dialog's change: `pending` while it runs; then the notice `done` makes of the
/// result and `on_done`, or the server's error kept in `server` for the dialog to show beside
/// its fields.
pub fn save<T: 'static>(
    pending: RwSignal<bool>,
    server: RwSignal<Option<AppError>>,
    change: impl Future<Output = Result<T, AppError>> + 'static,
    done: impl FnOnce(&T) -> String + 'static,
    on_done: Callback<()>,
) {
    send(pending, server, change, move |value| {
        notify(false, done(&value));
        on_done.run(());
    });
}

/// Sends a dialog's change as `save` does, but hands the answer to `on_ok` (a dialog that
/// goes on to show what came back, such as a secret shown once).
pub fn send<T: 'static>(
    pending: RwSignal<bool>,
    server: RwSignal<Option<AppError>>,
    change: impl Future<Output = Result<T, AppError>> + 'static,
    on_ok: impl FnOnce(T) + 'static,
) {
    server.set(None);
    pending.set(true);
    leptos::task::spawn_local(async move {
        match change.await {
            Ok(value) => on_ok(value),
            Err(e) => server.set(Some(e)),
        }
        pending.set(false);
    });
}
