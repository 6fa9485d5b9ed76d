//! The SQLite connections of a store: a bounded set of rusqlite connections, lent one per
//! operation.
//!
//! Statements of bounded cost run right on the calling task (a point select costs a few
//! microseconds inside SQLite, less than a hop to another thread); unbounded work runs on
//! tokio's blocking pool with the connection moved there and back. No connection ever waits
//! in SQLite's busy handler (`busy_timeout=0`): a busy database is waited for here, with an
//! asynchronous back-off, so a runtime thread is never blocked by another writer.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, Params};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::{is_busy, is_fatal, is_fatal_code, to_error, to_open_error};
use super::url::{OpenMode, SqliteTarget, parse_url};
use super::values::{Bound, Param, decode_row, decode_row_into};
use crate::error::{DatabaseError, Error};
use crate::schema::ColumnType;
use crate::value::{ColumnNames, ReadRecord, Record, Value};

/// The longest a thread runs statements on the calling task before it gives the thread back
/// to the runtime's other tasks (see [`share_thread`]).
const INLINE_SLICE: Duration = Duration::from_millis(2);

thread_local! {
    /// When this thread began running statements inline without giving itself back.
    static INLINE_SINCE: std::cell::Cell<Option<Instant>> = const { std::cell::Cell::new(None) };
    /// The size of the WAL, in pages, after the last commit run on this thread (see
    /// [`note_wal_size`]); 0 once taken.
    static WAL_PAGES: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// SQLite's WAL hook, called on the committing thread right after each commit with the
/// pages now in the WAL: the statement that committed reads it back on the same thread
/// ([`take_thread_wal_size`]), so that the driver checkpoints when the WAL has grown as SQLite's own
/// auto-checkpoint would, but on the blocking pool.
fn note_wal_size(_: &rusqlite::hooks::Wal, pages: std::ffi::c_int) -> rusqlite::Result<()> {
    WAL_PAGES.set(u32::try_from(pages).unwrap_or(0));
    Ok(())
}

/// The WAL size noted by the last commit on this thread since the last call, or 0.
fn take_thread_wal_size() -> u32 {
    WAL_PAGES.replace(0)
}

/// A statement run on the calling task never waits, so a task running one after the other
/// would never give its thread back to the runtime: after [`INLINE_SLICE`] of that, it
/// yields. One clock read a statement; release builds run hundreds of statements a slice.
async fn share_thread() {
    let now = Instant::now();
    match INLINE_SINCE.get() {
        None => INLINE_SINCE.set(Some(now)),
        Some(since) if now.saturating_duration_since(since) >= INLINE_SLICE => {
            INLINE_SINCE.set(None);
            tokio::task::yield_now().await;
        }
        Some(_) => {}
    }
}

/// Prepared statements kept per connection: a few shapes per operation per table.
const STATEMENT_CACHE: usize = 512;
/// Connections to a file when the builder does not say.
const DEFAULT_MAX_CONNECTIONS: u32 = 4;
/// Attempts at opening a connection while the database reports itself busy, at the least.
const OPEN_ATTEMPTS: u32 = 5;
/// The first pause of the busy back-off, doubled after each attempt up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(1);
const MAX_PAUSE: Duration = Duration::from_millis(20);

/// The settings every connection gets, after `journal_mode` (see [`open_connection`]).
///
/// `wal_autocheckpoint = 0`: SQLite would checkpoint inside the commit that crosses 1,000 WAL
/// pages, on whatever thread runs it (a runtime thread, for a point write); the driver runs
/// the checkpoint on the blocking pool instead, at the same size (see [`note_wal_size`] and
/// `driver.rs`).
const SETTINGS: &str = "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
     PRAGMA cache_size = -16000; PRAGMA case_sensitive_like = ON; \
     PRAGMA wal_autocheckpoint = 0;";

/// One event per statement run, with its SQL text (never its values).
fn trace(sql: &str) {
    tracing::event!(
        target: "memtable::statement",
        tracing::Level::DEBUG,
        db.statement = sql,
        "statement"
    );
}

/// The asynchronous wait for a busy database: pauses from 1 ms doubling to 20 ms, until the
/// busy timeout (counted from the first busy answer) is spent.
struct Backoff {
    deadline: Option<Instant>,
    pause: Duration,
}

impl Backoff {
    fn start(timeout: Duration) -> Self {
        Backoff {
            // A timeout too large for the clock waits without end.
            deadline: Instant::now().checked_add(timeout),
            pause: FIRST_PAUSE,
        }
    }

    /// Waits before the next attempt; `false` when the time is spent.
    async fn wait(&mut self) -> bool {
        let pause = match self.deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return false;
                }
                self.pause.min(left)
            }
            None => self.pause,
        };
        tokio::time::sleep(pause).await;
        self.pause = (self.pause * 2).min(MAX_PAUSE);
        true
    }
}

/// When a statement answered with SQLITE_BUSY or SQLITE_LOCKED is tried again.
#[derive(Clone, Copy)]
enum Retry {
    /// Only outside a transaction: a statement of an open transaction is never repeated.
    InAutocommit,
    /// Always (`BEGIN IMMEDIATE` and `COMMIT`, which change nothing when refused as busy).
    Always,
    /// Never.
    Never,
}

/// Opens and sets up one connection.
fn open_connection(target: &SqliteTarget) -> rusqlite::Result<Connection> {
    let mode = match target.mode {
        OpenMode::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY,
        OpenMode::ReadWrite => OpenFlags::SQLITE_OPEN_READ_WRITE,
        OpenMode::ReadWriteCreate => {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
        }
    };
    // Each connection is used by one thread at a time (a lease holds it by value): no mutex.
    let flags = mode | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match &target.path {
        Some(path) => Connection::open_with_flags(path, flags)?,
        None => Connection::open_in_memory_with_flags(flags)?,
    };
    conn.busy_timeout(Duration::ZERO)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // A read-only connection cannot switch the file to WAL (a write); a file already in WAL
    // mode is read in WAL mode all the same.
    if target.path.is_some() && target.mode != OpenMode::ReadOnly {
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    }
    conn.execute_batch(SETTINGS)?;
    // After `wal_autocheckpoint`, which installs SQLite's own WAL hook: this one replaces it.
    conn.wal_hook(Some(note_wal_size));
    if target.mode == OpenMode::ReadOnly {
        // Besides the read-only open: a database in memory has no file to open read-only,
        // and the refusal then still comes from SQLite, on every statement that writes.
        conn.execute_batch("PRAGMA query_only = 1")?;
    }
    Ok(conn)
}

/// Opens a connection, trying again while the database is busy: processes opening one new
/// file at once race to switch it to WAL, and a loser is told "database is locked".
async fn connect(target: &SqliteTarget, busy_timeout: Duration) -> Result<Connection, Error> {
    let started = Instant::now();
    let mut attempt = 1;
    loop {
        match open_connection(target) {
            Ok(conn) => return Ok(conn),
            Err(error)
                if is_busy(&error)
                    && (attempt < OPEN_ATTEMPTS || started.elapsed() < busy_timeout) =>
            {
                let pause = Duration::from_millis(25 * u64::from(attempt.min(4)));
                tokio::time::sleep(pause).await;
                attempt += 1;
            }
            Err(error) => return Err(to_open_error(error)),
        }
    }
}

fn create_parent(path: &Path) -> Result<(), Error> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            Error::Connection(DatabaseError::new(
                format!("cannot create the directory {}: {e}", parent.display()),
                None,
                false,
            ))
        })?;
    }
    Ok(())
}

/// SQLITE_CANTOPEN, the code of a database file that cannot be opened.
const CANTOPEN_CODE: &str = "14";

/// What the connections and their leases share.
struct Shared {
    target: SqliteTarget,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
    /// The connection checkpoints run on, outside the leases (opened at the first one).
    checkpointer: Mutex<Option<Connection>>,
    /// A checkpoint is running or queued on the blocking pool.
    checkpointing: AtomicBool,
    /// The WAL size after the last commit of any lease (see [`Lease::note_wal_size`]).
    wal_pages: AtomicU32,
}

impl Shared {
    /// Moves what it can of the WAL into the database file (`PASSIVE`: waiting for no
    /// reader or writer), on the checkpoint connection; one checkpoint at a time. Runs on
    /// the blocking pool: the database file's fsync is the slow part of it (tens of
    /// milliseconds for a thousand pages on these machines, `BENCHMARKS.md`).
    fn checkpoint(&self) {
        let mut slot = self
            .checkpointer
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !self.permits.is_closed() {
            if slot.is_none() {
                *slot = open_connection(&self.target).ok();
            }
            // A checkpoint that cannot run now (a busy database, a full disk) runs at a
            // later commit; nothing is lost by skipping it.
            if let Some(conn) = slot.as_ref()
                && let Err(error) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)")
                && is_fatal(&error)
            {
                *slot = None;
            }
        }
        if self.permits.is_closed() {
            *slot = None;
        }
    }

    /// Takes a connection back from a lease: rolls back a transaction it left open, and keeps
    /// it unless it is broken or the store is closed. A database in memory lives only in its
    /// one connection, so that one is always kept (while the store is open).
    fn give_back(&self, conn: Connection, broken: bool) {
        let memory = self.target.in_memory();
        let mut usable = !broken;
        if !conn.is_autocommit() {
            trace("ROLLBACK");
            usable &= conn.execute_batch("ROLLBACK").is_ok() && conn.is_autocommit();
        }
        if (usable || memory) && !self.permits.is_closed() {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
        }
    }
}

/// The connections of one SQLite database.
pub(crate) struct Connections {
    shared: Arc<Shared>,
}

impl Connections {
    /// [`Connections::open_with`], not read-only.
    #[cfg(test)]
    pub(crate) async fn open(
        url: &str,
        max_connections: Option<u32>,
        busy_timeout: Duration,
    ) -> Result<Connections, Error> {
        Connections::open_with(url, max_connections, busy_timeout, false).await
    }

    /// Opens the first connection now (so a bad path fails here) and keeps it.
    ///
    /// A file database has up to `max_connections` (4 by default), a database in memory
    /// exactly one (it lives and dies with its connection). `busy_timeout` is how long a
    /// statement waits, in all, for another connection's write lock. `read_only` opens every
    /// connection read-only, whatever the URL's `mode` says; a file opened without `create`
    /// must exist.
    pub(crate) async fn open_with(
        url: &str,
        max_connections: Option<u32>,
        busy_timeout: Duration,
        read_only: bool,
    ) -> Result<Connections, Error> {
        let mut target = parse_url(url)?;
        if read_only {
            target.mode = OpenMode::ReadOnly;
        }
        if let Some(path) = &target.path {
            if target.mode == OpenMode::ReadWriteCreate {
                create_parent(path)?;
            } else if !path.exists() {
                // SQLite's own "unable to open database file" does not say which.
                return Err(Error::Connection(DatabaseError::new(
                    format!(
                        "the SQLite database {} does not exist (opened {}, so it is not created)",
                        path.display(),
                        if target.mode == OpenMode::ReadOnly {
                            "read-only"
                        } else {
                            "with mode=rw"
                        }
                    ),
                    Some(CANTOPEN_CODE.to_owned()),
                    false,
                )));
            }
        }
        let max = if target.in_memory() {
            1
        } else {
            max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS).max(1)
        };
        let max = usize::try_from(max)
            .unwrap_or(Semaphore::MAX_PERMITS)
            .min(Semaphore::MAX_PERMITS);
        let first = connect(&target, busy_timeout).await?;
        Ok(Connections {
            shared: Arc::new(Shared {
                target,
                busy_timeout,
                idle: Mutex::new(vec![first]),
                permits: Arc::new(Semaphore::new(max)),
                checkpointer: Mutex::new(None),
                checkpointing: AtomicBool::new(false),
                wal_pages: AtomicU32::new(0),
            }),
        })
    }

    /// A connection for one operation; waits while every connection is in use.
    pub(crate) async fn acquire(&self) -> Result<Lease<'_>, Error> {
        let permit = Arc::clone(&self.shared.permits)
            .acquire_owned()
            .await
            .map_err(|_| {
                Error::Database(DatabaseError::new(
                    "attempted to acquire a connection on a closed pool",
                    None,
                    true,
                ))
            })?;
        let idle = self
            .shared
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None if self.shared.target.in_memory() => {
                return Err(Error::Connection(DatabaseError::new(
                    "the database in memory was lost with its connection",
                    None,
                    false,
                )));
            }
            None => connect(&self.shared.target, self.shared.busy_timeout).await?,
        };
        Ok(Lease {
            conn: Some(conn),
            permit: Some(permit),
            home: self,
            broken: false,
            wal_pages: 0,
        })
    }

    /// An idle connection, if one is free now and no lease waits for one.
    pub(crate) fn try_acquire(&self) -> Option<Lease<'_>> {
        let permit = Arc::clone(&self.shared.permits).try_acquire_owned().ok()?;
        let conn = self
            .shared
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()?;
        Some(Lease {
            conn: Some(conn),
            permit: Some(permit),
            home: self,
            broken: false,
            wal_pages: 0,
        })
    }

    /// Closes the idle connections and refuses further leases; a lease still out closes its
    /// connection when dropped.
    pub(crate) async fn close(&self) {
        self.shared.permits.close();
        let idle = std::mem::take(
            &mut *self
                .shared
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for conn in idle {
            // Closing flushes nothing a drop would not: a failure leaves nothing to clean up.
            let _ = conn.close();
        }
        // A checkpoint still running closes its connection when it ends.
        if let Ok(mut slot) = self.shared.checkpointer.try_lock() {
            slot.take();
        }
    }

    /// How many connections are idle.
    #[cfg(test)]
    pub(crate) fn idle_count(&self) -> usize {
        self.shared
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// One connection, lent for one operation. Dropped, it rolls back a transaction left open and
/// goes back to the idle list (unless it broke).
pub(crate) struct Lease<'a> {
    conn: Option<Connection>,
    permit: Option<OwnedSemaphorePermit>,
    home: &'a Connections,
    broken: bool,
    /// The WAL size after the last commit run through this lease, until taken.
    wal_pages: u32,
}

/// Runs `sql` and decodes every row (or only the first) it returns as `types`.
fn query_rows<P: Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    types: &[ColumnType],
) -> rusqlite::Result<Vec<Vec<Value>>> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode_row(row, types)?);
    }
    Ok(out)
}

/// The first row `sql` returns, decoded by `decode`.
fn query_first<P: Params, T>(
    conn: &Connection,
    sql: &str,
    params: P,
    decode: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    rows.next()?.map(decode).transpose()
}

/// Runs `sql` to completion (any rows it returns are passed over); returns the rows it
/// inserted, updated or deleted (0 for a statement that changes none, DDL included).
fn execute_statement<P: Params>(conn: &Connection, sql: &str, params: P) -> rusqlite::Result<u64> {
    let mut statement = conn.prepare_cached(sql)?;
    let before = conn.total_changes();
    let mut rows = statement.query(params)?;
    while rows.next()?.is_some() {}
    drop(rows);
    // `changes` is the count of the last INSERT, UPDATE or DELETE run on the connection:
    // stale after a statement that is none of them, which changes nothing in all.
    Ok(if conn.total_changes() == before {
        0
    } else {
        conn.changes()
    })
}

fn lost() -> Error {
    Error::Database(DatabaseError::new(
        "the connection was lost: work on the blocking pool panicked or was cancelled",
        None,
        true,
    ))
}

impl Lease<'_> {
    fn connection(&self) -> Result<&Connection, Error> {
        self.conn.as_ref().ok_or_else(lost)
    }

    /// Notes a failure: after an I/O error or corruption the connection is not returned.
    fn note(&mut self, error: &rusqlite::Error) {
        self.broken |= is_fatal(error);
    }

    /// Runs `op` (one statement, `sql`) on the connection, right here, waiting asynchronously
    /// and trying again while the database is busy, as `retry` allows.
    async fn run<T>(
        &mut self,
        sql: &str,
        retry: Retry,
        mut op: impl FnMut(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, Error> {
        trace(sql);
        share_thread().await;
        let mut backoff: Option<Backoff> = None;
        loop {
            let (retry_busy, outcome) = {
                let conn = self.connection()?;
                let retry_busy = match retry {
                    Retry::Always => true,
                    Retry::InAutocommit => conn.is_autocommit(),
                    Retry::Never => false,
                };
                (retry_busy, op(conn))
            };
            self.wal_pages = self.wal_pages.max(take_thread_wal_size());
            let error = match outcome {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            if retry_busy && is_busy(&error) {
                let timeout = self.home.shared.busy_timeout;
                if backoff
                    .get_or_insert_with(|| Backoff::start(timeout))
                    .wait()
                    .await
                {
                    continue;
                }
            }
            self.note(&error);
            return Err(to_error(error));
        }
    }

    /// Runs a bounded statement (a point operation, a page) right here on the calling task
    /// and decodes its rows as `types`.
    pub(crate) async fn fetch(
        &mut self,
        sql: &str,
        params: &[sea_query::Value],
        types: &[ColumnType],
    ) -> Result<Vec<Vec<Value>>, Error> {
        self.run(sql, Retry::InAutocommit, |conn| {
            let params = rusqlite::params_from_iter(params.iter().map(Param));
            query_rows(conn, sql, params, types)
        })
        .await
    }

    /// As [`Lease::fetch`], the first row only (for reads: a write runs to completion only
    /// through `fetch`, `execute` or `execute_values`).
    pub(crate) async fn fetch_first(
        &mut self,
        sql: &str,
        params: &[sea_query::Value],
        types: &[ColumnType],
    ) -> Result<Option<Vec<Value>>, Error> {
        self.run(sql, Retry::InAutocommit, |conn| {
            let params = rusqlite::params_from_iter(params.iter().map(Param));
            query_first(conn, sql, params, |row| decode_row(row, types))
        })
        .await
    }

    /// As [`Lease::fetch_first`], the row read straight into a record of `names`.
    pub(crate) async fn fetch_first_record(
        &mut self,
        sql: &str,
        params: &[sea_query::Value],
        types: &[ColumnType],
        names: &Arc<ColumnNames>,
    ) -> Result<Option<Record>, Error> {
        self.run(sql, Retry::InAutocommit, |conn| {
            let params = rusqlite::params_from_iter(params.iter().map(Param));
            query_first(conn, sql, params, |row| {
                let mut record = ReadRecord::new(names);
                decode_row_into(row, types, &mut record)?;
                Ok(record.finish())
            })
        })
        .await
    }

    /// Runs a bounded statement right here; returns the rows it inserted, updated or deleted.
    pub(crate) async fn execute(
        &mut self,
        sql: &str,
        params: &[sea_query::Value],
    ) -> Result<u64, Error> {
        self.run(sql, Retry::InAutocommit, |conn| {
            let params = rusqlite::params_from_iter(params.iter().map(Param));
            execute_statement(conn, sql, params)
        })
        .await
    }

    /// One statement with memtable values already coerced (a single-row insert or upsert,
    /// one multi-row INSERT of a batch); with `returning`, the rows it returns decoded as that
    /// one type, else none.
    pub(crate) async fn execute_values(
        &mut self,
        sql: &str,
        values: &[Value],
        returning: Option<ColumnType>,
    ) -> Result<Vec<Vec<Value>>, Error> {
        self.run(sql, Retry::InAutocommit, |conn| {
            let params = rusqlite::params_from_iter(values.iter().map(Bound));
            match returning {
                Some(ty) => query_rows(conn, sql, params, &[ty]),
                None => execute_statement(conn, sql, params).map(|_| Vec::new()),
            }
        })
        .await
    }

    /// Unbounded work (a full scan, a bulk write, a checkpoint): `work` runs on tokio's
    /// blocking pool with the connection moved there and back, so the runtime's threads are
    /// never blocked by it.
    ///
    /// Cancelled (the caller's future dropped), the work still runs to its end; then the
    /// connection is rolled back if needed and goes back to the idle list from there, and
    /// only then is its permit released. If `work` panics, the connection is lost (the lease
    /// answers every later call with a transient error).
    pub(crate) async fn blocking<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(&mut Connection) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let mut conn = self.conn.take().ok_or_else(lost)?;
        let permit = self.permit.take();
        let shared = Arc::clone(&self.home.shared);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        // The handle is not awaited: the result comes back through the channel, which also
        // tells the work whether anyone is still waiting for it.
        drop(tokio::task::spawn_blocking(move || {
            let result = work(&mut conn);
            let wal_pages = take_thread_wal_size();
            if let Err((conn, permit, result, _)) = sender.send((conn, permit, result, wal_pages)) {
                let broken = result.as_ref().err().is_some_and(is_fatal_code);
                shared.give_back(conn, broken);
                drop(permit);
            }
        }));
        let (conn, permit, result, wal_pages) = receiver.await.map_err(|_| lost())?;
        self.conn = Some(conn);
        self.permit = permit;
        self.wal_pages = self.wal_pages.max(wal_pages);
        if let Err(error) = &result {
            self.broken |= is_fatal_code(error);
        }
        result
    }

    /// `BEGIN IMMEDIATE`: takes the write lock now, waiting (asynchronously, up to the busy
    /// timeout) while another connection holds it.
    pub(crate) async fn begin_immediate(&mut self) -> Result<(), Error> {
        const SQL: &str = "BEGIN IMMEDIATE";
        self.run(SQL, Retry::Always, |conn| execute_statement(conn, SQL, []))
            .await
            .map(|_| ())
    }

    /// `COMMIT`, waiting while the database is busy. Failed otherwise, the transaction is
    /// still open (roll it back, or drop the lease).
    pub(crate) async fn commit(&mut self) -> Result<(), Error> {
        const SQL: &str = "COMMIT";
        self.run(SQL, Retry::Always, |conn| execute_statement(conn, SQL, []))
            .await
            .map(|_| ())
    }

    /// Runs `sql`, a statement about the open transaction (a savepoint's), once.
    pub(crate) async fn transaction_statement(&mut self, sql: &'static str) -> Result<(), Error> {
        self.run(sql, Retry::Never, |conn| execute_statement(conn, sql, []))
            .await
            .map(|_| ())
    }

    /// `ROLLBACK` of the open transaction, if there is one. A connection that cannot roll
    /// back is not returned to the idle list.
    pub(crate) async fn rollback(&mut self) {
        if !self.in_transaction() {
            return;
        }
        const SQL: &str = "ROLLBACK";
        let _ = self
            .run(SQL, Retry::Never, |conn| execute_statement(conn, SQL, []))
            .await;
        if self.in_transaction() {
            self.broken = true;
        }
    }

    /// Checkpoints the database on the blocking pool, on a connection of its own (see
    /// [`Shared::checkpoint`]): waits for it when `wait`, else starts it unless one is
    /// already running and returns at once.
    pub(crate) async fn checkpoint(&mut self, wait: bool) {
        let shared = Arc::clone(&self.home.shared);
        if wait {
            // After one running in the background, if any (the checkpoint connection's lock).
            let _ = tokio::task::spawn_blocking(move || shared.checkpoint()).await;
        } else if !shared.checkpointing.swap(true, Ordering::AcqRel) {
            drop(tokio::task::spawn_blocking(move || {
                shared.checkpoint();
                shared.checkpointing.store(false, Ordering::Release);
            }));
        }
    }

    /// Notes `pages`, the WAL size after a commit of this lease, as the database's; returns
    /// the size noted after the commit before it (of any lease).
    pub(crate) fn note_wal_size(&mut self, pages: u32) -> u32 {
        self.home.shared.wal_pages.swap(pages, Ordering::Relaxed)
    }

    /// The pages in the WAL after the last commit run through this lease since the last
    /// call, or 0 if none committed.
    pub(crate) fn take_wal_size(&mut self) -> u32 {
        std::mem::take(&mut self.wal_pages)
    }

    /// Whether a transaction is open on the connection.
    pub(crate) fn in_transaction(&self) -> bool {
        self.conn.as_ref().is_some_and(|conn| !conn.is_autocommit())
    }

    /// A fetch for unbounded reads: as [`Lease::fetch`], but on the blocking pool.
    pub(crate) async fn fetch_unbounded(
        &mut self,
        sql: Arc<str>,
        params: Vec<sea_query::Value>,
        types: Vec<ColumnType>,
    ) -> Result<Vec<Vec<Value>>, Error> {
        trace(&sql);
        let request = Arc::new((sql, params, types));
        let mut backoff: Option<Backoff> = None;
        loop {
            let retry_busy = self.connection()?.is_autocommit();
            let attempt = Arc::clone(&request);
            let outcome = self
                .blocking(move |conn| {
                    let (sql, params, types) = &*attempt;
                    let params = rusqlite::params_from_iter(params.iter().map(Param));
                    Ok(query_rows(conn, sql, params, types))
                })
                .await?;
            let error = match outcome {
                Ok(rows) => return Ok(rows),
                Err(error) => error,
            };
            if retry_busy && is_busy(&error) {
                let timeout = self.home.shared.busy_timeout;
                if backoff
                    .get_or_insert_with(|| Backoff::start(timeout))
                    .wait()
                    .await
                {
                    continue;
                }
            }
            self.note(&error);
            return Err(to_error(error));
        }
    }
}

impl Lease<'_> {
    /// [`Lease::execute_values`] for a statement of a bulk write, on the blocking pool. Only
    /// inside a write transaction (which holds the write lock: nothing to wait for).
    /// The values go to the blocking pool and come back, to be dropped by the caller.
    pub(crate) async fn execute_values_unbounded(
        &mut self,
        sql: Arc<str>,
        values: &mut Vec<Value>,
        returning: Option<ColumnType>,
    ) -> Result<Vec<Vec<Value>>, Error> {
        trace(&sql);
        let lent = std::mem::take(values);
        let (outcome, lent) = self
            .blocking(move |conn| {
                let params = rusqlite::params_from_iter(lent.iter().map(Bound));
                let outcome = match returning {
                    Some(ty) => query_rows(conn, &sql, params, &[ty]),
                    None => execute_statement(conn, &sql, params).map(|_| Vec::new()),
                };
                Ok((outcome, lent))
            })
            .await?;
        *values = lent;
        outcome.map_err(|error| {
            self.note(&error);
            to_error(error)
        })
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        // The permit (a field) is released after this, once the connection is back.
        if let Some(conn) = self.conn.take() {
            self.home.shared.give_back(conn, self.broken);
        }
    }
}
