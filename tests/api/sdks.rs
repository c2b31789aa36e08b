//! The clouds' official SDKs against the real server, with a key pair from the real binary:
//! `tests/clients/sdk_conformance.py` drives every tag call of the Alibaba ACK SDK and the Huawei
//! SMN SDK and the refusals (bad or replayed signatures, skewed clocks, scope), and
//! `tests/clients/make_signature_vectors.py` must still write the committed signature vectors.
//!
//! The SDKs are installed from PyPI, pinned, into a virtual environment of their own, cached under
//! the cargo target directory like the gRPC client's (see `clients.rs`).

use std::{path::PathBuf, process::Command, sync::OnceLock};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::{
    Backend, PROJECT, TestApp, authed,
    binary::{credential, tagging_service},
    pb,
    tools::{blocking, check, find_or_install_venv, repo_dir},
};

/// The SDKs and the HTTP stack that shapes what they send, pinned.
const SDK_PACKAGES: &[&str] = &[
    "alibabacloud-cs20151215==7.2.3",
    "alibabacloud-tea-openapi==0.4.6",
    "alibabacloud-tea-util==0.3.15",
    "alibabacloud-tea==0.4.3",
    "alibabacloud-credentials==1.0.12",
    "alibabacloud-credentials-api==1.0.1",
    "alibabacloud-gateway-spi==0.0.4",
    "darabonba-core==1.0.9",
    "huaweicloudsdksmn==3.1.219",
    "huaweicloudsdkcore==3.1.219",
    "requests==2.34.2",
    "urllib3==2.8.0",
];
/// Proxies would take the SDKs' loopback calls elsewhere.
const PROXY_VARS: [&str; 6] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
];

pub async fn sdk_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    blocking(|| {
        PYTHON
            .get_or_init(|| {
                let digest = Sha256::digest(SDK_PACKAGES.join("\n"));
                let short: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
                find_or_install_venv(&format!("python-sdks-{short}"), SDK_PACKAGES)
            })
            .clone()
    })
    .await
}

/// A Python run with a home of its own (the Huawei SDK writes an id file there) and no proxy.
pub fn python(python: &PathBuf, home: &tempfile::TempDir, script: &str) -> Command {
    let mut cmd = Command::new(python);
    cmd.arg(repo_dir().join("tests/clients").join(script))
        .env("HOME", home.path());
    for var in PROXY_VARS {
        cmd.env_remove(var);
    }
    cmd
}

async fn the_official_sdks_tag_list_filter_count_and_untag_and_their_refusals_carry_our_errors(
    b: Backend,
) {
    let master_key = tagging_service(&[], &["master-key", "generate"]).await;
    let master_key = master_key.trim().to_owned();
    let key_file = tempfile::NamedTempFile::new().expect("key file");
    std::fs::write(key_file.path(), &master_key).expect("write the key file");
    let key_path = key_file.path().to_str().expect("UTF-8 path");
    let app = TestApp::spawn_with(b, &["--master-key-file", key_path]).await;
    let (id, secret) = credential(&app, &master_key, false).await;
    let (ro_id, ro_secret) = credential(&app, &master_key, true).await;
    let named = pb::PutResourceRequest {
        resource_type: "smn_topic".into(),
        resource_id: "t-1".into(),
        name: "orders".into(),
        ..Default::default()
    };
    app.client
        .clone()
        .put_resource(authed(&app.token, named))
        .await
        .expect("put_resource");

    let python_bin = sdk_python().await;
    let home = tempfile::tempdir().expect("home");
    let mut cmd = python(&python_bin, &home, "sdk_conformance.py");
    cmd.arg(format!("http://{}", app.addr))
        .args([&id, &secret, PROJECT])
        .args(["--read-only-key", &ro_id, &ro_secret])
        .args(["--named", "t-1=orders"]);
    let out = blocking(move || cmd.output().expect("run sdk_conformance.py")).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary = stdout.lines().last().unwrap_or_default();
    println!("{summary}");
    let parsed: Value = serde_json::from_str(summary)
        .unwrap_or_else(|e| panic!("no summary line ({e}):\n{stdout}\n{stderr}"));
    assert!(
        out.status.success() && parsed["failures"] == serde_json::json!([]),
        "sdk_conformance.py failed ({}):\n{summary}\n{stderr}",
        out.status
    );
    let count = |path: &str| parsed.pointer(path).and_then(Value::as_u64).unwrap_or(0);
    assert!(
        count("/calls/ack") >= 20 && count("/calls/smn") >= 20 && count("/assertions") >= 100,
        "the script did less than it should: {summary}"
    );
    assert!(
        !stdout.contains(&secret) && !stderr.contains(&secret),
        "the secret is never printed"
    );

    // What the SDKs wrote is what the service keeps.
    let env_dev = [("env".to_owned(), "dev".to_owned())];
    assert_eq!(app.resource_tags("CLUSTER", "c-1").await.unwrap(), env_dev);
    assert_eq!(app.resource_tags("CLUSTER", "c-5").await.unwrap(), env_dev);
    assert_eq!(
        app.resource_tags("smn_topic", "t-1").await.unwrap(),
        env_dev
    );
    assert_eq!(
        app.resource_tags("smn_topic", "t-5").await.unwrap(),
        env_dev
    );
    assert!(
        app.resource_tags("smn_topic", "t-6").await.is_err(),
        "the altered request created nothing"
    );
}

both_backends!(
    the_official_sdks_tag_list_filter_count_and_untag_and_their_refusals_carry_our_errors
);

/// The committed vectors are what the pinned SDKs sign today (the generator pins clock and nonce).
#[tokio::test]
async fn the_committed_signature_vectors_are_what_the_pinned_sdks_sign() {
    let python_bin = sdk_python().await;
    let home = tempfile::tempdir().expect("home");
    let out_file = home.path().join("vectors.json");
    let mut cmd = python(&python_bin, &home, "make_signature_vectors.py");
    cmd.arg(&out_file);
    blocking(move || check(&mut cmd)).await;
    let fresh = std::fs::read_to_string(&out_file).expect("vectors written");
    let committed =
        std::fs::read_to_string(repo_dir().join("tests/fixtures/signature_vectors.json"))
            .expect("committed vectors");
    assert!(
        fresh == committed,
        "tests/fixtures/signature_vectors.json is stale: rerun tests/clients/make_signature_vectors.py"
    );
    let vectors: Value = serde_json::from_str(&committed).expect("JSON");
    let vectors = vectors["vectors"].as_array().expect("vectors");
    for algorithm in ["ACS3-HMAC-SHA256", "SDK-HMAC-SHA256"] {
        let of_it = vectors
            .iter()
            .filter(|v| v["algorithm"] == algorithm)
            .count();
        assert!(of_it >= 8, "{algorithm}: {of_it} vectors");
    }
}
