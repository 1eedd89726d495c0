//! The delete dialog every record shares: the question, the dependency check with Recheck,
//! optionally the record's name typed to confirm, and OK only when nothing is in the way. A
//! delete the server refuses (something appeared meanwhile) shows why and checks again.

use super::{is_clean, notify, DependencyCheck, Dialog};
use crate::domain::records::Dependency;
use crate::error::AppError;
use leptos::prelude::*;
use std::future::Future;

/// The name to type before OK is enabled: the field's label and the expected text.
pub struct TypedConfirmation {
    pub label: String,
    pub expected: String,
}

#[component]
pub fn DeleteDialog<C, CF, D, DF>(
    title: &'static str,
    /// Loads what keeps the record from being deleted.
    check: C,
    /// Deletes the record.
    delete: D,
    /// The notice shown once it is gone.
    done: &'static str,
    #[prop(optional)] confirm: Option<TypedConfirmation>,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
    /// The question: what is deleted and what follows.
    children: Children,
) -> impl IntoView
where
    C: Fn() -> CF + Send + Sync + 'static,
    CF: Future<Output = Result<Vec<Dependency>, AppError>> + Send + 'static,
    D: Fn() -> DF + Clone + Send + Sync + 'static,
    DF: Future<Output = Result<(), AppError>> + 'static,
{
    let recheck = RwSignal::new(0u32);
    let deps = Resource::new(move || recheck.get(), move |_| check());
    let clean = Signal::derive(move || is_clean(deps));
    let typed = RwSignal::new(String::new());
    let expected = confirm.as_ref().map(|c| c.expected.clone());
    let confirmed = Signal::derive(move || expected.as_ref().is_none_or(|e| *e == typed.get()));
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !(clean.get_untracked() && confirmed.get_untracked()) {
            return;
        }
        let delete = delete.clone();
        leptos::task::spawn_local(async move {
            match delete().await {
                Ok(()) => {
                    notify(false, done.to_owned());
                    on_done.run(());
                }
                Err(e) => {
                    error.set(Some(e.to_string()));
                    recheck.update(|r| *r += 1);
                }
            }
        });
    };
    view! {
        <Dialog title=title on_close=on_close>
            <form on:submit=submit>
                {children()}
                <DependencyCheck deps=deps recheck=recheck />
                {confirm.map(|c| view! {
                    <div class="field">
                        <label for="delete-confirm">{c.label}</label>
                        <input id="delete-confirm" type="text" autocomplete="off" prop:value=move || typed.get() on:input=move |ev| typed.set(event_target_value(&ev)) />
                    </div>
                })}
                <p role="alert" class="field-error">{move || error.get()}</p>
                <div class="actions">
                    <button type="submit" class="primary" disabled=move || !(clean.get() && confirmed.get())>"OK"</button>
                    <button type="button" on:click=move |_| on_close.run(())>"Cancel"</button>
                </div>
            </form>
        </Dialog>
    }
}
