//! What memtable tells `tracing`, on a SQLite file and on PostgreSQL: a span per operation with
//! its name, table, rows and duration (never a value), and, through the drivers' own
//! per-statement events (DEBUG; target `sqlx::query` on PostgreSQL, `memtable::statement` from
//! the SQLite driver), that each row operation sends exactly one statement once the table is
//! known: no existence query per call.
//!
//! One capturing subscriber is installed for the whole process (unbounded SQLite work runs on
//! the blocking pool, which a thread-local subscriber would miss). Tests run in parallel, so
//! each runs its body inside a root span of its own and reads only what happened under it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::{Mutex, Once, PoisonError};

use memtable::{Error, Filter, QueryOptions, Record, Store, TableSchema, Value};
use memtable_tests::both_backends;
use serde_json::json;
use tracing::Instrument as _;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record as SpanValues};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

// ---------------------------------------------------------------------------------------------
// The capturing subscriber
// ---------------------------------------------------------------------------------------------

/// A span as created and later recorded into.
#[derive(Debug, Clone)]
struct SpanRec {
    name: &'static str,
    target: String,
    fields: BTreeMap<String, String>,
    /// Serials of the enclosing spans, outermost first.
    ancestors: Vec<usize>,
}

/// An event, with the serials of the spans it happened in (outermost first).
#[derive(Debug, Clone)]
struct EventRec {
    target: String,
    fields: BTreeMap<String, String>,
    spans: Vec<usize>,
}

/// Every span and event of the process, in order; a span's serial is its index in `SPANS`
/// (the subscriber's own span ids are reused once a span closes).
static SPANS: Mutex<Vec<SpanRec>> = Mutex::new(Vec::new());
static EVENTS: Mutex<Vec<EventRec>> = Mutex::new(Vec::new());

/// The serial of a span, kept in its extensions.
struct Serial(usize);

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
}

struct Capture;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let Some(span) = ctx.span(id) else { return };
        let ancestors = span
            .scope()
            .skip(1)
            .filter_map(|s| s.extensions().get::<Serial>().map(|s| s.0))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let serial = {
            let mut spans = SPANS.lock().unwrap_or_else(PoisonError::into_inner);
            spans.push(SpanRec {
                name: attrs.metadata().name(),
                target: attrs.metadata().target().to_owned(),
                fields: fields.0,
                ancestors,
            });
            spans.len() - 1
        };
        span.extensions_mut().insert(Serial(serial));
    }

    fn on_record(&self, id: &Id, values: &SpanValues<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let Some(serial) = span.extensions().get::<Serial>().map(|s| s.0) else {
            return;
        };
        let mut fields = Fields::default();
        values.record(&mut fields);
        let mut spans = SPANS.lock().unwrap_or_else(PoisonError::into_inner);
        spans[serial].fields.extend(fields.0);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let spans = ctx
            .event_scope(event)
            .map(|scope| {
                scope
                    .from_root()
                    .filter_map(|s| s.extensions().get::<Serial>().map(|s| s.0))
                    .collect()
            })
            .unwrap_or_default();
        EVENTS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(EventRec {
                target: event.metadata().target().to_owned(),
                fields: fields.0,
                spans,
            });
    }
}

fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(Capture);
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
    });
}

/// What happened under one test's root span.
struct Recorder {
    root: usize,
}

/// A position in the record: spans and events after it are "since" it.
#[derive(Debug, Clone, Copy)]
struct Mark {
    spans: usize,
    events: usize,
}

impl Recorder {
    /// Runs `body` inside a root span of its own and returns what it recorded.
    async fn run<F: std::future::Future<Output = ()>>(
        test: &str,
        body: impl FnOnce(Recorder) -> F,
    ) {
        install();
        let root = tracing::info_span!("observability_test", test);
        let serial = {
            let spans = SPANS.lock().unwrap_or_else(PoisonError::into_inner);
            spans
                .iter()
                .rposition(|s| {
                    s.name == "observability_test"
                        && s.fields.get("test").map(String::as_str) == Some(test)
                })
                .expect("the test's root span is recorded")
        };
        body(Recorder { root: serial }).instrument(root).await;
    }

    fn mark(&self) -> Mark {
        Mark {
            spans: SPANS.lock().unwrap_or_else(PoisonError::into_inner).len(),
            events: EVENTS.lock().unwrap_or_else(PoisonError::into_inner).len(),
        }
    }

    /// The spans created under this test's root since `mark`, with their serials.
    fn spans_since(&self, mark: Mark) -> Vec<(usize, SpanRec)> {
        let spans = SPANS.lock().unwrap_or_else(PoisonError::into_inner);
        spans
            .iter()
            .enumerate()
            .skip(mark.spans)
            .filter(|(_, s)| s.ancestors.contains(&self.root))
            .map(|(i, s)| (i, s.clone()))
            .collect()
    }

    /// The events under this test's root since `mark`.
    fn events_since(&self, mark: Mark) -> Vec<EventRec> {
        let events = EVENTS.lock().unwrap_or_else(PoisonError::into_inner);
        events[mark.events..]
            .iter()
            .filter(|e| e.spans.contains(&self.root))
            .cloned()
            .collect()
    }

    /// Every span and event under this test's root.
    fn everything(&self) -> (Vec<SpanRec>, Vec<EventRec>) {
        let start = Mark {
            spans: self.root,
            events: 0,
        };
        let spans = self
            .spans_since(start)
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        (spans, self.events_since(start))
    }

    /// The memtable operation spans since `mark`.
    fn operations_since(&self, mark: Mark) -> Vec<(usize, SpanRec)> {
        self.spans_since(mark)
            .into_iter()
            .filter(|(_, s)| s.target.starts_with("memtable") && s.fields.contains_key("operation"))
            .collect()
    }

    /// The single memtable span of `operation` since `mark`: its serial and record.
    fn operation(&self, mark: Mark, operation: &str) -> (usize, SpanRec) {
        let mut found = self.operations_since(mark);
        assert_eq!(
            found.len(),
            1,
            "one memtable span for {operation}: {found:#?}"
        );
        let (serial, span) = found.remove(0);
        assert_eq!(
            span.fields.get("operation").map(String::as_str),
            Some(operation),
            "{span:?}"
        );
        (serial, span)
    }

    /// The statements the driver sent since `mark` (its per-statement events).
    fn statements_since(&self, mark: Mark) -> Vec<EventRec> {
        self.events_since(mark)
            .into_iter()
            .filter(is_statement)
            .collect()
    }
}

/// A driver's event for one statement sent: sqlx's (PostgreSQL), or the SQLite driver's.
fn is_statement(event: &EventRec) -> bool {
    event.target == "sqlx::query" || event.target == "memtable::statement"
}

fn statement_text(event: &EventRec) -> String {
    let statement = event
        .fields
        .get("db.statement")
        .filter(|s| !s.trim().is_empty());
    statement
        .or_else(|| event.fields.get("summary"))
        .cloned()
        .unwrap_or_else(|| format!("{event:?}"))
}

/// The span has the four fields of every operation, with these values.
fn assert_operation_span(span: &SpanRec, operation: &str, table: &str, rows: u64) {
    let fields = &span.fields;
    assert_eq!(span.name, "memtable", "{span:?}");
    assert_eq!(
        fields.get("operation").map(String::as_str),
        Some(operation),
        "{span:?}"
    );
    assert_eq!(
        fields.get("table").map(String::as_str),
        Some(table),
        "{span:?}"
    );
    assert_eq!(
        fields.get("rows").map(|r| r.parse::<u64>()),
        Some(Ok(rows)),
        "rows of {operation}: {span:?}"
    );
    let duration = fields.get("duration_us").map(|d| d.parse::<u64>());
    assert!(
        matches!(duration, Some(Ok(_))),
        "duration_us of {operation}: {span:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const SECRET: &str = "s3cr3t-Hunter2-value";
const SECRET_JSON: &str = "s3cr3t-json-Xyzzy";
const SECRET_BLOB: &[u8] = b"s3cr3t-blob-Plugh";
const SECRET_ID: &str = "s3cr3t-key-Quux";

fn vault() -> TableSchema {
    TableSchema::from_json(json!({
        "name": "vault",
        "columns": [
            { "name": "id", "type": "text", "constraints": ["primary_key"] },
            { "name": "owner", "type": "text", "constraints": ["not_null", "unique"] },
            { "name": "token", "type": "text" },
            { "name": "data", "type": "json" },
            { "name": "raw", "type": "blob" },
            { "name": "n", "type": "bigint" }
        ]
    }))
    .unwrap()
}

fn counters() -> TableSchema {
    TableSchema::from_json(json!({
        "name": "counters",
        "columns": [
            { "name": "id", "type": "integer", "constraints": ["primary_key", "auto_increment"] },
            { "name": "name", "type": "text", "constraints": ["not_null"] },
            { "name": "n", "type": "bigint" }
        ]
    }))
    .unwrap()
}

fn counter(name: &str, n: i64) -> Record {
    Record::new().with("name", name).with("n", n)
}

/// The forms a secret could take in a log line.
fn secret_forms() -> Vec<String> {
    use base64::Engine as _;
    let blob = String::from_utf8_lossy(SECRET_BLOB).into_owned();
    let hex: String = SECRET_BLOB.iter().map(|b| format!("{b:02x}")).collect();
    vec![
        SECRET.to_owned(),
        SECRET_JSON.to_owned(),
        blob,
        hex,
        base64::engine::general_purpose::STANDARD.encode(SECRET_BLOB),
        format!("{:?}", SECRET_BLOB),
        "s3cr3t".to_owned(),
    ]
}

fn assert_no_secret(spans: &[SpanRec], events: &[EventRec]) {
    let forms = secret_forms();
    let mut checked = 0;
    for (kind, fields) in spans
        .iter()
        .map(|s| ("span", &s.fields))
        .chain(events.iter().map(|e| ("event", &e.fields)))
    {
        for (name, value) in fields {
            checked += 1;
            for form in &forms {
                assert!(
                    !value.contains(form.as_str()),
                    "{kind} field {name} = {value:?} holds {form:?}"
                );
            }
        }
    }
    assert!(checked > 20, "only {checked} fields were recorded");
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

both_backends! {
    async fn every_operation_has_a_span_without_values(db, store) {
        let test = format!("spans_{}", db.backend);
        Recorder::run(&test, |rec| async move {
            let start = rec.mark();
            store.create_table(&vault()).await.unwrap();
            let (_, span) = rec.operation(start, "create_table");
            assert_operation_span(&span, "create_table", "vault", 1);

            let mark = rec.mark();
            assert!(store.table_exists("vault").await.unwrap());
            assert_operation_span(&rec.operation(mark, "table_exists").1, "table_exists", "vault", 1);

            let mark = rec.mark();
            let record = Record::new()
                .with("id", SECRET_ID)
                .with("owner", SECRET)
                .with("token", SECRET)
                .with("data", json!({ "k": SECRET_JSON, SECRET_JSON: [SECRET_JSON] }))
                .with("raw", SECRET_BLOB.to_vec())
                .with("n", 1);
            let id = store.insert_into_table("vault", record).await.unwrap();
            assert_eq!(id, SECRET_ID);
            assert_operation_span(&rec.operation(mark, "insert_into_table").1, "insert_into_table", "vault", 1);

            let mark = rec.mark();
            store
                .update_table_record("vault", &id, Record::new().with("token", format!("{SECRET}-2")).with("n", 2))
                .await
                .unwrap();
            assert_operation_span(&rec.operation(mark, "update_table_record").1, "update_table_record", "vault", 1);

            let mark = rec.mark();
            let options = QueryOptions::new()
                .filter(Filter::eq("owner", SECRET).and(Filter::eq("data", json!({ "k": SECRET_JSON, SECRET_JSON: [SECRET_JSON] }))));
            let rows = store.query_table("vault", &options).await.unwrap();
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].get("raw"), Some(&Value::Blob(SECRET_BLOB.to_vec())));
            assert_operation_span(&rec.operation(mark, "query_table").1, "query_table", "vault", 1);

            // Failures carry an error event under the span, without the values either.
            let mark = rec.mark();
            let duplicate = Record::new().with("id", "other").with("owner", SECRET);
            let error = store.insert_into_table("vault", duplicate).await.unwrap_err();
            assert!(matches!(error, Error::ConstraintViolation { .. }), "{error:?}");
            let (serial, span) = rec.operation(mark, "insert_into_table");
            assert_eq!(span.fields.get("table").map(String::as_str), Some("vault"));
            let failed: Vec<_> = rec.events_since(mark).into_iter()
                .filter(|e| e.spans.contains(&serial) && e.fields.contains_key("error"))
                .collect();
            assert_eq!(failed.len(), 1, "one error event: {failed:#?}");

            // A record that is not there: the event names the kind, not the id asked for.
            let mark = rec.mark();
            let missing = store.delete_from_table("vault", "s3cr3t-missing-Zorp").await.unwrap_err();
            assert!(matches!(missing, Error::RecordNotFound { .. }), "{missing:?}");
            let (serial, _) = rec.operation(mark, "delete_from_table");
            let failed: Vec<_> = rec.events_since(mark).into_iter()
                .filter(|e| e.spans.contains(&serial) && e.fields.contains_key("error"))
                .collect();
            assert_eq!(failed.len(), 1, "one error event: {failed:#?}");
            assert!(failed[0].fields["error"].contains("record_not_found"), "{failed:#?}");

            let mark = rec.mark();
            store.delete_from_table("vault", &id).await.unwrap();
            assert_operation_span(&rec.operation(mark, "delete_from_table").1, "delete_from_table", "vault", 1);

            let mark = rec.mark();
            store.drop_table("vault").await.unwrap();
            assert_operation_span(&rec.operation(mark, "drop_table").1, "drop_table", "vault", 1);

            let (spans, events) = rec.everything();
            let operations: Vec<&str> = spans.iter()
                .filter_map(|s| s.fields.get("operation").map(String::as_str))
                .collect();
            assert_eq!(operations, ["create_table", "table_exists", "insert_into_table",
                "update_table_record", "query_table", "insert_into_table", "delete_from_table",
                "delete_from_table", "drop_table"]);
            assert!(events.iter().any(is_statement), "the driver's statements are recorded too");
            assert_no_secret(&spans, &events);
        }).await;
    }

    async fn row_operations_send_one_statement(db, store) {
        let test = format!("statements_{}", db.backend);
        Recorder::run(&test, |rec| async move {
            store.create_table(&counters()).await.unwrap();
            let options = QueryOptions::new().filter(Filter::eq("name", "a")).limit(10);

            // Warm-up: each statement prepared once on the connection.
            let first = store.insert_into_table("counters", counter("a", 1)).await.unwrap();
            store.update_table_record("counters", &first, counter("a", 2)).await.unwrap();
            store.query_table("counters", &options).await.unwrap();
            let spare = store.insert_into_table("counters", counter("b", 1)).await.unwrap();
            store.delete_from_table("counters", &spare).await.unwrap();

            // A second store on the same database knows the table from its catalog, loaded
            // when it connected: it needs no lookup per call either.
            let other = Store::connect(&db.url).await.unwrap();
            other.query_table("counters", &options).await.unwrap();

            for (store, who) in [(&store, "creator"), (&other, "second store")] {
                let mark = rec.mark();
                let id = store.insert_into_table("counters", counter("a", 3)).await.unwrap();
                let inserted = rec.statements_since(mark);
                let mark = rec.mark();
                store.update_table_record("counters", &id, counter("a", 4)).await.unwrap();
                let updated = rec.statements_since(mark);
                let mark = rec.mark();
                let rows = store.query_table("counters", &options).await.unwrap();
                assert_eq!(rows.len(), 2);
                let queried = rec.statements_since(mark);
                let mark = rec.mark();
                store.delete_from_table("counters", &id).await.unwrap();
                let deleted = rec.statements_since(mark);

                for (operation, statements, verb) in [
                    ("insert_into_table", &inserted, "INSERT"),
                    ("update_table_record", &updated, "UPDATE"),
                    ("query_table", &queried, "SELECT"),
                    ("delete_from_table", &deleted, "DELETE"),
                ] {
                    let texts: Vec<String> = statements.iter().map(statement_text).collect();
                    assert_eq!(statements.len(), 1, "{who}: {operation} sent {texts:#?}");
                    assert!(texts[0].to_uppercase().contains(verb), "{who}: {operation} sent {texts:?}");
                    assert!(texts[0].contains("counters"), "{who}: {operation} sent {texts:?}");
                }
                // The statement ran inside the operation's span.
                let spans = rec.spans_since(Mark { spans: rec.root, events: 0 });
                let span_of = |event: &EventRec| {
                    event.spans.iter().rev().find_map(|serial| {
                        spans.iter().find(|(s, _)| s == serial).and_then(|(_, span)| span.fields.get("operation").cloned())
                    })
                };
                assert_eq!(span_of(&inserted[0]).as_deref(), Some("insert_into_table"));
                assert_eq!(span_of(&updated[0]).as_deref(), Some("update_table_record"));
                assert_eq!(span_of(&queried[0]).as_deref(), Some("query_table"));
                assert_eq!(span_of(&deleted[0]).as_deref(), Some("delete_from_table"));
            }
            other.close().await;
        }).await;
    }

    async fn an_unchanged_sync_sends_no_statement(db, store) {
        let test = format!("sync_{}", db.backend);
        Recorder::run(&test, |rec| async move {
            let v1 = counters();
            let mut v2 = v1.clone();
            v2.columns.push(memtable::Column::new("note", memtable::ColumnType::Text));
            store.sync_table(&v1).await.unwrap();
            let mark = rec.mark();
            let report = store.sync_table(&v2).await.unwrap();
            assert_eq!(report.added_columns, ["note"]);
            let texts: Vec<String> = rec.statements_since(mark).iter().map(statement_text).collect();
            assert!(texts.iter().any(|t| t.to_uppercase().contains("ALTER TABLE")), "{texts:#?}");
            assert_operation_span(&rec.operation(mark, "sync_table").1, "sync_table", "counters", 1);

            // The schema the store knows: no DDL, no statement at all, from the store that
            // synced and from another that read the catalog when it connected.
            let other = Store::connect(&db.url).await.unwrap();
            for (store, who) in [(&store, "syncing store"), (&other, "second store")] {
                for _ in 0..3 {
                    let mark = rec.mark();
                    let report = store.sync_table(&v2).await.unwrap();
                    assert!(report.is_unchanged(), "{who}: {report:?}");
                    let texts: Vec<String> = rec.statements_since(mark).iter().map(statement_text).collect();
                    assert!(texts.is_empty(), "{who}: an unchanged sync sent {texts:#?}");
                }
            }
            other.close().await;
        }).await;
    }
}
