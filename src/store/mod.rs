//! Storage: SQLite (the embedded default) or PostgreSQL, chosen by URL. The schema and every
//! query are written once in the dialect both accept. Reads go through `read::Read` and writes
//! through `write::Write`; on a SQLite file both skip sqlx's worker thread (`lite`, `writer`),
//! and the sqlx `AnyPool` serves PostgreSQL, migrations and the few engine-specific calls.

/// Binds a list of `Arg`s, in order, to a query built with a dynamic WHERE clause.
macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                $crate::store::Arg::Text(s) => q.bind(s.clone()),
                $crate::store::Arg::Int(i) => q.bind(*i),
                $crate::store::Arg::MaybeText(s) => q.bind(s.clone()),
                $crate::store::Arg::MaybeInt(i) => q.bind(*i),
            };
        }
        q
    }};
}

pub mod accounts;
pub mod audit;
pub mod backup;
pub mod config;
pub mod consumers;
pub mod credentials;
pub mod environments;
pub mod groups;
pub mod instances;
pub mod keys;
pub mod limits;
pub mod lite;
pub mod model_apis;
pub mod quotas;
pub mod read;
pub mod replicas;
pub mod row;
pub mod rules;
pub mod search;
pub mod snapshot;
pub mod tokens;
pub mod usage;
pub mod write;
pub mod writer;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::AnyPool;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use read::Read;
pub use write::Write;

/// What a store call fails with.
pub type Error = sqlx::Error;

/// Whether the engine refused a write for a foreign key: a row it refers to is gone, or (on a
/// delete) something still refers to the row.
pub fn breaks_foreign_key(err: &Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.is_foreign_key_violation())
}

/// The arguments of a query, `$1, $2, …` in order: `args![id, name, enabled]`. Each is
/// converted with `Arg::from` (text, integers, booleans as 0/1, and their `Option`s).
macro_rules! args {
    ($($a:expr),* $(,)?) => {
        &[$($crate::store::Arg::from($a)),*]
    };
}
pub(crate) use args;

/// An argument of a query. NULLs are typed (`MaybeText(None)` is a NULL text): PostgreSQL
/// refuses a NULL of the wrong type for a column.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    Int(i64),
    MaybeText(Option<String>),
    MaybeInt(Option<i64>),
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}

impl From<&&str> for Arg {
    fn from(s: &&str) -> Self {
        Arg::Text((*s).to_owned())
    }
}

impl From<bool> for Arg {
    fn from(b: bool) -> Self {
        Arg::Int(i64::from(b))
    }
}

impl From<Option<&str>> for Arg {
    fn from(s: Option<&str>) -> Self {
        Arg::MaybeText(s.map(str::to_owned))
    }
}

impl From<Option<String>> for Arg {
    fn from(s: Option<String>) -> Self {
        Arg::MaybeText(s)
    }
}

impl From<&Option<String>> for Arg {
    fn from(s: &Option<String>) -> Self {
        Arg::MaybeText(s.clone())
    }
}

impl From<Option<i64>> for Arg {
    fn from(n: Option<i64>) -> Self {
        Arg::MaybeInt(n)
    }
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_owned())
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Arg::Text(s.clone())
    }
}

impl From<i64> for Arg {
    fn from(n: i64) -> Self {
        Arg::Int(n)
    }
}

/// Which engine a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The connection pool and the backend it talks to.
#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// The URL connected to (it may hold a password: never log it).
    url: std::sync::Arc<str>,
    /// Bearer tokens recently found live (see `tokens::TokenCache`).
    pub token_cache: std::sync::Arc<tokens::TokenCache>,
    /// Usage rankings recently read (see `usage::RankingCache`).
    pub usage_rankings: std::sync::Arc<usage::RankingCache>,
    /// Synchronous read connections to a SQLite file (see `read`).
    lite: Option<std::sync::Arc<lite::LitePool>>,
    /// SQLite's one writing connection, shared by changes in turn (see `writer`).
    writer: Option<std::sync::Arc<writer::Writer>>,
    /// The key-encryption keys that seal the credentials' secrets (see `crate::secrets`).
    /// They live outside the database; they travel with its handle because every service
    /// and the snapshot loader already take one. None until the server sets them.
    keyring: Option<std::sync::Arc<crate::secrets::Keyring>>,
}

/// The longest a request waits for a database connection.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The schema both engines share.
static SHARED: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/shared");

/// What one engine does its own way (for now the consumer name search index), in its own
/// migrations, recorded in their own table so that neither set sees the other's as missing.
fn engine_migrations(backend: Backend) -> sqlx::migrate::Migrator {
    let mut migrator = match backend {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    migrator.dangerous_set_table_name("_sqlx_engine_migrations");
    migrator
}

impl Db {
    /// Connects, creating the SQLite file (and its folder) when needed, and migrates. Several
    /// replicas may start at once: PostgreSQL migrations take an advisory lock.
    pub async fn connect(url: &str) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(sqlx::Error::Configuration(
                "DATABASE_URL must start with sqlite: or postgres://".into(),
            ));
        };
        let url = match backend {
            Backend::Sqlite => sqlite_url_creating_parent(url),
            Backend::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let max = match backend {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        };
        let mut pool_options = AnyPoolOptions::new()
            .max_connections(max)
            // While the database is away a request waits this long for a connection, then
            // answers 503 (`Unavailable`): long enough to ride out a burst of writes queued
            // on SQLite, short enough that clients and proxies are not left hanging.
            .acquire_timeout(ACQUIRE_TIMEOUT);
        if backend == Backend::Sqlite {
            pool_options = pool_options.after_connect(|conn, _| {
                Box::pin(async move {
                    // FULL: in WAL mode every commit syncs the log, so a change answered 200
                    // survives a power loss too, not only a killed process (NORMAL would
                    // skip that sync: faster, never corrupt, but the last commits before a
                    // power loss could vanish).
                    sqlx::query("PRAGMA synchronous = FULL")
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            });
        }
        // A file's writes go through one shared connection (an in-memory database exists
        // only inside the pool's connections, so it keeps per-connection transactions).
        let writer = match backend {
            Backend::Sqlite => lite::LitePool::for_url(&url)
                .map(|file| std::sync::Arc::new(writer::Writer::new(file.path().to_owned()))),
            Backend::Postgres => None,
        };
        let pool = pool_options.connect_with(options).await?;
        if backend == Backend::Sqlite {
            // Write-ahead logging: readers and the writer never wait for each other, and a
            // read transaction costs no file system calls. The mode is kept in the file.
            if let Err(e) = sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await
            {
                tracing::warn!(error = %e, "could not switch the SQLite database to WAL mode");
            }
        }
        for migrator in [&SHARED, &engine_migrations(backend)] {
            migrator
                .run(&pool)
                .await
                .map_err(|e| sqlx::Error::Migrate(Box::new(e)))?;
        }
        search::check_index(&pool, backend).await?;
        let lite = match backend {
            Backend::Sqlite => lite::LitePool::for_url(&url),
            Backend::Postgres => None,
        };
        Ok(Db {
            pool,
            backend,
            url: url.into(),
            token_cache: Default::default(),
            usage_rankings: Default::default(),
            lite,
            writer,
            keyring: None,
        })
    }

    /// This handle with the keyring that seals and opens the credentials' secrets.
    pub fn with_keyring(mut self, keyring: std::sync::Arc<crate::secrets::Keyring>) -> Db {
        self.keyring = Some(keyring);
        self
    }

    /// The keyring, when the server has set one (a command that reads no secret does not).
    pub fn keyring(&self) -> Option<&crate::secrets::Keyring> {
        self.keyring.as_deref()
    }

    /// The database URL, for a second kind of connection (PostgreSQL `LISTEN`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A connection for reads: synchronous on a SQLite file, pooled otherwise. Once the pool
    /// is closed (shutting down), neither kind is handed out.
    pub async fn reader(&self) -> Result<read::Reader, sqlx::Error> {
        if self.pool.is_closed() {
            return Err(sqlx::Error::PoolClosed);
        }
        match &self.lite {
            Some(lite) => lite.lease().map(read::Reader::Lite),
            None => self.pool.acquire().await.map(read::Reader::Pool),
        }
    }

    /// A transaction that will write: on PostgreSQL its own; on SQLite a turn on the one
    /// writing connection, in arrival order, committed together with the changes queued
    /// with it (see `writer`).
    pub async fn begin_write(&self) -> Result<writer::WriteTx, sqlx::Error> {
        match &self.writer {
            Some(w) => w.begin().await.map(writer::WriteTx::Shared),
            None if self.backend == Backend::Sqlite => self
                .pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map(writer::WriteTx::Own),
            None => self.pool.begin().await.map(writer::WriteTx::Own),
        }
    }

    /// True when the database answers; backs `/readyz`.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

/// A column's new value in [`update_versioned`].
pub enum Set<'a> {
    Text(&'a str),
    Int(i64),
    OptInt(Option<i64>),
}

/// Optimistic concurrency, in one place: sets `columns` and `updated_at` and bumps `version`
/// of the row `id` of `table`, but only if the row is still at `version`. False when someone
/// changed it since the caller read it (or it is gone); the service answers
/// `Conflict.Version` then. Table and column names are the caller's constants, never input.
pub async fn update_versioned(
    conn: &mut impl Write,
    table: &'static str,
    id: &str,
    version: i64,
    columns: &[(&'static str, Set<'_>)],
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut sql = format!("UPDATE {table} SET ");
    for (i, (column, _)) in columns.iter().enumerate() {
        sql.push_str(&format!("{column} = ${}, ", i + 1));
    }
    let n = columns.len();
    sql.push_str(&format!(
        "updated_at = ${}, version = version + 1 WHERE id = ${} AND version = ${}",
        n + 1,
        n + 2,
        n + 3
    ));
    let mut args: Vec<Arg> = columns
        .iter()
        .map(|(_, value)| match value {
            Set::Text(s) => Arg::from(*s),
            Set::Int(i) => Arg::Int(*i),
            Set::OptInt(i) => Arg::MaybeInt(*i),
        })
        .collect();
    args.extend([Arg::Int(now), Arg::from(id), Arg::Int(version)]);
    Ok(conn.execute(&sql, &args).await? == 1)
}

/// A database URL fit for a message: a SQLite file's path, a PostgreSQL URL without its
/// password.
pub fn redacted_url(url: &str) -> String {
    if url.starts_with("sqlite:") {
        return sqlite_path(url).to_owned();
    }
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = match authority.rsplit_once('@') {
                Some((user, host)) => {
                    let user = user.split(':').next().unwrap_or_default();
                    format!("{user}@{host}")
                }
                None => authority.to_owned(),
            };
            let path = tail.split('?').next().unwrap_or_default();
            format!("{scheme}://{host}{path}")
        }
        None => "(a URL that is neither sqlite: nor postgres://)".to_owned(),
    }
}

/// The file a `sqlite:` URL names.
fn sqlite_path(url: &str) -> &str {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    path.split('?').next().unwrap_or_default()
}

/// `sqlite:` URLs get `mode=rwc` (create if missing) and their folder is created.
fn sqlite_url_creating_parent(url: &str) -> String {
    let path = sqlite_path(url);
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            let _ = std::fs::create_dir_all(parent);
        }
    }
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// Milliseconds since the epoch, the unit of every stored time.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Escapes `%`, `_` and `\` so user text in a LIKE pattern matches literally.
pub fn like_pattern(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for c in needle.to_ascii_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// True when the error is a unique-constraint violation (a name taken concurrently).
/// Whether `err` broke the unique rule on `column` (or the primary key of the table named so),
/// told by what the engine names: SQLite `table.column` in its message, PostgreSQL the
/// constraint `table_…column…_key` or `table_pkey`. Other unique rules are other errors (a
/// clashing key hash is not a clashing name).
pub fn breaks_unique(err: &sqlx::Error, column: &str) -> bool {
    err.as_database_error().is_some_and(|e| {
        e.is_unique_violation()
            && (e.constraint().is_some_and(|c| c.contains(column)) || e.message().contains(column))
    })
}

/// `$from, $from+1, …` placeholders for an `IN (…)` list of `n` values.
pub fn placeholders(from: usize, n: usize) -> String {
    let mut out = String::with_capacity(n * 7);
    push_placeholders(&mut out, from, n);
    out
}

/// `($1, …, $width), ($width+1, …), …`: `rows` rows of placeholders for a multi-row `VALUES`.
/// Written into one string (a flush's statement has thousands of them).
pub fn value_rows(rows: usize, width: usize) -> String {
    let mut out = String::with_capacity(rows * (width * 7 + 4));
    for i in 0..rows {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('(');
        push_placeholders(&mut out, i * width + 1, width);
        out.push(')');
    }
    out
}

fn push_placeholders(out: &mut String, from: usize, n: usize) {
    use std::fmt::Write as _;
    for i in from..from + n {
        if i > from {
            out.push_str(", ");
        }
        // Writing into a `String` cannot fail.
        let _ = write!(out, "${i}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_database_without_its_password() {
        assert_eq!(
            redacted_url("sqlite:data/console.db?mode=rwc"),
            "data/console.db"
        );
        assert_eq!(
            redacted_url("postgres://gc:s3cret@db.internal:5432/console?sslmode=require"),
            "postgres://gc@db.internal:5432/console"
        );
        assert_eq!(
            redacted_url("postgres://db/console"),
            "postgres://db/console"
        );
        assert!(!redacted_url("mysql://u:pw@h/d").contains("pw"));
    }

    #[test]
    fn like_metacharacters_match_literally() {
        assert_eq!(like_pattern("50%_A\\"), "%50\\%\\_a\\\\%");
    }

    #[test]
    fn placeholders_number_from_the_given_index() {
        assert_eq!(placeholders(3, 3), "$3, $4, $5");
        assert_eq!(value_rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(value_rows(1, 1), "($1)");
    }

    #[test]
    fn sqlite_urls_get_create_mode() {
        assert_eq!(
            sqlite_url_creating_parent("sqlite:/tmp/x.db"),
            "sqlite:/tmp/x.db?mode=rwc"
        );
    }
}
