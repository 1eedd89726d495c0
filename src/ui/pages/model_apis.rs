//! Model APIs of an instance (name, base path, AI protocol, category, environments): list, register, and delete behind the dependency
//! check on authorization rules.

use crate::domain::apis::{BasePath, AI_PROTOCOLS, MODEL_CATEGORIES};
use crate::domain::inputs::{ModelApiUpdate, NewModelApi};
use crate::domain::records::ModelApi;
use crate::error::AppError;
use crate::server_fns::environments::list_environments;
use crate::server_fns::model_apis::{
    api_dependencies, create_api, delete_api, list_apis, update_api,
};
use crate::ui::components::LocalTime;
use crate::ui::components::{
    can_write, save, DeleteDialog, FormDialog, ListQuery, ListTable, SelectMany, SelectOne,
    TextField, Toolbar,
};
use crate::ui::components::{description_error, typed_name_error};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn ModelApisPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let instance_id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let list_query = Memo::new(move |_| ListQuery::from_params(&query.read(), "api"));
    let reload = RwSignal::new(0u32);
    let creating = RwSignal::new(false);
    let deleting = RwSignal::new(None::<ModelApi>);
    let editing = RwSignal::new(None::<ModelApi>);
    let apis = Resource::new(
        move || (instance_id.get(), list_query.get(), reload.get()),
        |(iid, q, _)| list_apis(iid, q.q, Some(q.page), Some(q.size)),
    );
    let writer = can_write();
    view! {
        <h1>"Model APIs"</h1>
        <Toolbar new_label="New model API" on_new=move |_| creating.set(true)
            search_id="api-search" search_label="Search model APIs by name" search_placeholder="Search by name"
            search=Signal::derive(move || list_query.get().q) />
        <ListTable what="model APIs" page=apis query=list_query selected_key="api"
            columns=vec!["ID/Name", "Base path", "AI protocol", "Model category", "Environments", "Creation Time", "Actions"]
            row=move |a: ModelApi, _: &ListQuery| {
                let label = format!("Delete {}", a.name);
                let edit_label = format!("Edit {}", a.name);
                let (target, edit) = (a.clone(), a.clone());
                view! {
                    <tr id=a.id.clone()>
                        <td><span class="id">{a.id.clone()}</span><br /><span>{a.name.clone()}</span></td>
                        <td class="mono">{a.base_path.clone()}</td>
                        <td>{a.ai_protocols.join(", ")}</td>
                        <td>{a.model_category.clone()}</td>
                        <td>{a.environments.iter().map(|e| e.name.clone()).collect::<Vec<_>>().join(", ")}</td>
                        <td><LocalTime ms=a.created_at /></td>
                        <td class="actions">{writer.then(|| view! {
                            <button type="button" class="link" aria-label=edit_label on:click=move |_| editing.set(Some(edit.clone()))>"Edit"</button>
                            <button type="button" class="link danger" aria-label=label on:click=move |_| deleting.set(Some(target.clone()))>"Delete"</button>
                        })}</td>
                    </tr>
                }
            } />
        <Show when=move || creating.get()>
            <ApiDialog instance_id=instance_id.get_untracked() existing=None on_close=move || creating.set(false) on_done=move || { creating.set(false); reload.update(|r| *r += 1) } />
        </Show>
        {move || editing.get().map(|api| view! {
            <ApiDialog instance_id=instance_id.get_untracked() existing=Some(api) on_close=move || editing.set(None) on_done=move || { editing.set(None); reload.update(|r| *r += 1) } />
        })}
        {move || deleting.get().map(|api| view! {
            <DeleteApiDialog api=api on_close=move || deleting.set(None) on_done=move || { deleting.set(None); reload.update(|r| *r += 1) } />
        })}
    }
}

/// Registers a model API, or with `existing` edits it (with its version, so a concurrent
/// change is refused rather than overwritten).
#[component]
fn ApiDialog(
    instance_id: String,
    existing: Option<ModelApi>,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let field = |f: fn(&ModelApi) -> String, default: String| {
        RwSignal::new(existing.as_ref().map(f).unwrap_or(default))
    };
    let name = field(|a| a.name.clone(), String::new());
    let base_path = field(|a| a.base_path.clone(), String::new());
    let protocol = field(
        |a| a.ai_protocols.first().cloned().unwrap_or_default(),
        AI_PROTOCOLS[0].to_owned(),
    );
    let category = field(|a| a.model_category.clone(), MODEL_CATEGORIES[0].to_owned());
    let description = field(|a| a.description.clone(), String::new());
    let environments = RwSignal::new(
        existing
            .as_ref()
            .map(|a| a.environments.iter().map(|e| e.id.clone()).collect())
            .unwrap_or_default(),
    );
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let iid = instance_id.clone();
    let envs = Resource::new(|| (), move |_| list_environments(iid.clone()));
    let server_field = move |f: &'static str| server.get().and_then(|e| e.field_message(f));
    let name_error = typed_name_error(name, server, "Name");
    let path_error = Signal::derive(move || {
        let p = base_path.get();
        (!p.is_empty())
            .then(|| BasePath::parse(&p).err().map(|e| e.to_string()))
            .flatten()
            .or_else(|| server_field("BasePath"))
    });
    let description_error = description_error(description);
    let current = existing.as_ref().map(|a| (a.id.clone(), a.version));
    let submit = move |_| {
        let (name, base_path, ai_protocols) = (
            name.get_untracked(),
            base_path.get_untracked(),
            vec![protocol.get_untracked()],
        );
        let (model_category, description) = (category.get_untracked(), description.get_untracked());
        let environment_ids = environments.get_untracked();
        let verb = if current.is_some() {
            "saved"
        } else {
            "registered"
        };
        let (current, instance_id) = (current.clone(), instance_id.clone());
        let change = async move {
            match current {
                None => {
                    let input = NewModelApi {
                        instance_id,
                        name,
                        base_path,
                        ai_protocols,
                        model_category,
                        description,
                        environment_ids,
                    };
                    create_api(input).await
                }
                Some((id, version)) => {
                    let input = ModelApiUpdate {
                        name,
                        base_path,
                        ai_protocols,
                        model_category,
                        description,
                        environment_ids,
                        version,
                    };
                    update_api(id, input).await
                }
            }
        };
        save(
            pending,
            server,
            change,
            move |a| format!("Model API {} {verb} ({}).", a.name, a.id),
            on_done,
        );
    };
    let title = if existing.is_some() {
        "Edit model API"
    } else {
        "New model API"
    };
    let protocols: Vec<(String, String)> = AI_PROTOCOLS
        .iter()
        .map(|p| (p.to_string(), p.to_string()))
        .collect();
    let categories: Vec<(String, String)> = MODEL_CATEGORIES
        .iter()
        .map(|c| (c.to_string(), c.to_string()))
        .collect();
    view! {
        <FormDialog title=title on_close=on_close on_submit=submit pending=pending server=server fields=&["Name", "BasePath"]>
                <TextField id="api-name" label="API name" value=name error=name_error required=true />
                <TextField id="api-base-path" label="Base path" value=base_path error=path_error required=true />
                <SelectOne id="api-protocol" label="AI protocol" options=protocols value=protocol />
                <SelectOne id="api-category" label="Model category" options=categories value=category />
                <Suspense fallback=|| view! { <p class="loading">"Loading environments…"</p> }>
                    {move || Suspend::new(async move {
                        match envs.await {
                            Ok(list) => view! {
                                <SelectMany id="api-environments" label="Environments" options=list.into_iter().map(|e| (e.id, e.name)).collect() selected=environments />
                            }.into_any(),
                            Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Suspense>
                <TextField id="api-description" label="Description" value=description error=description_error multiline=true />
        </FormDialog>
    }
}

/// Delete with the dependency check: the rules granting this API are listed, each linking
/// to where it is revoked, and OK stays disabled until none is left.
#[component]
fn DeleteApiDialog(
    api: ModelApi,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let (check_id, delete_id) = (api.id.clone(), api.id.clone());
    view! {
        <DeleteDialog title="Delete model API" done="Model API deleted."
            check=move || api_dependencies(check_id.clone())
            delete=move || delete_api(delete_id.clone())
            on_close=on_close on_done=on_done>
            <p>{format!("Delete the model API {} ({})?", api.name, api.base_path)}</p>
        </DeleteDialog>
    }
}
