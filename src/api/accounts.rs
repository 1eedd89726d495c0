//! `/v1/accounts`: console accounts (Admins only).

use super::{Answer, Body, Ctx, Data, Empty, Envelope, ErrorResponses, Items};
use crate::domain::records::Account;
use crate::service::accounts;
use crate::state::AppState;
use axum::extract::Path;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_accounts, create_account))
        .routes(routes!(set_account_status))
        .routes(routes!(set_account_role))
        .routes(routes!(reset_account_password))
}

/// Every console account, by username (Admins only).
#[utoipa::path(get, path = "/v1/accounts", tag = "Accounts",
    responses((status = 200, body = Envelope<Items<Account>>), ErrorResponses))]
async fn list_accounts(ctx: Ctx) -> Answer<Items<Account>> {
    Ok(Data(
        accounts::list_accounts(&ctx.db, &ctx.actor)
            .await
            .map(|items| Items { items })?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct NewAccount {
    username: String,
    /// 10 to 256 characters.
    password: String,
    /// `Admin` or `Viewer`.
    role: String,
}

/// Create an account.
#[utoipa::path(post, path = "/v1/accounts", tag = "Accounts", request_body = NewAccount,
    responses((status = 200, body = Envelope<Account>), ErrorResponses))]
async fn create_account(ctx: Ctx, Body(input): Body<NewAccount>) -> Answer<Account> {
    Ok(Data(
        accounts::create_account(
            &ctx.db,
            &ctx.actor,
            &input.username,
            &input.password,
            &input.role,
        )
        .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct AccountStatus {
    enabled: bool,
}

/// Enable or disable an account; disabling signs it out and stops its tokens. The last
/// enabled Admin cannot be disabled.
#[utoipa::path(put, path = "/v1/accounts/{accountId}/status", tag = "Accounts",
    params(("accountId" = String, Path, description = "acc-…")), request_body = AccountStatus,
    responses((status = 200, body = Envelope<Account>), ErrorResponses))]
async fn set_account_status(
    ctx: Ctx,
    Path(account_id): Path<String>,
    Body(input): Body<AccountStatus>,
) -> Answer<Account> {
    Ok(Data(
        accounts::set_account_enabled(&ctx.db, &ctx.actor, &account_id, input.enabled).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct AccountRole {
    /// `Admin` or `Viewer`.
    role: String,
}

/// Change an account's role. The last enabled Admin cannot become a Viewer.
#[utoipa::path(put, path = "/v1/accounts/{accountId}/role", tag = "Accounts",
    params(("accountId" = String, Path, description = "acc-…")), request_body = AccountRole,
    responses((status = 200, body = Envelope<Account>), ErrorResponses))]
async fn set_account_role(
    ctx: Ctx,
    Path(account_id): Path<String>,
    Body(input): Body<AccountRole>,
) -> Answer<Account> {
    Ok(Data(
        accounts::set_account_role(&ctx.db, &ctx.actor, &account_id, &input.role).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct NewPassword {
    /// 10 to 256 characters.
    password: String,
}

/// Set a new password for an account and sign it out everywhere.
#[utoipa::path(put, path = "/v1/accounts/{accountId}/password", tag = "Accounts",
    params(("accountId" = String, Path, description = "acc-…")), request_body = NewPassword,
    responses((status = 200, body = Envelope<Empty>), ErrorResponses))]
async fn reset_account_password(
    ctx: Ctx,
    Path(account_id): Path<String>,
    Body(input): Body<NewPassword>,
) -> Answer<Empty> {
    accounts::reset_password(&ctx.db, &ctx.actor, &account_id, &input.password).await?;
    Ok(Data(Empty {}))
}
