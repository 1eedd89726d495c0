//! Reads written once for both engines.
//!
//! A store read takes `&mut impl Read`: a pooled sqlx connection or transaction (PostgreSQL,
//! and every write path), or a [`Reader`] from [`Db::reader`](super::Db::reader). On SQLite a
//! `Reader` is a synchronous connection ([`super::lite`]) that runs the query in the calling
//! thread: sqlx's SQLite driver hands every query and every row to a worker thread and back,
//! and on a small machine those context switches cost more than the query itself.

use super::lite::Lease;
use super::row::Row;
use super::{Arg, Backend};
use sqlx::any::Any;
use sqlx::pool::PoolConnection;
use sqlx::{AnyConnection, Transaction};
use std::future::Future;

/// Something queries can be read from. SQL is written with `$1, $2, …` placeholders, which
/// both engines accept; a placeholder may appear more than once.
pub trait Read: Send {
    /// Every row the query returns.
    fn all<T: Row>(
        &mut self,
        sql: &str,
        args: &[Arg],
    ) -> impl Future<Output = Result<Vec<T>, sqlx::Error>> + Send;

    /// The first row, if any.
    fn first<T: Row>(
        &mut self,
        sql: &str,
        args: &[Arg],
    ) -> impl Future<Output = Result<Option<T>, sqlx::Error>> + Send;

    /// The first column of the first row, if there is a row.
    fn number(
        &mut self,
        sql: &str,
        args: &[Arg],
    ) -> impl Future<Output = Result<Option<i64>, sqlx::Error>> + Send;

    /// The engine the queries run on, for the few that each engine answers its own way.
    fn backend(&self) -> Backend;

    /// Says that the next query may run long (a search over many rows), so a synchronous
    /// connection should give up its async worker thread while it runs.
    fn expect_slow(&mut self) {}
}

impl Read for AnyConnection {
    async fn all<T: Row>(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<T>, sqlx::Error> {
        bind_all!(sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql)), args)
            .fetch_all(self)
            .await
    }

    async fn first<T: Row>(&mut self, sql: &str, args: &[Arg]) -> Result<Option<T>, sqlx::Error> {
        bind_all!(sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql)), args)
            .fetch_optional(self)
            .await
    }

    async fn number(&mut self, sql: &str, args: &[Arg]) -> Result<Option<i64>, sqlx::Error> {
        bind_all!(sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)), args)
            .fetch_optional(self)
            .await
    }

    fn backend(&self) -> Backend {
        if self.backend_name().eq_ignore_ascii_case("sqlite") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }
}

/// Pooled connections and transactions (and anything else that derefs to a connection) read
/// through the connection they hold.
macro_rules! read_through_connection {
    ($($ty:ty),*) => {$(
        impl $crate::store::read::Read for $ty {
            async fn all<T: $crate::store::row::Row>(
                &mut self,
                sql: &str,
                args: &[$crate::store::Arg],
            ) -> Result<Vec<T>, sqlx::Error> {
                $crate::store::read::Read::all(&mut **self, sql, args).await
            }

            async fn first<T: $crate::store::row::Row>(
                &mut self,
                sql: &str,
                args: &[$crate::store::Arg],
            ) -> Result<Option<T>, sqlx::Error> {
                $crate::store::read::Read::first(&mut **self, sql, args).await
            }

            async fn number(
                &mut self,
                sql: &str,
                args: &[$crate::store::Arg],
            ) -> Result<Option<i64>, sqlx::Error> {
                $crate::store::read::Read::number(&mut **self, sql, args).await
            }

            fn backend(&self) -> $crate::store::Backend {
                $crate::store::read::Read::backend(&**self)
            }
        }
    )*};
}
read_through_connection!(PoolConnection<Any>, Transaction<'_, Any>);

/// A connection for reads only: synchronous on SQLite, pooled sqlx otherwise.
pub enum Reader {
    Pool(PoolConnection<Any>),
    Lite(Lease),
}

impl Read for Reader {
    async fn all<T: Row>(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<T>, sqlx::Error> {
        match self {
            Reader::Pool(c) => Read::all(c, sql, args).await,
            Reader::Lite(c) => c.all(sql, args),
        }
    }

    async fn first<T: Row>(&mut self, sql: &str, args: &[Arg]) -> Result<Option<T>, sqlx::Error> {
        match self {
            Reader::Pool(c) => Read::first(c, sql, args).await,
            Reader::Lite(c) => c.first(sql, args),
        }
    }

    async fn number(&mut self, sql: &str, args: &[Arg]) -> Result<Option<i64>, sqlx::Error> {
        match self {
            Reader::Pool(c) => Read::number(c, sql, args).await,
            Reader::Lite(c) => c.number(sql, args),
        }
    }

    fn backend(&self) -> Backend {
        match self {
            Reader::Pool(c) => Read::backend(c),
            Reader::Lite(_) => Backend::Sqlite,
        }
    }

    fn expect_slow(&mut self) {
        if let Reader::Lite(c) = self {
            c.expect_slow();
        }
    }
}

/// One page of a list and the size of the whole list: `SELECT {columns} {from} ORDER BY
/// {order}` for the page, then, only when the page is full (else it tells the total),
/// `SELECT COUNT(*) {from}`. `from` is the FROM and WHERE clause both share, with placeholders
/// `$1…$n` for `args`; the page's bounds follow them. `slow` marks both reads as slow (see
/// `Read::expect_slow`): a count walks every match, and a gateway may hold a million keys.
pub async fn page<T: Row>(
    conn: &mut impl Read,
    columns: &str,
    from: &str,
    order: &str,
    args: Vec<Arg>,
    page: crate::domain::PageRequest,
    slow: bool,
) -> Result<(i64, Vec<T>), sqlx::Error> {
    let n = args.len();
    let sql = format!(
        "SELECT {columns} {from} ORDER BY {order} LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let mut args = args;
    args.extend([Arg::Int(page.limit()), Arg::Int(page.offset())]);
    if slow {
        conn.expect_slow();
    }
    let rows: Vec<T> = conn.all(&sql, &args).await?;
    if let Some(total) = page.total_if_last(rows.len()) {
        return Ok((total, rows));
    }
    args.truncate(n);
    if slow {
        conn.expect_slow();
    }
    let total = conn
        .number(&format!("SELECT COUNT(*) {from}"), &args)
        .await?
        .unwrap_or(0);
    Ok((total, rows))
}
