//! Every operation in a `tracing` span: its name, table, rows and duration, never a value.

use std::time::Instant;

use tracing::Instrument as _;

use super::Store;
use crate::error::Result;

impl Store {
    /// Runs one operation inside a `tracing` span recording the operation, the table, the rows
    /// it touched and its duration (never values).
    ///
    /// The operation comes as the closure that makes its future, made where it is awaited: an
    /// operation's future is a kilobyte or two, and one passed in would be held twice and
    /// copied twice, for nothing but the span (BENCHMARKS.md, the PostgreSQL point select).
    pub(super) async fn traced<T, F>(
        &self,
        operation: &'static str,
        table: &str,
        work: impl FnOnce() -> F,
        rows: fn(&T) -> u64,
    ) -> Result<T>
    where
        F: std::future::Future<Output = Result<T>>,
    {
        let span = tracing::debug_span!(
            "memtable",
            operation,
            table = %crate::error::Shortened(table),
            rows = tracing::field::Empty,
            duration_us = tracing::field::Empty,
        );
        if span.is_disabled() {
            // Nothing listens: no span to enter on every poll, nothing to record.
            return work()
                .await
                .map_err(|error| self.in_scope(error.for_operation(operation, table), table));
        }
        let started = Instant::now();
        let result = work()
            .instrument(span.clone())
            .await
            .map_err(|error| self.in_scope(error.for_operation(operation, table), table));
        span.record("duration_us", started.elapsed().as_micros() as u64);
        match &result {
            Ok(value) => {
                span.record("rows", rows(value));
                tracing::debug!(parent: &span, "ok");
            }
            // The kind only: a message may quote an id or, from the database, a value.
            Err(error) => tracing::debug!(
                parent: &span,
                error = error.kind().as_str(),
                transient = error.is_transient(),
                "failed"
            ),
        }
        result
    }
}
