//! Console accounts (Admins only): list, create, enable and disable, change role, reset
//! password. The server keeps at least one enabled Admin and says so when refusing.

use crate::domain::records::{Account, Role};
use crate::error::AppError;
use crate::server_fns::accounts::{
    create_account, list_accounts, reset_account_password, set_account_enabled, set_account_role,
};
use crate::ui::components::LocalTime;
use crate::ui::components::{notify, save, Console, FormDialog, ListQuery, ListTable, TextField};
use leptos::prelude::*;

#[component]
pub fn AccountsPage() -> impl IntoView {
    view! {
        <Console>
            <main class="page">
                <Accounts />
            </main>
        </Console>
    }
}

/// Which dialog is open.
#[derive(Clone)]
enum Open {
    None,
    New,
    Password(Account),
}

#[component]
fn Accounts() -> impl IntoView {
    let reload = RwSignal::new(0u32);
    let open = RwSignal::new(Open::None);
    let accounts = Resource::new(move || reload.get(), |_| list_accounts());
    let done = move || {
        open.set(Open::None);
        reload.update(|r| *r += 1);
    };
    view! {
        <h1>"Accounts"</h1>
        <p class="hint">"Admins change things; Viewers see everything and change nothing. Disabling an account or resetting its password signs it out everywhere; a disabled account's API tokens stop working."</p>
        <div class="toolbar">
            <button type="button" class="primary" on:click=move |_| open.set(Open::New)>"New account"</button>
        </div>
        <ListTable what="accounts" label="Accounts" page=accounts
            columns=vec!["Username", "Role", "Status", "Creation Time", "Actions"]
            row=move |a: Account, _: &ListQuery| account_row(a, open, reload) />
        {move || match open.get() {
            Open::None => ().into_any(),
            Open::New => view! { <NewAccountDialog on_close=move || open.set(Open::None) on_done=done /> }.into_any(),
            Open::Password(a) => view! { <ResetPasswordDialog account=a on_close=move || open.set(Open::None) on_done=done /> }.into_any(),
        }}
    }
}

/// Runs an account change, then tells the outcome and reloads the list.
fn change(
    reload: RwSignal<u32>,
    done: String,
    call: impl std::future::Future<Output = Result<Account, AppError>> + 'static,
) {
    leptos::task::spawn_local(async move {
        match call.await {
            Ok(_) => notify(false, done),
            Err(e) => notify(true, e.to_string()),
        }
        reload.update(|r| *r += 1);
    });
}

fn account_row(a: Account, open: RwSignal<Open>, reload: RwSignal<u32>) -> impl IntoView {
    let (id, name, enabled) = (a.id.clone(), a.username.clone(), a.enabled);
    let other_role = match a.role {
        Role::Admin => Role::Viewer,
        Role::Viewer => Role::Admin,
    };
    let (id2, name2) = (id.clone(), name.clone());
    let toggle = move |_| {
        let verb = if enabled { "disabled" } else { "enabled" };
        change(
            reload,
            format!("Account {name} {verb}."),
            set_account_enabled(id.clone(), !enabled),
        )
    };
    let switch_role = move |_| {
        change(
            reload,
            format!("{name2} is now {}.", other_role.as_str()),
            set_account_role(id2.clone(), other_role.as_str().to_owned()),
        )
    };
    let for_password = a.clone();
    let toggle_label = format!(
        "{} account {}",
        if enabled { "Disable" } else { "Enable" },
        a.username
    );
    let role_label = format!("Make {} {}", a.username, other_role.as_str());
    let password_label = format!("Reset password of {}", a.username);
    view! {
        <tr>
            <td>{a.username.clone()}</td>
            <td>{a.role.as_str()}</td>
            <td>{if a.enabled { "Enabled" } else { "Disabled" }}</td>
            <td><LocalTime ms=a.created_at /></td>
            <td class="actions-cell">
                <button type="button" class="link" aria-label=toggle_label on:click=toggle>{if enabled { "Disable" } else { "Enable" }}</button>
                <button type="button" class="link" aria-label=role_label on:click=switch_role>{format!("Make {}", other_role.as_str())}</button>
                <button type="button" class="link" aria-label=password_label on:click=move |_| open.set(Open::Password(for_password.clone()))>"Reset password"</button>
            </td>
        </tr>
    }
}

#[component]
fn NewAccountDialog(
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new("Viewer".to_owned());
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let name_error = Signal::derive(move || server.get().and_then(|e| e.field_message("Name")));
    let submit = move |_| {
        let change = create_account(
            username.get_untracked(),
            password.get_untracked(),
            role.get_untracked(),
        );
        save(
            pending,
            server,
            change,
            |a| format!("Account {} created.", a.username),
            on_done,
        );
    };
    view! {
        <FormDialog title="New account" on_close=on_close on_submit=submit pending=pending server=server fields=&["Name"]>
                <TextField id="account-username" label="Username" value=username error=name_error required=true />
                <div class="field">
                    <label for="account-password">"Password (at least 10 characters)"</label>
                    <input id="account-password" type="password" autocomplete="new-password" prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev)) />
                </div>
                <div class="field">
                    <label for="account-role">"Role"</label>
                    <select id="account-role" on:change=move |ev| role.set(event_target_value(&ev))>
                        <option value="Viewer" selected=true>"Viewer"</option>
                        <option value="Admin">"Admin"</option>
                    </select>
                </div>
        </FormDialog>
    }
}

#[component]
fn ResetPasswordDialog(
    account: Account,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let password = RwSignal::new(String::new());
    let server = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    let id = account.id.clone();
    let submit = move |_| {
        let change = reset_account_password(id.clone(), password.get_untracked());
        let done = |_: &()| "Password reset; the account was signed out everywhere.".to_owned();
        save(pending, server, change, done, on_done);
    };
    view! {
        <FormDialog title="Reset password" on_close=on_close on_submit=submit pending=pending server=server>
                <p>{format!("Set a new password for {}. They will be signed out everywhere.", account.username)}</p>
                <div class="field">
                    <label for="reset-password">"New password (at least 10 characters)"</label>
                    <input id="reset-password" type="password" autocomplete="new-password" prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev)) />
                </div>
        </FormDialog>
    }
}
