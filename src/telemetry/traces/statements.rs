//! A client span per database statement, beneath the span of the call that ran it. sqlx reports
//! each statement when it finishes (target `sqlx::query`: its text and how long it took); this
//! layer turns that report into a span that started that long ago, named by the statement's
//! operation and table. No bound value is in the text, and the text itself is not exported:
//! only what the conventions name (system, operation, table).
//!
//! On SQLite, sqlx runs statements on a thread of its own, outside the call's context: their
//! reports have no call span to go beneath, and are left out here; SQLite's own profile callback
//! reports them instead (`sqlite_statements.rs`).

use std::{
    sync::OnceLock,
    time::{Duration, SystemTime},
};

use opentelemetry::{
    Context, KeyValue,
    trace::{Span, SpanKind, TraceContextExt, Tracer},
};
use tracing::{
    Event, Subscriber,
    field::{Field, Visit},
};
use tracing_subscriber::{Layer, layer};

/// sqlx's target for its statement reports.
pub const STATEMENT_TARGET: &str = "sqlx::query";

/// `db.system.name` of the database the statements run on, set once it is known.
static SYSTEM: OnceLock<&'static str> = OnceLock::new();

/// Names the database system of the statements to come: `postgresql` or `sqlite`.
pub fn database_system(url: &str) {
    let _ = SYSTEM.set(if url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgresql"
    });
}

/// The layer that makes the statements' spans.
pub struct StatementSpans;

/// Whether sqlx should report the statement about to run: only within a traced call, so that
/// an untraced or unsampled call's statements cost nothing (sqlx formats a report only when one
/// is wanted).
pub fn statement_wanted(metadata: &tracing::Metadata<'_>) -> bool {
    metadata.target() == STATEMENT_TARGET && Context::current().has_active_span()
}

impl<S: Subscriber> Layer<S> for StatementSpans {
    fn on_event(&self, event: &Event<'_>, _ctx: layer::Context<'_, S>) {
        if !statement_wanted(event.metadata()) {
            return;
        }
        let parent = Context::current();
        let mut report = Report::default();
        event.record(&mut report);
        let took = Duration::from_secs_f64(report.elapsed_secs.max(0.0));
        record(&parent, report.text(), took, report.rows_returned);
    }
}

/// A span beneath `parent` for the statement `text` that just finished after `took`.
pub fn record(parent: &Context, text: &str, took: Duration, rows_returned: Option<u64>) {
    let Some(tracer) = super::tracer() else {
        return;
    };
    let (operation, table) = operation_and_table(text);
    let name = match &table {
        Some(table) => format!("{operation} {table}"),
        None => operation.clone(),
    };
    let mut attributes = vec![
        KeyValue::new("db.system.name", *SYSTEM.get().unwrap_or(&"postgresql")),
        KeyValue::new("db.operation.name", operation),
    ];
    if let Some(table) = table {
        attributes.push(KeyValue::new("db.collection.name", table));
    }
    if let Some(rows) = rows_returned {
        attributes.push(KeyValue::new(
            "db.response.returned_rows",
            i64::try_from(rows).unwrap_or(i64::MAX),
        ));
    }
    let end = SystemTime::now();
    let mut span = tracer
        .span_builder(name)
        .with_kind(SpanKind::Client)
        .with_start_time(end - took)
        .with_attributes(attributes)
        .start_with_context(tracer, parent);
    span.end_with_timestamp(end);
}

/// The fields of one statement report.
#[derive(Default)]
struct Report {
    summary: String,
    /// The whole text when the summary is cut short; empty otherwise.
    statement: String,
    elapsed_secs: f64,
    rows_returned: Option<u64>,
}

impl Report {
    fn text(&self) -> &str {
        let whole = self.statement.trim();
        if whole.is_empty() {
            &self.summary
        } else {
            whole
        }
    }
}

impl Visit for Report {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => value.clone_into(&mut self.summary),
            "db.statement" => value.clone_into(&mut self.statement),
            _ => {}
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.elapsed_secs = value;
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "rows_returned" {
            self.rows_returned = Some(value);
        }
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn std::fmt::Debug) {}
}

/// The statement's operation (its first word, upper-case) and the table it reads or writes
/// first: after `FROM` (or `JOIN` when there is none) for reads and deletes, after `INTO` for
/// inserts, the next word for updates.
fn operation_and_table(text: &str) -> (String, Option<String>) {
    let words: Vec<&str> = text.split_whitespace().collect();
    let operation = words
        .first()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_ascii_alphabetic())
                .to_ascii_uppercase()
        })
        .unwrap_or_default();
    let after = |keyword: &str| {
        words
            .iter()
            .position(|w| w.eq_ignore_ascii_case(keyword))
            .and_then(|i| words.get(i + 1))
    };
    let table = match operation.as_str() {
        "INSERT" => after("INTO"),
        "UPDATE" => words.get(1),
        "SELECT" | "DELETE" | "WITH" => after("FROM"),
        _ => None,
    };
    // A subquery is no table.
    let table = table
        .filter(|t| !t.starts_with('('))
        .map(|t| t.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .map(str::to_owned);
    (operation, table)
}

#[cfg(test)]
mod tests {
    use super::operation_and_table;

    #[test]
    fn a_statement_is_named_by_its_operation_and_first_table() {
        let named = |sql: &str| operation_and_table(sql);
        assert_eq!(
            named("SELECT t.key, t.value FROM tags t WHERE t.resource_pk = $1"),
            ("SELECT".into(), Some("tags".into()))
        );
        assert_eq!(
            named("INSERT INTO change_sets (project_id) VALUES ($1)"),
            ("INSERT".into(), Some("change_sets".into()))
        );
        assert_eq!(
            named("UPDATE project_revisions SET revision = revision + 1"),
            ("UPDATE".into(), Some("project_revisions".into()))
        );
        assert_eq!(
            named("DELETE FROM tags WHERE resource_pk = $1"),
            ("DELETE".into(), Some("tags".into()))
        );
        assert_eq!(named("BEGIN"), ("BEGIN".into(), None));
        assert_eq!(
            named("SELECT 1 FROM (SELECT pk FROM resources) r"),
            ("SELECT".into(), None)
        );
    }
}
