//! The instance list, the frame of an instance (sidebar), and its basic information.

use super::dialogs::{DeleteInstanceDialog, EditInstanceDialog};
use super::overview::InstanceDashboard;
use crate::domain::inputs::NewInstance;
use crate::domain::records::Instance;
use crate::server_fns::instances::{create_instance, get_instance, list_instances};
use crate::ui::components::LocalTime;
use crate::ui::components::{
    can_write, save, Console, FormDialog, ListQuery, ListTable, TextField, Toolbar,
};
use crate::ui::components::{description_error, typed_name_error};
use leptos::prelude::*;
use leptos_router::components::Outlet;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn InstancesPage() -> impl IntoView {
    view! {
        <Console>
            <main class="page">
                <InstanceList />
            </main>
        </Console>
    }
}

#[component]
fn InstanceList() -> impl IntoView {
    let query = use_query_map();
    let list_query = Memo::new(move |_| ListQuery::from_params(&query.read(), "instance"));
    let reload = RwSignal::new(0u32);
    let instances = Resource::new(
        move || (list_query.get(), reload.get()),
        |(q, _)| list_instances(q.q, Some(q.page), Some(q.size)),
    );
    let creating = RwSignal::new(false);
    view! {
        <h1>"Instance list"</h1>
        <Toolbar new_label="New instance" on_new=move |_| creating.set(true)
            search_id="instance-search" search_label="Search instances by name or ID" search_placeholder="Search by name or ID"
            search=Signal::derive(move || list_query.get().q) />
        <ListTable what="instances" page=instances query=list_query selected_key="instance"
            columns=vec!["ID", "Name", "Status", "Region", "Engine version", "Created"]
            row=|i: Instance, _: &ListQuery| view! {
                <tr>
                    <td><a href=format!("/instances/{}", i.id)>{i.id.clone()}</a></td>
                    <td>{i.name}</td>
                    <td>{i.status}</td>
                    <td>{i.region}</td>
                    <td>{i.engine_version}</td>
                    <td><LocalTime ms=i.created_at /></td>
                </tr>
            } />
        <Show when=move || creating.get()>
            <NewInstanceDialog on_close=move || creating.set(false) on_done=move || { creating.set(false); reload.update(|r| *r += 1) } />
        </Show>
    }
}

#[component]
fn NewInstanceDialog(
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let region = RwSignal::new(String::new());
    let engine = RwSignal::new(String::from("2.1.4"));
    let description = RwSignal::new(String::new());
    let server = RwSignal::new(None::<crate::error::AppError>);
    let pending = RwSignal::new(false);
    let field = move |f: &'static str| {
        Signal::derive(move || server.get().and_then(|e| e.field_message(f)))
    };
    let name_error = typed_name_error(name, server, "Name");
    let description_error = description_error(description);
    let submit = move |_| {
        let input = NewInstance {
            name: name.get_untracked(),
            region: region.get_untracked(),
            engine_version: engine.get_untracked(),
            description: description.get_untracked(),
        };
        save(
            pending,
            server,
            create_instance(input),
            |i| format!("Instance {} created.", i.id),
            on_done,
        );
    };
    view! {
        <FormDialog title="New instance" on_close=on_close on_submit=submit pending=pending server=server fields=&["Name", "Region", "EngineVersion"]>
            <TextField id="instance-name" label="Instance name" value=name error=name_error required=true />
            <TextField id="instance-region" label="Region" value=region error=field("Region") required=true />
            <TextField id="instance-engine" label="Engine version" value=engine error=field("EngineVersion") required=true />
            <TextField id="instance-description" label="Description" value=description error=description_error multiline=true />
        </FormDialog>
    }
}

/// The frame of every page inside an instance: the instance's name and the sidebar.
#[component]
pub fn InstanceLayout() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let link = move |tail: &'static str| move || format!("/instances/{}{tail}", id());
    view! {
        <Console>
            <div class="with-sidebar">
                <nav class="sidebar" aria-label="Instance">
                    <a href="/instances">"← Instance list"</a>
                    <a href=link("")>"Basic information"</a>
                    <a href=link("/usage")>"Usage"</a>
                    <p class="nav-group">"Consumer Management"</p>
                    <a class="nested" href=link("/consumers")>"Consumer"</a>
                    <a class="nested" href=link("/groups")>"Consumer group"</a>
                    <a href=link("/keys")>"Keys"</a>
                    <a href=link("/apis")>"Model APIs"</a>
                    <a href=link("/environments")>"Environments"</a>
                    <a href=link("/authorization")>"Authorization"</a>
                    <a href=link("/limits")>"Rate limits"</a>
                    <a href=link("/quotas")>"Quotas"</a>
                    <a href=link("/audit")>"Audit log"</a>
                    <a href=link("/access")>"Access check"</a>
                    <a href=link("/import")>"Import configuration"</a>
                </nav>
                <main class="page">
                    <Outlet />
                </main>
            </div>
        </Console>
    }
}

/// Basic information of an instance, with Edit and Delete.
#[component]
pub fn InstanceOverview() -> impl IntoView {
    let params = use_params_map();
    let reload = RwSignal::new(0u32);
    let instance = Resource::new(
        move || (params.read().get("id").unwrap_or_default(), reload.get()),
        |(id, _)| get_instance(id),
    );
    let editing = RwSignal::new(None::<Instance>);
    let deleting = RwSignal::new(None::<Instance>);
    let writer = can_write();
    let navigate = leptos_router::hooks::use_navigate();
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading instance…"</p> }>
            {move || Suspend::new(async move {
                match instance.await {
                    Ok(i) => {
                        let (edit, delete) = (i.clone(), i.clone());
                        // Served by the REST API as a YAML file (configuration as code).
                        let export = format!("/v1/gateways/{}/export", i.id);
                        let import = format!("/instances/{}/import", i.id);
                        view! {
                            <h1>"Basic information"</h1>
                            <div class="toolbar">
                                {writer.then(|| view! {
                                    <button type="button" on:click=move |_| editing.set(Some(edit.clone()))>"Edit instance"</button>
                                    <button type="button" class="danger" on:click=move |_| deleting.set(Some(delete.clone()))>"Delete instance"</button>
                                })}
                                <a class="button" href=export download="" rel="external">"Download configuration"</a>
                                {writer.then(|| view! { <a class="button" href=import>"Import configuration"</a> })}
                            </div>
                            <dl class="facts">
                                <dt>"ID"</dt><dd>{i.id}</dd>
                                <dt>"Name"</dt><dd>{i.name}</dd>
                                <dt>"Status"</dt><dd>{i.status}</dd>
                                <dt>"Region"</dt><dd>{i.region}</dd>
                                <dt>"Engine version"</dt><dd>{i.engine_version}</dd>
                                <dt>"Creation Time"</dt><dd><LocalTime ms=i.created_at /></dd>
                                <dt>"Description"</dt><dd>{i.description}</dd>
                            </dl>
                        }.into_any()
                    }
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        <InstanceDashboard id=Signal::derive(move || params.read().get("id").unwrap_or_default()) />
        {move || editing.get().map(|i| view! {
            <EditInstanceDialog instance=i on_close=move || editing.set(None) on_done=move || { editing.set(None); reload.update(|r| *r += 1) } />
        })}
        {move || deleting.get().map(|i| {
            let navigate = navigate.clone();
            view! {
                <DeleteInstanceDialog instance=i on_close=move || deleting.set(None)
                    on_done=move || { deleting.set(None); navigate("/instances", Default::default()) } />
            }
        })}
    }
}
