//! Console accounts, managed by Admins: list, create (Admin or Viewer), enable and disable,
//! change role, reset password. There is always at least one enabled Admin: the last one can
//! be neither disabled nor made a Viewer. Disabling an account or resetting its password
//! signs it out everywhere and revokes its API tokens.

use super::change::{Audit, AuditAction};
use super::passwords;
use super::Actor;
use crate::domain::records::{Account, CurrentUser, Role};
use crate::domain::{IdKind, Name, ResourceId};
use crate::error::{AppError, AppResult};
use crate::store::read::Read;
use crate::store::Write;
use crate::store::{accounts, now_ms, tokens, Db};

pub async fn list_accounts(db: &Db, actor: &Actor) -> AppResult<Vec<Account>> {
    actor.admin()?;
    let mut conn = db.reader().await?;
    Ok(accounts::list(&mut conn).await?)
}

async fn load(conn: &mut impl Read, id: &str) -> AppResult<Account> {
    let id = super::parse_id(IdKind::Account, id)?;
    accounts::get(conn, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::Account, id.as_str()))
}

#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn create_account(
    db: &Db,
    actor: &Actor,
    username: &str,
    password: &str,
    role: &str,
) -> AppResult<Account> {
    let admin = actor.admin()?;
    let role = parse_role(role)?;
    let new = NewAccount::prepare(username, password).await?;
    let mut tx = admin.begin(db).await?;
    let user = insert_account(&mut tx, &new, role).await?;
    let summary = format!("username={} role={}", user.username, role.as_str());
    let recorded = tx
        .record(Audit::new(AuditAction::CreateAccount, IdKind::Account, &user.id).summary(summary))
        .await?;
    let account = load(&mut tx, &user.id).await?;
    tx.commit_recorded(recorded).await?;
    Ok(account)
}

/// A new account's checked name and hashed password, made before any transaction opens (the
/// hash is slow and must not hold a connection).
pub struct NewAccount {
    name: Name,
    password_hash: String,
}

impl NewAccount {
    pub async fn prepare(username: &str, password: &str) -> AppResult<NewAccount> {
        let name = super::parse_name(username)?;
        passwords::check_password(password)?;
        Ok(NewAccount {
            name,
            password_hash: passwords::hash(password).await?,
        })
    }
}

/// Creates an account on the caller's connection (inside its transaction, to be audited).
pub async fn insert_account(
    conn: &mut impl Write,
    new: &NewAccount,
    role: Role,
) -> AppResult<CurrentUser> {
    let id = ResourceId::generate(IdKind::Account);
    let name = &new.name;
    accounts::insert(
        conn,
        id.as_str(),
        name.as_str(),
        &new.password_hash,
        role,
        now_ms(),
    )
    .await
    .map_err(|e| super::name_taken_in(e, "account", name, ""))?;
    Ok(CurrentUser {
        id: id.to_string(),
        username: name.to_string(),
        role,
    })
}

/// A first Admin created on first start; `generated` is its password when none was given.
pub struct FirstAdmin {
    pub username: String,
    pub generated: Option<String>,
}

/// On first start: create the first Admin from the given credentials, or with a generated
/// password that is returned so the caller can hand it over once (never through the log).
/// Does nothing if any account exists.
pub async fn bootstrap_admin(
    db: &Db,
    username: Option<&str>,
    password: Option<&str>,
) -> AppResult<Option<FirstAdmin>> {
    if accounts::count(&mut db.reader().await?).await? > 0 {
        return Ok(None);
    }
    let username = username.unwrap_or("admin");
    let (password, generated) = match password {
        Some(p) => (p.to_owned(), None),
        None => {
            let p = crate::domain::keys::PlainApiKey::generate().expose()[4..24].to_owned();
            (p.clone(), Some(p))
        }
    };
    let first_start = Actor::system("first start");
    match create_account(db, &first_start, username, &password, "Admin").await {
        Ok(_) => {}
        // Another replica starting at the same moment made it first: nothing left to do.
        Err(AppError::NameTaken { .. }) => return Ok(None),
        Err(e) => return Err(e),
    }
    Ok(Some(FirstAdmin {
        username: username.to_owned(),
        generated,
    }))
}

fn parse_role(role: &str) -> AppResult<Role> {
    Role::parse(role.trim())
        .ok_or_else(|| AppError::invalid("Role", "The role is Admin or Viewer."))
}

/// Refuses to leave the console without an enabled Admin.
async fn keep_an_admin(conn: &mut impl Write, account: &Account, what: &str) -> AppResult<()> {
    accounts::lock_admins(conn).await?;
    if account.role == Role::Admin
        && account.enabled
        && accounts::other_enabled_admins(conn, &account.id).await? == 0
    {
        return Err(AppError::invalid(
            what,
            "This is the last enabled Admin: enable or promote another Admin first.",
        ));
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn set_account_enabled(
    db: &Db,
    actor: &Actor,
    id: &str,
    enabled: bool,
) -> AppResult<Account> {
    let admin = actor.admin()?;
    let mut tx = admin.begin(db).await?;
    let account = load(&mut tx, id).await?;
    let mut revoked = 0;
    if !enabled {
        keep_an_admin(&mut tx, &account, "Enabled").await?;
        accounts::delete_sessions(&mut tx, &account.id).await?;
        revoked = tokens::delete_all(&mut tx, &account.id).await?;
    }
    accounts::set_enabled(&mut tx, &account.id, enabled, now_ms()).await?;
    let action = if enabled {
        AuditAction::EnableAccount
    } else {
        AuditAction::DisableAccount
    };
    let summary = format!(
        "username={} enabled={enabled} tokens_revoked={revoked}",
        account.username
    );
    let recorded = tx
        .record(Audit::new(action, IdKind::Account, &account.id).summary(summary))
        .await?;
    let account = load(&mut tx, &account.id).await?;
    tx.commit_recorded(recorded).await?;
    // Tokens act with the account's current role and status.
    db.token_cache.clear();
    Ok(account)
}

#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn set_account_role(db: &Db, actor: &Actor, id: &str, role: &str) -> AppResult<Account> {
    let admin = actor.admin()?;
    let role = parse_role(role)?;
    let mut tx = admin.begin(db).await?;
    let account = load(&mut tx, id).await?;
    if role == Role::Viewer {
        keep_an_admin(&mut tx, &account, "Role").await?;
    }
    accounts::set_role(&mut tx, &account.id, role, now_ms()).await?;
    let summary = format!(
        "username={} role {} -> {}",
        account.username,
        account.role.as_str(),
        role.as_str()
    );
    let recorded = tx
        .record(
            Audit::new(AuditAction::ChangeAccountRole, IdKind::Account, &account.id)
                .summary(summary),
        )
        .await?;
    let account = load(&mut tx, &account.id).await?;
    tx.commit_recorded(recorded).await?;
    // Tokens act with the account's current role and status.
    db.token_cache.clear();
    Ok(account)
}

/// Sets a new password chosen by an Admin and signs the account out everywhere.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn reset_password(db: &Db, actor: &Actor, id: &str, password: &str) -> AppResult<()> {
    let admin = actor.admin()?;
    super::parse_id(IdKind::Account, id)?;
    passwords::check_password(password)?;
    let hash = passwords::hash(password).await?;
    let mut tx = admin.begin(db).await?;
    let account = load(&mut tx, id).await?;
    accounts::set_password(&mut tx, &account.id, &hash, now_ms()).await?;
    accounts::delete_sessions(&mut tx, &account.id).await?;
    let revoked = tokens::delete_all(&mut tx, &account.id).await?;
    let summary = format!(
        "username={} password reset tokens_revoked={revoked}",
        account.username
    );
    let recorded = tx
        .record(
            Audit::new(
                AuditAction::ResetAccountPassword,
                IdKind::Account,
                &account.id,
            )
            .summary(summary),
        )
        .await?;
    tx.commit_recorded(recorded).await?;
    db.token_cache.clear();
    Ok(())
}
