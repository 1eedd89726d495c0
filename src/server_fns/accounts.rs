//! Console accounts, for the Accounts page (Admins only).

use crate::domain::records::Account;
use crate::error::AppError;
use leptos::prelude::*;

#[server(endpoint = "list_accounts")]
pub async fn list_accounts() -> Result<Vec<Account>, AppError> {
    use super::context::{actor, once, respond};
    let (db, actor) = actor()?;
    respond(
        once(
            ("list_accounts",),
            crate::service::accounts::list_accounts(&db, &actor),
        )
        .await,
    )
}

#[server(endpoint = "create_account")]
pub async fn create_account(
    username: String,
    password: String,
    role: String,
) -> Result<Account, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(
        crate::service::accounts::create_account(&db, &actor, &username, &password, &role).await,
    )
}

#[server(endpoint = "set_account_enabled")]
pub async fn set_account_enabled(id: String, enabled: bool) -> Result<Account, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::accounts::set_account_enabled(&db, &actor, &id, enabled).await)
}

#[server(endpoint = "set_account_role")]
pub async fn set_account_role(id: String, role: String) -> Result<Account, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::accounts::set_account_role(&db, &actor, &id, &role).await)
}

#[server(endpoint = "reset_account_password")]
pub async fn reset_account_password(id: String, password: String) -> Result<(), AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::accounts::reset_password(&db, &actor, &id, &password).await)
}
