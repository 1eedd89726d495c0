//! Synchronous read-only SQLite connections for the read path (see [`super::read`]).
//!
//! They open the same database file as the sqlx pool, which stays the only writer. In WAL
//! mode a reader sees every committed write and never blocks the writer. A query runs in the
//! calling thread: most reads here take tens of microseconds, less than handing them to
//! another thread and back. A read announced as slow ([`Lease::expect_slow`]) gives up its
//! async worker thread while it runs.

use super::row::Row;
use super::Arg;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use std::ffi::{c_int, c_void};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Idle connections kept for reuse; more are opened under load and closed when returned.
const MAX_IDLE: usize = 16;

/// Prepared statements remembered per connection.
const STATEMENT_CACHE: usize = 128;

pub struct LitePool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl LitePool {
    /// A pool for the file a `sqlite:` URL names; `None` for an in-memory database, which
    /// only the sqlx pool can see.
    pub fn for_url(url: &str) -> Option<Arc<LitePool>> {
        let path = super::sqlite_path(url);
        let in_memory = path.is_empty() || path == ":memory:" || url.contains("mode=memory");
        (!in_memory).then(|| {
            Arc::new(LitePool {
                path: PathBuf::from(path),
                idle: Mutex::new(Vec::new()),
            })
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// An idle connection, or a new one.
    pub fn lease(self: &Arc<Self>) -> Result<Lease, sqlx::Error> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match idle {
            Some(conn) => conn,
            None => open(&self.path).map_err(lite_error)?,
        };
        Ok(Lease {
            conn: Some(conn),
            pool: Arc::clone(self),
            slow: false,
            reading: false,
        })
    }
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = connect(path)?;
    conn.pragma_update(None, "query_only", true)?;
    // 512 KiB of page cache each (SQLite's default is 2 MiB): up to MAX_IDLE connections are
    // kept, the file's pages are in the operating system's cache anyway, and with the default
    // the server's memory kept growing for minutes under load as each cache filled (`make
    // soak`: +21 % over 80 s with 2 MiB, -3 % with 512 KiB, and faster).
    conn.pragma_update(None, "cache_size", -512)?;
    Ok(conn)
}

/// What every connection of ours has: a busy timeout, the planner stability guarantee
/// (without it SQLite recompiles a cached statement every time a new value is bound to the
/// pattern of a `LIKE`, to consider its index) and a statement cache.
fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Gives SQLite the server's allocator, mimalloc, for its own memory (and turns off its
/// memory statistics, which take a lock at every allocation and which nothing here reads).
/// Answers whether SQLite took it: it takes it only before its first use in the process.
///
/// Otherwise SQLite allocates with glibc's malloc, which nothing else in the server uses:
/// under `BENCH_RATE_LIMITS=1 make bench-authz` the usage flush's B-tree balancing spent
/// 7 % of the server's CPU in glibc's `_int_malloc`, sorting its free lists to find room
/// for SQLite's page-sized scratch buffers.
///
/// # Safety
/// No other thread may call into SQLite while this runs (SQLite's configuration is not
/// thread-safe): call it first thing in `main`, before any database is opened.
pub unsafe fn use_server_allocator() -> bool {
    use rusqlite::ffi;
    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(sqlite_malloc),
        xFree: Some(sqlite_free),
        xRealloc: Some(sqlite_realloc),
        xSize: Some(sqlite_size),
        xRoundup: Some(sqlite_roundup),
        xInit: Some(sqlite_init),
        xShutdown: Some(sqlite_shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: SQLite copies the methods it is given, refuses (SQLITE_MISUSE, changing
    // nothing) once it has been initialised, and the caller keeps every other SQLite call
    // out of the way meanwhile. The methods keep SQLite's contract: 8-byte aligned memory
    // (mimalloc aligns to 16), `xSize` of what `xMalloc`/`xRealloc` returned.
    unsafe {
        ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &raw const methods) == ffi::SQLITE_OK
            && ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int) == ffi::SQLITE_OK
    }
}

/// SQLite's sizes are `int`s; a negative one (never asked) is taken as 0.
fn size(n: c_int) -> usize {
    usize::try_from(n).unwrap_or(0)
}

/// A size back to SQLite, which never asks for one past `int`.
fn int(n: usize) -> c_int {
    c_int::try_from(n).unwrap_or(c_int::MAX)
}

unsafe extern "C" fn sqlite_malloc(n: c_int) -> *mut c_void {
    // SAFETY: mimalloc's malloc takes any size.
    unsafe { libmimalloc_sys::mi_malloc(size(n)) }
}

unsafe extern "C" fn sqlite_free(p: *mut c_void) {
    // SAFETY: SQLite frees only what `sqlite_malloc`/`sqlite_realloc` returned (or null).
    unsafe { libmimalloc_sys::mi_free(p) }
}

unsafe extern "C" fn sqlite_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    // SAFETY: as `sqlite_free`; on failure mimalloc returns null and keeps `p`, as SQLite
    // expects.
    unsafe { libmimalloc_sys::mi_realloc(p, size(n)) }
}

unsafe extern "C" fn sqlite_size(p: *mut c_void) -> c_int {
    // SAFETY: as `sqlite_free`; null is 0.
    int(unsafe { libmimalloc_sys::mi_usable_size(p) })
}

unsafe extern "C" fn sqlite_roundup(n: c_int) -> c_int {
    // SAFETY: a pure function of the size.
    int(unsafe { libmimalloc_sys::mi_good_size(size(n)) })
}

unsafe extern "C" fn sqlite_init(_: *mut c_void) -> c_int {
    rusqlite::ffi::SQLITE_OK
}

unsafe extern "C" fn sqlite_shutdown(_: *mut c_void) {}

/// The writer's page cache, in KiB: SQLite's default to start with and at least, and at most
/// 256 MiB. With the default, under `BENCH_RATE_LIMITS=1 make bench-authz` the writer read
/// the same B-tree pages (usage minutes, quota counts) back from the operating system's cache
/// at every flush (about 8 % of the server's CPU was its `pread`); with 64 MiB a busy minute's
/// usage rows (1,000,000 combinations, about 200 MB) still did not fit, and each flush wrote
/// dirty pages out before its commit to make room (`pagerStress`, 6 to 9 %); 256 MiB made the
/// flushes of `BENCH_USAGE_ONLY=flush make bench-usage` that add to such a minute 15 %
/// faster. Held at 256 MiB whatever the traffic, the cache filled with every page any write
/// touched, on a server with little usage too.
pub const WRITER_CACHE_KIB: std::ops::RangeInclusive<i64> = 2_048..=262_144;

/// The one writing connection (see [`super::writer`]): foreign keys enforced and every
/// commit synced to disk, as the sqlx pool's connections do.
pub(super) fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    let conn = connect(path)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // FULL: see `Db::connect`.
    conn.pragma_update(None, "synchronous", "FULL")?;
    // A change's savepoint keeps the pages it changes in a sub-journal, to roll back to: in
    // memory, not in a temporary file written for every change.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // SQLite's default 2 MiB of page cache to start with: the usage flush grows it to what a
    // minute of its rows needs (`store::usage::fit_writer_cache`), up to 256 MiB.
    conn.pragma_update(None, "cache_size", -*WRITER_CACHE_KIB.start())?;
    Ok(conn)
}

/// A connection borrowed from the pool, returned when dropped. Its reads share one read
/// transaction, so the queries of one request see one snapshot (and take the file's locks
/// once).
pub struct Lease {
    conn: Option<Connection>,
    pool: Arc<LitePool>,
    slow: bool,
    /// A read transaction is open.
    reading: bool,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        // A connection whose transaction does not end cleanly is closed, not reused.
        if self.reading
            && conn
                .prepare_cached("COMMIT")
                .and_then(|mut c| c.execute([]))
                .is_err()
        {
            return;
        }
        if let Ok(mut idle) = self.pool.idle.lock() {
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
    }
}

impl Lease {
    pub fn expect_slow(&mut self) {
        self.slow = true;
    }

    pub fn all<T: Row>(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<T>, sqlx::Error> {
        self.run(sql, args, every_row)
    }

    pub fn first<T: Row>(&mut self, sql: &str, args: &[Arg]) -> Result<Option<T>, sqlx::Error> {
        self.run(sql, args, first_row)
    }

    pub fn number(&mut self, sql: &str, args: &[Arg]) -> Result<Option<i64>, sqlx::Error> {
        self.run(sql, args, first_number)
    }

    /// Runs the query in this lease's read transaction (begun by its first query).
    fn run<R>(
        &mut self,
        sql: &str,
        args: &[Arg],
        read: impl FnOnce(&mut rusqlite::Rows<'_>) -> rusqlite::Result<R>,
    ) -> Result<R, sqlx::Error> {
        let slow = std::mem::take(&mut self.slow);
        let conn = self.conn.as_ref().ok_or(sqlx::Error::PoolClosed)?;
        if !self.reading {
            conn.prepare_cached("BEGIN")
                .and_then(|mut begin| begin.execute([]))
                .map_err(lite_error)?;
            self.reading = true;
        }
        let query = || query(conn, sql, args, read);
        if slow {
            off_the_worker(query)
        } else {
            query()
        }
    }
}

/// Prepares (or reuses) the statement, binds `$n` to `args[n - 1]` and reads its rows.
pub(super) fn query<R>(
    conn: &Connection,
    sql: &str,
    args: &[Arg],
    read: impl FnOnce(&mut rusqlite::Rows<'_>) -> rusqlite::Result<R>,
) -> Result<R, sqlx::Error> {
    let mut stmt = conn.prepare_cached(&numbered(sql)).map_err(lite_error)?;
    bind(&mut stmt, args).map_err(lite_error)?;
    let mut rows = stmt.raw_query();
    read(&mut rows).map_err(lite_error)
}

/// Every row, decoded (its columns looked up once).
pub(super) fn every_row<T: Row>(rows: &mut rusqlite::Rows<'_>) -> rusqlite::Result<Vec<T>> {
    let Some(stmt) = rows.as_ref() else {
        return Ok(Vec::new());
    };
    let at = super::row::positions::<T>(stmt)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(T::from_lite_at(row, &at)?);
    }
    Ok(out)
}

/// The first row, decoded, if there is one.
pub(super) fn first_row<T: Row>(rows: &mut rusqlite::Rows<'_>) -> rusqlite::Result<Option<T>> {
    rows.next()?.map(T::from_lite).transpose()
}

/// The first column of the first row, if there is a row.
pub(super) fn first_number(rows: &mut rusqlite::Rows<'_>) -> rusqlite::Result<Option<i64>> {
    rows.next()?.map(|r| r.get(0)).transpose()
}

/// Runs a statement that returns no rows; how many rows it changed.
pub(super) fn execute(conn: &Connection, sql: &str, args: &[Arg]) -> Result<u64, sqlx::Error> {
    let mut stmt = conn.prepare_cached(&numbered(sql)).map_err(lite_error)?;
    bind(&mut stmt, args).map_err(lite_error)?;
    stmt.raw_execute().map(|n| n as u64).map_err(lite_error)
}

/// The statement with its parameters `$n` (PostgreSQL's spelling, which the store writes)
/// spelt `?n`, which SQLite numbers `n`: so `$n` is bound by its position. SQLite takes `$n`
/// as a name, and finding a name's number is a scan of the statement's names, for each one:
/// a flush's statement of 4,000 parameters spent most of its time there. Quoted text,
/// quoted names and comments are left as they are.
fn numbered(sql: &str) -> std::borrow::Cow<'_, str> {
    if !sql.contains('$') {
        return sql.into();
    }
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        match c {
            '\'' | '"' | '`' => {
                for q in chars.by_ref() {
                    out.push(q);
                    // A doubled quote is read as two: the second opens again.
                    if q == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                for q in chars.by_ref() {
                    out.push(q);
                    if q == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let mut last = ' ';
                for q in chars.by_ref() {
                    out.push(q);
                    if last == '*' && q == '/' {
                        break;
                    }
                    last = q;
                }
            }
            '$' if chars.peek().is_some_and(char::is_ascii_digit) => {
                out.pop();
                out.push('?');
            }
            _ => {}
        }
    }
    out.into()
}

/// Binds `args[n - 1]` to `?n` (see [`numbered`]); an argument past the statement's last
/// number is not in it.
fn bind(stmt: &mut rusqlite::CachedStatement<'_>, args: &[Arg]) -> rusqlite::Result<()> {
    let count = stmt.parameter_count();
    for (i, arg) in args.iter().enumerate().take(count) {
        let index = i + 1;
        match arg {
            Arg::Text(s) => stmt.raw_bind_parameter(index, s)?,
            Arg::Int(n) => stmt.raw_bind_parameter(index, n)?,
            Arg::MaybeText(s) => stmt.raw_bind_parameter(index, s)?,
            Arg::MaybeInt(n) => stmt.raw_bind_parameter(index, n)?,
        }
    }
    Ok(())
}

/// Runs `f`, which may wait or work long (a long read, a sync to disk, sorting a usage
/// flush), giving up the async worker thread meanwhile when the runtime has others to hand
/// its tasks to: under load the other workers are never idle, so the tasks queued on this one
/// would otherwise wait for `f` (none of them is stolen).
pub(crate) fn off_the_worker<R>(f: impl FnOnce() -> R) -> R {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

/// A rusqlite error as sqlx reports the same one: a refusal by the engine (a constraint, a
/// lock) is a `Database` error with SQLite's extended code, so callers tell a unique or foreign
/// key violation apart whichever connection ran the statement.
pub(super) fn lite_error(e: rusqlite::Error) -> sqlx::Error {
    match e {
        rusqlite::Error::SqliteFailure(failure, message) => {
            sqlx::Error::Database(Box::new(LiteDbError {
                message: message.unwrap_or_else(|| failure.to_string()),
                code: failure.extended_code,
            }))
        }
        other => sqlx::Error::AnyDriverError(Box::new(other)),
    }
}

/// SQLite's refusal, as [`sqlx::error::DatabaseError`].
#[derive(Debug)]
struct LiteDbError {
    message: String,
    code: std::ffi::c_int,
}

impl std::fmt::Display for LiteDbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LiteDbError {}

impl sqlx::error::DatabaseError for LiteDbError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
        Some(self.code.to_string().into())
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        use rusqlite::ffi;
        use sqlx::error::ErrorKind;
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_numbered_outside_quotes_and_comments() {
        assert_eq!(numbered("SELECT 1"), "SELECT 1");
        assert_eq!(
            numbered("SELECT $1, $12 FROM t WHERE a = $2"),
            "SELECT ?1, ?12 FROM t WHERE a = ?2"
        );
        assert_eq!(
            numbered("SELECT '$1 it''s $2', \"$3\", $4 -- $5\n, $6 /* $7 */ + $8, $x"),
            "SELECT '$1 it''s $2', \"$3\", ?4 -- $5\n, ?6 /* $7 */ + ?8, $x"
        );
    }

    #[test]
    fn arguments_bind_by_their_number_in_any_order_of_use() {
        let conn = Connection::open_in_memory().unwrap();
        let n = |sql: &str, args: &[Arg]| query(&conn, sql, args, first_number).unwrap().unwrap();
        assert_eq!(n("SELECT $2 - $1", &[Arg::Int(1), Arg::Int(10)]), 9);
        assert_eq!(
            n(
                "SELECT $3 * $3 + $1",
                &[Arg::Int(1), Arg::Int(0), Arg::Int(4)]
            ),
            17
        );
        // Arguments past the last number used are not in the statement.
        assert_eq!(n("SELECT $1", &[Arg::Int(5), Arg::Int(6)]), 5);
        // A number skipped is bound and not used.
        assert_eq!(n("SELECT $2", &[Arg::Int(5), Arg::Int(6)]), 6);
        assert_eq!(n("SELECT length('$1' || $1)", &[Arg::from("abc")]), 5);
    }

    crate::store::row::row! {
        #[derive(Debug, PartialEq)]
        struct Pair {
            word: String,
            n: i64,
            maybe: Option<i64>,
        }
    }

    /// SQLite 3.50.2 fixes CVE-2025-6965 (and 3.49.1 CVE-2025-29087, CVE-2025-3277,
    /// CVE-2025-29088): both paths to the one linked library must run at least that.
    #[tokio::test]
    async fn the_linked_sqlite_is_recent_enough_on_both_paths() {
        fn parse(v: &str) -> (u32, u32, u32) {
            let mut n = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
            (
                n.next().unwrap_or(0),
                n.next().unwrap_or(0),
                n.next().unwrap_or(0),
            )
        }
        let lite: String = Connection::open_in_memory()
            .unwrap()
            .query_row("SELECT sqlite_version()", [], |r| r.get(0))
            .unwrap();
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        let via_sqlx: String = sqlx::query_scalar("SELECT sqlite_version()")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(lite, via_sqlx, "two SQLite libraries are linked");
        assert!(parse(&lite) >= (3, 50, 2), "SQLite {lite} has known CVEs");
    }

    /// What `use_server_allocator` gives SQLite (the configuration itself is made by
    /// `main`, before anything opens SQLite; here other tests already have).
    #[test]
    fn sqlites_memory_methods_keep_its_contract() {
        // SAFETY: each pointer is one these methods returned, used within its size.
        unsafe {
            assert_eq!(sqlite_size(std::ptr::null_mut()), 0);
            for n in [1, 8, 100, 4_096, 70_000] {
                let p = sqlite_malloc(n).cast::<u8>();
                assert!(!p.is_null());
                assert_eq!(p as usize % 8, 0, "SQLite needs 8-byte alignment");
                assert!(sqlite_size(p.cast()) >= n);
                assert_eq!(sqlite_roundup(n), sqlite_size(p.cast()));
                std::ptr::write_bytes(p, 0xab, size(n));
                let q = sqlite_realloc(p.cast(), n * 3).cast::<u8>();
                assert!(sqlite_size(q.cast()) >= n * 3);
                assert!(std::slice::from_raw_parts(q, size(n))
                    .iter()
                    .all(|b| *b == 0xab));
                sqlite_free(q.cast());
            }
            sqlite_free(std::ptr::null_mut());
            assert_eq!(sqlite_init(std::ptr::null_mut()), rusqlite::ffi::SQLITE_OK);
        }
        assert_eq!(size(-1), 0);
        assert_eq!(int(usize::MAX), c_int::MAX);
        // SQLite was initialised by the other tests (or is now, by this one), so the
        // configuration is refused and changes nothing.
        Connection::open_in_memory().unwrap();
        // SAFETY: SQLite refuses a configuration once initialised, as here.
        assert!(!unsafe { use_server_allocator() });
        Connection::open_in_memory().unwrap();
    }

    fn pool() -> (tempfile::TempDir, Arc<LitePool>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (word TEXT, n INTEGER, maybe INTEGER);
             INSERT INTO t VALUES ('a', 1, NULL), ('b', 2, 7), ('c', 3, NULL);",
        )
        .unwrap();
        let url = format!("sqlite:{}?mode=rwc", path.display());
        (dir, LitePool::for_url(&url).unwrap())
    }

    #[test]
    fn in_memory_databases_have_no_pool() {
        assert!(LitePool::for_url("sqlite::memory:").is_none());
        assert!(LitePool::for_url("sqlite:file:x?mode=memory").is_none());
    }

    #[test]
    fn placeholders_bind_by_number_whatever_their_order_and_repetition() {
        let (_dir, pool) = pool();
        let mut lease = pool.lease().unwrap();
        let rows: Vec<Pair> = lease
            .all(
                "SELECT word, n, maybe FROM t WHERE n <= $2 AND word <> $1 AND n >= $2 - 5 ORDER BY n",
                &[Arg::Text("a".into()), Arg::Int(3)],
            )
            .unwrap();
        let words: Vec<&str> = rows.iter().map(|r| r.word.as_str()).collect();
        assert_eq!(words, ["b", "c"]);
        assert_eq!(rows[0].maybe, Some(7));
        assert_eq!(rows[1].maybe, None);
    }

    #[test]
    fn first_and_number_read_one_row_or_none() {
        let (_dir, pool) = pool();
        let mut lease = pool.lease().unwrap();
        let none: Option<Pair> = lease
            .first(
                "SELECT word, n, maybe FROM t WHERE word = $1",
                &[Arg::Text("z".into())],
            )
            .unwrap();
        assert_eq!(none, None);
        assert_eq!(
            lease.number("SELECT COUNT(*) FROM t", &[]).unwrap(),
            Some(3)
        );
        assert_eq!(lease.number("SELECT n FROM t WHERE 0", &[]).unwrap(), None);
    }

    #[test]
    fn connections_refuse_writes_and_return_to_the_pool() {
        let (_dir, pool) = pool();
        {
            let mut lease = pool.lease().unwrap();
            assert!(lease.number("DELETE FROM t RETURNING n", &[]).is_err());
        }
        assert_eq!(pool.idle.lock().unwrap().len(), 1);
        let mut lease = pool.lease().unwrap();
        assert_eq!(pool.idle.lock().unwrap().len(), 0);
        assert_eq!(
            lease.number("SELECT COUNT(*) FROM t", &[]).unwrap(),
            Some(3)
        );
    }

    #[test]
    fn the_reads_of_one_lease_see_one_snapshot() {
        let (dir, pool) = pool();
        let writer = Connection::open(dir.path().join("t.db")).unwrap();
        let count = "SELECT COUNT(*) FROM t";
        {
            let mut lease = pool.lease().unwrap();
            assert_eq!(lease.number(count, &[]).unwrap(), Some(3));
            writer
                .execute("INSERT INTO t VALUES ('d', 4, NULL)", [])
                .unwrap();
            assert_eq!(lease.number(count, &[]).unwrap(), Some(3));
        }
        // The next lease (the same connection, back from the pool) sees the write.
        let mut lease = pool.lease().unwrap();
        assert_eq!(lease.number(count, &[]).unwrap(), Some(4));
    }

    /// The service tells a taken name or a vanished parent from other errors by what sqlx
    /// reports, whichever connection ran the statement.
    #[test]
    fn the_writer_reports_constraint_violations_as_sqlx_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "CREATE TABLE p (id TEXT PRIMARY KEY);
                 CREATE TABLE c (name TEXT UNIQUE, p TEXT REFERENCES p (id));
                 INSERT INTO p VALUES ('p1');",
            )
            .unwrap();
        let conn = open_writer(&path).unwrap();
        let insert = "INSERT INTO c (name, p) VALUES ($1, $2)";
        let args = |name: &str, p: &str| [Arg::from(name), Arg::from(p)];
        assert_eq!(execute(&conn, insert, &args("a", "p1")).unwrap(), 1);

        let taken = execute(&conn, insert, &args("a", "p1")).unwrap_err();
        assert!(super::super::breaks_unique(&taken, "name"), "{taken}");
        assert!(!super::super::breaks_foreign_key(&taken));

        let orphan = execute(&conn, insert, &args("b", "gone")).unwrap_err();
        assert!(super::super::breaks_foreign_key(&orphan), "{orphan}");

        let optional = [Arg::from("c"), Arg::from(None::<String>)];
        assert_eq!(execute(&conn, insert, &optional).unwrap(), 1);
    }

    #[test]
    fn errors_are_reported_not_panicked() {
        let (_dir, pool) = pool();
        let mut lease = pool.lease().unwrap();
        let err = lease.all::<Pair>("SELECT nope FROM t", &[]).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
