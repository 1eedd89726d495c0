//! The environments of an instance (where model APIs are deployed and rules apply): list with search, create, edit (optimistic
//! concurrency) and delete behind the dependency check on deployments and rules. The
//! default environment comes with the instance and stays.

use crate::domain::inputs::{EnvironmentUpdate, NewEnvironment};
use crate::domain::records::Environment;
use crate::error::AppError;
use crate::server_fns::environments::{
    create_environment, delete_environment, environment_dependencies, environment_page,
    update_environment,
};
use crate::ui::components::{
    can_write, description_error, save, typed_name_error, DeleteDialog, FormDialog, ListQuery,
    ListTable, LocalTime, TextField, Toolbar,
};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn EnvironmentsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let instance_id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let list_query = Memo::new(move |_| ListQuery::from_params(&query.read(), "environment"));
    let reload = RwSignal::new(0u32);
    let creating = RwSignal::new(false);
    let editing = RwSignal::new(None::<Environment>);
    let deleting = RwSignal::new(None::<Environment>);
    let envs = Resource::new(
        move || (instance_id.get(), list_query.get(), reload.get()),
        |(iid, q, _)| environment_page(iid, q.q, Some(q.page), Some(q.size)),
    );
    let done = move || reload.update(|r| *r += 1);
    let writer = can_write();
    view! {
        <h1>"Environments"</h1>
        <p class="hint">"Model APIs are deployed to environments, and authorization rules grant an API in one of them."</p>
        <Toolbar new_label="New environment" on_new=move |_| creating.set(true)
            search_id="environment-search" search_label="Search environments by name" search_placeholder="Search by name"
            search=Signal::derive(move || list_query.get().q) />
        <ListTable what="environments" label="Environments" page=envs query=list_query selected_key="environment"
            columns=vec!["ID/Name", "Alias", "Description", "Creation Time", "Actions"]
            row=move |e: Environment, _: &ListQuery| environment_row(e, writer, editing, deleting) />
        <Show when=move || creating.get()>
            <EnvironmentDialog instance_id=instance_id.get_untracked() existing=None on_close=move || creating.set(false) on_done=move || { creating.set(false); done() } />
        </Show>
        {move || editing.get().map(|env| view! {
            <EnvironmentDialog instance_id=instance_id.get_untracked() existing=Some(env) on_close=move || editing.set(None) on_done=move || { editing.set(None); done() } />
        })}
        {move || deleting.get().map(|env| view! {
            <DeleteEnvironmentDialog env=env on_close=move || deleting.set(None) on_done=move || { deleting.set(None); done() } />
        })}
    }
}

fn environment_row(
    e: Environment,
    writer: bool,
    editing: RwSignal<Option<Environment>>,
    deleting: RwSignal<Option<Environment>>,
) -> impl IntoView {
    let edit_label = format!("Edit {}", e.name);
    let delete_label = format!("Delete {}", e.name);
    let deletable = !e.is_default;
    let (edit, target) = (e.clone(), e.clone());
    view! {
        <tr>
            <td>
                <span class="id">{e.id.clone()}</span><br />
                <span>{e.name.clone()}</span>
                {e.is_default.then(|| view! { " " <span class="badge">"Default"</span> })}
            </td>
            <td>{e.alias.clone()}</td>
            <td class="description">{e.description.clone()}</td>
            <td><LocalTime ms=e.created_at /></td>
            <td class="actions">{writer.then(|| view! {
                <button type="button" class="link" aria-label=edit_label on:click=move |_| editing.set(Some(edit.clone()))>"Edit"</button>
                {deletable.then(|| view! {
                    <button type="button" class="link danger" aria-label=delete_label.clone() on:click=move |_| deleting.set(Some(target.clone()))>"Delete"</button>
                })}
            })}</td>
        </tr>
    }
}

/// Creates an environment, or with `existing` edits it (with its version, so a concurrent
/// change is refused rather than overwritten).
#[component]
fn EnvironmentDialog(
    instance_id: String,
    existing: Option<Environment>,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let field =
        |f: fn(&Environment) -> String| RwSignal::new(existing.as_ref().map(f).unwrap_or_default());
    let name = field(|e| e.name.clone());
    let alias = field(|e| e.alias.clone());
    let description = field(|e| e.description.clone());
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let server_field = move |f: &'static str| server.get().and_then(|e| e.field_message(f));
    let name_error = typed_name_error(name, server, "Name");
    let alias_error = Signal::derive(move || server_field("Alias"));
    let description_error = description_error(description);
    let current = existing.as_ref().map(|e| (e.id.clone(), e.version));
    let submit = move |_| {
        let (name, alias, description) = (
            name.get_untracked(),
            alias.get_untracked(),
            description.get_untracked(),
        );
        let (current, instance_id) = (current.clone(), instance_id.clone());
        let change = async move {
            match current {
                None => {
                    create_environment(NewEnvironment {
                        instance_id,
                        name,
                        alias,
                        description,
                    })
                    .await
                }
                Some((id, version)) => {
                    update_environment(
                        id,
                        EnvironmentUpdate {
                            name,
                            alias,
                            description,
                            version,
                        },
                    )
                    .await
                }
            }
        };
        save(
            pending,
            server,
            change,
            |e| format!("Environment {} saved ({}).", e.name, e.id),
            on_done,
        );
    };
    let title = if existing.is_some() {
        "Edit environment"
    } else {
        "New environment"
    };
    view! {
        <FormDialog title=title on_close=on_close on_submit=submit pending=pending server=server fields=&["Name", "Alias"]>
            <TextField id="environment-name" label="Environment name" value=name error=name_error required=true />
            <TextField id="environment-alias" label="Alias (optional; the name when empty)" value=alias error=alias_error />
            <TextField id="environment-description" label="Description" value=description error=description_error multiline=true />
        </FormDialog>
    }
}

#[component]
fn DeleteEnvironmentDialog(
    env: Environment,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let (check_id, delete_id) = (env.id.clone(), env.id.clone());
    view! {
        <DeleteDialog title="Delete environment" done="Environment deleted."
            check=move || environment_dependencies(check_id.clone())
            delete=move || delete_environment(delete_id.clone())
            on_close=on_close on_done=on_done>
            <p>"Delete the environment " <strong>{env.name.clone()}</strong> "? The system checks whether model APIs are deployed to it or authorization rules name it."</p>
        </DeleteDialog>
    }
}
