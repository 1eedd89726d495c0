//! The instance page's dialogs: Edit (name, engine version, description; optimistic
//! concurrency) and Delete (only an empty instance: what it still holds is listed; typing the
//! instance's name confirms).

use crate::domain::inputs::InstanceUpdate;
use crate::domain::records::Instance;
use crate::domain::Name;
use crate::error::AppError;
use crate::server_fns::instances::{delete_instance, instance_dependencies, update_instance};
use crate::ui::components::{
    description_error, save, DeleteDialog, FormDialog, TextField, TypedConfirmation,
};
use leptos::prelude::*;

#[component]
pub fn EditInstanceDialog(
    instance: Instance,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let name = RwSignal::new(instance.name.clone());
    let engine = RwSignal::new(instance.engine_version.clone());
    let description = RwSignal::new(instance.description.clone());
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let server_field = move |f: &'static str| server.get().and_then(|e| e.field_message(f));
    let name_error = Signal::derive(move || {
        Name::parse(&name.get())
            .err()
            .map(|e| e.to_string())
            .or_else(|| server_field("Name"))
    });
    let engine_error = Signal::derive(move || server_field("EngineVersion"));
    let description_error = description_error(description);
    let invalid =
        Signal::derive(move || name_error.get().is_some() || description_error.get().is_some());
    let (id, version) = (instance.id.clone(), instance.version);
    let submit = move |_| {
        let input = InstanceUpdate {
            name: name.get_untracked(),
            engine_version: engine.get_untracked(),
            description: description.get_untracked(),
            version,
        };
        save(
            pending,
            server,
            update_instance(id.clone(), input),
            |i| format!("Instance {} saved.", i.name),
            on_done,
        );
    };
    view! {
        <FormDialog title="Edit instance" on_close=on_close on_submit=submit pending=pending server=server fields=&["Name", "EngineVersion"] invalid=invalid>
            <p class="hint">{format!("The region ({}) does not change.", instance.region)}</p>
            <TextField id="edit-instance-name" label="Instance name" value=name error=name_error required=true />
            <TextField id="edit-instance-engine" label="Engine version" value=engine error=engine_error required=true />
            <TextField id="edit-instance-description" label="Description" value=description error=description_error multiline=true />
        </FormDialog>
    }
}

#[component]
pub fn DeleteInstanceDialog(
    instance: Instance,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let (check_id, delete_id) = (instance.id.clone(), instance.id.clone());
    let confirm = TypedConfirmation {
        label: format!("Enter the instance name \"{}\" to confirm", instance.name),
        expected: instance.name.clone(),
    };
    view! {
        <DeleteDialog title="Delete instance" done="Instance deleted." confirm=confirm
            check=move || instance_dependencies(check_id.clone())
            delete=move || delete_instance(delete_id.clone())
            on_close=on_close on_done=on_done>
            <p>"Delete the instance " <strong>{instance.name.clone()}</strong> "? Only an instance without consumers, keys, model APIs, groups or environments of its own can be deleted; its default consumer group and environment go with it. Its audit entries stay."</p>
        </DeleteDialog>
    }
}
