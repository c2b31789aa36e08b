//! [schemathesis](https://schemathesis.readthedocs.io) against the served OpenAPI document: it
//! generates requests from `GET /openapi.json` (valid and invalid ones) for every operation and
//! runs every check it has (`--checks all`): no 5xx, a documented status, content type, body and
//! headers; a request the schemas allow is accepted and one they forbid refused; credentials are
//! enforced; other methods get 405 with a true `Allow`; and, in sequences, what was deleted is gone.
//!
//! The only exclusions are the server's rules OpenAPI cannot express, each named in [`HOOKS`] and
//! stated in its operation's description in the document: a valid request's 400 that names only
//! such rules is not a failure. The project of the path and of `X-Project-Id` is the token's. One
//! operation is not generated for at all: WatchTagChanges, whose answer is an endless stream of
//! Server-Sent Events (its description in the document says so).
//!
//! schemathesis (pinned) is installed from PyPI into a cached virtual environment under the target
//! directory, as the gRPC clients' grpcio-tools is. The run is bounded per operation and seeded, so
//! it is repeatable; `TAGGING_SCHEMATHESIS_EXAMPLES` (cases per operation and phase) and
//! `TAGGING_SCHEMATHESIS_SEED` run it longer or elsewhere in the input space.

use std::{path::Path, process::Command};

use crate::helpers::{
    Backend, ROUTES, TestApp,
    tools::{blocking, check, find_or_install_venv},
};

/// schemathesis and the generator that its seed drives, pinned so a seed means the same cases.
const PACKAGES: &[&str] = &["schemathesis==4.32.5", "hypothesis==6.170.15"];
/// The document's examples name this project, so they reach real data rather than a 403.
const PROJECT: &str = "demo";

/// The project in every path and `X-Project-Id` is the token's: another is a 403 (a different
/// project) or, for SMN, a 400 (the header and the path disagree), which depends on the token and
/// so is not a rule of the schema. A 414 (a query string over `--max-query-bytes`, documented) is
/// a refusal of invalid data as much as a 400. A valid request may be answered 412: an `If-Match`
/// naming a revision the resource is not at is well formed, and refused by the resource's state.
const CONFIG: &str = r#"
[parameters]
"path.project_id" = "demo"
"header.X-Project-Id" = "demo"

[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "414", "415", "422", "428", "429", "5xx"]

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "412"]
"#;

/// schemathesis hooks: the rules OpenAPI cannot express, by name, and a misjudgement of
/// schemathesis' own in its stateful phase.
const HOOKS: &str = r##"import re

import schemathesis

# The server's rules that OpenAPI cannot express: which operations each holds for (None: every
# one), and the violation the server's 400 names for it, `field: rule` as its message lists them.
INEXPRESSIBLE = {
    # Two query parameters of which one is required: OpenAPI has no such constraint.
    "resource_ids or tags": ({"GET /tags"}, r"resource_ids: at least one of `resource_ids` and `tags` is required"),
    "tag_keys or all": ({"DELETE /tags"}, r"tag_keys: name the keys to remove, or set `all` to remove every tag"),
    # uniqueItems compares whole items, not one property of them.
    "distinct keys": (None, r"(tags|tags_any|not_tags|not_tags_any)\[\d+\]\.key: key `.*?` is given twice"),
    # Depends on the caller's token.
    "reserved prefixes": (None, r"[\w.\[\]]+: the prefix `.*?` is reserved for system tags; only a system token may use it"),
    # Depends on the tags the resource already carries.
    "tags per resource": (None, r"tags: a resource carries at most \d+ tags; resource `.*?` would carry \d+"),
    # A condition on one resource: a header whose validity depends on the body's or query's ids.
    "If-Match with one resource": ({"PUT /tags", "DELETE /tags"}, r"expected_revision: is allowed with exactly one resource, got \d+"),
    # Two optional headers of which at most one may be sent.
    "If-Match or If-None-Match": (None, r"If-Match: give If-Match or If-None-Match, not both"),
    # A revision in the history must be one the project has reached: it depends on its writes.
    "revision reached": ({"GET /v2/{project_id}/tag_changes"}, r"after_revision: \d+ is ahead of the project's revision \d+.*"),
    # Only a token this server issued for the same query is valid (ACK's `next_token`, the
    # change log's `marker`).
    "page tokens": ({"GET /tags", "GET /v2/{project_id}/tag_changes"}, r"(next_token|marker): .*"),
}


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keeps every failure but a valid request's 400 that names only rules of INEXPRESSIBLE."""
    if failure.code != "ST202" or response.status_code != 400:
        return True
    label = case.operation.label
    rules = [rule for ops, rule in INEXPRESSIBLE.values() if ops is None or label in ops]
    if not rules:
        return True
    try:
        message = response.json()["message"]
    except Exception:
        return True
    one = "(?:" + "|".join(f"(?:{r})" for r in rules) + ")"
    return re.fullmatch(f"{one}(?:; {one})*", message, re.DOTALL) is None


def _resolve(schema, raw):
    while "$ref" in schema:
        node = raw
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _conforms(value, schema):
    if "enum" in schema and value not in schema["enum"]:
        return False
    if "pattern" in schema and re.search(schema["pattern"], value) is None:
        return False
    return schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value))


@schemathesis.hook("filter_failure")
def filter_valid_stateful_paths(context, failure, case, response):
    """The stateful phase takes path values from earlier answers, percent-encodes them, and then
    judges the encoded text against the schema: `ALIYUN::CS::CLUSTER` becomes
    `ALIYUN%3A%3ACS%3A%3ACLUSTER`, not in the enumeration, and the request counts as invalid data.
    Such an ST201 is dropped when every path value, decoded as the server decodes it, conforms and
    the path is the only part marked invalid."""
    from urllib.parse import unquote

    meta = case.meta
    if failure.code != "ST201" or meta is None or meta.phase.name.value != "stateful":
        return True
    negative = {loc.value for loc, info in meta.components.items() if info.mode.value == "negative"}
    if negative != {"path"}:
        return True
    raw = case.operation.schema.raw_schema
    for param in case.operation.path_parameters:
        schema = _resolve(param.definition.get("schema", {}), raw)
        value = case.path_parameters.get(param.name)
        if not isinstance(value, str) or not _conforms(unquote(value), schema):
            return True
    return False
"##;
/// The one operation not generated for: WatchTagChanges as Server-Sent Events.
const WATCH_OPERATION: &str = "WatchTagChanges";
const DEFAULT_EXAMPLES: u32 = 20;
const DEFAULT_SEED: u64 = 20_261_123;

fn from_env<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        Err(_) => default,
    }
}

/// What one run tested, read from schemathesis' summary.
#[derive(Debug, PartialEq)]
struct Summary {
    operations: usize,
    cases: usize,
    passed: usize,
}

/// Reads `Tested: N` and `N generated, N passed` from the summary schemathesis prints.
fn summary(stdout: &str) -> Option<Summary> {
    let number = |s: &str| s.trim().parse().ok();
    let operations = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Tested:"))
        .and_then(number)?;
    let counts = stdout.lines().find(|l| l.contains(" generated, "))?;
    let (cases, rest) = counts.trim().split_once(" generated, ")?;
    // `N passed`, perhaps followed by `, N skipped`; a run with failures has no `passed`.
    let passed = rest
        .split(", ")
        .next()
        .and_then(|p| p.strip_suffix(" passed"))
        .and_then(number)?;
    Some(Summary {
        operations,
        cases: number(cases)?,
        passed,
    })
}

fn run_schemathesis(python: &Path, url: &str, token: &str) -> (bool, String) {
    let examples: u32 = from_env("TAGGING_SCHEMATHESIS_EXAMPLES", DEFAULT_EXAMPLES);
    let seed: u64 = from_env("TAGGING_SCHEMATHESIS_SEED", DEFAULT_SEED);
    let work = tempfile::tempdir().expect("a working directory");
    let config = work.path().join("schemathesis.toml");
    let hooks = work.path().join("hooks.py");
    std::fs::write(&config, CONFIG).expect("write the configuration");
    std::fs::write(&hooks, HOOKS).expect("write the hooks");
    let out = Command::new(python)
        .args(["-m", "schemathesis.cli", "--config-file"])
        .arg(&config)
        .args(["run", url])
        // Both token headers the document declares carry the token: a generated `X-Auth-Token`
        // beside a valid `Authorization` would be a request with two credentials, of which the
        // server reads the one in `Authorization`.
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--header", &format!("X-Auth-Token: {token}")])
        .args(["--checks", "all"])
        .args(["--max-examples", &examples.to_string()])
        .args(["--seed", &seed.to_string()])
        // One worker: the server shares two cores with the rest of the suite.
        .args(["--workers", "1", "--no-color"])
        // Server-Sent Events never end, so no answer could be judged; the document says so in
        // the operation's description, and tests/api/changes/sse.rs tests the stream.
        .args(["--exclude-operation-id", WATCH_OPERATION])
        // Nothing kept between runs, so a seed alone decides the cases.
        .args(["--generation-database", "none"])
        .current_dir(work.path())
        .env("SCHEMATHESIS_HOOKS", &hooks)
        .env("NO_COLOR", "1")
        .output()
        .expect("schemathesis runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn every_documented_operation_answers_within_its_schema_for_generated_requests(b: Backend) {
    let venv = format!("python-{}", PACKAGES.join("-"));
    let python = blocking(move || find_or_install_venv(&venv, PACKAGES)).await;
    let version = blocking({
        let python = python.clone();
        move || check(Command::new(python).args(["-m", "schemathesis.cli", "--version"]))
    })
    .await;
    let pinned = PACKAGES[0].trim_start_matches("schemathesis==");
    assert!(
        String::from_utf8_lossy(&version.stdout).contains(pinned),
        "not schemathesis {pinned}: {version:?}"
    );
    let app = TestApp::spawn(b).await;
    let token = app.token_for(PROJECT, false, false).await;
    let url = format!("http://{}/openapi.json", app.addr);

    let (ok, output) = blocking(move || run_schemathesis(&python, &url, &token)).await;
    assert!(ok, "schemathesis found failures ({b:?}):\n{output}");
    let found = summary(&output).unwrap_or_else(|| panic!("no summary in:\n{output}"));
    // Every route but the document itself, which schemathesis loads rather than tests, the
    // deletion of the key `action`, which the document lists apart from the other keys', and the
    // excluded event stream.
    assert_eq!(found.operations, ROUTES.len() - 1, "{output}");
    assert_eq!(found.passed, found.cases, "{output}");
    assert!(found.cases >= found.operations, "{output}");
    println!(
        "schemathesis ({b:?}): {} operations, {} cases, 0 failures",
        found.operations, found.cases
    );
}

#[test]
fn the_summary_is_read_from_schemathesis_output() {
    let out = "API Operations:\n  Selected: 8/8\n  Tested: 8\n\nTest cases:\n  688 generated, 688 passed\n";
    assert_eq!(
        summary(out),
        Some(Summary {
            operations: 8,
            cases: 688,
            passed: 688
        })
    );
    let skipped = "  Tested: 15\n  2009 generated, 2009 passed, 52 skipped\n";
    assert_eq!(
        summary(skipped),
        Some(Summary {
            operations: 15,
            cases: 2009,
            passed: 2009
        })
    );
    let failed = "  Tested: 8\n  266 generated, 10 found 10 unique failures, 21 skipped\n";
    assert_eq!(summary(failed), None);
}

both_backends!(every_documented_operation_answers_within_its_schema_for_generated_requests);
