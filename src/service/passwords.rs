//! Password hashes: argon2id (memory-hard) in PHC strings. Hashing is deliberately slow, so
//! it never runs on the async workers: it runs on the blocking pool, at most `HASHERS` at a
//! time, with a bounded queue, so a flood of sign-ins costs at most that many cores and the
//! proxy's check and the REST API keep theirs.

use crate::error::{AppError, AppResult};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use tokio::sync::Semaphore;

/// Shortest acceptable password.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The longest password accepted (hashing is deliberately slow; a huge input would be a
/// denial of service).
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Hashes waiting beyond this many are refused at once (the caller gets "try again later").
const MAX_WAITING: usize = 64;

/// Hashes running at once: one core fewer than the machine has (at least one).
fn hashers() -> &'static Semaphore {
    static HASHERS: OnceLock<Semaphore> = OnceLock::new();
    HASHERS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Semaphore::new(cores.saturating_sub(1).max(1))
    })
}

static WAITING: AtomicUsize = AtomicUsize::new(0);

/// Runs `work` on the blocking pool once a hasher is free.
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    if WAITING.fetch_add(1, Ordering::AcqRel) >= MAX_WAITING {
        WAITING.fetch_sub(1, Ordering::AcqRel);
        tracing::warn!("password hashing queue full; refusing");
        return Err(AppError::RateLimited);
    }
    let permit = hashers().acquire().await;
    WAITING.fetch_sub(1, Ordering::AcqRel);
    let _permit = permit.map_err(|_| AppError::Internal)?;
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        tracing::error!(error = %e, "password hashing task failed");
        AppError::Internal
    })
}

fn hash_now(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            AppError::Internal
        })
}

fn verify_now(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A real hash of nothing in particular, checked for unknown accounts so that they cost the
/// same time as real ones.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_now("no such account").unwrap_or_default())
}

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

/// Argon2id with a random salt, as a PHC string.
pub async fn hash(password: &str) -> AppResult<String> {
    let password = password.to_owned();
    bounded(move || hash_now(&password)).await?
}

/// Whether `password` matches `hash`; with no hash (no such account, or one whose hash
/// cannot be used) a dummy one is checked, so every answer takes the same time.
pub async fn verify(password: &str, hash: Option<&str>) -> AppResult<bool> {
    let password = password.to_owned();
    let hash = hash.map(str::to_owned);
    bounded(move || match hash {
        Some(h) => verify_now(&password, &h),
        None => {
            let _ = verify_now(&password, dummy_hash());
            false
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_verifies_against_its_own_hash_only() {
        let h = hash("correct horse battery").await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", Some(&h)).await.unwrap());
        assert!(!verify("wrong horse battery", Some(&h)).await.unwrap());
        assert!(!verify("correct horse battery", None).await.unwrap());
        assert!(!verify("x", Some("not a phc string")).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashing_never_runs_more_than_the_allowed_number_at_once() {
        let allowed = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .saturating_sub(1)
            .max(1);
        let running = std::sync::Arc::new(AtomicUsize::new(0));
        let peak = std::sync::Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let (running, peak) = (running.clone(), peak.clone());
                tokio::spawn(bounded(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert!(peak.load(Ordering::SeqCst) <= allowed);
    }
}
