//! Tokens: every RPC needs one, bad ones are refused, both metadata spellings work, and the CLI's
//! tokens work until revoked.

use std::process::Output;

use tonic::Code;

use super::*;
use crate::helpers::{Backend, PROJECT, TestApp, ids, owned, pb, tag};

/// A random token of the right shape that was never issued.
fn unknown_token() -> String {
    let hex = |n: usize| -> String {
        let mut s = String::new();
        while s.len() < n {
            s.push_str(&uuid::Uuid::new_v4().simple().to_string());
        }
        s.truncate(n);
        s
    };
    format!("tgs_{}_{}", hex(16), hex(64))
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8 stdout")
}

/// `token create` through the CLI; asserts it prints the token alone, on one line.
/// The line of `token list`'s output that names `token`; empty when none does.
fn listed_line(listed: &str, token: &str) -> String {
    listed
        .lines()
        .find(|l| l.contains(token_id(token)))
        .map(str::to_owned)
        .unwrap_or_default()
}

async fn cli_create_token(app: &TestApp, project: &str, extra: &[&str]) -> String {
    let mut args = vec!["token", "create", "--project", project];
    args.extend_from_slice(extra);
    let out = cli(app, &args).await;
    assert!(
        out.status.success(),
        "token create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert_eq!(
        text.lines().count(),
        1,
        "stdout is exactly one line: {text:?}"
    );
    assert!(text.ends_with('\n'), "{text:?}");
    let token = text.trim_end_matches('\n').to_owned();
    let (id, secret) = token
        .strip_prefix("tgs_")
        .and_then(|rest| rest.split_once('_'))
        .unwrap_or_else(|| panic!("not a token: {token:?}"));
    assert_eq!(id.len(), 16, "{token}");
    assert_eq!(secret.len(), 64, "{token}");
    assert!(
        id.chars()
            .chain(secret.chars())
            .all(|c| c.is_ascii_hexdigit()),
        "{token}"
    );
    token
}

fn token_id(token: &str) -> &str {
    &token[4..20]
}

fn token_secret(token: &str) -> &str {
    &token[21..]
}

async fn every_rpc_requires_credentials(b: Backend) {
    let app = TestApp::spawn(b).await;
    assert_all(
        &call_all_rpcs(&app, &Creds::None, "").await,
        Code::Unauthenticated,
        "no token",
    );
    assert_all(
        &call_all_rpcs(&app, &Creds::None, PROJECT).await,
        Code::Unauthenticated,
        "no token, project named",
    );
    // Nothing was written by the refused calls.
    assert_eq!(
        app.resource_tags("CLUSTER", "auth-c1")
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    // The same calls with a valid token succeed: the refusals above were about the credentials.
    assert_all_ok(
        &call_all_rpcs(&app, &Creds::Bearer(app.token.clone()), "").await,
        "valid token",
    );
}

async fn malformed_unknown_and_tampered_tokens_are_unauthenticated(b: Backend) {
    let app = TestApp::spawn(b).await;
    let valid = app.token.clone();
    let mut tampered = valid.clone();
    let last = if tampered.ends_with('0') { '1' } else { '0' };
    tampered.pop();
    tampered.push(last);
    let cases = [
        ("garbage", Creds::Bearer("not-a-token".into())),
        ("empty bearer", Creds::Authorization("Bearer ".into())),
        (
            "truncated",
            Creds::Bearer(valid[..valid.len() - 1].to_owned()),
        ),
        ("too long", Creds::Bearer(format!("{valid}0"))),
        (
            "wrong prefix",
            Creds::Bearer(valid.replacen("tgs_", "tgx_", 1)),
        ),
        ("unknown id", Creds::Bearer(unknown_token())),
        ("known id, wrong secret", Creds::Bearer(tampered)),
        (
            "unknown via x-auth-token",
            Creds::XAuthToken(unknown_token()),
        ),
        (
            "unsupported scheme",
            Creds::Authorization(format!("Basic {valid}")),
        ),
    ];
    for (what, creds) in &cases {
        assert_all(
            &call_all_rpcs(&app, creds, "").await,
            Code::Unauthenticated,
            what,
        );
    }
    assert_eq!(
        app.resource_tags("CLUSTER", "auth-c1")
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
}

async fn bearer_and_x_auth_token_metadata_both_authenticate(b: Backend) {
    let app = TestApp::spawn(b).await;
    assert_all_ok(
        &call_all_rpcs(&app, &Creds::Bearer(app.token.clone()), "").await,
        "bearer",
    );
    assert_all_ok(
        &call_all_rpcs(&app, &Creds::XAuthToken(app.token.clone()), "").await,
        "x-auth-token",
    );
    assert_all_ok(
        &call_all_rpcs(&app, &Creds::XAuthToken(app.token.clone()), PROJECT).await,
        "x-auth-token, project named",
    );

    // What one form writes, the other reads.
    let write = pb::TagResourcesRequest {
        resource_type: "smn_topic".into(),
        resource_ids: ids(&["t1"]),
        tags: vec![tag("via", "x-auth-token")],
        ..Default::default()
    };
    app.client
        .clone()
        .tag_resources(request(&Creds::XAuthToken(app.token.clone()), write))
        .await
        .unwrap();
    assert_eq!(
        app.resource_tags("smn_topic", "t1").await.unwrap(),
        owned(&[("via", "x-auth-token")])
    );
}

async fn a_token_made_by_the_cli_works_until_revoked_and_is_never_listed(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = cli_create_token(&app, PROJECT, &[]).await;

    // The running server accepts it at once, for reads and writes.
    tag_as(&app, &token, "CLUSTER", &["c1"], &[("made-by", "cli")])
        .await
        .expect("cli token writes");
    assert_eq!(
        tags_seen_by(&app, &token, "CLUSTER", "c1").await.unwrap(),
        owned(&[("made-by", "cli")])
    );
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        owned(&[("made-by", "cli")]),
        "same project"
    );

    // A second token, revoked by its id rather than by itself.
    let other = cli_create_token(&app, "p2", &["--read-only"]).await;
    assert_ne!(token_id(&other), token_id(&token));
    assert!(
        project_tags_as(&app, &other, "").await.is_ok(),
        "the p2 token works"
    );

    let listed = cli(&app, &["token", "list"]).await;
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let list = stdout(&listed);
    for t in [&token, &other, &app.token] {
        assert!(
            list.contains(token_id(t)),
            "token list shows every id: {list}"
        );
        assert!(
            !list.contains(token_secret(t)),
            "token list must never print a secret: {list}"
        );
    }
    assert!(!String::from_utf8_lossy(&listed.stderr).contains(token_secret(&token)));

    let revoked = cli(&app, &["token", "revoke", &token]).await;
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    assert_all(
        &call_all_rpcs(&app, &Creds::Bearer(token.clone()), "").await,
        Code::Unauthenticated,
        "revoked",
    );
    assert_all(
        &call_all_rpcs(&app, &Creds::XAuthToken(token.clone()), "").await,
        Code::Unauthenticated,
        "revoked x-auth",
    );

    let by_id = cli(&app, &["token", "revoke", token_id(&other)]).await;
    assert!(
        by_id.status.success(),
        "{}",
        String::from_utf8_lossy(&by_id.stderr)
    );
    let err = project_tags_as(&app, &other, "").await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    // Revoking twice, or an unknown token, fails; the other tokens are untouched.
    let again = cli(&app, &["token", "revoke", &token]).await;
    assert!(
        !again.status.success(),
        "revoking a revoked token must fail"
    );
    let unknown = cli(&app, &["token", "revoke", &unknown_token()]).await;
    assert!(
        !unknown.status.success(),
        "revoking an unknown token must fail"
    );
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        owned(&[("made-by", "cli")])
    );

    let listed = stdout(&cli(&app, &["token", "list"]).await);
    let line = |t: &str| listed_line(&listed, t);
    assert!(line(&token).contains("revoked"), "{listed}");
    assert!(line(&other).contains("revoked"), "{listed}");
    assert!(line(&app.token).contains("live"), "{listed}");
    assert!(
        !listed.contains(token_secret(&token)) && !listed.contains(token_secret(&app.token)),
        "{listed}"
    );
}

async fn a_read_only_cli_token_cannot_write(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = cli_create_token(&app, PROJECT, &["--read-only"]).await;
    let err = tag_as(&app, &token, "CLUSTER", &["c1"], &[("k", "v")])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(project_tags_as(&app, &token, "").await.unwrap().is_empty());
}

/// An expired token is refused like a revoked one on its next call: a read the server would
/// answer from the token it remembers included. `token list` names it and shows its expiry.
async fn a_token_expires_on_time_and_is_listed_with_its_name_and_expiry(b: Backend) {
    let app = TestApp::spawn(b).await;
    let token = cli_create_token(
        &app,
        PROJECT,
        &["--name", "nightly export", "--expires-in", "6s"],
    )
    .await;
    let lasting = cli_create_token(&app, PROJECT, &["--name", "ci", "--expires-in", "90d"]).await;
    tag_as(&app, &token, "CLUSTER", &["c1"], &[("k", "v")])
        .await
        .expect("a fresh token writes");
    // Remembered by the server from here on.
    tags_seen_by(&app, &token, "CLUSTER", "c1")
        .await
        .expect("and reads");
    let listed = stdout(&cli(&app, &["token", "list"]).await);
    let line = |t: &str| listed_line(&listed, t);
    let soon = line(&token);
    assert!(
        soon.contains("\tlive\t") && soon.ends_with("\tnightly export"),
        "{listed}"
    );
    let expiry = soon.split('\t').nth(5).unwrap_or_default();
    assert!(
        expiry.len() == 20 && expiry.ends_with('Z'),
        "an RFC 3339 expiry: {soon}"
    );
    assert!(line(&app.token).contains("\tnever\t"), "{listed}");

    // Expiry is counted from the creation's whole second: the token lived at least 5 s, which
    // the uses above fall well inside, and at most 6 s, which this wait outlasts.
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    assert_all(
        &call_all_rpcs(&app, &Creds::Bearer(token.clone()), "").await,
        Code::Unauthenticated,
        "expired",
    );
    assert_all_ok(
        &call_all_rpcs(&app, &Creds::Bearer(lasting.clone()), "").await,
        "a token that expires in 90 days",
    );
    let listed = stdout(&cli(&app, &["token", "list"]).await);
    assert!(
        listed
            .lines()
            .any(|l| l.contains(token_id(&token)) && l.contains("\texpired\t")),
        "{listed}"
    );

    let bad = cli(
        &app,
        &[
            "token",
            "create",
            "--project",
            PROJECT,
            "--expires-in",
            "soon",
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success()
            && stderr.contains("--expires-in")
            && stderr.contains("not a duration"),
        "{stderr}"
    );
}

both_backends!(
    a_token_expires_on_time_and_is_listed_with_its_name_and_expiry,
    every_rpc_requires_credentials,
    malformed_unknown_and_tampered_tokens_are_unauthenticated,
    bearer_and_x_auth_token_metadata_both_authenticate,
    a_token_made_by_the_cli_works_until_revoked_and_is_never_listed,
    a_read_only_cli_token_cannot_write,
);
