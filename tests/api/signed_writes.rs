//! A signed write does one thing, once. An SDK-HMAC-SHA256 request carries no nonce, so the same
//! request can be sent again while its date is accepted (15 minutes): captured, after its owner
//! undid what it did, or by a client retrying a call whose answer it lost. The second time it is
//! answered as the first was, and changes nothing.
//!
//! The requests are signed with the server's own string to sign (`signature::inspect`) and a
//! secret from `credential create`: what is tested here is what the server does with a request
//! it has verified; that its strings to sign are the SDKs' own is tested by `sdks.rs`.

use axum::http::{HeaderMap, HeaderValue};
use reqwest::StatusCode;
use tagging_service::auth::{
    signature::{self, Received, Scheme, format_date, sign},
    unix_now,
};

use crate::helpers::{
    Backend, PROJECT, TestApp, authed,
    binary::{credential, tagging_service},
    pb,
};

/// A signed SMN request, ready to be sent any number of times.
struct Signed {
    method: reqwest::Method,
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

fn signed(app: &TestApp, key: &(String, String), method: &str, path: &str, body: &str) -> Signed {
    let mut headers = HeaderMap::new();
    let host = app.addr.to_string();
    headers.insert("host", HeaderValue::from_str(&host).unwrap());
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    let date = format_date(Scheme::SdkHmac, unix_now());
    headers.insert("x-sdk-date", HeaderValue::from_str(&date).unwrap());
    let authorization = |signature: &str| {
        format!(
            "SDK-HMAC-SHA256 Access={}, SignedHeaders=content-type;host;x-sdk-date, Signature={signature}",
            key.0
        )
    };
    headers.insert(
        "authorization",
        HeaderValue::from_str(&authorization(&"0".repeat(64))).unwrap(),
    );
    let received = Received {
        method,
        path,
        query: None,
        headers: &headers,
        body: body.as_bytes(),
    };
    let inspected = signature::inspect(&received, unix_now())
        .expect("an SDK-HMAC request")
        .expect("well formed");
    let signature = sign(key.1.as_bytes(), &inspected.string_to_sign);
    headers.insert(
        "authorization",
        HeaderValue::from_str(&authorization(&signature)).unwrap(),
    );
    Signed {
        method: method.parse().unwrap(),
        path: path.to_owned(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

async fn send(app: &TestApp, request: &Signed) -> (StatusCode, String) {
    let mut headers = request.headers.clone();
    headers.remove("host");
    let res = reqwest::Client::new()
        .request(
            request.method.clone(),
            format!("http://{}{}", app.addr, request.path),
        )
        .headers(headers)
        .body(request.body.clone())
        .send()
        .await
        .expect("sent");
    (res.status(), res.text().await.unwrap())
}

async fn a_signed_write_sent_again_changes_nothing_and_succeeds(b: Backend) {
    let master = tagging_service(&[], &["master-key", "generate"]).await;
    let master = master.trim();
    let app = TestApp::spawn_with(b, &["--master-key", master]).await;
    let key = credential(&app, master, false).await;
    let path = format!("/v2/{PROJECT}/smn_topic/t1/tags/action");
    let create = signed(
        &app,
        &key,
        "POST",
        &path,
        r#"{"action":"create","tags":[{"key":"env","value":"prod"}]}"#,
    );
    let first = send(&app, &create).await;
    assert_eq!(first.0, StatusCode::NO_CONTENT, "{}", first.1);
    let tags = async |app: &TestApp| app.resource_tags("smn_topic", "t1").await.unwrap();
    assert_eq!(tags(&app).await, [("env".to_owned(), "prod".to_owned())]);

    // The owner removes the tag; the captured request, sent again, does not bring it back.
    let untag = pb::UntagResourcesRequest {
        resource_type: "smn_topic".into(),
        resource_ids: vec!["t1".into()],
        tag_keys: vec!["env".into()],
        ..Default::default()
    };
    app.client
        .clone()
        .untag_resources(authed(&app.token, untag))
        .await
        .unwrap();
    let again = send(&app, &create).await;
    assert_eq!(again, first, "answered as the first time");
    assert_eq!(tags(&app).await, []);

    // Another request of the same key (another date, so another signature) is a write of its own.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let later = signed(
        &app,
        &key,
        "POST",
        &path,
        r#"{"action":"create","tags":[{"key":"env","value":"prod"}]}"#,
    );
    assert_eq!(send(&app, &later).await.0, StatusCode::NO_CONTENT);
    assert_eq!(tags(&app).await, [("env".to_owned(), "prod".to_owned())]);

    // A deletion of the resource, repeated after it was registered again, leaves it be.
    let delete = signed(
        &app,
        &key,
        "DELETE",
        &format!("/v2/{PROJECT}/smn_topic/t1"),
        "",
    );
    let deleted = send(&app, &delete).await;
    assert_eq!(deleted.0, StatusCode::NO_CONTENT, "{}", deleted.1);
    app.tag("smn_topic", &["t1"], &[("team", "a")]).await;
    assert_eq!(send(&app, &delete).await, deleted);
    assert_eq!(tags(&app).await, [("team".to_owned(), "a".to_owned())]);
}

both_backends!(a_signed_write_sent_again_changes_nothing_and_succeeds);
