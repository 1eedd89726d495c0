//! The Keys page's dialogs for one key: Rotate (a new value, shown once, with a grace period
//! for the old one) and Delete (refused while the key is bound; typing the key's name
//! confirms).

use crate::domain::records::ApiKey;
use crate::server_fns::keys::{delete_key, key_dependencies, rotate_key};
use crate::ui::components::{DeleteDialog, RotateDialog, Rotation, TypedConfirmation};
use leptos::prelude::*;

#[component]
pub fn RotateKeyDialog(
    key: ApiKey,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let id = key.id.clone();
    let rotation = Rotation {
        title: "Rotate Key",
        noun: "Key",
        what_happens: " a new value. Its ID, consumer and rules stay the same.",
        grace_id: "rotate-grace",
        grace_label: "The old value keeps working for",
        reveal_id: "rotated-key-value",
        reveal_label: "New API key",
        sealed: false,
    };
    let rotate = move |grace| {
        let change = rotate_key(id.clone(), grace);
        async move { change.await.map(|created| created.value) }
    };
    view! { <RotateDialog rotation=rotation name=key.name rotate=rotate on_close=on_close on_done=on_done /> }
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
