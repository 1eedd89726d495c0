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
//!
//! The connection is a synchronous rusqlite one, and a change's statements run in the
//! calling thread while it holds its turn: a statement takes microseconds, less than handing
//! it to sqlx's worker thread and back, and a turn is as long as its statements (about eight
//! for a create). Every SQLite write of the process comes through here (changes, and sign-in,
//! session and token bookkeeping), so `BEGIN IMMEDIATE` finds the lock free (unless the
//! command line, another process, is writing that moment: then it waits for that one short
//! write); only `COMMIT` (a sync to disk) runs off the async workers, and the statements a
//! caller announces as slow (`Read::expect_slow`: the batches of hundreds of rows of a usage
//! flush, a quota exchange or a roll-up), which give up their worker thread meanwhile so that
//! the checks queued on it go on. A request cancelled while waiting for its turn never has a
//! statement in flight.

use super::lite::{self, every_row, first_number, first_row, lite_error};
use super::read::Read;
use super::row::Row;
use super::write::Write;
use super::{Arg, Backend};
use rusqlite::Connection;
use sqlx::Any;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{oneshot, Mutex, OwnedMutexGuard};

/// The writing side of a SQLite file: its one writing connection, taken in turn.
pub struct Writer {
    path: PathBuf,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    conn: Option<Connection>,
    /// A transaction is open on `conn`.
    in_tx: bool,
    /// The last change ended without committing: its savepoint is to be rolled back.
    undo: bool,
    /// A `COMMIT` is queued.
    flush_scheduled: bool,
    /// Changes released into the open transaction, waiting for its `COMMIT`.
    pending: Vec<oneshot::Sender<Result<(), String>>>,
}

impl Writer {
    /// A writer for the SQLite file at `path` (connected at the first change).
    pub fn new(path: PathBuf) -> Writer {
        Writer {
            path,
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    /// Waits for this change's turn and opens its savepoint.
    pub async fn begin(self: &Arc<Self>) -> Result<SharedTx, sqlx::Error> {
        let mut guard = self.state.clone().lock_owned().await;
        if let Err(e) = prepare(&self.path, &mut guard) {
            lose_transaction(&mut guard, &e.to_string());
            return Err(e);
        }
        Ok(SharedTx {
            guard: Some(guard),
            writer: self.clone(),
            slow: false,
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
            // The sync to disk waits off the async workers; the turn is held meanwhile.
            let _ = tokio::task::spawn_blocking(move || flush(&mut guard)).await;
        });
    }
}

/// Rolls back what an abandoned change left, then commits the open transaction and tells
/// the changes in it.
fn flush(state: &mut State) {
    if state.undo {
        if let Err(e) = undo(state) {
            lose_transaction(state, &e.to_string());
            return;
        }
    }
    if !state.in_tx {
        return;
    }
    let result = match state.conn.as_ref() {
        Some(conn) => lite::execute(conn, "COMMIT", &[]).map(drop),
        None => Ok(()),
    };
    match result {
        Ok(()) => {
            state.in_tx = false;
            for waiter in state.pending.drain(..) {
                let _ = waiter.send(Ok(()));
            }
        }
        Err(e) => lose_transaction(state, &e.to_string()),
    }
}

/// Rolls back what an abandoned change left, connects if needed, begins the shared
/// transaction if none is open, and opens a savepoint for the next change.
fn prepare(path: &std::path::Path, state: &mut State) -> Result<(), sqlx::Error> {
    if state.undo {
        undo(state)?;
    }
    if state.conn.is_none() {
        state.conn = Some(lite::open_writer(path).map_err(lite_error)?);
    }
    let conn = state.conn.as_ref().expect("connected above");
    if !state.in_tx {
        // Every write of the process comes through here, so the lock is free: nothing waits.
        lite::execute(conn, "BEGIN IMMEDIATE", &[])?;
        state.in_tx = true;
    }
    lite::execute(conn, "SAVEPOINT change", &[])?;
    Ok(())
}

fn undo(state: &mut State) -> Result<(), sqlx::Error> {
    let conn = state
        .conn
        .as_ref()
        .expect("a savepoint needs its connection");
    lite::execute(conn, "ROLLBACK TO change", &[])?;
    lite::execute(conn, "RELEASE change", &[])?;
    state.undo = false;
    Ok(())
}

/// The shared transaction is gone (or in an unknown state): roll back whatever is left, drop
/// the connection, and tell every change released into it that it was not committed.
fn lose_transaction(state: &mut State, why: &str) {
    if let Some(conn) = state.conn.take() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    state.in_tx = false;
    state.undo = false;
    for waiter in state.pending.drain(..) {
        let _ = waiter.send(Err(why.to_owned()));
    }
}

/// One change's turn on the writer: its savepoint, until `commit` or drop.
pub struct SharedTx {
    guard: Option<OwnedMutexGuard<State>>,
    writer: Arc<Writer>,
    /// The next statement may run long (see [`Read::expect_slow`]).
    slow: bool,
}

impl SharedTx {
    fn conn(&self) -> Result<&Connection, sqlx::Error> {
        self.guard
            .as_ref()
            .and_then(|g| g.conn.as_ref())
            .ok_or(sqlx::Error::PoolClosed)
    }

    /// Runs a statement on the connection: a statement announced as slow (a batch of a
    /// usage flush or of a quota exchange, hundreds of rows) gives up the async worker
    /// thread while it runs, so that the requests queued on that worker (the checks) are
    /// taken on by another thread instead of waiting for it.
    fn run<R>(
        &mut self,
        f: impl FnOnce(&Connection) -> Result<R, sqlx::Error>,
    ) -> Result<R, sqlx::Error> {
        let slow = std::mem::take(&mut self.slow);
        let conn = self.conn()?;
        if slow {
            lite::off_the_worker(|| f(conn))
        } else {
            f(conn)
        }
    }

    /// Releases the savepoint into the shared transaction, lets the next change in, and
    /// returns once the transaction holding this change has committed.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        let mut guard = self.guard.take().expect("a change commits once");
        let released = match guard.conn.as_ref() {
            Some(conn) => lite::execute(conn, "RELEASE change", &[]).map(drop),
            None => Err(sqlx::Error::PoolClosed),
        };
        if let Err(e) = released {
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

impl Read for SharedTx {
    async fn all<T: Row>(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<T>, sqlx::Error> {
        self.run(|conn| lite::query(conn, sql, args, every_row))
    }

    async fn first<T: Row>(&mut self, sql: &str, args: &[Arg]) -> Result<Option<T>, sqlx::Error> {
        self.run(|conn| lite::query(conn, sql, args, first_row))
    }

    async fn number(&mut self, sql: &str, args: &[Arg]) -> Result<Option<i64>, sqlx::Error> {
        self.run(|conn| lite::query(conn, sql, args, first_number))
    }

    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn expect_slow(&mut self) {
        self.slow = true;
    }
}

impl Write for SharedTx {
    async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, sqlx::Error> {
        self.run(|conn| lite::execute(conn, sql, args))
    }
}

/// A change's transaction: its own on PostgreSQL (writers to different rows run in
/// parallel), a turn on the shared writer on a SQLite file.
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

impl Read for WriteTx {
    async fn all<T: Row>(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<T>, sqlx::Error> {
        match self {
            WriteTx::Own(tx) => Read::all(tx, sql, args).await,
            WriteTx::Shared(tx) => Read::all(tx, sql, args).await,
        }
    }

    async fn first<T: Row>(&mut self, sql: &str, args: &[Arg]) -> Result<Option<T>, sqlx::Error> {
        match self {
            WriteTx::Own(tx) => Read::first(tx, sql, args).await,
            WriteTx::Shared(tx) => Read::first(tx, sql, args).await,
        }
    }

    async fn number(&mut self, sql: &str, args: &[Arg]) -> Result<Option<i64>, sqlx::Error> {
        match self {
            WriteTx::Own(tx) => Read::number(tx, sql, args).await,
            WriteTx::Shared(tx) => Read::number(tx, sql, args).await,
        }
    }

    fn backend(&self) -> Backend {
        match self {
            WriteTx::Own(tx) => Read::backend(tx),
            WriteTx::Shared(tx) => Read::backend(tx),
        }
    }

    fn expect_slow(&mut self) {
        if let WriteTx::Shared(tx) = self {
            tx.expect_slow();
        }
    }
}

impl Write for WriteTx {
    async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, sqlx::Error> {
        match self {
            WriteTx::Own(tx) => Write::execute(tx, sql, args).await,
            WriteTx::Shared(tx) => Write::execute(tx, sql, args).await,
        }
    }
}
