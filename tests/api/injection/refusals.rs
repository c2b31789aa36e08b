//! Control characters and malformed JSON are refused, naming the field or the body.

use serde_json::json;

use super::*;
use crate::helpers::{Backend, TestApp, answer};

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
        let url = v2(&format!("smn_topic/{}/tags", segment(bad)));
        let a = answer(app.rest().get(url).header("x-auth-token", &app.token)).await;
        refused(&a, 400, "SMN.00010400", "resource_id");
    }
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
            app.rest()
                .post(v2("CLUSTER/c1/tags/action"))
                .header("x-auth-token", &app.token)
                .header("content-type", "application/json")
                .body(body.to_owned()),
        )
        .await;
        refused(&a, 400, "SMN.00010400", "body");
        let a = answer(
            app.rest()
                .put("/tags")
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

both_backends!(
    control_characters_are_refused_naming_the_field_by_every_face,
    malformed_json_of_any_depth_or_shape_is_a_400_naming_the_body,
);
