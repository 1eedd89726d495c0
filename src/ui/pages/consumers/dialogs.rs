//! The dialogs of the consumer page, with the titles and labels of the cloud
//! consoles' Consumer page, so their users recognise them. Names and
//! descriptions are checked as the user types by the same parsers the server uses.

use crate::domain::inputs::{ConsumerUpdate, NewConsumer};
use crate::domain::records::{Consumer, Credential};
use crate::domain::{Description, Name};
use crate::error::AppError;
use crate::server_fns::consumers::{
    consumer_dependencies, BindCredential, CreateConsumer, DeleteConsumer, UnbindCredential,
    UpdateConsumer,
};
use crate::server_fns::groups::list_groups;
use crate::server_fns::keys::list_keys;
use crate::ui::components::description_error;
use crate::ui::components::{is_clean, notify, DependencyCheck, Dialog, SelectMany, TextField};
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

/// Errors not tied to a field, shown above the buttons.
fn general_error(server: RwSignal<Option<AppError>>) -> impl Fn() -> Option<String> {
    move || {
        server
            .get()
            .filter(|e| {
                e.field_message("Name").is_none() && e.field_message("Description").is_none()
            })
            .map(|e| e.to_string())
    }
}

#[component]
fn Buttons(
    #[prop(into)] ok_disabled: Signal<bool>,
    #[prop(into)] on_close: Callback<()>,
) -> impl IntoView {
    view! {
        <div class="actions">
            <button type="submit" class="primary" disabled=move || ok_disabled.get()>"OK"</button>
            <button type="button" on:click=move |_| on_close.run(())>"Cancel"</button>
        </div>
    }
}

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
    let action = ServerAction::<CreateConsumer>::new();
    Effect::new(move |_| match action.value().get() {
        Some(Ok(c)) => {
            notify(
                false,
                format!("Consumer {} created with ID {}.", c.name, c.id),
            );
            on_done.run(());
        }
        Some(Err(e)) => server.set(Some(e)),
        None => {}
    });
    // The Keys page opens its New Key dialog and, when it closes, comes back here.
    let keys_href = format!("/instances/{instance_id}/keys?new=1&back=consumer");
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        touched.set(true);
        server.set(None);
        if Name::parse(&name.get()).is_err() || Description::parse(&description.get()).is_err() {
            return;
        }
        action.dispatch(CreateConsumer {
            input: NewConsumer {
                instance_id: instance_id.clone(),
                name: name.get(),
                group_ids: groups.get(),
                key_ids: keys.get(),
                description: description.get(),
            },
        });
    };
    view! {
        <Dialog title="New Consumer" on_close=on_close>
            <form on:submit=submit novalidate>
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
                <p role="alert" class="field-error">{general_error(server)}</p>
                <Buttons ok_disabled=Signal::derive(move || action.pending().get()) on_close=on_close />
            </form>
        </Dialog>
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
    let action = ServerAction::<UpdateConsumer>::new();
    Effect::new(move |_| match action.value().get() {
        Some(Ok(c)) => {
            notify(false, format!("Consumer {} saved.", c.name));
            on_done.run(());
        }
        Some(Err(e)) => server.set(Some(e)),
        None => {}
    });
    let (id, version) = (consumer.id.clone(), consumer.version);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        server.set(None);
        if Name::parse(&name.get()).is_err() || Description::parse(&description.get()).is_err() {
            return;
        }
        action.dispatch(UpdateConsumer {
            id: id.clone(),
            input: ConsumerUpdate {
                name: name.get(),
                description: description.get(),
                version,
            },
        });
    };
    view! {
        <Dialog title="Edit Consumer" on_close=on_close>
            <form on:submit=submit novalidate>
                <p class="note">"Groups and keys cannot be changed here: see the consumer groups in Basic Information of the consumer details, and manage keys under Credential Management."</p>
                <TextField id="edit-consumer-name" label="Consumer name" value=name error=name_error(name, touched, server) required=true />
                <TextField id="edit-consumer-description" label="Description" value=description error=description_error(description) multiline=true />
                <p role="alert" class="field-error">{general_error(server)}</p>
                <Buttons ok_disabled=Signal::derive(move || action.pending().get()) on_close=on_close />
            </form>
        </Dialog>
    }
}

#[component]
pub fn DeleteConsumerDialog(
    consumer: Consumer,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let recheck = RwSignal::new(0u32);
    let id = consumer.id.clone();
    let deps = Resource::new(
        move || recheck.get(),
        move |_| consumer_dependencies(id.clone()),
    );
    let action = ServerAction::<DeleteConsumer>::new();
    let refused = RwSignal::new(None::<String>);
    Effect::new(move |_| match action.value().get() {
        Some(Ok(())) => {
            notify(false, "Consumer deleted.");
            on_done.run(());
        }
        Some(Err(AppError::Dependencies(_))) => recheck.update(|r| *r += 1),
        Some(Err(e)) => refused.set(Some(e.to_string())),
        None => {}
    });
    let clean = move || is_clean(deps);
    let name = consumer.name.clone();
    let cid = consumer.id.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch(DeleteConsumer { id: cid.clone() });
    };
    view! {
        <Dialog title="Delete Consumer" on_close=on_close>
            <form on:submit=submit>
                <p>"Delete the consumer " <strong>{name}</strong> "? The system checks whether it is still bound to other resources."</p>
                <DependencyCheck deps=deps recheck=recheck />
                <p role="alert" class="field-error">{move || refused.get()}</p>
                <Buttons ok_disabled=Signal::derive(move || !clean() || action.pending().get()) on_close=on_close />
            </form>
        </Dialog>
    }
}

#[component]
pub fn AddCredentialDialog(
    consumer: Consumer,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let iid = consumer.instance_id.clone();
    let keys = Resource::new(
        || (),
        move |_| list_keys(iid.clone(), String::new(), true, Some(1), Some(100)),
    );
    let chosen = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let action = ServerAction::<BindCredential>::new();
    Effect::new(move |_| match action.value().get() {
        Some(Ok(_)) => {
            notify(false, "Credential added.");
            on_done.run(());
        }
        Some(Err(e)) => error.set(Some(e.to_string())),
        None => {}
    });
    let cid = consumer.id.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !chosen.get().is_empty() {
            action.dispatch(BindCredential {
                consumer_id: cid.clone(),
                key_id: chosen.get(),
            });
        }
    };
    view! {
        <Dialog title="Add Credential" on_close=on_close>
            <form on:submit=submit>
                <div class="field">
                    <label for="credential-method">"Authentication method"</label>
                    <select id="credential-method"><option value="ApiKey">"API Key"</option></select>
                </div>
                <div class="field">
                    <label for="credential-key">"Key"</label>
                    <Suspense fallback=|| view! { <p class="loading">"Loading keys…"</p> }>
                        {move || Suspend::new(async move {
                            match keys.await {
                                Ok(page) if page.items.is_empty() => view! { <p class="empty">"There are no unbound keys. Create one on the Keys page."</p> }.into_any(),
                                Ok(page) => view! {
                                    <select id="credential-key" on:change=move |ev| chosen.set(event_target_value(&ev))>
                                        <option value="">"Select a key"</option>
                                        {page.items.into_iter().map(|k| view! { <option value=k.id>{format!("{} ({})", k.name, crate::domain::keys::masked(&k.prefix))}</option> }).collect_view()}
                                    </select>
                                }.into_any(),
                                Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                            }
                        })}
                    </Suspense>
                </div>
                <p role="alert" class="field-error">{move || error.get()}</p>
                <Buttons ok_disabled=Signal::derive(move || chosen.get().is_empty() || action.pending().get()) on_close=on_close />
            </form>
        </Dialog>
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
    let error = RwSignal::new(None::<String>);
    let action = ServerAction::<UnbindCredential>::new();
    Effect::new(move |_| match action.value().get() {
        Some(Ok(_)) => {
            notify(false, "Credential unbound.");
            on_done.run(());
        }
        Some(Err(e)) => error.set(Some(e.to_string())),
        None => {}
    });
    let key_name = credential.name.clone();
    let expected = key_name.clone();
    let matches = Signal::derive(move || typed.get() == expected);
    let (cid, kid) = (consumer.id.clone(), credential.key_id.clone());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if matches.get_untracked() {
            action.dispatch(UnbindCredential {
                consumer_id: cid.clone(),
                key_id: kid.clone(),
            });
        }
    };
    view! {
        <Dialog title="Unbind" on_close=on_close>
            <form on:submit=submit>
                <p>"Unbind the key " <strong>{key_name.clone()}</strong> " from " <strong>{consumer.name.clone()}</strong> "? Requests with this key will no longer identify this consumer."</p>
                <div class="field">
                    <label for="unbind-confirm">{format!("Enter the key name \"{key_name}\" to confirm")}</label>
                    <input id="unbind-confirm" type="text" autocomplete="off" prop:value=move || typed.get() on:input=move |ev| typed.set(event_target_value(&ev)) />
                </div>
                <p role="alert" class="field-error">{move || error.get()}</p>
                <Buttons ok_disabled=Signal::derive(move || !matches.get() || action.pending().get()) on_close=on_close />
            </form>
        </Dialog>
    }
}
