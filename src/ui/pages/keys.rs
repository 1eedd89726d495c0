//! Keys of an instance: list and create. A new key's value is shown once, in the dialog
//! that created it, and never again. (Enable/disable, expiry, rotation and delete come with
//! the key-management issue.)

use crate::domain::format_time;
use crate::domain::inputs::NewKey;
use crate::domain::keys::masked;
use crate::domain::Name;
use crate::error::AppError;
use crate::server_fns::instances::{list_keys, CreateKey};
use crate::ui::components::{can_write, notify, Dialog, ListQuery, Pager, SecretReveal, TextField};
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
        <div class="toolbar">
            {can_write().then(|| view! { <button type="button" class="primary" on:click=move |_| creating.set(true)>"New Key"</button> })}
            <form method="get" role="search" class="search">
                <label for="key-search" class="visually-hidden">"Search keys by name or prefix"</label>
                <input id="key-search" type="search" name="q" placeholder="Search by name or prefix" value=move || list_query.get().q />
                <button type="submit">"Search"</button>
            </form>
        </div>
        <Transition fallback=|| view! { <p class="loading">"Loading keys…"</p> }>
            {move || Suspend::new(async move {
                let q = list_query.get();
                let iid = instance_id.get();
                match keys.await {
                    Ok(page) if page.items.is_empty() => view! { <p class="empty">"No keys match."</p> }.into_any(),
                    Ok(page) => view! {
                        <table>
                            <thead><tr><th scope="col">"Name"</th><th scope="col">"Key"</th><th scope="col">"Bound consumer"</th><th scope="col">"Status"</th><th scope="col">"Expiry"</th><th scope="col">"Creation Time"</th></tr></thead>
                            <tbody>
                                {page.items.into_iter().map(|k| {
                                    let consumer = k.consumer.map(|c| view! { <a href=format!("/instances/{iid}/consumers?consumer={}", c.id)>{c.name}</a> });
                                    view! {
                                        <tr>
                                            <td>{k.name}</td>
                                            <td class="mono">{masked(&k.prefix)}</td>
                                            <td>{consumer}</td>
                                            <td>{if k.enabled { "Enabled" } else { "Disabled" }}</td>
                                            <td>{k.expires_at.map(format_time).unwrap_or_else(|| "Never".into())}</td>
                                            <td>{format_time(k.created_at)}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <Pager total=page.total_size query=q selected_key="key" />
                    }.into_any(),
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        <Show when=move || creating.get()>
            <NewKeyDialog instance_id=instance_id.get_untracked() on_close=move || { creating.set(false); reload.update(|r| *r += 1) } />
        </Show>
    }
}

#[component]
fn NewKeyDialog(instance_id: String, #[prop(into)] on_close: Callback<()>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let server = RwSignal::new(None::<AppError>);
    let revealed = RwSignal::new(None::<String>);
    let action = ServerAction::<CreateKey>::new();
    Effect::new(move |_| match action.value().get() {
        Some(Ok(created)) => {
            notify(false, format!("Key {} created.", created.key.name));
            revealed.set(Some(created.value));
        }
        Some(Err(e)) => server.set(Some(e)),
        None => {}
    });
    let name_error = Signal::derive(move || {
        let n = name.get();
        (!n.is_empty())
            .then(|| Name::parse(&n).err().map(|e| e.to_string()))
            .flatten()
            .or_else(|| server.get().and_then(|e| e.field_message("Name")))
    });
    let other = move || {
        server
            .get()
            .filter(|e| e.field_message("Name").is_none())
            .map(|e| e.to_string())
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        server.set(None);
        action.dispatch(CreateKey {
            input: NewKey {
                instance_id: instance_id.clone(),
                name: name.get(),
                expires_at: None,
            },
        });
    };
    view! {
        <Dialog title="New Key" on_close=on_close>
            {move || match revealed.get() {
                None => view! {
                    <form on:submit=submit.clone() novalidate>
                        <TextField id="key-name" label="Key name" value=name error=name_error required=true />
                        <p class="hint">"The key value is generated by the server from a cryptographically secure random source."</p>
                        <p role="alert" class="field-error">{other}</p>
                        <div class="actions">
                            <button type="submit" class="primary" disabled=move || action.pending().get()>"OK"</button>
                            <button type="button" on:click=move |_| on_close.run(())>"Cancel"</button>
                        </div>
                    </form>
                }.into_any(),
                Some(value) => view! {
                    <SecretReveal id="new-key-value" label="API key" value=value on_done=on_close />
                }.into_any(),
            }}
        </Dialog>
    }
}
