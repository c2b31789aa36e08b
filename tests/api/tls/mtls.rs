//! `--tls-client-ca`: a client certificate of that CA is required, and a token still is.

use std::process::Command;

use super::{Ca, Files, client_config, handshake, serve, tls_client};
use crate::{
    clients::grpcurl_bin,
    helpers::{Backend, authed, pb, tag_request, tools::blocking},
};

fn list(token: &str) -> tonic::Request<pb::ListResourceTagsRequest> {
    authed(
        token,
        pb::ListResourceTagsRequest {
            resource_type: "CLUSTER".into(),
            resource_id: "c-1".into(),
            ..Default::default()
        },
    )
}

#[tokio::test]
async fn client_certificates_of_the_ca_are_required_in_addition_to_tokens() {
    let server_ca = Ca::new("server CA");
    let client_ca = Ca::new("client CA");
    let stranger_ca = Ca::new("another CA");
    let files = Files::new();
    let id = server_ca.server();
    let (cert, key, client_ca_file) = (
        files.write("cert.pem", &id.cert),
        files.write("key.pem", &id.key),
        files.write("client-ca.pem", &client_ca.pem),
    );
    let (server, token, _db) = serve(
        Backend::Sqlite,
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--tls-client-ca",
            &client_ca_file,
        ],
    )
    .await;
    let addr = server.addr;

    // With a certificate of the client CA and a token: served.
    let member = client_ca.client();
    let (mut client, _) = tls_client(addr, client_config(&server_ca.pem, Some(&member)))
        .await
        .expect("a client with a certificate connects");
    client
        .tag_resources(authed(&token, tag_request(&["c-1"], &[("env", "prod")])))
        .await
        .expect("certificate and token");
    // The certificate does not stand in for the token.
    let anonymous = client
        .list_resource_tags(tonic::Request::new(pb::ListResourceTagsRequest {
            resource_type: "CLUSTER".into(),
            resource_id: "c-1".into(),
            ..Default::default()
        }))
        .await
        .expect_err("no token");
    assert_eq!(
        anonymous.code(),
        tonic::Code::Unauthenticated,
        "{anonymous:?}"
    );

    // Without a certificate, or with one of another CA: no call gets through. (In TLS 1.3 the
    // server's refusal may arrive after the client thinks the handshake is done.)
    for (who, identity) in [
        ("no certificate", None),
        ("another CA's", Some(stranger_ca.client())),
    ] {
        let config = client_config(&server_ca.pem, identity.as_ref());
        match tls_client(addr, config).await {
            Err(_) => {}
            Ok((mut client, _)) => {
                let refused = client.list_resource_tags(list(&token)).await;
                assert!(refused.is_err(), "{who}: a call was answered: {refused:?}");
            }
        }
        let config = client_config(&server_ca.pem, identity.as_ref());
        if let Ok(mut tls) = handshake(addr, config).await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let _ = tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await;
            let mut buf = [0u8; 64];
            let read = tls.read(&mut buf).await;
            assert!(
                !matches!(read, Ok(n) if n > 0),
                "{who}: the server answered over a connection it should have refused"
            );
        }
    }

    // grpcurl with the client certificate.
    let (client_cert, client_key, server_ca_file) = (
        files.write("client.pem", &member.cert),
        files.write("client-key.pem", &member.key),
        files.write("server-ca.pem", &server_ca.pem),
    );
    let grpcurl = grpcurl_bin().await;
    let auth = format!("authorization: Bearer {token}");
    let target = addr.to_string();
    let out = blocking(move || {
        Command::new(grpcurl)
            .args([
                "-cacert",
                &server_ca_file,
                "-cert",
                &client_cert,
                "-key",
                &client_key,
            ])
            .args(["-authority", "localhost", "-max-time", "20", "-H", &auth])
            .args([
                "-d",
                r#"{"resource_type":"CLUSTER","resource_id":"c-1"}"#,
                &target,
            ])
            .arg("tagging.v1.TaggingService/ListResourceTags")
            .output()
            .expect("run grpcurl")
    })
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("prod"),
        "grpcurl with a client certificate: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
