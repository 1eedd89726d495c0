//! The Keys page's dialogs for one key: Rotate (a new value, shown once, with a grace period
//! for the old one) and Delete (refused while the key is bound; typing the key's name
//! confirms).

use crate::domain::records::ApiKey;
use crate::error::AppError;
use crate::server_fns::keys::{delete_key, key_dependencies, rotate_key};
use crate::ui::components::{
    notify, send, DeleteDialog, Dialog, Form, SecretReveal, TypedConfirmation, GRACE_PERIODS,
};
use leptos::prelude::*;

#[component]
pub fn RotateKeyDialog(
    key: ApiKey,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let grace = RwSignal::new(0i64);
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let revealed = RwSignal::new(None::<String>);
    let kid = key.id.clone();
    let submit = Callback::new(move |_: ()| {
        let change = rotate_key(kid.clone(), grace.get_untracked());
        send(pending, server, change, move |created| {
            notify(false, format!("Key {} rotated.", created.key.name));
            revealed.set(Some(created.value));
        });
    });
    let name = key.name.clone();
    view! {
        <Dialog title="Rotate Key" on_close=on_close>
            {move || match revealed.get() {
                None => {
                    let name = name.clone();
                    view! {
                    <Form on_close=on_close on_submit=submit pending=pending server=server>
                        <p>"Give the key " <strong>{name.clone()}</strong> " a new value. Its ID, consumer and rules stay the same."</p>
                        <div class="field">
                            <label for="rotate-grace">"The old value keeps working for"</label>
                            <select id="rotate-grace" on:change=move |ev| grace.set(event_target_value(&ev).parse().unwrap_or(0))>
                                {GRACE_PERIODS.iter().map(|(s, label)| view! { <option value=s.to_string()>{*label}</option> }).collect_view()}
                            </select>
                        </div>
                    </Form>
                }.into_any()
                }
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
    let (check_id, delete_id) = (key.id.clone(), key.id.clone());
    let confirm = TypedConfirmation {
        label: format!("Enter the key name \"{}\" to confirm", key.name),
        expected: key.name.clone(),
    };
    view! {
        <DeleteDialog title="Delete Key" done="Key deleted." confirm=confirm
            check=move || key_dependencies(check_id.clone())
            delete=move || delete_key(delete_id.clone())
            on_close=on_close on_done=on_done>
            <p>"Delete the key " <strong>{key.name.clone()}</strong> "? Requests with it will be refused, and it cannot be restored."</p>
        </DeleteDialog>
    }
}
