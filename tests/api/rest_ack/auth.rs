//! Tokens on the ACK form: missing or invalid ones, read-only ones, the project header, and both
//! header spellings.

use reqwest::{RequestBuilder, StatusCode};
use serde_json::json;

use super::*;
use crate::helpers::{Backend, TestApp, answer, assert_error, row};

async fn requests_without_a_valid_token_are_401_unauthorized(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;
    let unknown = format!("tgs_{}_{}", "0".repeat(16), "a".repeat(64));
    let query = [("resource_type", "CLUSTER"), ("resource_ids", r#"["c1"]"#)];
    let body = json!({"resource_type": "CLUSTER", "resource_ids": ["c1"], "tags": [{"key": "env", "value": "x"}]});
    let delete_query = [
        ("resource_type", "CLUSTER"),
        ("resource_ids", r#"["c1"]"#),
        ("all", "true"),
    ];

    for token in [None, Some("nope"), Some(unknown.as_str())] {
        let with = |req: RequestBuilder| match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let get = answer(with(app.rest().get("/tags").query(&query))).await;
        assert_error(&get, 401, "Unauthorized", "token");
        let put = answer(with(app.rest().put("/tags").json(&body))).await;
        assert_error(&put, 401, "Unauthorized", "token");
        let delete = answer(with(app.rest().delete("/tags").query(&delete_query))).await;
        assert_error(&delete, 401, "Unauthorized", "token");
    }
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        [("env".to_owned(), "dev".to_owned())]
    );
}

async fn read_only_tokens_may_list_but_not_put_or_delete(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;
    let reader = app.token_for("p1", true, false).await;

    let get = answer(
        app.rest()
            .get("/tags")
            .bearer_auth(&reader)
            .query(&[("resource_type", "CLUSTER"), ("resource_ids", r#"["c1"]"#)]),
    )
    .await;
    assert_eq!(rows(&get), [row("c1", "env", "dev")]);

    let put = answer(app.rest().put("/tags").bearer_auth(&reader).json(&json!({
        "resource_type": "CLUSTER", "resource_ids": ["c1"], "tags": [{"key": "env", "value": "prod"}]
    })))
    .await;
    assert_error(&put, 403, "Forbidden", "read-only");
    let delete = answer(app.rest().delete("/tags").bearer_auth(&reader).query(&[
        ("resource_type", "CLUSTER"),
        ("resource_ids", r#"["c1"]"#),
        ("tag_keys", r#"["env"]"#),
    ]))
    .await;
    assert_error(&delete, 403, "Forbidden", "read-only");
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        [("env".to_owned(), "dev".to_owned())]
    );
}

async fn x_project_id_must_name_the_tokens_own_project(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;
    let query = [("resource_type", "CLUSTER"), ("resource_ids", r#"["c1"]"#)];

    let own = answer(
        app.rest()
            .get("/tags")
            .bearer_auth(&app.token)
            .header("x-project-id", "p1")
            .query(&query),
    )
    .await;
    assert_eq!(rows(&own), [row("c1", "env", "dev")]);

    let other = answer(
        app.rest()
            .get("/tags")
            .bearer_auth(&app.token)
            .header("x-project-id", "p2")
            .query(&query),
    )
    .await;
    assert_error(&other, 403, "Forbidden", "p2");
    let put = answer(
        app.rest()
            .put("/tags")
            .bearer_auth(&app.token)
            .header("x-project-id", "p2")
            .json(&json!({"resource_type": "CLUSTER", "resource_ids": ["c1"], "tags": [{"key": "env", "value": "x"}]})),
    )
    .await;
    assert_error(&put, 403, "Forbidden", "p2");
    let delete = answer(
        app.rest()
            .delete("/tags")
            .bearer_auth(&app.token)
            .header("x-project-id", "p2")
            .query(&[
                ("resource_type", "CLUSTER"),
                ("resource_ids", r#"["c1"]"#),
                ("all", "true"),
            ]),
    )
    .await;
    assert_error(&delete, 403, "Forbidden", "p2");

    // Nothing was written to p2 either.
    let p2 = app.token_for("p2", false, false).await;
    let in_p2 = answer(app.rest().get("/tags").bearer_auth(&p2).query(&query)).await;
    assert_eq!(rows(&in_p2), []);
    assert_eq!(
        app.resource_tags("CLUSTER", "c1").await.unwrap(),
        [("env".to_owned(), "dev".to_owned())]
    );
}

async fn bearer_authorization_and_x_auth_token_both_authenticate(b: Backend) {
    let app = TestApp::spawn(b).await;
    let put = answer(
        app.rest()
            .put("/tags")
            .header("x-auth-token", &app.token)
            .json(&json!({"resource_type": "CLUSTER", "resource_ids": ["c1"], "tags": [{"key": "env", "value": "dev"}]})),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);

    let query = [("resource_type", "CLUSTER"), ("resource_ids", r#"["c1"]"#)];
    let bearer = answer(
        app.rest()
            .get("/tags")
            .header("authorization", format!("Bearer {}", app.token))
            .query(&query),
    )
    .await;
    assert_eq!(rows(&bearer), [row("c1", "env", "dev")]);
    let auth_token = answer(
        app.rest()
            .get("/tags")
            .header("x-auth-token", &app.token)
            .query(&query),
    )
    .await;
    assert_eq!(rows(&auth_token), [row("c1", "env", "dev")]);
}

both_backends!(
    requests_without_a_valid_token_are_401_unauthorized,
    read_only_tokens_may_list_but_not_put_or_delete,
    x_project_id_must_name_the_tokens_own_project,
    bearer_authorization_and_x_auth_token_both_authenticate,
);
