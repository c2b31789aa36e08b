//! One TLS port for gRPC, gRPC-Web and REST; plaintext refused on it; its certificate renewed
//! under a live connection.

use std::{process::Command, sync::atomic::Ordering, time::Duration};

use super::{Ca, Files, client_config, der, serve, served_certificate, tls_client};
use crate::{
    clients::grpcurl_bin,
    helpers::{Backend, authed, pb, tag_request, tools::blocking},
};

/// How often the tests' servers look at their TLS files.
const RELOAD_MS: &str = "100";

/// curl on a thread of its own: the server runs on the test's.
async fn curl(args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--noproxy", "*", "--max-time", "20"])
        .args(args);
    blocking(move || cmd.output().expect("run curl")).await
}

#[tokio::test]
async fn one_tls_port_serves_grpc_grpcurl_grpc_web_and_rest_and_refuses_plaintext() {
    let ca = Ca::new("listener CA");
    let files = Files::new();
    let id = ca.server();
    let (cert, key, ca_file) = (
        files.write("cert.pem", &id.cert),
        files.write("key.pem", &id.key),
        files.write("ca.pem", &ca.pem),
    );
    let (server, token, _db) =
        serve(Backend::Sqlite, &["--tls-cert", &cert, "--tls-key", &key]).await;
    let addr = server.addr;

    // gRPC over TLS (HTTP/2 by ALPN).
    let (mut client, _) = tls_client(addr, client_config(&ca.pem, None))
        .await
        .expect("TLS gRPC client connects");
    client
        .tag_resources(authed(&token, tag_request(&["c-1"], &[("env", "prod")])))
        .await
        .expect("TagResources over TLS");

    // grpcurl, trusting the CA, through reflection.
    let grpcurl = grpcurl_bin().await;
    let request = r#"{"resource_type":"CLUSTER","resource_id":"c-1"}"#.to_owned();
    let (auth, target) = (format!("authorization: Bearer {token}"), addr.to_string());
    let out = blocking(move || {
        Command::new(grpcurl)
            .args([
                "-cacert",
                &ca_file,
                "-authority",
                "localhost",
                "-max-time",
                "20",
            ])
            .args(["-H", &auth, "-d", &request, &target])
            .arg("tagging.v1.TaggingService/ListResourceTags")
            .output()
            .expect("run grpcurl")
    })
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(r#""value": "prod""#),
        "grpcurl over TLS: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // REST (the ACK form) and gRPC-Web health over HTTPS with curl.
    let base = format!("https://localhost:{}", addr.port());
    let resolve = format!("localhost:{}:127.0.0.1", addr.port());
    let ca_path = files.path("ca.pem");
    let ca_path = ca_path.to_str().unwrap();
    let query = format!("{base}/tags?resource_type=CLUSTER&resource_ids=%5B%22c-1%22%5D");
    let bearer = format!("authorization: Bearer {token}");
    let rest = curl(&[
        "--cacert",
        ca_path,
        "--resolve",
        &resolve,
        "-H",
        &bearer,
        &query,
    ])
    .await;
    let body = String::from_utf8_lossy(&rest.stdout);
    assert!(
        rest.status.success() && body.contains(r#""tag_value":"prod""#),
        "REST over HTTPS: {body} {}",
        String::from_utf8_lossy(&rest.stderr)
    );
    // An empty HealthCheckRequest in one gRPC-Web frame; the status comes in the trailer frame.
    let frame = files.path("check.bin");
    std::fs::write(&frame, [0u8; 5]).expect("frame");
    let answer = files.path("check.out");
    let health = format!("{base}/grpc.health.v1.Health/Check");
    let web = curl(&[
        "--cacert",
        ca_path,
        "--resolve",
        &resolve,
        "-o",
        answer.to_str().unwrap(),
        "-H",
        "content-type: application/grpc-web+proto",
        "--data-binary",
        &format!("@{}", frame.display()),
        &health,
    ])
    .await;
    let body = String::from_utf8_lossy(&std::fs::read(&answer).unwrap_or_default()).into_owned();
    assert!(
        web.status.success() && body.contains("grpc-status:0"),
        "gRPC-Web over HTTPS: {body:?} {}",
        String::from_utf8_lossy(&web.stderr)
    );

    // The TLS port speaks no plaintext: neither HTTP/1 nor gRPC.
    let plain = curl(&[
        "-H",
        &bearer,
        &query.replace("https://localhost", "http://127.0.0.1"),
    ])
    .await;
    assert!(!plain.status.success() || !String::from_utf8_lossy(&plain.stdout).contains("prod"));
    let mut plain_grpc =
        pb::tagging_service_client::TaggingServiceClient::connect(format!("http://{addr}")).await;
    if let Ok(client) = plain_grpc.as_mut() {
        let call = client
            .list_resource_tags(authed(
                &token,
                pb::ListResourceTagsRequest {
                    resource_type: "CLUSTER".into(),
                    resource_id: "c-1".into(),
                    ..Default::default()
                },
            ))
            .await;
        assert!(
            call.is_err(),
            "a plaintext call on the TLS port was answered"
        );
    }
}

#[tokio::test]
async fn a_renewed_certificate_reaches_new_connections_while_open_ones_keep_going() {
    let ca = Ca::new("renewal CA");
    let files = Files::new();
    let first = ca.server();
    let (cert, key) = (
        files.write("cert.pem", &first.cert),
        files.write("key.pem", &first.key),
    );
    let (server, token, _db) = serve(
        Backend::Sqlite,
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--tls-reload-interval-ms",
            RELOAD_MS,
        ],
    )
    .await;
    let addr = server.addr;
    let config = client_config(&ca.pem, None);
    assert_eq!(
        served_certificate(addr, config.clone()).await,
        der(&first.cert)
    );
    let (mut client, opened) = tls_client(addr, config.clone()).await.expect("connects");
    client
        .tag_resources(authed(&token, tag_request(&["c-1"], &[("env", "a")])))
        .await
        .expect("before the renewal");

    let second = ca.server();
    files.write("key.pem", &second.key);
    files.write("cert.pem", &second.cert);
    let mut renewed = false;
    for _ in 0..200 {
        if served_certificate(addr, config.clone()).await == der(&second.cert) {
            renewed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(renewed, "new connections never got the renewed certificate");
    client
        .tag_resources(authed(&token, tag_request(&["c-1"], &[("env", "b")])))
        .await
        .expect("the connection opened before the renewal still serves calls");
    assert_eq!(
        opened.load(Ordering::SeqCst),
        1,
        "the open connection was dropped"
    );

    // Files that do not make a usable configuration (a key of another certificate, as a renewal
    // half-done leaves) are not taken: the last good certificate stays.
    files.write("key.pem", &ca.server().key);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        served_certificate(addr, config.clone()).await,
        der(&second.cert),
        "a mismatched key replaced the working certificate"
    );
}

#[tokio::test]
async fn bad_tls_options_stop_the_start_with_the_option_named() {
    let ca = Ca::new("options CA");
    let files = Files::new();
    let id = ca.server();
    let other = ca.server();
    let cert = files.write("cert.pem", &id.cert);
    let key = files.write("key.pem", &id.key);
    let other_key = files.write("other-key.pem", &other.key);
    let garbage = files.write("garbage.pem", "not a certificate\n");
    let missing = files.path("missing.pem").to_str().unwrap().to_owned();
    let cases: [(&[&str], &str); 5] = [
        (&["--tls-cert", &missing, "--tls-key", &key], "--tls-cert"),
        (&["--tls-cert", &garbage, "--tls-key", &key], "--tls-cert"),
        (&["--tls-cert", &cert, "--tls-key", &garbage], "--tls-key"),
        (&["--tls-cert", &cert, "--tls-key", &other_key], "--tls-key"),
        (
            &[
                "--tls-cert",
                &cert,
                "--tls-key",
                &key,
                "--tls-client-ca",
                &garbage,
            ],
            "--tls-client-ca",
        ),
    ];
    for (flags, option) in cases {
        let (_db, url) = crate::helpers::TestDb::create(Backend::Sqlite).await;
        let args = crate::helpers::serve_args(&url, flags);
        let err = match tagging_service::startup::Application::build(&args).await {
            Ok(_) => panic!("{flags:?} started"),
            Err(e) => format!("{e:#}"),
        };
        assert!(err.starts_with(option), "{flags:?}: {err}");
    }
    // Half a pair is refused by the command line itself.
    let half = <tagging_service::config::Cli as clap::Parser>::try_parse_from([
        "tagging-service",
        "serve",
        "--tls-cert",
        &cert,
    ])
    .expect_err("--tls-cert alone")
    .to_string();
    assert!(half.contains("--tls-key"), "{half}");
}
