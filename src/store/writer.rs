//! SQLite's writes: one connection, taken by one change at a time in arrival order, with
//! group commit.
//!
//! SQLite lets one transaction write at a time. Left to itself, each writer waits for the
//! lock in SQLite's busy handler, which sleeps and polls (1, 2, 5, 10 … 100 ms), so under
//! concurrent writes most of the time goes to sleeping, and every commit pays its own sync of
//! the log. Here a change instead waits its turn on a fair async lock (it is woken the moment
//! the previous change is done) and runs inside a `SAVEPOINT` of a transaction shared with
//! the changes queued with it; the first change of a group schedules one `COMMIT`, queued
//! behind the changes already waiting, so one sync of the log covers all of them. A change is
//! answered only after that `COMMIT`: an acknowledged change is on disk, as before.
//!
//! A change that fails or is abandoned rolls back to its savepoint, so it leaves nothing and
//! does not disturb the others of its group; if the whole transaction is lost (an I/O error)
//! every change of the group is told so and none is acknowledged.

use sqlx::any::AnyPoolOptions;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use tokio::sync::{oneshot, Mutex, OwnedMutexGuard};

/// The writing side of a SQLite database (a pool of its own with one connection).
pub struct Writer {
    pool: AnyPool,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    conn: Option<PoolConnection<Any>>,
    /// A transaction is open on `conn`.
    in_tx: bool,
    /// The last change ended without committing: its savepoint is to be rolled back.
    undo: bool,
    /// A `COMMIT` is queued.
    flush_scheduled: bool,
    /// Changes released into the open transaction, waiting for its `COMMIT`.
    pending: Vec<oneshot::Sender<Result<(), String>>>,
    /// A turn was being prepared when its request was cancelled: a statement may have run
    /// without the state saying so (a `BEGIN` with `in_tx` still false), so the connection's
    /// state is unknown and the next turn starts over on a fresh one.
    unsure: bool,
}

impl Writer {
    /// A writer over a pool like `reads`' (same options), limited to one connection.
    pub fn new(options: sqlx::any::AnyConnectOptions, pool_options: AnyPoolOptions) -> Writer {
        Writer {
            pool: pool_options.max_connections(1).connect_lazy_with(options),
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    /// Waits for this change's turn and opens its savepoint.
    pub async fn begin(self: &Arc<Self>) -> Result<SharedTx, sqlx::Error> {
        let mut guard = self.state.clone().lock_owned().await;
        if let Err(e) = prepare(&self.pool, &mut guard).await {
            lose_transaction(&mut guard, &e.to_string()).await;
            return Err(e);
        }
        Ok(SharedTx {
            guard: Some(guard),
            writer: self.clone(),
        })
    }

    /// Schedules the `COMMIT` of the open transaction, behind the changes already queued.
    fn schedule_flush(self: &Arc<Self>, state: &mut State) {
        if state.flush_scheduled {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // shutting down: the open transaction is rolled back with the connection
        };
        state.flush_scheduled = true;
        let writer = self.clone();
        // Detached: a client that goes away does not cancel other changes' commit.
        runtime.spawn(async move {
            let mut guard = writer.state.clone().lock_owned().await;
            guard.flush_scheduled = false;
            if guard.undo {
                if let Err(e) = undo(&mut guard).await {
                    lose_transaction(&mut guard, &e.to_string()).await;
                    return;
                }
            }
            if !guard.in_tx {
                return;
            }
            let result = match guard.conn.as_mut() {
                Some(conn) => sqlx::query("COMMIT").execute(&mut **conn).await.map(|_| ()),
                None => Ok(()),
            };
            match result {
                Ok(()) => {
                    guard.in_tx = false;
                    for waiter in guard.pending.drain(..) {
                        let _ = waiter.send(Ok(()));
                    }
                }
                Err(e) => lose_transaction(&mut guard, &e.to_string()).await,
            }
        });
    }
}

/// Rolls back what an abandoned change left, connects if needed, begins the shared
/// transaction if none is open, and opens a savepoint for the next change.
async fn prepare(pool: &AnyPool, state: &mut State) -> Result<(), sqlx::Error> {
    if state.unsure {
        tracing::warn!("a change was cancelled while its turn was prepared: starting over on a fresh connection");
        lose_transaction(state, "an earlier change was cancelled mid-statement").await;
    }
    // Cleared once every statement below has run and the state says what they did; a
    // cancelled request leaves it set (the statement may still run on SQLite's thread).
    state.unsure = true;
    if state.undo {
        undo(state).await?;
    }
    if state.conn.is_none() {
        state.conn = Some(pool.acquire().await?);
    }
    let conn = state.conn.as_mut().expect("connected above");
    if !state.in_tx {
        sqlx::query("BEGIN IMMEDIATE").execute(&mut **conn).await?;
        state.in_tx = true;
    }
    sqlx::query("SAVEPOINT change").execute(&mut **conn).await?;
    state.unsure = false;
    Ok(())
}

async fn undo(state: &mut State) -> Result<(), sqlx::Error> {
    let conn = state
        .conn
        .as_mut()
        .expect("a savepoint needs its connection");
    sqlx::query("ROLLBACK TO change")
        .execute(&mut **conn)
        .await?;
    sqlx::query("RELEASE change").execute(&mut **conn).await?;
    state.undo = false;
    Ok(())
}

/// The shared transaction is gone (or in an unknown state): roll back whatever is left, drop
/// the connection, and tell every change released into it that it was not committed.
async fn lose_transaction(state: &mut State, why: &str) {
    if let Some(mut conn) = state.conn.take() {
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        drop(conn.detach());
    }
    state.in_tx = false;
    state.undo = false;
    state.unsure = false;
    for waiter in state.pending.drain(..) {
        let _ = waiter.send(Err(why.to_owned()));
    }
}

/// One change's turn on the writer: its savepoint, until `commit` or drop.
pub struct SharedTx {
    guard: Option<OwnedMutexGuard<State>>,
    writer: Arc<Writer>,
}

impl SharedTx {
    /// Releases the savepoint into the shared transaction, lets the next change in, and
    /// returns once the transaction holding this change has committed.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        let mut guard = self.guard.take().expect("a change commits once");
        let conn = guard
            .conn
            .as_mut()
            .expect("an open change has its connection");
        if let Err(e) = sqlx::query("RELEASE change").execute(&mut **conn).await {
            guard.undo = true;
            self.writer.schedule_flush(&mut guard);
            return Err(e);
        }
        let (done, committed) = oneshot::channel();
        guard.pending.push(done);
        self.writer.schedule_flush(&mut guard);
        drop(guard);
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(not_committed(why)),
            Err(_) => Err(not_committed("the writer stopped".into())),
        }
    }
}

/// A change whose transaction did not commit: nothing of it is stored. Reported as the
/// database being unavailable (the caller may try again).
fn not_committed(why: String) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::other(format!(
        "the transaction was not committed: {why}"
    )))
}

impl Drop for SharedTx {
    /// A change dropped without `commit` (an error, or its request was cancelled) is rolled
    /// back to its savepoint before anything else runs on the writer.
    fn drop(&mut self) {
        if let Some(mut guard) = self.guard.take() {
            guard.undo = true;
            self.writer.schedule_flush(&mut guard);
        }
    }
}

impl Deref for SharedTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        self.guard
            .as_ref()
            .and_then(|g| g.conn.as_deref())
            .expect("an open change has its connection")
    }
}

impl DerefMut for SharedTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.guard
            .as_mut()
            .and_then(|g| g.conn.as_deref_mut())
            .expect("an open change has its connection")
    }
}

/// A change's transaction: its own on PostgreSQL (writers to different rows run in
/// parallel), a turn on the shared writer on SQLite.
pub enum WriteTx {
    Own(sqlx::Transaction<'static, Any>),
    Shared(SharedTx),
}

impl WriteTx {
    /// Commits; returns once the change is durable.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            WriteTx::Own(tx) => tx.commit().await,
            WriteTx::Shared(tx) => tx.commit().await,
        }
    }
}

impl Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            WriteTx::Own(tx) => tx,
            WriteTx::Shared(tx) => tx,
        }
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            WriteTx::Own(tx) => &mut *tx,
            WriteTx::Shared(tx) => &mut *tx,
        }
    }
}
