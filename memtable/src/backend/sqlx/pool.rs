//! The store's own connections: a bounded set of dedicated sqlx connections, handed out one per
//! operation.
//!
//! sqlx's `Pool` pings every connection when it is returned (and, by default, before it is
//! handed out) and returns it from a spawned task: two extra round trips and a task per
//! operation, which is more than a point select costs in all (see BENCHMARKS.md). The
//! store runs one operation per lease, so it needs none of that: a connection goes back to the
//! idle list as soon as the operation ends, and is only checked when it has sat idle long enough
//! for a server or a proxy to have dropped it. A connection that failed with an I/O or protocol
//! error is discarded instead of returned.

use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::{ConnectOptions, Connection};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::error::from_sqlx;
use crate::error::Result;

/// Attempts at opening a connection while the database reports itself locked.
const CONNECT_ATTEMPTS: u32 = 5;

/// Opens a connection, trying again while the database is locked: processes opening one new
/// SQLite file at once race to switch it to WAL, and a loser can be told "database is locked"
/// without its busy timeout being waited out.
async fn connect<C: Connection>(options: &C::Options) -> Result<C> {
    let mut attempt = 1;
    loop {
        match options.connect().await {
            Err(sqlx::Error::Database(e))
                if attempt < CONNECT_ATTEMPTS && is_locked(e.as_ref()) =>
            {
                tokio::time::sleep(Duration::from_millis(25 * u64::from(attempt))).await;
                attempt += 1;
            }
            other => return other.map_err(from_sqlx),
        }
    }
}

/// SQLITE_BUSY or SQLITE_LOCKED, with any extended code.
fn is_locked(error: &dyn sqlx::error::DatabaseError) -> bool {
    let primary = error
        .code()
        .and_then(|code| code.parse::<u32>().ok())
        .map(|code| code & 0xff);
    error.message().contains("database is locked") || matches!(primary, Some(5 | 6))
}

/// Idle this long, a connection is pinged before use.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(30);

pub(crate) struct Connections<C: Connection> {
    options: C::Options,
    /// Behind a transaction-mode pooler (see `SqlxConnection`).
    transaction_pooled: bool,
    /// Every transaction begins read-only (see `SqlxConnection`).
    read_only: bool,
    idle: Mutex<Vec<(C, Instant)>>,
    permits: Semaphore,
}

impl<C: Connection> Connections<C> {
    /// Opens the first connection now, so that a bad URL or an unreachable server is reported
    /// by `connect`, and keeps it.
    pub(crate) async fn open(
        options: C::Options,
        max_connections: u32,
        transaction_pooled: bool,
        read_only: bool,
    ) -> Result<Self> {
        let first = connect::<C>(&options).await?;
        let max = usize::try_from(max_connections.max(1)).unwrap_or(1);
        Ok(Connections {
            options,
            transaction_pooled,
            read_only,
            idle: Mutex::new(vec![(first, Instant::now())]),
            permits: Semaphore::new(max),
        })
    }

    /// A connection for one operation; waits while every connection is in use.
    pub(crate) async fn acquire(&self) -> Result<Lease<'_, C>> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| from_sqlx(sqlx::Error::PoolClosed))?;
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        // Connecting and pinging are boxed: their futures are large, and the usual lease (an
        // idle connection, used recently) should not carry their room in its own.
        let conn = match idle {
            Some((conn, since)) if since.elapsed() < CHECK_AFTER_IDLE => conn,
            Some((mut conn, _)) => match Box::pin(conn.ping()).await {
                Ok(()) => conn,
                Err(_) => Box::pin(connect::<C>(&self.options)).await?,
            },
            None => Box::pin(connect::<C>(&self.options)).await?,
        };
        Ok(Lease {
            conn: Some(conn),
            home: self,
            broken: false,
            _permit: permit,
        })
    }

    /// An idle connection used recently, if one is free now and no lease waits for one.
    pub(crate) fn try_acquire(&self) -> Option<Lease<'_, C>> {
        let permit = self.permits.try_acquire().ok()?;
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        // One idle too long is left for `acquire`, which pings it first.
        if idle
            .last()
            .is_none_or(|(_, since)| since.elapsed() >= CHECK_AFTER_IDLE)
        {
            return None;
        }
        let (conn, _) = idle.pop()?;
        Some(Lease {
            conn: Some(conn),
            home: self,
            broken: false,
            _permit: permit,
        })
    }

    /// Closes the idle connections and refuses further leases.
    pub(crate) async fn close(&self) {
        self.permits.close();
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        for (conn, _) in idle {
            // Closing is a courtesy to the server; a failure leaves nothing to clean up.
            let _ = conn.close().await;
        }
    }
}

/// One connection, lent for one operation; it goes back to the idle list when dropped, unless
/// it was marked broken.
pub(crate) struct Lease<'a, C: Connection> {
    conn: Option<C>,
    home: &'a Connections<C>,
    broken: bool,
    _permit: SemaphorePermit<'a>,
}

impl<C: Connection> Lease<'_, C> {
    /// Closes the connection with the lease instead of returning it (a transaction left open
    /// ends with it on the server).
    pub(crate) fn discard(&mut self) {
        self.conn = None;
    }
}

impl<C: Connection> Lease<'_, C> {
    /// Whether the connection reaches the server through a transaction-mode pooler.
    pub(crate) fn transaction_pooled(&self) -> bool {
        self.home.transaction_pooled
    }

    /// Whether every transaction on the connection begins read-only.
    pub(crate) fn read_only(&self) -> bool {
        self.home.read_only
    }

    /// Notes the outcome of a statement: after an I/O or protocol failure the connection is not
    /// trusted again.
    pub(crate) fn note<T>(&mut self, result: &Result<T, sqlx::Error>) {
        let Err(error) = result else { return };
        self.broken |= match error {
            sqlx::Error::Io(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_) => true,
            // PostgreSQL shutting down (57P01-57P03) or a connection exception (class 08).
            sqlx::Error::Database(db) => db
                .code()
                .is_some_and(|code| code.starts_with("57P0") || code.starts_with("08")),
            _ => false,
        };
    }
}

impl<C: Connection> Deref for Lease<'_, C> {
    type Target = C;

    fn deref(&self) -> &C {
        // Present from creation until drop.
        self.conn
            .as_ref()
            .unwrap_or_else(|| unreachable!("a lease holds its connection until dropped"))
    }
}

impl<C: Connection> DerefMut for Lease<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        self.conn
            .as_mut()
            .unwrap_or_else(|| unreachable!("a lease holds its connection until dropped"))
    }
}

impl<C: Connection> Drop for Lease<'_, C> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        let mut idle = self
            .home
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if self.broken {
            // What broke this connection (a server restart, a dropped network) most likely
            // broke the idle ones too: let the next operations open fresh ones rather than
            // each fail once on a dead connection.
            idle.clear();
        } else if !self.home.permits.is_closed() {
            idle.push((conn, Instant::now()));
        }
    }
}
