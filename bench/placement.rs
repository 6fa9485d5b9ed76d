//! Where the PostgreSQL rounds run: the client's thread on one core, every server process of
//! the benchmark's database together on another (Linux, a local server, two cores or more).
//!
//! One connection is served by one server process for its life, and on two cores the
//! scheduler runs that process either on the client's core or on the other one. Two
//! connections running the same code therefore differ by as much as the placement: in a probe
//! (not committed) of two hand-written sqlx connections alternating point selects, eight runs
//! of 1,500 selects each, the median select of one took 0.94–1.11× the other's left to the
//! scheduler, and 0.998–1.006× with the client and both server processes pinned
//! (BENCHMARKS.md, "Where the processes run"). Pinned, both sides of a comparison see the
//! same placement, and the ratio is memtable's cost rather than the scheduler's.

use sqlx::PgConnection;

/// A pinning that holds until it is dropped: the client's thread gets its CPUs back then.
pub struct Pinned {
    client_cpus: Option<imp::Cpus>,
    /// What was done, for the report.
    pub summary: String,
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if let Some(cpus) = &self.client_cpus {
            imp::restore(cpus);
        }
    }
}

/// Pins the client's thread to the first CPU it may run on and every server process of the
/// database `conn` is connected to (the connections of both sides) to the second. Where that
/// cannot be done (not Linux, one CPU, a server elsewhere or run by a user this process may
/// not set), the client is not pinned, and the summary says why; `MEMTABLE_BENCH_PIN=0` pins
/// nothing, to measure what the placement does.
pub async fn pin(conn: &mut PgConnection) -> Pinned {
    let pinned = if std::env::var_os("MEMTABLE_BENCH_PIN").is_some_and(|pin| pin == "0") {
        Err("MEMTABLE_BENCH_PIN=0".to_owned())
    } else {
        imp::pin(conn).await
    };
    match pinned {
        Ok((previous, summary)) => Pinned {
            client_cpus: Some(previous),
            summary,
        },
        Err(why) => Pinned {
            client_cpus: None,
            summary: format!("not pinned: {why}"),
        },
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
    use nix::unistd::Pid;
    use sqlx::PgConnection;

    /// The CPUs the client's thread may run on, to give back.
    pub type Cpus = CpuSet;

    pub fn restore(cpus: &Cpus) {
        let _ = sched_setaffinity(Pid::from_raw(0), cpus);
    }

    fn one_cpu(cpu: usize) -> Option<CpuSet> {
        let mut set = CpuSet::new();
        set.set(cpu).ok()?;
        Some(set)
    }

    /// Whether `pid` is a PostgreSQL server process on this machine (a pid from a remote
    /// server names some other process here, or none).
    fn is_local_postgres(pid: i32) -> bool {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|cmdline| cmdline.starts_with(b"postgres:"))
    }

    /// See [`super::pin`]: the client's CPUs before, and what was done; else why not.
    pub async fn pin(conn: &mut PgConnection) -> Result<(Cpus, String), String> {
        let this_thread = Pid::from_raw(0);
        let previous = sched_getaffinity(this_thread)
            .map_err(|_| "the thread's CPUs could not be read".to_owned())?;
        let cpus: Vec<usize> = (0..CpuSet::count())
            .filter(|&cpu| previous.is_set(cpu).unwrap_or(false))
            .collect();
        let [client_cpu, server_cpu, ..] = cpus[..] else {
            return Err("fewer than two CPUs to run on".to_owned());
        };
        let (Some(client), Some(server)) = (one_cpu(client_cpu), one_cpu(server_cpu)) else {
            return Err("the CPUs could not be named".to_owned());
        };
        let pids: Vec<(i32,)> = sqlx::query_as(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_default();
        let pinned = pids
            .iter()
            .filter(|(pid,)| {
                is_local_postgres(*pid) && sched_setaffinity(Pid::from_raw(*pid), &server).is_ok()
            })
            .count();
        if pinned == 0 {
            return Err("no server process of the database could be pinned here".to_owned());
        }
        sched_setaffinity(this_thread, &client)
            .map_err(|_| "the client's thread could not be pinned".to_owned())?;
        let summary = format!(
            "client thread on CPU {client_cpu}, {pinned} server process(es) of {} on CPU {server_cpu}",
            pids.len()
        );
        Ok((previous, summary))
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use sqlx::PgConnection;

    /// Nothing is ever pinned here.
    pub enum Cpus {}

    pub fn restore(cpus: &Cpus) {
        match *cpus {}
    }

    pub async fn pin(_conn: &mut PgConnection) -> Result<(Cpus, String), String> {
        Err("thread affinity is set on Linux only".to_owned())
    }
}
