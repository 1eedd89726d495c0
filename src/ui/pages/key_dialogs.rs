//! The Keys page's dialogs for one key: Rotate (a new value, shown once, with a grace period
//! for the old one) and Delete (refused while the key is bound; typing the key's name
//! confirms).

use crate::domain::records::ApiKey;
use crate::server_fns::instances::{delete_key, key_dependencies, rotate_key};
use crate::ui::components::{is_clean, notify, DependencyCheck, Dialog, SecretReveal};
use leptos::prelude::*;

/// The grace periods offered for the old value, in seconds.
const GRACE_PERIODS: &[(i64, &str)] = &[
    (0, "None: the old value stops at once"),
    (3_600, "1 hour"),
    (86_400, "24 hours"),
    (604_800, "7 days"),
];

#[component]
pub fn RotateKeyDialog(
    key: ApiKey,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let grace = RwSignal::new(0i64);
    let error = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);
    let revealed = RwSignal::new(None::<String>);
    let kid = key.id.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (id, seconds) = (kid.clone(), grace.get_untracked());
        pending.set(true);
        leptos::task::spawn_local(async move {
            match rotate_key(id, seconds).await {
                Ok(created) => {
                    notify(false, format!("Key {} rotated.", created.key.name));
                    revealed.set(Some(created.value));
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            pending.set(false);
        });
    };
    let name = key.name.clone();
    view! {
        <Dialog title="Rotate Key" on_close=on_close>
            {move || match revealed.get() {
                None => view! {
                    <form on:submit=submit.clone()>
                        <p>"Give the key " <strong>{name.clone()}</strong> " a new value. Its ID, consumer and rules stay the same."</p>
                        <div class="field">
                            <label for="rotate-grace">"The old value keeps working for"</label>
                            <select id="rotate-grace" on:change=move |ev| grace.set(event_target_value(&ev).parse().unwrap_or(0))>
                                {GRACE_PERIODS.iter().map(|(s, label)| view! { <option value=s.to_string()>{*label}</option> }).collect_view()}
                            </select>
                        </div>
                        <p role="alert" class="field-error">{move || error.get()}</p>
                        <div class="actions">
                            <button type="submit" class="primary" disabled=move || pending.get()>"OK"</button>
                            <button type="button" on:click=move |_| on_close.run(())>"Cancel"</button>
                        </div>
                    </form>
                }.into_any(),
                Some(value) => view! {
                    <SecretReveal id="rotated-key-value" label="New API key" value=value on_done=on_done />
                }.into_any(),
            }}
        </Dialog>
    }
}

#[component]
pub fn DeleteKeyDialog(
    key: ApiKey,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let recheck = RwSignal::new(0u32);
    let id = key.id.clone();
    let deps = Resource::new(move || recheck.get(), move |_| key_dependencies(id.clone()));
    let typed = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let clean = Signal::derive(move || is_clean(deps));
    let expected = key.name.clone();
    let matches = Signal::derive(move || typed.get() == expected);
    let del_id = key.id.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !(clean.get_untracked() && matches.get_untracked()) {
            return;
        }
        let id = del_id.clone();
        leptos::task::spawn_local(async move {
            match delete_key(id).await {
                Ok(()) => {
                    notify(false, "Key deleted.".to_owned());
                    on_done.run(());
                }
                Err(e) => {
                    error.set(Some(e.to_string()));
                    recheck.update(|r| *r += 1);
                }
            }
        });
    };
    let name = key.name.clone();
    view! {
        <Dialog title="Delete Key" on_close=on_close>
            <form on:submit=submit>
                <p>"Delete the key " <strong>{name.clone()}</strong> "? Requests with it will be refused, and it cannot be restored."</p>
                <DependencyCheck deps=deps recheck=recheck />
                <div class="field">
                    <label for="delete-key-confirm">{format!("Enter the key name \"{name}\" to confirm")}</label>
                    <input id="delete-key-confirm" type="text" autocomplete="off" prop:value=move || typed.get() on:input=move |ev| typed.set(event_target_value(&ev)) />
                </div>
                <p role="alert" class="field-error">{move || error.get()}</p>
                <div class="actions">
                    <button type="submit" class="primary" disabled=move || !(clean.get() && matches.get())>"OK"</button>
                    <button type="button" on:click=move |_| on_close.run(())>"Cancel"</button>
                </div>
            </form>
        </Dialog>
    }
}
