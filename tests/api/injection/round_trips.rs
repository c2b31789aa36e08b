//! Hostile text, and text at each length limit, stored and answered byte for byte by every face.

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::helpers::{Backend, TestApp, answer, assert_invalid, authed, pb};

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
        let url = v2(&format!("CLUSTER/{}/tags", segment(s)));
        let body = json!({"tag": {"key": s, "value": s}});
        ok(&answer(
            app.rest()
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
        let url = v2(&format!("CLUSTER/{}/tags/{}", segment(s), segment(s)));
        ok(&answer(app.rest().delete(url).header("x-auth-token", &app.token)).await);
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
            app.rest()
                .get(v2(&format!("{rtype}/tags")))
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
        let url = v2(&format!("smn_topic/{}/tags", segment(&"名".repeat(257))));
        let a = answer(
            app.rest()
                .get(url)
                .header("x-auth-token", &app.token)
                .header("x-smn-resourceid-type", id_type),
        )
        .await;
        refused(&a, 400, "SMN.00010400", "resource_id");
    }
}

both_backends!(
    hostile_text_is_stored_and_answered_byte_exact_by_every_face,
    text_at_each_length_limit_is_kept_and_one_character_more_is_refused_by_every_face,
);
