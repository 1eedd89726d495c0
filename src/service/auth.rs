//! Accounts, sign-in and sessions.

use crate::domain::records::{CurrentUser, Role};
use crate::domain::{IdKind, ResourceId};
use crate::error::{AppError, AppResult};
use crate::store::{accounts, now_ms, Db};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use rand::RngCore;

/// How long a session lasts.
pub const SESSION_TTL_MS: i64 = 12 * 60 * 60 * 1000;
/// Failed sign-ins tolerated per window, per account and per address.
const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
const MAX_FAILURES_PER_ADDRESS: i64 = 20;
const FAILURE_WINDOW_MS: i64 = 15 * 60 * 1000;
/// Shortest acceptable password.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Argon2id (memory-hard) with a random salt, as a PHC string.
pub fn hash_password(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            AppError::Internal
        })
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A real hash of nothing in particular, checked when the account does not exist.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no such account").unwrap_or_default())
}

/// A random session token (hex) and the hash under which it is stored.
fn new_session_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let hash = crate::domain::keys::hash_key(&token);
    (token, hash)
}

/// Checks the password and opens a session. Failures are rate-limited per account and per
/// client address, counted in the database so the limit holds across replicas.
pub async fn sign_in(
    db: &Db,
    username: &str,
    password: &str,
    address: &str,
) -> AppResult<(String, CurrentUser)> {
    let username = username.trim();
    if username.is_empty()
        || username.chars().count() > 60
        || password.is_empty()
        || password.len() > 1024
    {
        return Err(AppError::invalid(
            "Credentials",
            "Wrong username or password.",
        ));
    }
    let now = now_ms();
    let account_subject = format!("u:{}", username.to_lowercase());
    let address_subject = format!("ip:{address}");
    let mut conn = db.pool.acquire().await?;
    let since = now - FAILURE_WINDOW_MS;
    if accounts::failures_since(&mut conn, &account_subject, since).await?
        >= MAX_FAILURES_PER_ACCOUNT
        || accounts::failures_since(&mut conn, &address_subject, since).await?
            >= MAX_FAILURES_PER_ADDRESS
    {
        return Err(AppError::RateLimited);
    }
    let account = accounts::find_by_username(&mut conn, username).await?;
    let user = match &account {
        Some(a) if a.enabled == 1 && verify_password(password, &a.password_hash) => {
            a.current_user()
        }
        Some(_) => None,
        None => {
            // Spend the same time as a real check so timing does not reveal which names exist.
            let _ = verify_password(password, dummy_hash());
            None
        }
    };
    let Some(user) = user else {
        accounts::record_failure(&mut conn, &account_subject, now).await?;
        accounts::record_failure(&mut conn, &address_subject, now).await?;
        tracing::info!(username, "sign-in refused");
        return Err(AppError::invalid(
            "Credentials",
            "Wrong username or password.",
        ));
    };
    accounts::clear_failures(&mut conn, &account_subject).await?;
    let (token, hash) = new_session_token();
    accounts::insert_session(&mut conn, &hash, &user.id, now, now + SESSION_TTL_MS).await?;
    tracing::info!(username = %user.username, "signed in");
    Ok((token, user))
}

/// The account behind a session cookie, if the session is valid.
pub async fn session_user(db: &Db, token: &str) -> AppResult<Option<CurrentUser>> {
    if token.len() != 64 {
        return Ok(None);
    }
    let mut conn = db.pool.acquire().await?;
    Ok(accounts::session_user(&mut conn, &crate::domain::keys::hash_key(token), now_ms()).await?)
}

pub async fn sign_out(db: &Db, token: &str) -> AppResult<()> {
    let mut conn = db.pool.acquire().await?;
    Ok(accounts::delete_session(&mut conn, &crate::domain::keys::hash_key(token)).await?)
}

/// The longest password accepted (hashing is deliberately slow; a huge input would be a
/// denial of service).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A password's length rules.
pub fn check_password(password: &str) -> AppResult<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(AppError::invalid(
            "Password",
            format!("The password needs at least {MIN_PASSWORD_CHARS} characters."),
        ));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(AppError::invalid(
            "Password",
            format!("The password can have up to {MAX_PASSWORD_CHARS} characters."),
        ));
    }
    Ok(())
}

/// Creates an account; usernames follow the resource-name rules.
pub async fn create_account(
    db: &Db,
    username: &str,
    password: &str,
    role: Role,
) -> AppResult<CurrentUser> {
    let mut conn = db.pool.acquire().await?;
    insert_account(&mut conn, username, password, role).await
}

/// Creates an account on the caller's connection (inside its transaction, to be audited).
pub async fn insert_account(
    conn: &mut sqlx::AnyConnection,
    username: &str,
    password: &str,
    role: Role,
) -> AppResult<CurrentUser> {
    let name = crate::service::parse_name(username)?;
    check_password(password)?;
    let hash = hash_password(password)?;
    let id = ResourceId::generate(IdKind::Account);
    accounts::insert(conn, id.as_str(), name.as_str(), &hash, role, now_ms())
        .await
        .map_err(|e| crate::service::name_taken(e, "account", &name))?;
    Ok(CurrentUser {
        id: id.to_string(),
        username: name.to_string(),
        role,
    })
}

/// On first start: create the first Admin from the given credentials, or with a generated
/// password that is returned so the caller can print it once. Does nothing if any account exists.
pub async fn bootstrap_admin(
    db: &Db,
    username: Option<&str>,
    password: Option<&str>,
) -> AppResult<Option<(String, Option<String>)>> {
    let mut conn = db.pool.acquire().await?;
    if accounts::count(&mut conn).await? > 0 {
        return Ok(None);
    }
    drop(conn);
    let username = username.unwrap_or("admin");
    let (password, generated) = match password {
        Some(p) => (p.to_owned(), None),
        None => {
            let p = crate::domain::keys::PlainApiKey::generate().expose()[4..24].to_owned();
            (p.clone(), Some(p))
        }
    };
    create_account(db, username, &password, Role::Admin).await?;
    Ok(Some((username.to_owned(), generated)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
    }

    #[test]
    fn session_tokens_are_random_and_stored_hashed() {
        let (a, ha) = new_session_token();
        let (b, _) = new_session_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(a, ha);
    }
}
