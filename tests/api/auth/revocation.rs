//! Revocation of a remembered token takes effect on its next read, whatever that read runs.

use tonic::{Code, Status};

use super::*;
use crate::helpers::{Backend, PROJECT, TestApp, answer, authed, ids, pb, tag};

/// The reads a remembered token can make, each a statement of its own shape, some finding rows and
/// some finding none (which the store tells apart from a revoked token by asking again).
const READS: [&str; 10] = [
    "ListResourceTags",
    "ListResourceTags of no resource",
    "ListTagResources by id",
    "ListTagResources matching nothing",
    "ListProjectTags",
    "ListResources",
    "CountResources",
    "CountResources matching nothing",
    "ACK GET /tags",
    "SMN GET /v2/{project}/smn_topic/{id}/tags",
];

/// Makes read `which` with `token`: `Ok(rows found)` or the refusal, as the gRPC code or the
/// REST status and error code.
async fn read_as(app: &TestApp, token: &str, which: &str) -> Result<usize, String> {
    let mut c = app.client.clone();
    let ty = || "CLUSTER".to_owned();
    let nothing = || {
        vec![pb::TagFilter {
            key: "env".into(),
            values: ids(&["none"]),
        }]
    };
    let grpc = |status: Status| format!("{:?}", status.code());
    match which {
        "ListResourceTags" | "ListResourceTags of no resource" => {
            let id = if which == "ListResourceTags" {
                "c1"
            } else {
                "c-none"
            };
            let req = pb::ListResourceTagsRequest {
                resource_type: ty(),
                resource_id: id.into(),
                ..Default::default()
            };
            match c.list_resource_tags(authed(token, req)).await {
                Ok(a) => Ok(a.into_inner().tags.len()),
                Err(s) if s.code() == Code::NotFound => Ok(0),
                Err(s) => Err(grpc(s)),
            }
        }
        "ListTagResources by id" | "ListTagResources matching nothing" => {
            let mut req = pb::ListTagResourcesRequest {
                resource_type: ty(),
                ..Default::default()
            };
            if which.ends_with("by id") {
                req.resource_ids = ids(&["c1"]);
            } else {
                req.tags = vec![tag("env", "none")];
            }
            c.list_tag_resources(authed(token, req))
                .await
                .map(|a| a.into_inner().tag_resources.len())
                .map_err(grpc)
        }
        "ListProjectTags" => c
            .list_project_tags(authed(token, pb::ListProjectTagsRequest::default()))
            .await
            .map(|a| a.into_inner().tags.len())
            .map_err(grpc),
        "ListResources" => {
            let req = pb::ListResourcesRequest {
                resource_type: ty(),
                ..Default::default()
            };
            c.list_resources(authed(token, req))
                .await
                .map(|a| a.into_inner().resources.len())
                .map_err(grpc)
        }
        "CountResources" | "CountResources matching nothing" => {
            let mut req = pb::CountResourcesRequest {
                resource_type: ty(),
                ..Default::default()
            };
            if which.ends_with("nothing") {
                req.tags = nothing();
            }
            c.count_resources(authed(token, req))
                .await
                .map(|a| usize::try_from(a.into_inner().total_count).expect("a count"))
                .map_err(grpc)
        }
        "ACK GET /tags" => {
            let a = answer(
                app.rest()
                    .get("/tags")
                    .bearer_auth(token)
                    .query(&[("resource_type", "CLUSTER"), ("resource_ids", r#"["c1"]"#)]),
            )
            .await;
            match a.status.as_u16() {
                200 => Ok(a.body["tag_resources"]["tag_resource"]
                    .as_array()
                    .map_or(0, Vec::len)),
                status => Err(format!("{status} {}", a.body["code"])),
            }
        }
        _ => {
            let a = answer(
                app.rest()
                    .get(format!("/v2/{PROJECT}/smn_topic/t1/tags"))
                    .header("x-auth-token", token),
            )
            .await;
            match a.status.as_u16() {
                200 => Ok(a.body["tags"].as_array().map_or(0, Vec::len)),
                status => Err(format!("{status} {}", a.body["code"])),
            }
        }
    }
}

/// A server remembers a token after its first call and lets later reads confirm it inside their
/// own statement. A token revoked by another process (the CLI) must still be refused on its very
/// next read, whichever statement that read runs and whether or not it finds rows.
async fn a_remembered_token_is_refused_on_its_next_read_after_revocation(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;
    app.tag("smn_topic", &["t1"], &[("env", "dev")]).await;

    let mut tokens = Vec::new();
    for which in READS {
        let token = app.token_for(PROJECT, false, false).await;
        // Twice: the first call reads the token from the database, the second is remembered.
        for _ in 0..2 {
            let found = read_as(&app, &token, which).await;
            let expect_rows = !which.contains("nothing") && !which.contains("no resource");
            assert!(
                matches!(found, Ok(n) if (n > 0) == expect_rows),
                "{which} before revocation: {found:?}"
            );
        }
        tokens.push(token);
    }
    // A remembered id with another secret is not the token.
    let (kept, last) = tokens[0].split_at(tokens[0].len() - 1);
    let forged = format!("{kept}{}", if last == "0" { "1" } else { "0" });
    assert_eq!(
        read_as(&app, &forged, READS[0]).await,
        Err("Unauthenticated".to_owned())
    );

    for token in &tokens {
        let out = cli(&app, &["token", "revoke", token]).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for (which, token) in READS.iter().zip(&tokens) {
        let refused = read_as(&app, token, which).await;
        let expected = match *which {
            "ACK GET /tags" => "401 \"Unauthorized\"",
            w if w.starts_with("SMN") => "403 \"SMN.00010401\"",
            _ => "Unauthenticated",
        };
        assert_eq!(
            refused,
            Err(expected.to_owned()),
            "{which} after revocation"
        );
        // Forgotten once refused: refused again, now by the database lookup.
        assert_eq!(
            read_as(&app, token, which).await,
            Err(expected.to_owned()),
            "{which} again"
        );
    }
    // The server's own token, remembered just the same, still reads.
    assert!(matches!(read_as(&app, &app.token, READS[0]).await, Ok(1)));
}

both_backends!(a_remembered_token_is_refused_on_its_next_read_after_revocation,);
