//! The monitoring files name only what the server exposes: every metric in the PromQL of the
//! Grafana dashboard (`deploy/monitoring/grafana-dashboard.json`, its panels and its variables) and
//! of the alert rules (`deploy/monitoring/alerts.yaml`) is a series that `GET /metrics` serves, and
//! every label a selector matches on is one that series carries. Names are read from the
//! expressions with a small PromQL lexer: strings, label matchers, ranges, numbers, durations,
//! Grafana variables, function and aggregation names and the label lists of `by`, `without`, `on`,
//! `ignoring`, `group_left` and `group_right` are skipped, and what is left is a metric name.

use std::collections::{BTreeMap, BTreeSet};

use crate::helpers::{Backend, TestApp, assert_invalid, authed, tag_request};

const DASHBOARD: &str = include_str!("../../deploy/monitoring/grafana-dashboard.json");
const ALERTS: &str = include_str!("../../deploy/monitoring/alerts.yaml");

/// Series that Prometheus itself makes for every scrape target, not the server.
const PROMETHEUS_SERIES: &[&str] = &["up"];
/// Labels Prometheus attaches to every scraped series (the ServiceMonitor's target labels), on top
/// of those the server exposes.
const TARGET_LABELS: &[&str] = &[
    "job",
    "instance",
    "namespace",
    "pod",
    "service",
    "endpoint",
    "container",
];

/// What `GET /metrics` exposes: each sample name as Prometheus stores it (a counter's `_total`, a
/// histogram's `_bucket`, `_sum` and `_count`), with its family, the family's type and the labels
/// its samples carry.
#[derive(Debug, Default)]
struct Exposed {
    samples: BTreeMap<String, (String, String)>,
    labels: BTreeMap<String, BTreeSet<String>>,
}

impl Exposed {
    fn parse(text: &str) -> Self {
        let mut types = BTreeMap::new();
        let mut exposed = Self::default();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (family, kind) = rest.split_once(' ').expect("# TYPE NAME KIND");
                types.insert(family.to_owned(), kind.to_owned());
                continue;
            }
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let end = line.find(['{', ' ']).expect("a sample line");
            let name = &line[..end];
            let (family, kind) = types
                .iter()
                .filter_map(|(family, kind)| {
                    let suffix = name.strip_prefix(family.as_str())?;
                    let allowed: &[&str] = match kind.as_str() {
                        "counter" => &["_total", "_created"],
                        "histogram" => &["_bucket", "_sum", "_count", "_created"],
                        _ => &[""],
                    };
                    allowed.contains(&suffix).then_some((family, kind))
                })
                .next()
                .unwrap_or_else(|| panic!("sample {name} belongs to no # TYPE family in\n{text}"));
            exposed
                .samples
                .insert(name.to_owned(), (family.clone(), kind.clone()));
            let labels = exposed.labels.entry(name.to_owned()).or_default();
            if line[end..].starts_with('{') {
                let close = line.rfind('}').expect("closing brace");
                for matcher in label_matchers(&line[end + 1..close]) {
                    labels.insert(matcher);
                }
            }
        }
        exposed
    }

    fn families(&self) -> BTreeSet<&str> {
        self.samples.values().map(|(f, _)| f.as_str()).collect()
    }
}

/// A metric named in an expression, with the label names its selector matches on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Named {
    metric: String,
    labels: Vec<String>,
}

const AGGREGATIONS_AND_KEYWORDS: &[&str] = &[
    "sum",
    "avg",
    "min",
    "max",
    "count",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "group",
    "limitk",
    "limit_ratio",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "atan2",
    "inf",
    "nan",
];
const LABEL_LIST_KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':'
}

fn is_ident(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit()
}

/// The index just past the string literal that starts at `i`.
fn skip_string(s: &[u8], i: usize) -> usize {
    let quote = s[i];
    let mut j = i + 1;
    while j < s.len() && s[j] != quote {
        j += if s[j] == b'\\' && quote != b'`' { 2 } else { 1 };
    }
    j + 1
}

/// The index just past the bracket that closes the one at `i` (strings inside skipped).
fn skip_group(s: &[u8], i: usize) -> usize {
    let (open, close) = (s[i], matching(s[i]));
    let (mut depth, mut j) = (0, i);
    while j < s.len() {
        match s[j] {
            b'"' | b'\'' | b'`' => {
                j = skip_string(s, j);
                continue;
            }
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    panic!(
        "unbalanced {} in {:?}",
        open as char,
        String::from_utf8_lossy(s)
    );
}

fn matching(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'{' => b'}',
        b'[' => b']',
        _ => unreachable!(),
    }
}

/// The label names a selector's matchers (`a="x", b=~"y"`) name.
fn label_matchers(inside: &str) -> Vec<String> {
    let s = inside.as_bytes();
    let mut names = Vec::new();
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'"' | b'\'' | b'`' => i = skip_string(s, i),
            c if is_ident_start(c) => {
                let start = i;
                while i < s.len() && is_ident(s[i]) {
                    i += 1;
                }
                names.push(inside[start..i].to_owned());
            }
            _ => i += 1,
        }
    }
    names
}

/// The metrics an expression names, in order.
fn metric_names(expr: &str) -> Vec<Named> {
    let s = expr.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        match c {
            b'"' | b'\'' | b'`' => i = skip_string(s, i),
            b'{' | b'[' => i = skip_group(s, i),
            b'#' => i = expr[i..].find('\n').map_or(s.len(), |n| i + n),
            // A Grafana variable: $name, ${name}, $__rate_interval.
            b'$' => {
                i += 1;
                if s.get(i) == Some(&b'{') {
                    i = skip_group(s, i);
                }
                while i < s.len() && is_ident(s[i]) {
                    i += 1;
                }
            }
            // A number or a duration (0.99, 5m, 1e3).
            c if c.is_ascii_digit()
                || (c == b'.' && s.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == b'.') {
                    i += 1;
                }
            }
            c if is_ident_start(c) => {
                let start = i;
                while i < s.len() && is_ident(s[i]) {
                    i += 1;
                }
                let word = &expr[start..i];
                let mut next = i;
                while next < s.len() && s[next].is_ascii_whitespace() {
                    next += 1;
                }
                let followed_by = s.get(next).copied();
                let lower = word.to_ascii_lowercase();
                if LABEL_LIST_KEYWORDS.contains(&lower.as_str()) {
                    if followed_by == Some(b'(') {
                        i = skip_group(s, next);
                    }
                } else if followed_by == Some(b'(')
                    || AGGREGATIONS_AND_KEYWORDS.contains(&lower.as_str())
                {
                    // A function or an aggregation: its arguments are read as they come.
                } else {
                    let labels = if s.get(i) == Some(&b'{') {
                        let end = skip_group(s, i);
                        let inside = &expr[i + 1..end - 1];
                        i = end;
                        label_matchers(inside)
                    } else {
                        Vec::new()
                    };
                    found.push(Named {
                        metric: word.to_owned(),
                        labels,
                    });
                }
            }
            _ => i += 1,
        }
    }
    found
}

/// Every PromQL expression of the dashboard: each `expr` of its panels (rows' panels included),
/// and the selector of each `label_values(SELECTOR, LABEL)` variable.
fn dashboard_expressions(dashboard: &str) -> Vec<String> {
    fn walk(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("expr", serde_json::Value::String(e)) => out.push(e.clone()),
                        _ => walk(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let json: serde_json::Value = serde_json::from_str(dashboard).expect("the dashboard is JSON");
    let mut out = Vec::new();
    walk(&json["panels"], &mut out);
    for variable in json["templating"]["list"].as_array().expect("templating") {
        let Some(query) = variable["query"]["query"].as_str() else {
            continue;
        };
        let inner = query
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(')'))
            .and_then(|q| q.rsplit_once(','))
            .unwrap_or_else(|| panic!("variable query {query:?} is not label_values(SEL, LABEL)"));
        out.push(inner.0.to_owned());
    }
    out
}

/// The rules' expressions (`expr:` as a plain, quoted or block scalar) and recorded names.
fn rule_expressions(rules: &str) -> (Vec<String>, BTreeSet<String>) {
    let lines: Vec<&str> = rules.lines().collect();
    let (mut exprs, mut recorded, mut rule_count) = (Vec::new(), BTreeSet::new(), 0);
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start().trim_start_matches("- ");
        let indent = line.len() - line.trim_start().len();
        i += 1;
        if line.trim_start().starts_with('#') {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix("record:") {
            recorded.insert(name.trim().to_owned());
            rule_count += 1;
        } else if trimmed.starts_with("alert:") {
            rule_count += 1;
        } else if let Some(value) = trimmed.strip_prefix("expr:") {
            let value = value.trim();
            if value.starts_with('|') || value.starts_with('>') {
                let mut block = Vec::new();
                while i < lines.len() {
                    let l = lines[i];
                    let l_indent = l.len() - l.trim_start().len();
                    if !l.trim().is_empty() && l_indent <= indent {
                        break;
                    }
                    block.push(l.trim());
                    i += 1;
                }
                exprs.push(block.join("\n"));
            } else if let Some(q) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
                exprs.push(q.replace("''", "'"));
            } else if let Some(q) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                exprs.push(q.replace("\\\"", "\"").replace("\\\\", "\\"));
            } else {
                exprs.push(value.to_owned());
            }
        }
    }
    assert_eq!(
        exprs.len(),
        rule_count,
        "each alert and record rule has one expr:"
    );
    (exprs, recorded)
}

/// What is wrong with the names in `exprs`: a metric the server does not expose, or a label its
/// samples do not carry. `recorded` names are the rules' own.
fn unknown_names(exposed: &Exposed, exprs: &[String], recorded: &BTreeSet<String>) -> Vec<String> {
    let mut wrong = Vec::new();
    for expr in exprs {
        for Named { metric, labels } in metric_names(expr) {
            let own_labels = match exposed.labels.get(&metric) {
                Some(l) => l.clone(),
                None if recorded.contains(&metric)
                    || PROMETHEUS_SERIES.contains(&metric.as_str()) =>
                {
                    continue;
                }
                None => {
                    let hint = exposed
                        .samples
                        .values()
                        .find(|(family, _)| *family == metric)
                        .map(|(_, kind)| format!(" (a {kind} family: name its samples)"))
                        .unwrap_or_default();
                    wrong.push(format!("{metric}{hint} is not exposed, in: {expr}"));
                    continue;
                }
            };
            for label in labels {
                if !own_labels.contains(&label) && !TARGET_LABELS.contains(&label.as_str()) {
                    wrong.push(format!(
                        "{metric} has no label {label:?} (it has {own_labels:?}), in: {expr}"
                    ));
                }
            }
        }
    }
    wrong
}

/// The series a server has only with read replicas, which need PostgreSQL.
const REPLICA_SERIES: [&str; 3] = [
    "tagging_db_reads_total",
    "tagging_replica_lag_seconds",
    "tagging_replica_usable",
];

async fn monitoring_files_name_only_exposed_metrics(b: Backend) {
    // On PostgreSQL, a replica that is never up: its series exist all the same.
    let app = match b {
        Backend::Postgres => {
            TestApp::spawn_with(
                b,
                &[
                    "--database-replica-url",
                    "postgres://postgres@127.0.0.1:1/none",
                ],
            )
            .await
        }
        Backend::Sqlite => TestApp::spawn(b).await,
    };
    // One call of each outcome the families record: a success and an error.
    app.tag("CLUSTER", &["mon-1"], &[("env", "dev")]).await;
    let invalid = app
        .client
        .clone()
        .tag_resources(authed(&app.token, tag_request(&[], &[("env", "dev")])))
        .await
        .expect_err("no resource ids");
    assert_invalid(&invalid, "resource_ids");
    let text = app
        .rest()
        .get("/metrics")
        .send()
        .await
        .expect("answered")
        .text()
        .await
        .expect("text");
    let exposed = Exposed::parse(&text);
    assert!(
        exposed.samples.contains_key("tagging_requests_total")
            && exposed
                .samples
                .contains_key("tagging_request_duration_seconds_bucket")
            && exposed.samples.contains_key("tagging_errors_total"),
        "the calls made their series in\n{text}"
    );

    let dashboard = dashboard_expressions(DASHBOARD);
    let (rules, recorded) = rule_expressions(ALERTS);
    assert!(dashboard.len() >= 10, "{dashboard:?}");
    assert!(rules.len() >= 5, "{rules:?}");

    let absent: BTreeSet<String> = match b {
        Backend::Postgres => BTreeSet::new(),
        Backend::Sqlite => REPLICA_SERIES.iter().map(|s| s.to_string()).collect(),
    };
    let wrong: Vec<String> = unknown_names(&exposed, &dashboard, &absent)
        .into_iter()
        .chain(unknown_names(&exposed, &rules, &recorded))
        .collect();
    assert!(
        wrong.is_empty(),
        "the monitoring files name what /metrics does not serve:\n{}\n\n/metrics:\n{text}",
        wrong.join("\n")
    );

    // The other way round: the dashboard shows every family the server exposes.
    let shown: BTreeSet<String> = dashboard
        .iter()
        .flat_map(|e| metric_names(e))
        .filter_map(|n| exposed.samples.get(&n.metric).map(|(f, _)| f.clone()))
        .collect();
    for family in exposed.families() {
        assert!(
            shown.contains(family),
            "the dashboard shows no panel of {family}"
        );
    }

    // The check itself catches a misspelt metric, a histogram named without its suffix, a label
    // no series has, and passes what Prometheus and the rules make.
    let doctored = [
        r#"sum(rate(tagging_request_totl{job="$job"}[$__rate_interval]))"#.to_owned(),
        "histogram_quantile(0.9, rate(tagging_request_duration_seconds[5m]))".to_owned(),
        r#"sum by (code) (rate(tagging_requests_total{status="500"}[5m]))"#.to_owned(),
        r#"absent(up{job="tagging-service"} == 1) or tagging:requests:rate5m > 0"#.to_owned(),
    ];
    let caught = unknown_names(&exposed, &doctored, &recorded);
    assert_eq!(caught.len(), 3, "{caught:#?}");
    assert!(
        caught[0].starts_with("tagging_request_totl is not exposed"),
        "{caught:?}"
    );
    assert!(
        caught[1].starts_with("tagging_request_duration_seconds (a histogram family"),
        "{caught:?}"
    );
    assert!(caught[2].contains("no label \"status\""), "{caught:?}");
}

both_backends!(monitoring_files_name_only_exposed_metrics,);

#[test]
fn the_lexer_reads_metric_names_only() {
    let names =
        |e: &str| -> Vec<String> { metric_names(e).into_iter().map(|n| n.metric).collect() };
    assert_eq!(
        names(
            r#"histogram_quantile(0.99, sum by (le, method) (rate(a_bucket{job="x", method=~"A|B"}[5m] offset 1h)))
               / on (job) group_left (method) sum without (code) (b_total) and bool c:rec > 1e3 # d_total"#
        ),
        ["a_bucket", "b_total", "c:rec"]
    );
    assert_eq!(names("sum(x) by (y) * ignoring(z) w"), ["x", "w"]);
    assert_eq!(
        metric_names(r#"m{a="1", b!~"x,y"}"#),
        [Named {
            metric: "m".into(),
            labels: vec!["a".into(), "b".into()],
        }]
    );
    assert_eq!(
        names(r#"label_replace(m, "dst", "$1", "src", "(.*)")"#),
        ["m"]
    );
}
