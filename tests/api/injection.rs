//! Hostile input through every face (gRPC, ACK's `/tags`, SMN's `/v2/…`): quotes and SQL, LIKE and
//! GLOB wildcards, URL syntax, combining marks, emoji, bidi and zero-width marks, text at and past
//! each length limit (counted in characters), control characters and bytes that are not UTF-8.
//! Each is either stored and answered byte for byte, and matches only itself in every filter, or
//! refused with 400/INVALID_ARGUMENT naming the field; never a 500, never a changed query.

use prost::bytes::{Buf, BufMut};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tagging_service::proto::pb;
use tonic::{
    Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    codegen::http::uri::PathAndQuery,
    transport::Channel,
};

use crate::{
    helpers::{Backend, PROJECT, TestApp, assert_invalid, authed, ids, tag},
    rest_ack::{Answer, answer, http},
};

/// Text that is a valid key, value, id and name, so must come back exactly as sent.
const ACCEPTED: &[&str] = &[
    "'; DROP TABLE tags; --",
    "\" OR \"1\"=\"1",
    "' OR 1=1 --",
    "%",
    "_",
    "100%_sure",
    "a\\%b\\_c",
    "[a-z]*?",
    "$1 $$ ::text",
    "{\"key\":\"x\"}",
    "a/b?c#d&e=f+g%2F",
    "é",
    "e\u{301}",
    "中文 キー 한국어",
    "🏷️👨‍👩‍👧",
    "\u{202E}evil\u{202C}",
    "\u{200F}rtl\u{200E}",
    "a\u{200B}b",
    "\u{FEFF}bom",
    "\u{FFFD}",
    "\u{10FFFF}",
];

/// Control characters: refused in keys, values, ids and names.
const CONTROLS: &[&str] = &[
    "a\u{0}b",
    "\u{1}",
    "a\tb",
    "a\nb",
    "a\rb",
    "\u{1b}[31m",
    "\u{7f}",
    "\u{85}",
    "\u{9f}",
];

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

fn v2(app: &TestApp, path: &str) -> String {
    format!("http://{}/v2/{PROJECT}/{path}", app.addr)
}

fn tags_url(app: &TestApp) -> String {
    format!("http://{}/tags", app.addr)
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

// ---------------------------------------------------------------------------------------------
// One operation through each face

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
                http()
                    .put(tags_url(app))
                    .header("x-auth-token", &app.token)
                    .json(&body),
            )
            .await
        }
        Face::Smn => {
            let body = json!({"action": "create", "tags": body_tags});
            let url = v2(app, &format!("{rtype}/{}/tags/action", segment(id)));
            answer(
                http()
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
            let url = v2(app, &format!("{rtype}/{}/tags", segment(id)));
            let a = answer(http().get(url).header("x-auth-token", &app.token)).await;
            assert_eq!(a.status, StatusCode::OK, "{id:?}: {}", a.body);
            smn_pairs(&a.body["tags"])
        }
    }
}

async fn ack_list(app: &TestApp, rtype: &str, query: &[(&str, String)]) -> Answer {
    let mut q: Vec<(&str, String)> = vec![("resource_type", rtype.to_owned())];
    q.extend(query.iter().cloned());
    answer(
        http()
            .get(tags_url(app))
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
    let url = v2(app, &format!("{rtype}/resource_instances/action"));
    answer(
        http()
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

async fn grpc_resources(app: &TestApp, req: pb::ListResourcesRequest) -> Vec<String> {
    let found = app
        .client
        .clone()
        .list_resources(authed(&app.token, req))
        .await
        .unwrap_or_else(|e| panic!("gRPC ListResources: {e:?}"))
        .into_inner()
        .resources;
    sorted(found.into_iter().map(|r| r.resource_id).collect())
}

// ---------------------------------------------------------------------------------------------
// Tests

async fn hostile_text_is_stored_and_answered_byte_exact_by_every_face(b: Backend) {
    let app = TestApp::spawn(b).await;
    for face in FACES {
        for s in ACCEPTED {
            if let Err(a) = tag_via(&app, face, s, &[(s, s)]).await {
                panic!("{face:?} refused {s:?}: {} {}", a.status, a.body);
            }
        }
    }
    for writer in FACES {
        let rtype = writer.resource_type();
        for reader in FACES {
            for s in ACCEPTED {
                assert_eq!(
                    tags_via(&app, reader, rtype, s).await,
                    [pair(s, s)],
                    "{s:?} written through {writer:?}, read through {reader:?}"
                );
                // Every other string here is a different resource, tag and value: a pattern
                // (`%`, `_`, `[a-z]*?`) or a changed query would find more than this one.
                assert_eq!(
                    ids_with_tag(&app, reader, rtype, s, s).await,
                    [s.to_string()],
                    "filtering on {s:?} through {reader:?}"
                );
            }
        }
    }
    // SMN's single-tag routes: create one tag, then delete it by the key in the path.
    for s in ACCEPTED {
        let url = v2(&app, &format!("CLUSTER/{}/tags", segment(s)));
        let body = json!({"tag": {"key": s, "value": s}});
        ok(&answer(
            http()
                .post(url)
                .header("x-auth-token", &app.token)
                .json(&body),
        )
        .await);
        assert_eq!(
            app.resource_tags("CLUSTER", s).await.unwrap(),
            [pair(s, s)],
            "{s:?}"
        );
    }
    for s in ACCEPTED {
        let url = v2(&app, &format!("CLUSTER/{}/tags/{}", segment(s), segment(s)));
        ok(&answer(http().delete(url).header("x-auth-token", &app.token)).await);
        assert_eq!(app.resource_tags("CLUSTER", s).await.unwrap(), [], "{s:?}");
    }
    // The project's tags: each key once, with exactly its own value.
    let expected = sorted(
        ACCEPTED
            .iter()
            .map(|s| (s.to_string(), vec![s.to_string()]))
            .collect(),
    );
    for face in FACES {
        let rtype = face.resource_type();
        let req = pb::ListProjectTagsRequest {
            resource_type: rtype.into(),
            page_size: 1000,
            ..Default::default()
        };
        let listed = app
            .client
            .clone()
            .list_project_tags(authed(&app.token, req))
            .await
            .expect("ListProjectTags")
            .into_inner()
            .tags;
        let listed = sorted(listed.into_iter().map(|t| (t.key, t.values)).collect());
        assert_eq!(listed, expected, "gRPC project tags of {rtype}");
        let a = answer(
            http()
                .get(v2(&app, &format!("{rtype}/tags")))
                .header("x-auth-token", &app.token),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let listed: Vec<(String, Vec<String>)> = a.body["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .map(|t| {
                let values = t["values"].as_array().expect("values");
                (
                    text(t, "key"),
                    values
                        .iter()
                        .map(|v| v.as_str().expect("a value").to_owned())
                        .collect(),
                )
            })
            .collect();
        assert_eq!(sorted(listed), expected, "SMN project tags of {rtype}");
    }
}

async fn wildcards_and_quotes_in_filters_names_and_removals_match_only_themselves(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (rtype, key) = ("smn_topic", "k");
    // Values a LIKE or GLOB pattern among them would also match.
    let values = [
        "%", "_", "x", "ab", "a_b", "a%b", "aXb", "[a]", "a", "*", "?", "'", "''",
    ];
    for (i, value) in values.iter().enumerate() {
        let put = pb::PutResourceRequest {
            resource_type: rtype.into(),
            resource_id: format!("r{i}"),
            name: (*value).into(),
            ..Default::default()
        };
        app.client
            .clone()
            .put_resource(authed(&app.token, put))
            .await
            .expect("PutResource");
        app.tag(rtype, &[&format!("r{i}")], &[(key, value)]).await;
    }
    let id_of = |value: &str| {
        format!(
            "r{}",
            values.iter().position(|v| *v == value).expect("a value")
        )
    };

    for value in values {
        let only = [id_of(value)];
        for face in FACES {
            assert_eq!(
                ids_with_tag(&app, face, rtype, key, value).await,
                only,
                "{face:?} value {value:?}"
            );
        }
        // By name: the SMN header, gRPC's name addressing and `matches`.
        let url = v2(&app, &format!("{rtype}/{}/tags", segment(value)));
        let a = answer(
            http()
                .get(url)
                .header("x-auth-token", &app.token)
                .header("x-smn-resourceid-type", "name"),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "name {value:?}: {}", a.body);
        assert_eq!(
            smn_pairs(&a.body["tags"]),
            [pair(key, value)],
            "name {value:?}"
        );
        let req = pb::ListResourceTagsRequest {
            resource_type: rtype.into(),
            resource_id: value.into(),
            resource_id_type: pb::ResourceIdType::Name.into(),
            ..Default::default()
        };
        let tags = app
            .client
            .clone()
            .list_resource_tags(authed(&app.token, req))
            .await
            .expect("by name")
            .into_inner()
            .tags;
        assert_eq!(tags, [tag(key, value)], "gRPC name {value:?}");
        let matches =
            json!({"action": "filter", "matches": [{"key": "resource_name", "value": value}]});
        assert_eq!(
            smn_filter(&app, rtype, &matches).await,
            only,
            "SMN matches {value:?}"
        );
        let req = pb::ListResourcesRequest {
            resource_type: rtype.into(),
            matches: vec![pb::Match {
                key: "resource_name".into(),
                value: value.into(),
            }],
            ..Default::default()
        };
        assert_eq!(
            grpc_resources(&app, req).await,
            only,
            "gRPC matches {value:?}"
        );
        // Excluding the one value leaves every other resource.
        let not = json!({"action": "count", "not_tags": [{"key": key, "values": [value]}]});
        let a = smn_instances(&app, rtype, &not).await;
        assert_eq!(
            a.body["total_count"],
            values.len() - 1,
            "not_tags {value:?}: {}",
            a.body
        );
    }
    // A wildcard key matches no other key, with any value.
    for face in FACES {
        assert!(
            ids_with_tag(&app, face, rtype, "%", "").await.is_empty(),
            "{face:?} key %"
        );
        assert!(
            ids_with_tag(&app, face, rtype, "_", "").await.is_empty(),
            "{face:?} key _"
        );
    }

    // Removing the key `%` or `_` removes only that key.
    let hostile_keys = ["%", "_", "k%", "_k", "'; DROP TABLE tags; --", "k"];
    let all: Vec<(&str, &str)> = hostile_keys.iter().map(|k| (*k, "v")).collect();
    app.tag("CLUSTER", &["c1"], &all).await;
    let remaining = |gone: &[&str]| {
        sorted(
            hostile_keys
                .iter()
                .filter(|k| !gone.contains(k))
                .map(|k| pair(k, "v"))
                .collect::<Vec<_>>(),
        )
    };
    let a = answer(
        http()
            .delete(tags_url(&app))
            .header("x-auth-token", &app.token)
            .query(&[
                ("resource_type", "CLUSTER"),
                ("resource_ids", r#"["c1"]"#),
                ("tag_keys", r#"["%"]"#),
            ]),
    )
    .await;
    ok(&a);
    assert_eq!(
        sorted(app.resource_tags("CLUSTER", "c1").await.unwrap()),
        remaining(&["%"])
    );
    let a = answer(
        http()
            .post(v2(&app, "CLUSTER/c1/tags/action"))
            .header("x-auth-token", &app.token)
            .json(&json!({"action": "delete", "tags": [{"key": "_"}]})),
    )
    .await;
    ok(&a);
    assert_eq!(
        sorted(app.resource_tags("CLUSTER", "c1").await.unwrap()),
        remaining(&["%", "_"])
    );
    for (i, key) in ["k%", "_k"].into_iter().enumerate() {
        let url = v2(&app, &format!("CLUSTER/c1/tags/{}", segment(key)));
        ok(&answer(http().delete(url).header("x-auth-token", &app.token)).await);
        let gone = &["%", "_", "k%", "_k"][..3 + i];
        assert_eq!(
            sorted(app.resource_tags("CLUSTER", "c1").await.unwrap()),
            remaining(gone)
        );
    }
    let req = pb::UntagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&["c1"]),
        tag_keys: ids(&["'; DROP TABLE tags; --"]),
        ..Default::default()
    };
    app.client
        .clone()
        .untag_resources(authed(&app.token, req))
        .await
        .expect("UntagResources");
    assert_eq!(
        sorted(app.resource_tags("CLUSTER", "c1").await.unwrap()),
        remaining(&["%", "_", "k%", "_k", "'; DROP TABLE tags; --"])
    );
}

async fn reserved_prefixes_are_literal_prefixes_not_patterns(b: Backend) {
    let app = TestApp::spawn(b).await;
    // `_sys_` read as a LIKE pattern would hide `xsysy…`; `acs:` is not case-folded.
    let visible = ["xsysy-looks-reserved", "_sysX", "ACS:upper", "acs", "aliyu"];
    let tags: Vec<(&str, &str)> = visible.iter().map(|k| (*k, "v")).collect();
    app.tag("CLUSTER", &["c1"], &tags).await;
    let expected = sorted(visible.iter().map(|k| pair(k, "v")).collect::<Vec<_>>());
    for face in FACES {
        assert_eq!(
            sorted(tags_via(&app, face, "CLUSTER", "c1").await),
            expected,
            "{face:?}"
        );
    }
}

async fn text_at_each_length_limit_is_kept_and_one_character_more_is_refused_by_every_face(
    b: Backend,
) {
    let app = TestApp::spawn(b).await;
    // Four-byte characters: a byte count would put each of these far over its limit.
    let key = "𝔘".repeat(128);
    let value = "👍".repeat(255);
    let id = "🏷".repeat(256);
    for face in FACES {
        tag_via(&app, face, &id, &[(&key, &value)])
            .await
            .unwrap_or_else(|a| panic!("{face:?} refused text at the limits: {}", a.body));
        for reader in FACES {
            assert_eq!(
                tags_via(&app, reader, face.resource_type(), &id).await,
                [pair(&key, &value)]
            );
        }
    }
    let longer_key = "𝔘".repeat(129);
    let longer_value = "👍".repeat(256);
    let longer_id = "🏷".repeat(257);
    let cases: [(&str, &str, &str, &str); 3] = [
        (&longer_id, "k", "v", "resource_ids[0]"),
        ("fresh", &longer_key, "v", "tags[0].key"),
        ("fresh", "k", &longer_value, "tags[0].value"),
    ];
    for (id, k, v, field) in cases {
        for face in FACES {
            expect_refused(&app, face, id, &[(k, v)], field).await;
        }
    }
    // Names and SMN's id in the path have the same limit.
    let put = pb::PutResourceRequest {
        resource_type: "smn_topic".into(),
        resource_id: "named".into(),
        name: "名".repeat(256),
        ..Default::default()
    };
    app.client
        .clone()
        .put_resource(authed(&app.token, put.clone()))
        .await
        .expect("a 256-character name");
    let put = pb::PutResourceRequest {
        name: "名".repeat(257),
        ..put
    };
    let err = app
        .client
        .clone()
        .put_resource(authed(&app.token, put))
        .await
        .unwrap_err();
    assert_invalid(&err, "name");
    for id_type in ["id", "name"] {
        let url = v2(
            &app,
            &format!("smn_topic/{}/tags", segment(&"名".repeat(257))),
        );
        let a = answer(
            http()
                .get(url)
                .header("x-auth-token", &app.token)
                .header("x-smn-resourceid-type", id_type),
        )
        .await;
        refused(&a, 400, "SMN.00010400", "resource_id");
    }
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

async fn control_characters_are_refused_naming_the_field_by_every_face(b: Backend) {
    let app = TestApp::spawn(b).await;
    for bad in CONTROLS {
        for face in FACES {
            expect_refused(&app, face, "fresh", &[(bad, "v")], "tags[0].key").await;
            expect_refused(&app, face, "fresh", &[("k", bad)], "tags[0].value").await;
            expect_refused(&app, face, bad, &[("k", "v")], "resource_ids[0]").await;
        }
        // As a filter and as an address, too.
        let a = ack_list(
            &app,
            "CLUSTER",
            &[("resource_ids", json!([bad]).to_string())],
        )
        .await;
        refused(&a, 400, "InvalidParameter", "resource_ids[0]");
        let a = ack_list(
            &app,
            "CLUSTER",
            &[("tags", json!([{"key": "k", "value": bad}]).to_string())],
        )
        .await;
        refused(&a, 400, "InvalidParameter", "tags[0].value");
        let a = smn_instances(
            &app,
            "smn_topic",
            &json!({"action": "count", "tags": [{"key": bad}]}),
        )
        .await;
        refused(&a, 400, "SMN.00010400", "tags[0].key");
        let a = smn_instances(
            &app,
            "smn_topic",
            &json!({"action": "filter", "matches": [{"key": "resource_name", "value": bad}]}),
        )
        .await;
        refused(&a, 400, "SMN.00010400", "matches[0].value");
        let url = v2(&app, &format!("smn_topic/{}/tags", segment(bad)));
        let a = answer(http().get(url).header("x-auth-token", &app.token)).await;
        refused(&a, 400, "SMN.00010400", "resource_id");
    }
}

async fn bytes_that_are_not_utf8_are_refused_never_replaced(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c\u{FFFD}"], &[("k\u{FFFD}", "v")])
        .await;
    // Percent-encoded 0xFF decodes to no text: refused, not read as U+FFFD (which would find c�).
    let url = format!(
        "{}?resource_type=CLUSTER&resource_ids=%5B%22c%FF%22%5D",
        tags_url(&app)
    );
    let a = answer(http().get(url).header("x-auth-token", &app.token)).await;
    refused(&a, 400, "InvalidParameter", "resource_ids");
    let url = format!(
        "{}?resource_type=CLUSTER&resource_ids=%5B%22c%EF%BF%BD%22%5D&tag_keys=%5B%22k%FF%22%5D",
        tags_url(&app)
    );
    let a = answer(http().delete(url).header("x-auth-token", &app.token)).await;
    refused(&a, 400, "InvalidParameter", "tag_keys");
    assert_eq!(
        app.resource_tags("CLUSTER", "c\u{FFFD}").await.unwrap(),
        [pair("k\u{FFFD}", "v")]
    );

    let body = b"{\"resource_type\":\"CLUSTER\",\"resource_ids\":[\"c\xff\"],\"tags\":[{\"key\":\"k\",\"value\":\"v\"}]}".to_vec();
    let a = answer(
        http()
            .put(tags_url(&app))
            .header("x-auth-token", &app.token)
            .header("content-type", "application/json")
            .body(body),
    )
    .await;
    refused(&a, 400, "InvalidParameter", "body");
    let a = answer(
        http()
            .get(v2(&app, "CLUSTER/c%FF/tags"))
            .header("x-auth-token", &app.token),
    )
    .await;
    refused(&a, 400, "SMN.00010400", "path");

    // Headers that are not visible ASCII are read, not skipped as if absent.
    let header =
        |bytes: &[u8]| reqwest::header::HeaderValue::from_bytes(bytes).expect("a header value");
    for project in [&b"p\xc3\xa9"[..], b"p\xff"] {
        let a = answer(
            http()
                .get(tags_url(&app))
                .query(&[("resource_type", "CLUSTER"), ("resource_ids", r#"["c1"]"#)])
                .header("x-auth-token", &app.token)
                .header("x-project-id", header(project)),
        )
        .await;
        assert!(
            matches!(a.status.as_u16(), 400 | 403),
            "X-Project-Id {project:?}: {} {}",
            a.status,
            a.body
        );
        let a = answer(
            http()
                .get(v2(&app, "CLUSTER/c1/tags"))
                .header("x-auth-token", &app.token)
                .header("x-project-id", header(project)),
        )
        .await;
        refused(&a, 400, "SMN.00010400", "X-Project-Id");
    }
    let a = answer(
        http()
            .get(v2(&app, "CLUSTER/c1/tags"))
            .header("x-auth-token", &app.token)
            .header("x-smn-resourceid-type", header(b"n\xc3\xa4me")),
    )
    .await;
    refused(&a, 400, "SMN.00010400", "X-SMN-RESOURCEID-TYPE");
}

async fn malformed_json_of_any_depth_or_shape_is_a_400_naming_the_body(b: Backend) {
    let app = TestApp::spawn(b).await;
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    // (body, the field ACK's `PUT /tags` names): ACK ignores the unknown `action`, even twice.
    let bodies = [
        (deep.as_str(), "body"),
        (
            r#"{"action":"create","action":"delete","tags":[{"key":"k","value":"v"}]}"#,
            "resource_type",
        ),
        (
            r#"{"action":"create","tags":[{"key":"k","value":"v"}]"#,
            "body",
        ),
        (
            r#"{"action":"create","tags":[{"key":1e999,"value":"v"}]}"#,
            "body",
        ),
        (
            r#"{"action":"create","tags":"'; DROP TABLE tags; --"}"#,
            "body",
        ),
        ("\u{FEFF}{\"action\":\"create\"}", "body"),
        ("", "body"),
    ];
    for (body, ack_field) in bodies {
        let a = answer(
            http()
                .post(v2(&app, "CLUSTER/c1/tags/action"))
                .header("x-auth-token", &app.token)
                .header("content-type", "application/json")
                .body(body.to_owned()),
        )
        .await;
        refused(&a, 400, "SMN.00010400", "body");
        let a = answer(
            http()
                .put(tags_url(&app))
                .header("x-auth-token", &app.token)
                .header("content-type", "application/json")
                .body(body.to_owned()),
        )
        .await;
        refused(&a, 400, "InvalidParameter", ack_field);
    }
    // Past serde_json's nesting limit, yet short enough for a request line.
    let deep_param = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
    let a = ack_list(&app, "CLUSTER", &[("resource_ids", deep_param)]).await;
    refused(&a, 400, "InvalidParameter", "resource_ids");
    let err = app.resource_tags("CLUSTER", "c1").await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound, "{err:?}");
}

/// Sends and receives gRPC messages as the bytes they are, to send what no generated client would.
#[derive(Clone, Copy, Default)]
struct RawBytes;

impl Codec for RawBytes {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Self;
    type Decoder = Self;

    fn encoder(&mut self) -> Self {
        Self
    }

    fn decoder(&mut self) -> Self {
        Self
    }
}

impl Encoder for RawBytes {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawBytes {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

async fn raw_call(app: &TestApp, method: &'static str, message: &[u8]) -> Result<Vec<u8>, Status> {
    let channel = Channel::from_shared(format!("http://{}", app.addr))
        .expect("a URI")
        .connect()
        .await
        .expect("connects");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let path = PathAndQuery::from_static(method);
    grpc.unary(authed(&app.token, message.to_vec()), path, RawBytes)
        .await
        .map(tonic::Response::into_inner)
}

async fn grpc_strings_that_are_not_utf8_are_invalid_argument_naming_the_field(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c\u{FFFD}"], &[("k", "v")]).await;
    let list = "/tagging.v1.TaggingService/ListResourceTags";
    let write = "/tagging.v1.TaggingService/TagResources";
    // Protobuf by hand: field 2 `resource_type`, field 3 `resource_id` / `resource_ids`, field 4
    // `tags` holding a Tag of field 1 `key` and field 2 `value`.
    let cases: [(&str, &[u8], &str); 5] = [
        (list, b"\x12\x07CLUSTER\x1a\x02c\xff", "resource_id"),
        (
            write,
            b"\x12\x07CLUSTER\x1a\x02c2\x22\x06\x0a\x01k\x12\x01\xff",
            "tags.value",
        ),
        (
            write,
            b"\x12\x07CLUSTER\x1a\x02c2\x22\x06\x0a\x01\xc3\x12\x01v",
            "tags.key",
        ),
        (list, b"\x12\x07CLUST", "resource_type"),
        (list, b"\xff", "request"),
    ];
    for (method, message, field) in cases {
        let err = raw_call(&app, method, message).await.expect_err("refused");
        assert_invalid(&err, field);
    }
    // The same bytes, valid, are answered: the refusals above are about the bytes alone.
    let answer = raw_call(&app, list, b"\x12\x07CLUSTER\x1a\x04c\xef\xbf\xbd").await;
    assert_eq!(
        answer.expect("a valid request"),
        b"\x0a\x06\x0a\x01k\x12\x01v"
    );
    let err = app.resource_tags("CLUSTER", "c2").await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound, "{err:?}");
}

both_backends!(
    hostile_text_is_stored_and_answered_byte_exact_by_every_face,
    wildcards_and_quotes_in_filters_names_and_removals_match_only_themselves,
    reserved_prefixes_are_literal_prefixes_not_patterns,
    text_at_each_length_limit_is_kept_and_one_character_more_is_refused_by_every_face,
    control_characters_are_refused_naming_the_field_by_every_face,
    bytes_that_are_not_utf8_are_refused_never_replaced,
    malformed_json_of_any_depth_or_shape_is_a_400_naming_the_body,
    grpc_strings_that_are_not_utf8_are_invalid_argument_naming_the_field,
);
