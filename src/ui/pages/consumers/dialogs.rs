//! The dialogs of the consumer page, with the titles and labels of the cloud
//! consoles' Consumer page, so their users recognise them. Names and
//! descriptions are checked as the user types by the same parsers the server uses.

use crate::domain::inputs::{ConsumerUpdate, NewConsumer};
use crate::domain::records::{Consumer, Credential};
use crate::domain::{Description, Name};
use crate::error::AppError;
use crate::server_fns::consumers::{
    consumer_dependencies, create_consumer, delete_consumer, unbind_credential, update_consumer,
};
use crate::server_fns::groups::list_groups;
use crate::server_fns::keys::list_keys;
use crate::ui::components::description_error;
use crate::ui::components::{save, DeleteDialog, FormDialog, SelectMany, TextField};
use leptos::prelude::*;

/// Error of the name field: the local rule once something is typed, else the server's word.
fn name_error(
    name: RwSignal<String>,
    touched: RwSignal<bool>,
    server: RwSignal<Option<AppError>>,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        let local = (touched.get() || !name.get().is_empty())
            .then(|| Name::parse(&name.get()).err())
            .flatten();
        local
            .map(|e| e.to_string())
            .or_else(|| server.get().and_then(|e| e.field_message("Name")))
    })
}

/// The fields that show their own server errors.
const FIELDS: &[&str] = &["Name", "Description"];

#[component]
pub fn NewConsumerDialog(
    instance_id: String,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let groups = RwSignal::new(Vec::<String>::new());
    let keys = RwSignal::new(Vec::<String>::new());
    let touched = RwSignal::new(false);
    let server = RwSignal::new(None::<AppError>);
    let iid = instance_id.clone();
    let choices = Resource::new(
        || (),
        move |_| {
            let iid = iid.clone();
            async move {
                let g = list_groups(iid.clone(), String::new(), Some(1), Some(100)).await?;
                let k = list_keys(iid, String::new(), true, Some(1), Some(100)).await?;
                Ok::<_, AppError>((g.items, k.items))
            }
        },
    );
    let pending = RwSignal::new(false);
    // The Keys page opens its New Key dialog and, when it closes, comes back here.
    let keys_href = format!("/instances/{instance_id}/keys?new=1&back=consumer");
    let submit = move |_| {
        touched.set(true);
        server.set(None);
        let (name, description) = (name.get_untracked(), description.get_untracked());
        if Name::parse(&name).is_err() || Description::parse(&description).is_err() {
            return;
        }
        let input = NewConsumer {
            instance_id: instance_id.clone(),
            name,
            group_ids: groups.get_untracked(),
            key_ids: keys.get_untracked(),
            description,
        };
        save(
            pending,
            server,
            create_consumer(input),
            |c| format!("Consumer {} created with ID {}.", c.name, c.id),
            on_done,
        );
    };
    view! {
        <FormDialog title="New Consumer" on_close=on_close on_submit=submit pending=pending server=server fields=FIELDS>
                <TextField id="consumer-name" label="Consumer name" value=name error=name_error(name, touched, server) required=true on_edit=move || server.set(None) />
                <p class="hint">"Up to 60 characters: letters (English or Chinese), digits, \"-\" and \"_\". Cannot start with a digit or separator, or end with a separator."</p>
                <Suspense fallback=|| view! { <p class="loading">"Loading groups and keys…"</p> }>
                    {move || Suspend::new(async move {
                        match choices.await {
                            Ok((g, k)) => view! {
                                <SelectMany id="consumer-groups" label="Consumer group" options=g.into_iter().map(|g| (g.id, g.name)).collect() selected=groups />
                                <SelectMany id="consumer-keys" label="Selecting a secret" options=k.into_iter().map(|k| (k.id, format!("{} ({})", k.name, crate::domain::keys::masked(&k.prefix)))).collect() selected=keys />
                            }.into_any(),
                            Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Suspense>
                <p class="hint">"No suitable key? " <a href=keys_href>"New Key"</a></p>
                <TextField id="consumer-description" label="Description" value=description error=description_error(description) multiline=true />
        </FormDialog>
    }
}

#[component]
pub fn EditConsumerDialog(
    consumer: Consumer,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let name = RwSignal::new(consumer.name.clone());
    let description = RwSignal::new(consumer.description.clone());
    let touched = RwSignal::new(true);
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let (id, version) = (consumer.id.clone(), consumer.version);
    let submit = move |_| {
        server.set(None);
        let (name, description) = (name.get_untracked(), description.get_untracked());
        if Name::parse(&name).is_err() || Description::parse(&description).is_err() {
            return;
        }
        let input = ConsumerUpdate {
            name,
            description,
            version,
        };
        save(
            pending,
            server,
            update_consumer(id.clone(), input),
            |c| format!("Consumer {} saved.", c.name),
            on_done,
        );
    };
    view! {
        <FormDialog title="Edit Consumer" on_close=on_close on_submit=submit pending=pending server=server fields=FIELDS>
                <p class="note">"Groups and keys cannot be changed here: see the consumer groups in Basic Information of the consumer details, and manage keys under Credential Management."</p>
                <TextField id="edit-consumer-name" label="Consumer name" value=name error=name_error(name, touched, server) required=true />
                <TextField id="edit-consumer-description" label="Description" value=description error=description_error(description) multiline=true />
        </FormDialog>
    }
}

#[component]
pub fn DeleteConsumerDialog(
    consumer: Consumer,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let (check_id, delete_id) = (consumer.id.clone(), consumer.id.clone());
    view! {
        <DeleteDialog title="Delete Consumer" done="Consumer deleted."
            check=move || consumer_dependencies(check_id.clone())
            delete=move || delete_consumer(delete_id.clone())
            on_close=on_close on_done=on_done>
            <p>"Delete the consumer " <strong>{consumer.name.clone()}</strong> "? The system checks whether it is still bound to other resources."</p>
        </DeleteDialog>
    }
}

#[component]
pub fn UnbindDialog(
    consumer: Consumer,
    credential: Credential,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let typed = RwSignal::new(String::new());
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let key_name = credential.name.clone();
    let expected = key_name.clone();
    let matches = Signal::derive(move || typed.get() == expected);
    let (cid, kid) = (consumer.id.clone(), credential.credential_id.clone());
    let submit = move |_| {
        let change = unbind_credential(cid.clone(), kid.clone());
        save(
            pending,
            server,
            change,
            |_| "Credential unbound.".into(),
            on_done,
        );
    };
    view! {
        <FormDialog title="Unbind" on_close=on_close on_submit=submit pending=pending server=server ready=matches>
                <p>"Unbind the key " <strong>{key_name.clone()}</strong> " from " <strong>{consumer.name.clone()}</strong> "? Requests with this key will no longer identify this consumer."</p>
                <div class="field">
                    <label for="unbind-confirm">{format!("Enter the key name \"{key_name}\" to confirm")}</label>
                    <input id="unbind-confirm" type="text" autocomplete="off" prop:value=move || typed.get() on:input=move |ev| typed.set(event_target_value(&ev)) />
                </div>
        </FormDialog>
    }
}
