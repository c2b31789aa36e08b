//! Prometheus metrics, served at `GET /metrics` on the API port: calls by transport, method and
//! status, their latency, errors by kind, and the database pool.

use std::{sync::atomic::AtomicU64, time::Duration};

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

use crate::store::{PoolStats, ReadStats};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    transport: &'static str,
    method: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    transport: &'static str,
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServerLabels {
    /// `primary`, or a replica's `host:port/database`.
    server: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FoundLabels {
    /// `current`, `advanced` (by replaying the change log) or `built` (read from the tags).
    found: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReplicaLabels {
    replica: String,
}

pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    latency: Family<MethodLabels, Histogram>,
    errors: Family<KindLabels, Counter>,
    pool: Family<StateLabels, Gauge>,
    watchers: Gauge,
    reads: Family<ServerLabels, Counter>,
    replica_lag: Family<ReplicaLabels, Gauge<f64, AtomicU64>>,
    replica_usable: Family<ReplicaLabels, Gauge>,
    spans_dropped: Counter,
    posting_sets: Family<FoundLabels, Counter>,
    posting_bytes: Gauge,
}

/// Latency buckets from 0.25 ms to about 4 s.
fn latency_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.000_25, 2.0, 15,
    ))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tagging");
        let calls = Family::<CallLabels, Counter>::default();
        let latency = Family::<MethodLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let errors = Family::<KindLabels, Counter>::default();
        let pool = Family::<StateLabels, Gauge>::default();
        registry.register(
            "requests",
            "Calls by transport, method and status code",
            calls.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Call latency by transport and method",
            latency.clone(),
        );
        registry.register("errors", "Failed calls by kind of error", errors.clone());
        registry.register(
            "db_connections",
            "Database pool connections by state",
            pool.clone(),
        );
        let watchers = Gauge::default();
        registry.register(
            "watchers",
            "Change streams (gRPC and Server-Sent Events) being served",
            watchers.clone(),
        );
        let reads = Family::<ServerLabels, Counter>::default();
        registry.register(
            "db_reads",
            "Tag reads by the server that answered them (only with read replicas)",
            reads.clone(),
        );
        let replica_lag = Family::<ReplicaLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "replica_lag_seconds",
            "How far each read replica replays behind the primary, at its last check (NaN when it did not answer)",
            replica_lag.clone(),
        );
        let replica_usable = Family::<ReplicaLabels, Gauge>::default();
        registry.register(
            "replica_usable",
            "1 while a read replica serves reads, 0 while it is skipped (down or lagging)",
            replica_usable.clone(),
        );
        let spans_dropped = Counter::default();
        registry.register(
            "trace_spans_dropped",
            "Trace spans dropped: the export queue was full, or their export to the collector failed",
            spans_dropped.clone(),
        );
        let posting_sets = Family::<FoundLabels, Counter>::default();
        registry.register(
            "filter_postings_sets",
            "Sets of resources per tag filter term that counts and negations used, by how each was found",
            posting_sets.clone(),
        );
        let posting_bytes = Gauge::default();
        registry.register(
            "filter_postings_bytes",
            "Memory the kept tag filter postings take (bounded by --filter-postings-mb)",
            posting_bytes.clone(),
        );
        Self {
            registry,
            posting_sets,
            posting_bytes,
            watchers,
            spans_dropped,
            reads,
            replica_lag,
            replica_usable,
            calls,
            latency,
            errors,
            pool,
        }
    }
}

impl Metrics {
    /// Records one call: `code` is the gRPC code name or the HTTP status.
    pub fn observe(&self, transport: &'static str, method: &str, code: &str, elapsed: Duration) {
        self.calls
            .get_or_create(&CallLabels {
                transport,
                method: method.to_owned(),
                code: code.to_owned(),
            })
            .inc();
        self.latency
            .get_or_create(&MethodLabels {
                transport,
                method: method.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    pub fn error(&self, kind: &'static str) {
        self.errors.get_or_create(&KindLabels { kind }).inc();
    }

    /// The exposition text, with the pool, the watchers and the replicas as they are now.
    pub fn render(&self, pool: PoolStats, watchers: usize, reads: &ReadStats) -> String {
        self.record_reads(reads);
        let dropped = super::traces::dropped_spans();
        self.spans_dropped
            .inc_by(dropped.saturating_sub(self.spans_dropped.get()));
        self.watchers
            .set(i64::try_from(watchers).unwrap_or(i64::MAX));
        self.pool
            .get_or_create(&StateLabels { state: "in_use" })
            .set(i64::from(pool.size - pool.idle));
        self.pool
            .get_or_create(&StateLabels { state: "idle" })
            .set(i64::from(pool.idle));
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }

    /// The counters follow the store's own (which count from its start, as the process's do).
    fn record_reads(&self, reads: &ReadStats) {
        let set = |counter: &Counter, total: u64| {
            counter.inc_by(total.saturating_sub(counter.get()));
        };
        let p = reads.postings;
        for (found, total) in [
            ("current", p.current),
            ("advanced", p.advanced),
            ("built", p.built),
        ] {
            set(
                &self.posting_sets.get_or_create(&FoundLabels { found }),
                total,
            );
        }
        self.posting_bytes
            .set(i64::try_from(p.bytes).unwrap_or(i64::MAX));
        if reads.replicas.is_empty() {
            return;
        }
        let server = |name: &str| ServerLabels {
            server: name.to_owned(),
        };
        set(
            &self.reads.get_or_create(&server("primary")),
            reads.primary_reads,
        );
        for r in &reads.replicas {
            set(&self.reads.get_or_create(&server(&r.name)), r.reads);
            let replica = ReplicaLabels {
                replica: r.name.clone(),
            };
            self.replica_lag
                .get_or_create(&replica)
                .set(r.lag_seconds.unwrap_or(f64::NAN));
            self.replica_usable
                .get_or_create(&replica)
                .set(i64::from(r.usable));
        }
    }
}
