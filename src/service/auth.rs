//! Accounts, sign-in and sessions.
//!
//! Sign-in is built so that it cannot starve the server nor be turned against the real
//! Admin: each attempt is counted as a failure *before* the password is checked (so parallel
//! guesses cannot outrun the limit), per account-and-address and per address (an IPv6 client
//! by its /64), never per account alone (nobody can lock the Admin out from every address);
//! and the hash runs off the async workers with bounded concurrency (`passwords`). Unknown
//! and disabled accounts cost the same time as real ones.

use super::passwords;
use crate::domain::records::CurrentUser;

use crate::error::{AppError, AppResult};
use crate::store::{accounts, now_ms, tokens, Db};
use crate::telemetry::names::SIGNIN_FAILURES;
use rand::RngCore;
use std::net::IpAddr;

/// A session ends this long after sign-in, however active.
pub const SESSION_ABSOLUTE_MS: i64 = 12 * 60 * 60 * 1000;
/// A session ends after this long without a request.
pub const SESSION_IDLE_MS: i64 = 60 * 60 * 1000;
/// A session's last use is written at most this often.
const SESSION_TOUCH_MS: i64 = 60 * 1000;
/// Sign-in attempts allowed per window for one account from one address…
const MAX_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS: i64 = 5;
/// …and from one address for all accounts.
const MAX_ATTEMPTS_PER_ADDRESS: i64 = 20;
const FAILURE_WINDOW_MS: i64 = 15 * 60 * 1000;
/// Expired API tokens stay listed (as expired) this long before they are purged.
const EXPIRED_TOKENS_KEPT_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// How often expired sessions, tokens and old failures are purged.
pub const PURGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);

/// The address as rate limits count it: an IPv4 address, or an IPv6 client's /64 (one
/// subscriber or host usually has a whole /64).
pub fn address_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// A random session token (hex) and the hash under which it is stored.
fn new_session_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let hash = crate::domain::keys::hash_key(&token);
    (token, hash)
}

fn wrong_credentials() -> AppError {
    AppError::invalid("Credentials", "Wrong username or password.")
}

/// Checks the password and opens a session. Attempts are counted in the database, so the
/// limits hold across replicas.
pub async fn sign_in(
    db: &Db,
    username: &str,
    password: &str,
    address: IpAddr,
) -> AppResult<(String, CurrentUser)> {
    let username = username.trim();
    if username.is_empty()
        || username.chars().count() > 60
        || password.is_empty()
        || password.chars().count() > passwords::MAX_PASSWORD_CHARS
    {
        metrics::counter!(SIGNIN_FAILURES, "reason" => "credentials").increment(1);
        return Err(wrong_credentials());
    }
    let now = now_ms();
    let address = address_key(address);
    // The typed name is kept only as a hash: people type passwords into it.
    let typed = crate::domain::keys::hash_key(&username.to_lowercase());
    let pair_subject = format!("u:{}@{address}", &typed[..32]);
    let address_subject = format!("ip:{address}");
    let since = now - FAILURE_WINDOW_MS;
    // Count this attempt first: each insert commits before its count, so of any number of
    // parallel attempts at most the limit see a count within it.
    let account = {
        let mut tx = db.begin_write().await?;
        accounts::record_failure(&mut tx, &pair_subject, now).await?;
        accounts::record_failure(&mut tx, &address_subject, now).await?;
        tx.commit().await?;
        let mut conn = db.reader().await?;
        if accounts::failures_since(&mut conn, &pair_subject, since).await?
            > MAX_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS
            || accounts::failures_since(&mut conn, &address_subject, since).await?
                > MAX_ATTEMPTS_PER_ADDRESS
        {
            tracing::info!(client = %address, "sign-in refused: too many attempts");
            metrics::counter!(SIGNIN_FAILURES, "reason" => "rate_limited").increment(1);
            return Err(AppError::RateLimited);
        }
        accounts::find_by_username(&mut conn, username).await?
    };
    // No connection is held while hashing.
    let hash = account.as_ref().map(|a| a.password_hash.as_str());
    let matches = passwords::verify(password, hash).await?;
    let user = account
        .filter(|a| matches && a.enabled)
        .map(|a| a.current_user());
    let Some(user) = user else {
        // The username is not logged: people type passwords into it.
        tracing::info!(client = %address, "sign-in refused");
        metrics::counter!(SIGNIN_FAILURES, "reason" => "credentials").increment(1);
        return Err(wrong_credentials());
    };
    let mut tx = db.begin_write().await?;
    accounts::clear_failures(&mut tx, &pair_subject).await?;
    accounts::clear_failure_at(&mut tx, &address_subject, now).await?;
    let (token, hash) = new_session_token();
    accounts::insert_session(&mut tx, &hash, &user.id, now, now + SESSION_ABSOLUTE_MS).await?;
    tx.commit().await?;
    tracing::info!(username = %user.username, "signed in");
    Ok((token, user))
}

/// The account behind a session cookie, if the session has neither expired nor been idle
/// too long; each use (at most once a minute) starts the idle period again.
pub async fn session_user(db: &Db, token: &str) -> AppResult<Option<CurrentUser>> {
    if token.len() != 64 {
        return Ok(None);
    }
    let hash = crate::domain::keys::hash_key(token);
    let now = now_ms();
    let mut reader = db.reader().await?;
    let found = accounts::session_user(&mut reader, &hash, now, now - SESSION_IDLE_MS).await?;
    drop(reader);
    let Some((user, last_seen)) = found else {
        return Ok(None);
    };
    if now - last_seen > SESSION_TOUCH_MS {
        let mut tx = db.begin_write().await?;
        accounts::touch_session(&mut tx, &hash, now).await?;
        tx.commit().await?;
    }
    Ok(Some(user))
}

pub async fn sign_out(db: &Db, token: &str) -> AppResult<()> {
    let mut tx = db.begin_write().await?;
    accounts::delete_session(&mut tx, &crate::domain::keys::hash_key(token)).await?;
    Ok(tx.commit().await?)
}

/// Deletes expired and idle sessions, tokens expired for a week, and sign-in failures older
/// than the rate-limit window; returns how many rows went.
pub async fn purge(db: &Db, now: i64) -> AppResult<u64> {
    let mut tx = db.begin_write().await?;
    let gone = accounts::purge(&mut tx, now, now - SESSION_IDLE_MS, now - FAILURE_WINDOW_MS)
        .await?
        + tokens::purge_expired(&mut tx, now - EXPIRED_TOKENS_KEPT_MS).await?;
    tx.commit().await?;
    Ok(gone)
}

/// Purges every `PURGE_INTERVAL` for as long as the process runs (each replica does; the
/// deletes are idempotent).
pub fn spawn_purger(db: Db) {
    tokio::spawn(async move {
        loop {
            match purge(&db, now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(rows = n, "purged expired sessions, tokens and failures"),
                Err(_) => tracing::warn!("purging expired sessions failed; retrying later"),
            }
            tokio::time::sleep(PURGE_INTERVAL).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_tokens_are_random_and_stored_hashed() {
        let (a, ha) = new_session_token();
        let (b, _) = new_session_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(a, ha);
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_and_a_mapped_ipv4_as_itself() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        assert_eq!(address_key(a), "2001:db8:1:2::/64");
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.1");
    }
}
