//! AK/SK signatures beyond what the SDKs exercise (`sdks.rs`): the master key and the credential
//! commands, a server without or with the wrong master key, revocation, a token beside a signature,
//! the configured region, and logs free of secrets.
//!
//! Requests are signed here by a small ACS3 signer of the tests' own, written from the published
//! algorithm for the plain requests these tests send (the SDKs' own signatures are checked against
//! the server's canonicalisation in `sdks.rs` and the unit tests).

use std::net::SocketAddr;

use base64::Engine;
use reqwest::{Method, RequestBuilder};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{Connection, Row};
use tagging_service::{
    auth::{
        signature::{Scheme, format_date, sign},
        unix_now,
    },
    startup::Application,
};

use crate::helpers::{
    Backend, PROJECT, TestApp, TestDb,
    binary::{binary, credential, log_lines_of, run_bounded, start_server, tagging_service},
    serve_args,
};

pub(crate) const CLUSTER_ROWS: &str = r#"["c1"]"#;

/// An access key pair.
pub(crate) struct Key {
    pub(crate) id: String,
    pub(crate) secret: String,
}

pub(crate) async fn new_key(app: &TestApp, master_key: &str, read_only: bool) -> Key {
    let (id, secret) = credential(app, master_key, read_only).await;
    Key { id, secret }
}

pub(crate) async fn master_key() -> String {
    tagging_service(&[], &["master-key", "generate"])
        .await
        .trim()
        .to_owned()
}

/// RFC 3986 percent-encoding: unreserved characters stay.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An ACK-form request signed with ACS3-HMAC-SHA256. `params` go in the query, sorted here.
fn acs3(
    addr: SocketAddr,
    method: Method,
    params: &[(&str, &str)],
    body: Option<&Value>,
    key: &Key,
) -> RequestBuilder {
    acs3_via(addr, &addr.to_string(), method, params, body, key)
}

/// [`acs3`] signed for `host` and sent to `addr`, as a load balancer in front of several
/// processes would pass it on.
pub(crate) fn acs3_via(
    addr: SocketAddr,
    host: &str,
    method: Method,
    params: &[(&str, &str)],
    body: Option<&Value>,
    key: &Key,
) -> RequestBuilder {
    let mut sorted: Vec<(&str, &str)> = params.to_vec();
    sorted.sort();
    let query = sorted
        .iter()
        .map(|(n, v)| format!("{}={}", encode(n), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let body_hash = hex_sha256(body.as_bytes());
    let date = format_date(Scheme::Acs3, unix_now());
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let signed = "host;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce";
    let canonical = format!(
        "{method}\n/tags\n{query}\nhost:{host}\nx-acs-content-sha256:{body_hash}\nx-acs-date:{date}\nx-acs-signature-nonce:{nonce}\n\n{signed}\n{body_hash}"
    );
    let string_to_sign = format!("ACS3-HMAC-SHA256\n{}", hex_sha256(canonical.as_bytes()));
    let signature = sign(key.secret.as_bytes(), &string_to_sign);
    let url = if query.is_empty() {
        format!("http://{addr}/tags")
    } else {
        format!("http://{addr}/tags?{query}")
    };
    reqwest::Client::new()
        .request(method, url)
        .header("host", host)
        .header("x-acs-content-sha256", body_hash)
        .header("x-acs-date", date)
        .header("x-acs-signature-nonce", nonce)
        .header(
            "authorization",
            format!(
                "ACS3-HMAC-SHA256 Credential={},SignedHeaders={signed},Signature={signature}",
                key.id
            ),
        )
        .header("content-type", "application/json")
        .body(body)
}

fn list(app: &TestApp, key: &Key) -> RequestBuilder {
    list_at(app.addr, key)
}

pub(crate) fn list_at(addr: SocketAddr, key: &Key) -> RequestBuilder {
    acs3(
        addr,
        Method::GET,
        &[("resource_type", "CLUSTER"), ("resource_ids", CLUSTER_ROWS)],
        None,
        key,
    )
}

fn put(app: &TestApp, key: &Key, region: Option<&str>) -> RequestBuilder {
    let mut body = serde_json::json!({
        "resource_type": "CLUSTER",
        "resource_ids": ["c1"],
        "tags": [{"key": "env", "value": "dev"}],
    });
    if let Some(region) = region {
        body["region_id"] = region.into();
    }
    acs3(app.addr, Method::PUT, &[], Some(&body), key)
}

/// Sends `request`; answers the status and the JSON body (`Null` when there is none).
pub(crate) async fn send(request: RequestBuilder) -> (u16, Value) {
    let res = request.send().await.expect("request");
    let status = res.status().as_u16();
    let body = res.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[track_caller]
fn assert_refused(answer: &(u16, Value), status: u16, code: &str, says: &str) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    let message = body["message"].as_str().expect("a message");
    assert!(message.contains(says), "`{says}` in {message}");
}

async fn the_credential_commands_need_a_master_key_and_show_the_secret_once(b: Backend) {
    let (_db, url) = TestDb::create(b).await;
    let create = [
        "credential",
        "create",
        "--project",
        PROJECT,
        "--database-url",
        &url,
    ];

    let mut without = binary();
    without.args(create);
    let (status, stdout, stderr) = run_bounded(without);
    assert!(!status.success());
    assert!(stdout.is_empty(), "{stdout}");
    for option in ["TAGGING_MASTER_KEY", "--master-key-file"] {
        assert!(stderr.contains(option), "{option} in {stderr}");
    }

    let mut malformed = binary();
    malformed
        .args(create)
        .env("TAGGING_MASTER_KEY", "c2VjcmV0LWJ1dC1zaG9ydA==");
    let (status, _, stderr) = run_bounded(malformed);
    assert!(!status.success());
    assert!(
        stderr.contains("TAGGING_MASTER_KEY") && stderr.contains("32 bytes"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("c2VjcmV0LWJ1dC1zaG9ydA"),
        "the key is echoed: {stderr}"
    );

    let key = master_key().await;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&key)
        .expect("base64");
    assert_eq!(raw.len(), 32);
    assert_ne!(master_key().await, key, "two keys are not alike");

    let mut made = binary();
    made.args(create).env("TAGGING_MASTER_KEY", &key);
    let (status, stdout, stderr) = run_bounded(made);
    assert!(status.success(), "{stderr}");
    let (id, secret) = stdout
        .strip_suffix('\n')
        .and_then(|l| l.split_once(' '))
        .unwrap_or_else(|| panic!("`ID SECRET` on one line: {stdout:?}"));
    assert!(id.starts_with("TGS") && id.len() == 20, "{id}");
    assert_eq!(secret.len(), 40);
    assert!(
        secret.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{secret}"
    );

    let listed = tagging_service(&[], &["credential", "list", "--database-url", &url]).await;
    assert!(listed.contains(id) && listed.contains(PROJECT), "{listed}");
    assert!(!listed.contains(secret), "list shows a secret: {listed}");

    // At rest the secret is sealed: no column holds it, in any encoding we could recognise.
    let stored = stored_secret(&url, id).await;
    assert!(stored.len() > secret.len());
    assert!(
        !stored.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the secret is stored in clear"
    );

    let mut revoke = binary();
    revoke.args(["credential", "revoke", id, "--database-url", &url]);
    let (status, _, stderr) = run_bounded(revoke);
    assert!(status.success(), "{stderr}");
    let listed = tagging_service(&[], &["credential", "list", "--database-url", &url]).await;
    assert!(listed.contains("revoked"), "{listed}");
    let mut again = binary();
    again.args(["credential", "revoke", id, "--database-url", &url]);
    assert!(
        !run_bounded(again).0.success(),
        "a second revoke reports no live key"
    );
}

pub(crate) async fn stored_secret(url: &str, id: &str) -> Vec<u8> {
    let sql = "SELECT secret_sealed FROM access_keys WHERE id = $1";
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
        sqlx::query(sql)
            .bind(id)
            .fetch_one(&mut conn)
            .await
            .expect("row")
            .get(0)
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.expect("postgres");
        sqlx::query(sql)
            .bind(id)
            .fetch_one(&mut conn)
            .await
            .expect("row")
            .get(0)
    }
}

async fn a_server_given_another_master_key_than_its_keys_were_sealed_under_refuses_to_start(
    b: Backend,
) {
    let app = TestApp::spawn(b).await;
    let sealing = master_key().await;
    new_key(&app, &sealing, false).await;
    let other = master_key().await;
    let args = serve_args(&app.database_url, &["--master-key", &other]);
    let refused = Application::build(&args)
        .await
        .err()
        .expect("the wrong master key is refused at start");
    let message = format!("{refused:#}");
    assert!(
        message.contains("master key") && message.contains("TAGGING_MASTER_KEY"),
        "{message}"
    );
    assert!(!message.contains(&other), "the key is echoed: {message}");
    // The right key starts, and its keys work.
    let right =
        Application::build(&serve_args(&app.database_url, &["--master-key", &sealing])).await;
    assert!(right.is_ok(), "{:?}", right.err());
}

async fn a_server_without_a_master_key_refuses_signed_requests_naming_the_option(b: Backend) {
    let app = TestApp::spawn(b).await;
    let key = new_key(&app, &master_key().await, false).await;
    let refused = send(list(&app, &key)).await;
    assert_refused(&refused, 401, "SignatureNotEnabled", "TAGGING_MASTER_KEY");
    // Tokens still work.
    let by_token = reqwest::Client::new()
        .get(format!("http://{}/tags", app.addr))
        .query(&[("resource_type", "CLUSTER"), ("resource_ids", CLUSTER_ROWS)])
        .header("x-auth-token", &app.token);
    assert_eq!(send(by_token).await.0, 200);
}

async fn a_revoked_access_key_is_refused_on_its_next_call(b: Backend) {
    let master = master_key().await;
    let app = TestApp::spawn_with(b, &["--master-key", &master]).await;
    let key = new_key(&app, &master, false).await;
    let (status, body) = send(put(&app, &key, None)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        send(list(&app, &key)).await.1["tag_resources"]["tag_resource"][0]["tag_key"],
        "env"
    );

    tagging_service(
        &[],
        &[
            "credential",
            "revoke",
            &key.id,
            "--database-url",
            &app.database_url,
        ],
    )
    .await;
    let refused = send(list(&app, &key)).await;
    assert_refused(&refused, 401, "InvalidAccessKeyId.NotFound", "access key");

    let unknown = Key {
        id: "TGS00000000000000000".into(),
        secret: key.secret.clone(),
    };
    assert_refused(
        &send(list(&app, &unknown)).await,
        401,
        "InvalidAccessKeyId.NotFound",
        "access key",
    );
}

async fn a_token_beside_a_signature_must_be_valid_too_and_of_the_same_project(b: Backend) {
    let master = master_key().await;
    let app = TestApp::spawn_with(b, &["--master-key", &master]).await;
    let key = new_key(&app, &master, false).await;

    let both = put(&app, &key, None).header("x-auth-token", &app.token);
    assert_eq!(send(both).await.0, 200);

    let bad_token = list(&app, &key).header("x-auth-token", "tgs_not_a_token");
    assert_refused(&send(bad_token).await, 401, "Unauthorized", "token");

    let other_project = app.token_for("p2", false, false).await;
    let mixed = list(&app, &key).header("x-auth-token", &other_project);
    assert_refused(&send(mixed).await, 403, "Forbidden", "different projects");

    // The narrower grant applies: a read-only token makes a signed write read-only.
    let read_only = app.token_for(PROJECT, true, false).await;
    let write = put(&app, &key, None).header("x-auth-token", &read_only);
    assert_eq!(send(write).await.0, 403);

    // And a read-only key cannot write, whatever token comes with it.
    let ro_key = new_key(&app, &master, true).await;
    let write = put(&app, &ro_key, None).header("x-auth-token", &app.token);
    assert_eq!(send(write).await.0, 403);
    assert_eq!(send(list(&app, &ro_key)).await.0, 200);
}

async fn a_configured_region_is_the_only_one_the_ack_form_accepts(b: Backend) {
    let master = master_key().await;
    let app =
        TestApp::spawn_with(b, &["--master-key", &master, "--region-id", "cn-hangzhou"]).await;
    let key = new_key(&app, &master, false).await;
    assert_eq!(send(put(&app, &key, Some("cn-hangzhou"))).await.0, 200);
    assert_eq!(send(put(&app, &key, None)).await.0, 200);
    let elsewhere = send(put(&app, &key, Some("cn-beijing"))).await;
    assert_refused(&elsewhere, 400, "InvalidParameter", "region_id");
    let listed = acs3(
        app.addr,
        Method::GET,
        &[
            ("resource_type", "CLUSTER"),
            ("resource_ids", CLUSTER_ROWS),
            ("region_id", "cn-beijing"),
        ],
        None,
        &key,
    );
    assert_refused(&send(listed).await, 400, "InvalidParameter", "cn-hangzhou");
}

/// A header that changes what a request does must be signed when sent: a captured request re-sent
/// with one added is refused, not run against something else.
async fn a_signed_request_with_an_unsigned_header_that_changes_it_is_refused(b: Backend) {
    let master = master_key().await;
    let app = TestApp::spawn_with(b, &["--master-key", &master]).await;
    let key = new_key(&app, &master, false).await;
    let (status, body) = send(put(&app, &key, None)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(send(list(&app, &key)).await.0, 200);
    for (name, value) in [("x-project-id", PROJECT), ("x-smn-resourceid-type", "name")] {
        let refused = send(list(&app, &key).header(name, value)).await;
        assert_refused(&refused, 401, "IncompleteSignature", name);
    }
}

both_backends!(
    a_signed_request_with_an_unsigned_header_that_changes_it_is_refused,
    the_credential_commands_need_a_master_key_and_show_the_secret_once,
    a_server_given_another_master_key_than_its_keys_were_sealed_under_refuses_to_start,
    a_server_without_a_master_key_refuses_signed_requests_naming_the_option,
    a_revoked_access_key_is_refused_on_its_next_call,
    a_token_beside_a_signature_must_be_valid_too_and_of_the_same_project,
    a_configured_region_is_the_only_one_the_ack_form_accepts,
);

/// The server's JSON log of signed calls, good and bad, holds no secret, signature or master key.
#[tokio::test]
async fn signed_calls_log_neither_the_secret_nor_the_signature_nor_the_master_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("signed.db").display());
    let master = master_key().await;
    let stdout = tagging_service(
        &[("TAGGING_MASTER_KEY", &master)],
        &[
            "credential",
            "create",
            "--project",
            PROJECT,
            "--database-url",
            &url,
        ],
    )
    .await;
    let (id, secret) = stdout.trim().split_once(' ').expect("ID SECRET");
    let key = Key {
        id: id.into(),
        secret: secret.into(),
    };
    let mut serve = binary();
    serve
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &url,
            "--log-format",
            "json",
        ])
        .env("TAGGING_MASTER_KEY", &master);
    let server = start_server(serve);

    let good = list_at(server.addr, &key).header("x-request-id", "signed-good");
    assert_eq!(send(good).await.0, 200);
    let forged = Key {
        id: key.id.clone(),
        secret: "x".repeat(40),
    };
    let bad = list_at(server.addr, &forged).header("x-request-id", "signed-bad");
    assert_eq!(send(bad).await.0, 401);

    let good_line = log_lines_of(&server, "signed-good", 1).await;
    assert_eq!(good_line[0]["span"]["project"], PROJECT, "{}", good_line[0]);
    log_lines_of(&server, "signed-bad", 1).await;
    let log = server.log.lock().expect("log lock").join("\n");
    assert!(!log.contains(secret), "the secret is logged");
    assert!(!log.contains(&master), "the master key is logged");
    assert!(
        !log.contains("Signature="),
        "an Authorization header is logged"
    );
}
