//! `master-key rotate`: every access-key secret sealed anew under the new key in one
//! transaction; servers then start with the new key only, and the same key pairs keep signing.

use tagging_service::startup::Application;

use crate::{
    helpers::{Backend, InProcessServer, TestApp, binary::binary, serve_args, tools::blocking},
    signatures::{list_at, master_key, new_key, send, stored_secret},
};

/// `master-key rotate` with the current key in the environment: (succeeded, standard error).
async fn rotate(url: &str, current: &str, new: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("dir");
    let new_file = dir.path().join("new.key");
    std::fs::write(&new_file, new).expect("new key file");
    let mut cmd = binary();
    cmd.env("TAGGING_MASTER_KEY", current).args([
        "master-key",
        "rotate",
        "--new-master-key-file",
        new_file.to_str().unwrap(),
        "--database-url",
        url,
    ]);
    let out = blocking(move || cmd.output().expect("run rotate")).await;
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn rotation_reseals_every_secret_and_the_key_pairs_keep_signing(b: Backend) {
    let (old, new) = (master_key().await, master_key().await);
    let app = TestApp::spawn_with(b, &["--master-key", &old]).await;
    let key = new_key(&app, &old, false).await;
    let read_only = new_key(&app, &old, true).await;
    assert_eq!(send(list_at(app.addr, &key)).await.0, 200);
    let sealed_before = stored_secret(&app.database_url, &key.id).await;

    // A wrong current key changes nothing.
    let (rotated, stderr) = rotate(&app.database_url, &master_key().await, &new).await;
    assert!(!rotated && stderr.contains("master key"), "{stderr}");
    assert_eq!(
        stored_secret(&app.database_url, &key.id).await,
        sealed_before
    );

    let (rotated, stderr) = rotate(&app.database_url, &old, &new).await;
    assert!(rotated, "{stderr}");
    assert!(stderr.contains("2 access key secrets"), "{stderr}");
    assert!(
        !stderr.contains(&old) && !stderr.contains(&new),
        "a key was printed: {stderr}"
    );
    assert_ne!(
        stored_secret(&app.database_url, &key.id).await,
        sealed_before
    );

    // The old key no longer starts a server; the new one does, and both pairs still sign.
    let refused = Application::build(&serve_args(&app.database_url, &["--master-key", &old])).await;
    assert!(refused.is_err(), "a server started with the old master key");
    let server = InProcessServer::start(&app.database_url, &["--master-key", &new]).await;
    assert_eq!(send(list_at(server.addr, &key)).await.0, 200);
    assert_eq!(send(list_at(server.addr, &read_only)).await.0, 200);

    // Rotating again from the old key is refused: it is no longer the current one.
    let (rotated, _) = rotate(&app.database_url, &old, &master_key().await).await;
    assert!(!rotated);
    assert_eq!(send(list_at(server.addr, &key)).await.0, 200);
}

both_backends!(rotation_reseals_every_secret_and_the_key_pairs_keep_signing);
