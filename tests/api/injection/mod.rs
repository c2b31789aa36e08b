//! Hostile input through every face (gRPC, ACK's `/tags`, SMN's `/v2/…`): quotes and SQL, LIKE and
//! GLOB wildcards, URL syntax, combining marks, emoji, bidi and zero-width marks, text at and past
//! each length limit (counted in characters), control characters and bytes that are not UTF-8.
//! Each is either stored and answered byte for byte, and matches only itself in every filter, or
//! refused with 400/INVALID_ARGUMENT naming the field; never a 500, never a changed query.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Answer, PROJECT, TestApp, answer, assert_invalid, authed, ids, pb, tag};

mod filters;
mod not_utf8;
mod refusals;
mod round_trips;

/// Each face writes to a type of its own, so every face can read what each other one wrote.
#[derive(Debug, Clone, Copy)]
enum Face {
    Grpc,
    Ack,
    Smn,
}

const FACES: [Face; 3] = [Face::Grpc, Face::Ack, Face::Smn];

impl Face {
    fn resource_type(self) -> &'static str {
        match self {
            Face::Grpc => "smn_topic",
            Face::Ack => "smn_sms",
            Face::Smn => "smn_application",
        }
    }
}

/// `s` as one URL path segment: every byte but the unreserved ones percent-encoded.
fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The path of `/v2/{PROJECT}/{path}`.
fn v2(path: &str) -> String {
    format!("/v2/{PROJECT}/{path}")
}

fn pair(k: &str, v: &str) -> (String, String) {
    (k.to_owned(), v.to_owned())
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn text(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` is not a string in {v}"))
        .to_owned()
}

#[track_caller]
fn ok(a: &Answer) {
    assert!(a.status.is_success(), "{} {}", a.status, a.body);
}

/// Asserts a refusal: `status`, the form's `code`, the header's request id, and a message that
/// names `field`.
#[track_caller]
fn refused(a: &Answer, status: u16, code: &str, field: &str) {
    assert_eq!(a.status.as_u16(), status, "{}", a.body);
    assert_eq!(a.body["code"], code, "{}", a.body);
    assert_eq!(a.body["request_id"], a.request_id.as_str(), "{}", a.body);
    let message = a.body["message"].as_str().expect("a message");
    assert!(
        message.contains(field),
        "message should name `{field}`: {message}"
    );
}

async fn tag_via(app: &TestApp, face: Face, id: &str, tags: &[(&str, &str)]) -> Result<(), Answer> {
    let rtype = face.resource_type();
    let body_tags: Vec<Value> = tags
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    let a = match face {
        Face::Grpc => {
            let req = pb::TagResourcesRequest {
                project_id: String::new(),
                resource_type: rtype.into(),
                resource_ids: ids(&[id]),
                tags: tags.iter().map(|(k, v)| tag(k, v)).collect(),
                expected_revision: None,
            };
            app.client
                .clone()
                .tag_resources(authed(&app.token, req))
                .await
                .unwrap_or_else(|e| panic!("gRPC TagResources {id:?}: {e:?}"));
            return Ok(());
        }
        Face::Ack => {
            let body = json!({"resource_type": rtype, "resource_ids": [id], "tags": body_tags});
            answer(
                app.rest()
                    .put("/tags")
                    .header("x-auth-token", &app.token)
                    .json(&body),
            )
            .await
        }
        Face::Smn => {
            let body = json!({"action": "create", "tags": body_tags});
            let url = v2(&format!("{rtype}/{}/tags/action", segment(id)));
            answer(
                app.rest()
                    .post(url)
                    .header("x-auth-token", &app.token)
                    .json(&body),
            )
            .await
        }
    };
    if a.status.is_success() {
        Ok(())
    } else {
        Err(a)
    }
}

/// The tags of one resource as `face` answers them.
async fn tags_via(app: &TestApp, face: Face, rtype: &str, id: &str) -> Vec<(String, String)> {
    match face {
        Face::Grpc => app
            .resource_tags(rtype, id)
            .await
            .unwrap_or_else(|e| panic!("gRPC ListResourceTags {id:?}: {e:?}")),
        Face::Ack => {
            let a = ack_list(app, rtype, &[("resource_ids", json!([id]).to_string())]).await;
            ack_rows(&a)
                .into_iter()
                .map(|(rid, k, v)| {
                    assert_eq!(rid, id);
                    (k, v)
                })
                .collect()
        }
        Face::Smn => {
            let url = v2(&format!("{rtype}/{}/tags", segment(id)));
            let a = answer(app.rest().get(url).header("x-auth-token", &app.token)).await;
            assert_eq!(a.status, StatusCode::OK, "{id:?}: {}", a.body);
            smn_pairs(&a.body["tags"])
        }
    }
}

async fn ack_list(app: &TestApp, rtype: &str, query: &[(&str, String)]) -> Answer {
    let mut q: Vec<(&str, String)> = vec![("resource_type", rtype.to_owned())];
    q.extend(query.iter().cloned());
    answer(
        app.rest()
            .get("/tags")
            .header("x-auth-token", &app.token)
            .query(&q),
    )
    .await
}

/// (resource_id, key, value) of each row of an ACK list answer.
#[track_caller]
fn ack_rows(a: &Answer) -> Vec<(String, String, String)> {
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.body["tag_resources"]["tag_resource"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows in {}", a.body))
        .iter()
        .map(|r| {
            (
                text(r, "resource_id"),
                text(r, "tag_key"),
                text(r, "tag_value"),
            )
        })
        .collect()
}

fn smn_pairs(tags: &Value) -> Vec<(String, String)> {
    tags.as_array()
        .unwrap_or_else(|| panic!("not an array: {tags}"))
        .iter()
        .map(|t| (text(t, "key"), text(t, "value")))
        .collect()
}

/// The ids of the resources of `rtype` carrying `key` = `value`, as `face` filters them.
async fn ids_with_tag(
    app: &TestApp,
    face: Face,
    rtype: &str,
    key: &str,
    value: &str,
) -> Vec<String> {
    let found = match face {
        Face::Grpc => {
            let req = pb::ListTagResourcesRequest {
                resource_type: rtype.into(),
                tags: vec![tag(key, value)],
                page_size: 1000,
                ..Default::default()
            };
            let rows = app
                .client
                .clone()
                .list_tag_resources(authed(&app.token, req))
                .await
                .unwrap_or_else(|e| panic!("gRPC ListTagResources {key:?}: {e:?}"))
                .into_inner()
                .tag_resources;
            rows.into_iter().map(|r| r.resource_id).collect()
        }
        Face::Ack => {
            let filter = json!([{"key": key, "value": value}]).to_string();
            let a = ack_list(
                app,
                rtype,
                &[("tags", filter), ("page_size", "1000".into())],
            )
            .await;
            ack_rows(&a).into_iter().map(|(id, _, _)| id).collect()
        }
        Face::Smn => {
            let body = json!({"action": "filter", "tags": [{"key": key, "values": [value]}]});
            smn_filter(app, rtype, &body).await
        }
    };
    let mut found: Vec<String> = sorted(found);
    found.dedup();
    found
}

async fn smn_instances(app: &TestApp, rtype: &str, body: &Value) -> Answer {
    let url = v2(&format!("{rtype}/resource_instances/action"));
    answer(
        app.rest()
            .post(url)
            .header("x-auth-token", &app.token)
            .json(body),
    )
    .await
}

/// The resource ids an SMN filter answers; its `total_count` must agree with them.
async fn smn_filter(app: &TestApp, rtype: &str, body: &Value) -> Vec<String> {
    let a = smn_instances(app, rtype, body).await;
    assert_eq!(a.status, StatusCode::OK, "{body}: {}", a.body);
    let found: Vec<String> = a.body["resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no resources in {}", a.body))
        .iter()
        .map(|r| text(r, "resource_id"))
        .collect();
    assert_eq!(a.body["total_count"], found.len(), "{body}: {}", a.body);
    sorted(found)
}

/// Asserts that writing `tags` on `id` through `face` is refused naming `field`, and that
/// nothing was stored.
async fn expect_refused(app: &TestApp, face: Face, id: &str, tags: &[(&str, &str)], field: &str) {
    let rtype = face.resource_type();
    match face {
        Face::Grpc => {
            let req = pb::TagResourcesRequest {
                project_id: String::new(),
                resource_type: rtype.into(),
                resource_ids: ids(&[id]),
                tags: tags.iter().map(|(k, v)| tag(k, v)).collect(),
                expected_revision: None,
            };
            let err = app
                .client
                .clone()
                .tag_resources(authed(&app.token, req))
                .await
                .unwrap_err();
            assert_invalid(&err, field);
        }
        Face::Ack | Face::Smn => {
            let a = tag_via(app, face, id, tags)
                .await
                .expect_err("should be refused");
            let code = if matches!(face, Face::Ack) {
                "InvalidParameter"
            } else {
                "SMN.00010400"
            };
            let field = match (face, field) {
                // SMN names the resource in its path, not in a list.
                (Face::Smn, "resource_ids[0]") => "resource_id",
                _ => field,
            };
            refused(&a, 400, code, field);
        }
    }
    let req = pb::ListResourceTagsRequest {
        resource_type: rtype.into(),
        resource_id: id.into(),
        ..Default::default()
    };
    let status = app
        .client
        .clone()
        .list_resource_tags(authed(&app.token, req))
        .await;
    match status {
        Err(e) => assert!(
            matches!(
                e.code(),
                tonic::Code::NotFound | tonic::Code::InvalidArgument
            ),
            "{e:?}"
        ),
        Ok(r) => panic!("{face:?} stored {:?} on {id:?}", r.into_inner().tags),
    }
}
