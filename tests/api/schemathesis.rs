//! [schemathesis](https://schemathesis.readthedocs.io) against the served OpenAPI document: it
//! generates requests from `GET /openapi.json` (valid and invalid ones) for every operation and
//! checks each answer: no 5xx, a documented status, the documented content type, a body and
//! headers of the documented schema.
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
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_schema_conformance,response_headers_conformance";
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
    let passed = rest.strip_suffix(" passed").and_then(number)?;
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
    let out = Command::new(python)
        .args(["-m", "schemathesis.cli", "run", url])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--checks", CHECKS])
        .args(["--max-examples", &examples.to_string()])
        .args(["--seed", &seed.to_string()])
        // One worker: the server shares two cores with the rest of the suite.
        .args(["--workers", "1", "--no-color"])
        // Nothing kept between runs, so a seed alone decides the cases.
        .args(["--generation-database", "none"])
        .current_dir(work.path())
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
    // Every route but the document itself, which schemathesis loads rather than tests.
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
    let failed = "  Tested: 8\n  266 generated, 10 found 10 unique failures, 21 skipped\n";
    assert_eq!(summary(failed), None);
}

both_backends!(every_documented_operation_answers_within_its_schema_for_generated_requests);
