//! ACK's REST form (seed 000) over real HTTP on the gRPC port: `GET`, `PUT` and `DELETE /tags`,
//! their exact bodies, their errors, and their agreement with the gRPC face.

use reqwest::StatusCode;

use crate::helpers::{Answer, TestApp, answer, keys};

mod auth;
mod listing;
mod routing;
mod writes;

/// The rows of a successful list answer as (resource_id, tag_key, tag_value), after checking that
/// the body and every row have exactly the documented keys and the qualified type.
#[track_caller]
fn rows(a: &Answer) -> Vec<(String, String, String)> {
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        keys(&a.body),
        ["next_token", "request_id", "tag_resources"],
        "{}",
        a.body
    );
    assert_eq!(keys(&a.body["tag_resources"]), ["tag_resource"]);
    let list = a.body["tag_resources"]["tag_resource"]
        .as_array()
        .expect("tag_resource is an array");
    list.iter()
        .map(|row| {
            assert_eq!(
                keys(row),
                ["resource_id", "resource_type", "tag_key", "tag_value"],
                "{row}"
            );
            assert_eq!(row["resource_type"], "ALIYUN::CS::CLUSTER", "{row}");
            let text = |k: &str| row[k].as_str().expect("a string").to_owned();
            (text("resource_id"), text("tag_key"), text("tag_value"))
        })
        .collect()
}

fn next_token(a: &Answer) -> String {
    a.body["next_token"]
        .as_str()
        .expect("next_token is a string")
        .to_owned()
}

/// `GET /tags` of CLUSTER with the given query parameters, as the project's read-write token.
async fn list(app: &TestApp, query: &[(&str, &str)]) -> Answer {
    let mut params = vec![("resource_type", "CLUSTER")];
    params.extend_from_slice(query);
    answer(
        app.rest()
            .get("/tags")
            .bearer_auth(&app.token)
            .query(&params),
    )
    .await
}
