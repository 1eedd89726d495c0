//! The consumer-group dialogs: Edit (name and description, optimistic concurrency) and
//! Delete (dependency check on members and rules, Recheck, OK only when clean).

use crate::domain::inputs::GroupUpdate;
use crate::domain::records::ConsumerGroup;
use crate::domain::Name;
use crate::error::AppError;
use crate::server_fns::groups::{delete_group, group_dependencies, update_group};
use crate::ui::components::{description_error, save, DeleteDialog, FormDialog, TextField};
use leptos::prelude::*;

#[component]
pub fn EditGroupDialog(
    group: ConsumerGroup,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let name = RwSignal::new(group.name.clone());
    let description = RwSignal::new(group.description.clone());
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let name_error = Signal::derive(move || {
        Name::parse(&name.get())
            .err()
            .map(|e| e.to_string())
            .or_else(|| server.get().and_then(|e| e.field_message("Name")))
    });
    let description_error = description_error(description);
    let invalid =
        Signal::derive(move || name_error.get().is_some() || description_error.get().is_some());
    let (id, version) = (group.id.clone(), group.version);
    let submit = move |_| {
        let input = GroupUpdate {
            name: name.get_untracked(),
            description: description.get_untracked(),
            version,
        };
        save(
            pending,
            server,
            update_group(id.clone(), input),
            |g| format!("Consumer group {} saved.", g.name),
            on_done,
        );
    };
    view! {
        <FormDialog title="Edit Consumer Group" on_close=on_close on_submit=submit pending=pending server=server fields=&["Name"] invalid=invalid>
            <TextField id="edit-group-name" label="Consumer group name" value=name error=name_error required=true />
            <TextField id="edit-group-description" label="Description" value=description error=description_error multiline=true />
        </FormDialog>
    }
}

#[component]
pub fn DeleteGroupDialog(
    group: ConsumerGroup,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let (check_id, delete_id) = (group.id.clone(), group.id.clone());
    view! {
        <DeleteDialog title="Delete Consumer Group" done="Consumer group deleted."
            check=move || group_dependencies(check_id.clone())
            delete=move || delete_group(delete_id.clone())
            on_close=on_close on_done=on_done>
            <p>"Delete the consumer group " <strong>{group.name.clone()}</strong> "? The system checks whether it still has members or authorization rules."</p>
        </DeleteDialog>
    }
}
