//! Consumer groups of an instance: list, create, edit, enable and disable, delete behind a
//! dependency check, and a details panel (`?group=cg-…`) with members and rules.

use super::details::GroupDetails;
use super::dialogs::{DeleteGroupDialog, EditGroupDialog};
use crate::domain::inputs::NewGroup;
use crate::domain::records::ConsumerGroup;
use crate::error::AppError;
use crate::server_fns::groups::{create_group, list_groups, set_group_enabled};
use crate::ui::components::{
    can_write, columns, notify, save, FormDialog, ListQuery, ListTable, TextField, Toolbar,
};

/// Which dialog is open.
#[derive(Clone)]
enum Open {
    None,
    New,
    Edit(ConsumerGroup),
    Delete(ConsumerGroup),
}
use crate::ui::components::LocalTime;
use crate::ui::components::{description_error, typed_name_error};
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn GroupsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let instance_id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let list_query = Memo::new(move |_| ListQuery::from_params(&query.read(), "group"));
    let reload = RwSignal::new(0u32);
    let open = RwSignal::new(Open::None);
    let writer = can_write();
    let groups = Resource::new(
        move || {
            (
                instance_id.get(),
                list_query.get().with_selected(None),
                reload.get(),
            )
        },
        |(iid, q, _)| list_groups(iid, q.q, Some(q.page), Some(q.size)),
    );
    let done = Callback::new(move |_: ()| {
        open.set(Open::None);
        reload.update(|r| *r += 1);
    });
    let close = Callback::new(move |_: ()| open.set(Open::None));
    view! {
        <h1>"Consumer group"</h1>
        <Toolbar new_label="New consumer group" on_new=move |_| open.set(Open::New)
            search_id="group-search" search_label="Search consumer groups by name" search_placeholder="Search by name"
            search=Signal::derive(move || list_query.get().q) />
        <div class="split">
        <section class="list" aria-label="Consumer group list">
            <ListTable what="consumer groups" page=groups query=list_query selected_key="group"
                columns=columns(&["ID/Name", "Members", "Status", "Creation Time", "Description"], writer)
                row=move |g: ConsumerGroup, q: &ListQuery| {
                    let actions = writer.then(|| group_actions(&g, reload, open));
                    let href = q.with_selected(Some(g.id.clone())).href("group");
                    let link_label = format!("{} details", g.name);
                    view! {
                        <tr id=g.id.clone()>
                            <td><a href=href aria-label=link_label><span class="id">{g.id.clone()}</span><br /><span>{g.name}</span></a></td>
                            <td>{g.member_count}</td>
                            <td>{if g.enabled { "Enabled" } else { "Disabled" }}</td>
                            <td><LocalTime ms=g.created_at /></td>
                            <td class="description">{g.description}</td>
                            {actions}
                        </tr>
                    }
                } />
        </section>
        {move || list_query.get().selected.map(|id| {
            let close_href = list_query.get().with_selected(None).href("group");
            view! { <GroupDetails id=id close_href=close_href reload=reload /> }
        })}
        </div>
        {move || match open.get() {
            Open::None => ().into_any(),
            Open::New => view! { <NewGroupDialog instance_id=instance_id.get_untracked() on_close=close on_done=done /> }.into_any(),
            Open::Edit(g) => view! { <EditGroupDialog group=g on_close=close on_done=done /> }.into_any(),
            Open::Delete(g) => view! { <DeleteGroupDialog group=g on_close=close on_done=done /> }.into_any(),
        }}
    }
}

/// Enable or Disable (a disabled group grants nothing to its members), Edit and Delete, each
/// named with the group.
fn group_actions(g: &ConsumerGroup, reload: RwSignal<u32>, open: RwSignal<Open>) -> impl IntoView {
    let (id, name, enabled, version) = (g.id.clone(), g.name.clone(), g.enabled, g.version);
    let label = format!(
        "{} consumer group {}",
        if enabled { "Disable" } else { "Enable" },
        g.name
    );
    let toggle = move |_| {
        let (id, name) = (id.clone(), name.clone());
        leptos::task::spawn_local(async move {
            match set_group_enabled(id, !enabled, version).await {
                Ok(_) => notify(
                    false,
                    format!(
                        "Consumer group {name} {}.",
                        if enabled { "disabled" } else { "enabled" }
                    ),
                ),
                Err(e) => notify(true, e.to_string()),
            }
            reload.update(|r| *r += 1);
        });
    };
    let (edit, delete) = (g.clone(), g.clone());
    let is_default = g.name == crate::domain::records::DEFAULT_GROUP_NAME;
    let (edit_label, delete_label) = (format!("Edit {}", g.name), format!("Delete {}", g.name));
    view! {
        <td class="actions-cell">
            <button type="button" class="link" aria-label=label on:click=toggle>{if enabled { "Disable" } else { "Enable" }}</button>
            <button type="button" class="link" aria-label=edit_label on:click=move |_| open.set(Open::Edit(edit.clone()))>"Edit"</button>
            {(!is_default).then(|| view! {
                <button type="button" class="link danger" aria-label=delete_label on:click=move |_| open.set(Open::Delete(delete.clone()))>"Delete"</button>
            })}
        </td>
    }
}

#[component]
fn NewGroupDialog(
    instance_id: String,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let name_error = typed_name_error(name, server, "Name");
    let description_error = description_error(description);
    let submit = move |_| {
        let input = NewGroup {
            instance_id: instance_id.clone(),
            name: name.get_untracked(),
            description: description.get_untracked(),
        };
        save(
            pending,
            server,
            create_group(input),
            |g| format!("Consumer group {} created.", g.name),
            on_done,
        );
    };
    view! {
        <FormDialog title="New consumer group" on_close=on_close on_submit=submit pending=pending server=server fields=&["Name"]>
            <TextField id="group-name" label="Consumer group name" value=name error=name_error required=true />
            <TextField id="group-description" label="Description" value=description error=description_error multiline=true />
        </FormDialog>
    }
}
