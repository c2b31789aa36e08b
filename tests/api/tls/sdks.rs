//! The clouds' official SDKs over HTTPS, trusting the service's CA through their own options.

use serde_json::Value;

use super::{Ca, Files, client_config, tls_channel};
use crate::{
    helpers::{Backend, TestApp, binary::credential, binary::tagging_service, tools::blocking},
    sdks::{python, sdk_python},
};

#[tokio::test]
async fn both_sdks_call_over_https_and_refuse_a_server_they_do_not_trust() {
    let ca = Ca::new("SDK CA");
    let files = Files::new();
    let id = ca.server();
    let (cert, key, ca_file) = (
        files.write("cert.pem", &id.cert),
        files.write("key.pem", &id.key),
        files.write("ca.pem", &ca.pem),
    );
    let stranger = files.write("stranger.pem", &Ca::new("another CA").pem);
    let master_key = tagging_service(&[], &["master-key", "generate"]).await;
    let master_key = master_key.trim().to_owned();
    let key_file = files.write("master.key", &master_key);
    let config = client_config(&ca.pem, None);
    let app = TestApp::spawn_connected(
        Backend::Sqlite,
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--master-key-file",
            &key_file,
        ],
        |addr| async move { tls_channel(addr, config).await.expect("TLS channel").0 },
    )
    .await;
    let (key_id, secret) = credential(&app, &master_key, false).await;
    let endpoint = format!("https://localhost:{}", app.addr.port());

    let python_bin = sdk_python().await;
    let home = tempfile::tempdir().expect("home");
    let mut cmd = python(&python_bin, &home, "sdk_https.py");
    cmd.args([
        &endpoint,
        &key_id,
        &secret,
        crate::helpers::PROJECT,
        &ca_file,
        &stranger,
    ]);
    let out = blocking(move || cmd.output().expect("run sdk_https.py")).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| {
            panic!(
                "no summary ({e}): {stdout} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "sdk_https.py: {summary} {stderr}");
    assert_eq!(
        summary,
        serde_json::json!({"ack": "tagged and listed", "smn": "tagged and listed", "untrusted": ["ack", "smn"]}),
        "{stderr}"
    );
    assert_eq!(
        app.resource_tags("CLUSTER", "c-https").await.unwrap(),
        vec![("env".to_owned(), "tls".to_owned())]
    );
}
