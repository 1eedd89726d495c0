//! Keys of an instance: list, create (optionally with an expiry), enable and disable,
//! rotate and delete. A key's value is shown once, in the dialog that created or rotated it,
//! and never again.

use super::dialogs::{DeleteKeyDialog, RotateKeyDialog};
use crate::domain::inputs::NewKey;
use crate::domain::keys::{masked, PlainApiKey};
use crate::domain::parse_time_utc;
use crate::domain::records::ApiKey;
use crate::error::AppError;
use crate::server_fns::keys::{create_key, list_keys, set_key_enabled};
use crate::ui::components::typed_name_error;
use crate::ui::components::LocalTime;
use crate::ui::components::{
    can_write, columns, notify, send, Dialog, Form, ListQuery, ListTable, SecretReveal, TextField,
    Toolbar,
};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn KeysPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let instance_id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let list_query = Memo::new(move |_| ListQuery::from_params(&query.read(), "key"));
    let reload = RwSignal::new(0u32);
    let creating = RwSignal::new(false);
    let open = RwSignal::new(None::<KeyDialog>);
    let writer = can_write();
    // `?new=1` (the New Consumer dialog's "New Key" link) opens the dialog once hydrated.
    Effect::new(move |_| {
        if query.read().get("new").as_deref() == Some("1") {
            creating.set(true);
        }
    });
    let keys = Resource::new(
        move || (instance_id.get(), list_query.get(), reload.get()),
        |(iid, q, _)| list_keys(iid, q.q, false, Some(q.page), Some(q.size)),
    );
    view! {
        <h1>"Keys"</h1>
        <Toolbar new_label="New Key" on_new=move |_| creating.set(true)
            search_id="key-search" search_label="Search keys by name or prefix" search_placeholder="Search by name or prefix"
            search=Signal::derive(move || list_query.get().q) />
        <ListTable what="keys" page=keys query=list_query selected_key="key"
            columns=columns(&["Name", "Key", "Bound consumer", "Status", "Expiry", "Creation Time"], writer)
            row=move |k: ApiKey, _: &ListQuery| {
                let iid = instance_id.get_untracked();
                let consumer = k.consumer.clone().map(|c| view! { <a href=format!("/instances/{iid}/consumers?consumer={}", c.id)>{c.name}</a> });
                let actions = writer.then(|| key_actions(k.clone(), open, reload));
                view! {
                    <tr>
                        <td>{k.name}</td>
                        <td class="mono">{masked(&k.prefix)}</td>
                        <td>{consumer}</td>
                        <td>{if k.enabled { "Enabled" } else { "Disabled" }}</td>
                        <td>{k.expires_at.map(|t| view! { <LocalTime ms=t /> }.into_any()).unwrap_or_else(|| "Never".into_any())}</td>
                        <td><LocalTime ms=k.created_at /></td>
                        {actions}
                    </tr>
                }
            } />
        <Show when=move || creating.get()>
            <NewKeyDialog instance_id=instance_id.get_untracked() on_close=move || {
                creating.set(false);
                reload.update(|r| *r += 1);
                // Opened from the New Consumer dialog: go back to it, with the new key there.
                if query.get_untracked().get("back").as_deref() == Some("consumer") {
                    let back = format!("/instances/{}/consumers?new=1", instance_id.get_untracked());
                    let _ = window().location().set_href(&back);
                }
            } />
        </Show>
        {move || {
            let done = move || { open.set(None); reload.update(|r| *r += 1) };
            match open.get() {
                Some(KeyDialog::Rotate(k)) => view! { <RotateKeyDialog key=k on_close=move || open.set(None) on_done=done /> }.into_any(),
                Some(KeyDialog::Delete(k)) => view! { <DeleteKeyDialog key=k on_close=move || open.set(None) on_done=done /> }.into_any(),
                None => ().into_any(),
            }
        }}
    }
}

/// Which per-key dialog is open.
#[derive(Clone)]
enum KeyDialog {
    Rotate(ApiKey),
    Delete(ApiKey),
}

/// Enable/Disable (at once), Rotate and Delete (in a dialog), each named with the key.
fn key_actions(
    k: ApiKey,
    open: RwSignal<Option<KeyDialog>>,
    reload: RwSignal<u32>,
) -> impl IntoView {
    let (id, name, enabled, version) = (k.id.clone(), k.name.clone(), k.enabled, k.version);
    let toggle = move |_| {
        let (id, name) = (id.clone(), name.clone());
        leptos::task::spawn_local(async move {
            match set_key_enabled(id, !enabled, version).await {
                Ok(_) => notify(
                    false,
                    format!(
                        "Key {name} {}.",
                        if enabled { "disabled" } else { "enabled" }
                    ),
                ),
                Err(e) => notify(true, e.to_string()),
            }
            reload.update(|r| *r += 1);
        });
    };
    let toggle_label = format!(
        "{} key {}",
        if enabled { "Disable" } else { "Enable" },
        k.name
    );
    let (rotate_label, delete_label) = (
        format!("Rotate key {}", k.name),
        format!("Delete key {}", k.name),
    );
    let (for_rotate, for_delete) = (k.clone(), k);
    view! {
        <td class="actions-cell">
            <button type="button" class="link" aria-label=toggle_label on:click=toggle>{if enabled { "Disable" } else { "Enable" }}</button>
            <button type="button" class="link" aria-label=rotate_label on:click=move |_| open.set(Some(KeyDialog::Rotate(for_rotate.clone())))>"Rotate"</button>
            <button type="button" class="link danger" aria-label=delete_label on:click=move |_| open.set(Some(KeyDialog::Delete(for_delete.clone())))>"Delete"</button>
        </td>
    }
}

#[component]
fn NewKeyDialog(instance_id: String, #[prop(into)] on_close: Callback<()>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let expiry = RwSignal::new(String::new());
    let expiry_local = RwSignal::new(None::<String>);
    let custom = RwSignal::new(false);
    let value = RwSignal::new(String::new());
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let revealed = RwSignal::new(None::<String>);
    let name_error = typed_name_error(name, server, "Name");
    let value_error = move || {
        let v = value.get();
        (!v.is_empty())
            .then(|| PlainApiKey::custom(&v).err().map(|e| e.to_string()))
            .flatten()
            .or_else(|| server.get().and_then(|e| e.field_message("Value")))
    };
    let expiry_error = move || {
        expiry_local
            .get()
            .or_else(|| server.get().and_then(|e| e.field_message("ExpiresAt")))
    };
    let submit = Callback::new(move |_: ()| {
        server.set(None);
        let text = expiry.get_untracked();
        let expires_at = if text.trim().is_empty() {
            None
        } else if let Some(t) = parse_time_utc(&text) {
            Some(t)
        } else {
            expiry_local.set(Some(
                "Enter the expiry date and time, or leave it empty.".into(),
            ));
            return;
        };
        expiry_local.set(None);
        let input = NewKey {
            instance_id: instance_id.clone(),
            name: name.get_untracked(),
            expires_at,
            value: custom.get_untracked().then(|| value.get_untracked()),
        };
        send(pending, server, create_key(input), move |created| {
            notify(false, format!("Key {} created.", created.key.name));
            revealed.set(Some(created.value));
        });
    });
    view! {
        <Dialog title="New Key" on_close=on_close>
            {move || match revealed.get() {
                None => view! {
                    <Form on_close=on_close on_submit=submit pending=pending server=server fields=&["Name", "ExpiresAt", "Value"]>
                        <TextField id="key-name" label="Key name" value=name error=name_error required=true />
                        <div class="field">
                            <label for="key-expiry">"Expiry time (UTC, optional)"</label>
                            <input id="key-expiry" type="datetime-local" step="1" aria-describedby="key-expiry-error"
                                prop:value=move || expiry.get() on:input=move |ev| expiry.set(event_target_value(&ev)) />
                            <p class="field-error" id="key-expiry-error">{expiry_error}</p>
                        </div>
                        <fieldset class="choice">
                            <legend>"Key value"</legend>
                            <label><input type="radio" name="key-value-kind" prop:checked=move || !custom.get() on:change=move |_| custom.set(false) />" Generated by the server (recommended)"</label>
                            <label><input type="radio" name="key-value-kind" prop:checked=move || custom.get() on:change=move |_| custom.set(true) />" Custom value"</label>
                        </fieldset>
                        <Show when=move || custom.get() fallback=|| view! { <p class="hint">"The key value is generated by the server from a cryptographically secure random source."</p> }>
                            <div class="field">
                                <label for="key-custom-value">"Custom value (32–256 characters)"</label>
                                <input id="key-custom-value" type="text" autocomplete="off" class="mono" aria-describedby="key-custom-value-error"
                                    prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev)) />
                                <p class="field-error" id="key-custom-value-error">{move || value_error()}</p>
                            </div>
                        </Show>
                    </Form>
                }.into_any(),
                Some(value) => view! {
                    <SecretReveal id="new-key-value" label="API key" value=value on_done=on_close />
                }.into_any(),
            }}
        </Dialog>
    }
}
