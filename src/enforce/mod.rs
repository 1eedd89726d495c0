//! Enforcement: the check a proxy calls before it forwards a request (`GET /authz/check`),
//! answered from an in-memory snapshot per instance, never from a query per request.
//!
//! Every change is audited, and the audit write bumps the instance's `revision` in the same
//! transaction (and on PostgreSQL sends a `NOTIFY`, delivered at commit). A watcher polls the
//! revisions every 250 ms (a single tiny query; every 2 s as a safety net while PostgreSQL's
//! `LISTEN` connection is up) and wakes at once on a notification; an
//! instance whose revision moved is re-read in one transaction and its snapshot swapped, so
//! every replica follows every change within a second. Expiry is compared with the clock at
//! each request, so a ShortTerm rule or a key's expiry needs no reload.

pub mod check;
pub mod snapshot;

use crate::store::{self, Backend, Db};
use snapshot::Snapshot;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::Notify;

/// How often the watcher looks at the revisions (SQLite, or PostgreSQL while its listener
/// is down).
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// The safety-net poll while the PostgreSQL listener is connected (it wakes the watcher on
/// every change, so polling only covers a notification lost in a reconnect).
pub const LISTENING_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Per replica: which gateway (instance) and environment this replica enforces for. When
/// set they win over the `X-Gateway-Id` / `X-Gateway-Environment` headers.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub gateway_id: Option<String>,
    pub environment: Option<String>,
}

#[derive(Default)]
struct Registry {
    /// The latest revision of every instance, from the last poll.
    revisions: HashMap<String, i64>,
    /// The loaded snapshots (an instance is loaded on its first check, or at start when it
    /// is the configured gateway).
    snapshots: HashMap<String, Arc<Snapshot>>,
}

pub struct Enforcer {
    db: Db,
    pub settings: Settings,
    registry: RwLock<Registry>,
    loading: tokio::sync::Mutex<()>,
    changed: Notify,
    /// True while a PostgreSQL `LISTEN` connection is up.
    listening: AtomicBool,
}

impl Enforcer {
    /// Reads the instances, loads the configured gateway, and starts the watcher.
    pub async fn start(db: Db, settings: Settings) -> Result<Arc<Enforcer>, sqlx::Error> {
        let enforcer = Arc::new(Enforcer {
            db,
            settings,
            registry: RwLock::new(Registry::default()),
            loading: tokio::sync::Mutex::new(()),
            changed: Notify::new(),
            listening: AtomicBool::new(false),
        });
        enforcer.refresh().await?;
        if let Some(id) = enforcer.settings.gateway_id.clone() {
            if enforcer.snapshot(&id).await.is_none() {
                tracing::warn!(gateway_id = %id, "the configured enforcement gateway does not exist (yet); checks answer 403 until it does");
            }
        }
        enforcer.clone().spawn_watcher();
        Ok(enforcer)
    }

    /// The instance's snapshot, loading it on first use. None for an instance that does not
    /// exist, without touching the database (the known instances come from the last poll).
    pub async fn snapshot(&self, instance_id: &str) -> Option<Arc<Snapshot>> {
        {
            let registry = self.registry.read().expect("registry lock");
            if let Some(s) = registry.snapshots.get(instance_id) {
                return Some(s.clone());
            }
            if !registry.revisions.contains_key(instance_id) {
                return None;
            }
        }
        match self.load(instance_id).await {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(error = %e, instance_id, "could not load the enforcement snapshot");
                None
            }
        }
    }

    async fn load(&self, instance_id: &str) -> Result<Arc<Snapshot>, sqlx::Error> {
        let _one_at_a_time = self.loading.lock().await;
        let current = self
            .registry
            .read()
            .expect("registry lock")
            .snapshots
            .get(instance_id)
            .cloned();
        let latest = self.latest_revision(instance_id);
        if let Some(s) = current.filter(|s| Some(s.revision) >= latest) {
            return Ok(s);
        }
        let started = std::time::Instant::now();
        let rows = store::snapshot::load(&self.db, instance_id).await?;
        let read_ms = started.elapsed().as_millis() as u64;
        let snapshot = tokio::task::spawn_blocking(move || Arc::new(Snapshot::build(rows)))
            .await
            .expect("snapshot build does not panic");
        tracing::info!(
            instance_id,
            revision = snapshot.revision,
            keys = snapshot.key_count(),
            read_ms,
            total_ms = started.elapsed().as_millis() as u64,
            "enforcement snapshot loaded"
        );
        self.registry
            .write()
            .expect("registry lock")
            .snapshots
            .insert(instance_id.to_owned(), snapshot.clone());
        Ok(snapshot)
    }

    fn latest_revision(&self, instance_id: &str) -> Option<i64> {
        self.registry
            .read()
            .expect("registry lock")
            .revisions
            .get(instance_id)
            .copied()
    }

    /// Reads every instance's revision and reloads the loaded snapshots that fell behind.
    pub async fn refresh(&self) -> Result<(), sqlx::Error> {
        let revisions: HashMap<String, i64> = store::snapshot::revisions(&self.db)
            .await?
            .into_iter()
            .collect();
        let stale: Vec<String> = {
            let mut registry = self.registry.write().expect("registry lock");
            registry
                .snapshots
                .retain(|id, _| revisions.contains_key(id));
            let stale = registry
                .snapshots
                .iter()
                .filter(|(id, s)| revisions.get(*id) != Some(&s.revision))
                .map(|(id, _)| id.clone())
                .collect();
            registry.revisions = revisions;
            stale
        };
        for id in stale {
            self.load(&id).await?;
        }
        Ok(())
    }

    /// Polls the revisions and reloads what changed, for as long as the process runs; on
    /// PostgreSQL a listener wakes it as soon as a change commits on any replica.
    fn spawn_watcher(self: Arc<Self>) {
        if self.db.backend == Backend::Postgres {
            tokio::spawn(listen(self.clone()));
        }
        tokio::spawn(async move {
            loop {
                let interval = if self.listening.load(Ordering::Relaxed) {
                    LISTENING_POLL_INTERVAL
                } else {
                    POLL_INTERVAL
                };
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = self.changed.notified() => {}
                }
                if let Err(e) = self.refresh().await {
                    tracing::warn!(error = %e, "enforcement refresh failed; retrying");
                }
            }
        });
    }
}

/// PostgreSQL `LISTEN`: a notification wakes the watcher at once. When the connection
/// drops, the watcher polls fast until it is back, then catches up once.
async fn listen(enforcer: Arc<Enforcer>) {
    use sqlx::postgres::PgListener;
    let url = enforcer.db.url().to_owned();
    loop {
        match PgListener::connect(&url).await {
            Ok(mut listener) => match listener.listen(store::audit::CHANGES_CHANNEL).await {
                Ok(()) => {
                    enforcer.listening.store(true, Ordering::Relaxed);
                    // Changes made while no one listened: one refresh catches up.
                    enforcer.changed.notify_one();
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(_)) => enforcer.changed.notify_one(),
                            // The connection dropped and was re-established: notifications
                            // in between are lost, so catch up.
                            Ok(None) => enforcer.changed.notify_one(),
                            Err(e) => {
                                tracing::warn!(error = %e, "the change listener failed; polling fast until it is back");
                                break;
                            }
                        }
                    }
                    enforcer.listening.store(false, Ordering::Relaxed);
                }
                Err(e) => tracing::warn!(error = %e, "LISTEN failed; polling only"),
            },
            Err(e) => {
                tracing::warn!(error = %e, "could not connect the change listener; polling only")
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
