//! Writes written once for both engines, as [`Read`] is for reads.
//!
//! A store write takes `&mut impl Write`: a change's transaction ([`super::writer::WriteTx`],
//! which on a SQLite file runs each statement in the calling thread on the one writing
//! connection), or a pooled sqlx connection for the few writes that are not changes (sign-in
//! bookkeeping, sessions).

use super::read::Read;
use super::Arg;
use sqlx::any::Any;
use sqlx::pool::PoolConnection;
use sqlx::{AnyConnection, Transaction};
use std::future::Future;

/// Something statements can be run on. SQL is written with `$1, $2, …` placeholders. A
/// statement with `RETURNING` is run with [`Read::number`] or [`Read::first`].
pub trait Write: Read {
    /// Runs a statement; how many rows it inserted, changed or deleted.
    fn execute(
        &mut self,
        sql: &str,
        args: &[Arg],
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send;
}

impl Write for AnyConnection {
    async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, sqlx::Error> {
        bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql)), args)
            .execute(self)
            .await
            .map(|done| done.rows_affected())
    }
}

impl Write for PoolConnection<Any> {
    async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, sqlx::Error> {
        Write::execute(&mut **self, sql, args).await
    }
}

impl Write for Transaction<'_, Any> {
    async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, sqlx::Error> {
        Write::execute(&mut **self, sql, args).await
    }
}
