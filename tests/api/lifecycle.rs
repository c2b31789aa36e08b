//! Resource lifecycle (PutResource, names, DeleteResource), the server around the service (health,
//! reflection, graceful shutdown), and concurrent writers.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Connection;
use tonic::{Code, Status, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::helpers::{Backend, TestApp, assert_invalid, authed, ids, owned, pb, tag};

const QUALIFIED_CLUSTER: &str = "ALIYUN::CS::CLUSTER";

async fn put_as(
    app: &TestApp,
    token: &str,
    ty: &str,
    id: &str,
    name: &str,
) -> Result<pb::Resource, Status> {
    let req = pb::PutResourceRequest {
        project_id: String::new(),
        resource_type: ty.into(),
        resource_id: id.into(),
        name: name.into(),
        expected_revision: None,
    };
    let resp = app
        .client
        .clone()
        .put_resource(authed(token, req))
        .await?
        .into_inner();
    Ok(resp.resource.expect("PutResource answers the resource"))
}

async fn put(app: &TestApp, ty: &str, id: &str, name: &str) -> Result<pb::Resource, Status> {
    put_as(app, &app.token, ty, id, name).await
}

async fn tags_by_name_as(
    app: &TestApp,
    token: &str,
    ty: &str,
    name: &str,
) -> Result<Vec<(String, String)>, Status> {
    let req = pb::ListResourceTagsRequest {
        resource_type: ty.into(),
        resource_id: name.into(),
        resource_id_type: pb::ResourceIdType::Name as i32,
        ..Default::default()
    };
    app.list_resource_tags_as(token, req).await
}

async fn tags_by_name(
    app: &TestApp,
    ty: &str,
    name: &str,
) -> Result<Vec<(String, String)>, Status> {
    tags_by_name_as(app, &app.token, ty, name).await
}

async fn delete(app: &TestApp, ty: &str, id: &str) -> Result<(), Status> {
    let req = pb::DeleteResourceRequest {
        project_id: String::new(),
        resource_type: ty.into(),
        resource_id: id.into(),
        expected_revision: None,
    };
    app.client
        .clone()
        .delete_resource(authed(&app.token, req))
        .await
        .map(drop)
}

/// (id, name) of every resource of `ty`, in registration order.
async fn names(app: &TestApp, ty: &str) -> Vec<(String, String)> {
    let req = pb::ListResourcesRequest {
        resource_type: ty.into(),
        page_size: 1000,
        ..Default::default()
    };
    let resp = app
        .client
        .clone()
        .list_resources(authed(&app.token, req))
        .await
        .expect("list_resources")
        .into_inner();
    assert!(resp.next_token.is_empty());
    resp.resources
        .into_iter()
        .map(|r| (r.resource_id, r.name))
        .collect()
}

fn code<T: std::fmt::Debug>(r: Result<T, Status>) -> Code {
    r.expect_err("expected an error").code()
}

async fn put_resource_registers_a_resource_with_an_optional_name(b: Backend) {
    let app = TestApp::spawn(b).await;
    let r1 = put(&app, "CLUSTER", "r1", "web").await.unwrap();
    assert_eq!(
        r1,
        pb::Resource {
            resource_id: "r1".into(),
            resource_type: QUALIFIED_CLUSTER.into(),
            name: "web".into(),
            tags: vec![],
            revision: 1,
        },
        "the project's first write takes revision 1"
    );
    let r2 = put(&app, "CLUSTER", "r2", "").await.unwrap();
    assert_eq!(r2.name, "", "a resource may have no name");
    assert_eq!(
        app.resource_tags("CLUSTER", "r1").await.unwrap(),
        owned(&[]),
        "registered without tags"
    );
    assert_eq!(
        app.resource_tags("CLUSTER", "r2").await.unwrap(),
        owned(&[])
    );
    assert_eq!(
        names(&app, "CLUSTER").await,
        owned(&[("r1", "web"), ("r2", "")])
    );

    app.tag("CLUSTER", &["r1"], &[("env", "prod")]).await;
    app.tag("CLUSTER", &["r2"], &[("env", "dev")]).await;
    assert_eq!(
        tags_by_name(&app, "CLUSTER", "web").await.unwrap(),
        owned(&[("env", "prod")])
    );
    assert_eq!(
        tags_by_name(&app, QUALIFIED_CLUSTER, "web").await.unwrap(),
        owned(&[("env", "prod")])
    );

    // Unknown names, ids used as names, names used as ids, and the name under another type are not found.
    assert_eq!(
        code(tags_by_name(&app, "CLUSTER", "nope").await),
        Code::NotFound
    );
    assert_eq!(
        code(tags_by_name(&app, "CLUSTER", "r1").await),
        Code::NotFound
    );
    assert_eq!(
        code(tags_by_name(&app, "smn_topic", "web").await),
        Code::NotFound
    );
    assert_eq!(
        code(app.resource_tags("CLUSTER", "web").await),
        Code::NotFound
    );
    let by_id = pb::ListResourceTagsRequest {
        resource_type: "CLUSTER".into(),
        resource_id: "r1".into(),
        resource_id_type: pb::ResourceIdType::Id as i32,
        ..Default::default()
    };
    let tags = app
        .client
        .clone()
        .list_resource_tags(authed(&app.token, by_id))
        .await
        .unwrap()
        .into_inner()
        .tags;
    assert_eq!(tags, [tag("env", "prod")]);

    // PutResource on a tagged resource answers its tags.
    let again = put(&app, "CLUSTER", "r2", "").await.unwrap();
    assert_eq!(again.tags, [tag("env", "dev")]);
}

async fn names_are_unique_within_a_project_and_type_only(b: Backend) {
    let app = TestApp::spawn(b).await;
    put(&app, "CLUSTER", "r1", "web").await.unwrap();
    app.tag("CLUSTER", &["r1"], &[("owner", "r1")]).await;
    app.tag("CLUSTER", &["r3"], &[("owner", "r3")]).await;

    // A new resource cannot take the name, and is not registered.
    let err = put(&app, "CLUSTER", "r2", "web").await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists, "{err:?}");
    assert_eq!(
        code(app.resource_tags("CLUSTER", "r2").await),
        Code::NotFound
    );
    // Nor can an existing one, which keeps its name and tags.
    assert_eq!(
        code(put(&app, "CLUSTER", "r3", "web").await),
        Code::AlreadyExists
    );
    assert_eq!(
        names(&app, "CLUSTER").await,
        owned(&[("r1", "web"), ("r3", "")])
    );
    assert_eq!(
        app.resource_tags("CLUSTER", "r3").await.unwrap(),
        owned(&[("owner", "r3")])
    );
    assert_eq!(
        tags_by_name(&app, "CLUSTER", "web").await.unwrap(),
        owned(&[("owner", "r1")])
    );

    // Putting the same name on its own resource again is fine.
    assert_eq!(put(&app, "CLUSTER", "r1", "web").await.unwrap().name, "web");

    // The same name under another type, or in another project, is another resource's.
    put(&app, "smn_sms", "s1", "web")
        .await
        .expect("same name, other type");
    app.tag("smn_sms", &["s1"], &[("owner", "s1")]).await;
    let p2 = app.token_for("p2", false, false).await;
    put_as(&app, &p2, "CLUSTER", "q1", "web")
        .await
        .expect("same name, other project");
    let p2_tags = pb::TagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&["q1"]),
        tags: vec![tag("owner", "q1")],
        ..Default::default()
    };
    app.client
        .clone()
        .tag_resources(authed(&p2, p2_tags))
        .await
        .unwrap();
    assert_eq!(
        tags_by_name(&app, "CLUSTER", "web").await.unwrap(),
        owned(&[("owner", "r1")])
    );
    assert_eq!(
        tags_by_name(&app, "smn_sms", "web").await.unwrap(),
        owned(&[("owner", "s1")])
    );
    assert_eq!(
        tags_by_name_as(&app, &p2, "CLUSTER", "web").await.unwrap(),
        owned(&[("owner", "q1")])
    );
}

async fn putting_again_renames_keeps_tags_and_an_empty_name_clears_it(b: Backend) {
    let app = TestApp::spawn(b).await;
    put(&app, "smn_topic", "t1", "old").await.unwrap();
    app.tag("smn_topic", &["t1"], &[("b", "2"), ("a", "1")])
        .await;
    let renamed = put(&app, "smn_topic", "t1", "new").await.unwrap();
    assert_eq!(
        renamed,
        pb::Resource {
            resource_id: "t1".into(),
            resource_type: "smn_topic".into(),
            name: "new".into(),
            tags: vec![tag("a", "1"), tag("b", "2")],
            revision: 3,
        },
        "registered, tagged, renamed: three writes"
    );
    assert_eq!(
        code(tags_by_name(&app, "smn_topic", "old").await),
        Code::NotFound,
        "the old name no longer resolves"
    );
    assert_eq!(
        tags_by_name(&app, "smn_topic", "new").await.unwrap(),
        owned(&[("a", "1"), ("b", "2")])
    );
    // The old name is free again.
    put(&app, "smn_topic", "t2", "old")
        .await
        .expect("the old name is free");

    let cleared = put(&app, "smn_topic", "t1", "").await.unwrap();
    assert_eq!(cleared.name, "");
    assert_eq!(cleared.tags, [tag("a", "1"), tag("b", "2")]);
    assert_eq!(
        code(tags_by_name(&app, "smn_topic", "new").await),
        Code::NotFound
    );
    assert_eq!(
        app.resource_tags("smn_topic", "t1").await.unwrap(),
        owned(&[("a", "1"), ("b", "2")])
    );
    assert_eq!(
        names(&app, "smn_topic").await,
        owned(&[("t1", ""), ("t2", "old")])
    );
    put(&app, "smn_topic", "t3", "new")
        .await
        .expect("a cleared name is free");
    // The empty name is no name: looking it up is refused.
    let err = tags_by_name(&app, "smn_topic", "").await.unwrap_err();
    assert_invalid(&err, "resource_id");
}

async fn deleting_a_resource_removes_it_and_its_tags(b: Backend) {
    let app = TestApp::spawn(b).await;
    put(&app, "CLUSTER", "r1", "doomed").await.unwrap();
    app.tag("CLUSTER", &["r1"], &[("only-r1", "x"), ("shared", "1")])
        .await;
    app.tag("CLUSTER", &["r2"], &[("shared", "2")]).await;

    delete(&app, "CLUSTER", "r1").await.expect("delete");

    assert_eq!(
        code(app.resource_tags("CLUSTER", "r1").await),
        Code::NotFound
    );
    assert_eq!(
        code(tags_by_name(&app, "CLUSTER", "doomed").await),
        Code::NotFound
    );
    let mut c = app.client.clone();
    let rows = |resource_ids: &[&str], tags: Vec<pb::Tag>| pb::ListTagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(resource_ids),
        tags,
        ..Default::default()
    };
    let by_id = c
        .list_tag_resources(authed(&app.token, rows(&["r1"], vec![])))
        .await
        .unwrap()
        .into_inner();
    assert!(by_id.tag_resources.is_empty(), "{by_id:?}");
    let by_tag = c
        .list_tag_resources(authed(&app.token, rows(&[], vec![tag("shared", "")])))
        .await
        .unwrap()
        .into_inner();
    let got: Vec<(&str, &str)> = by_tag
        .tag_resources
        .iter()
        .map(|r| (r.resource_id.as_str(), r.tag_value.as_str()))
        .collect();
    assert_eq!(got, [("r2", "2")]);
    let keys = pb::ListProjectTagsRequest::default();
    let keys = c
        .list_project_tags(authed(&app.token, keys))
        .await
        .unwrap()
        .into_inner()
        .tags;
    assert_eq!(
        keys,
        [pb::ProjectTag {
            key: "shared".into(),
            values: vec!["2".into()]
        }]
    );
    assert_eq!(names(&app, "CLUSTER").await, owned(&[("r2", "")]));
    let count = pb::CountResourcesRequest {
        resource_type: "CLUSTER".into(),
        ..Default::default()
    };
    assert_eq!(
        c.count_resources(authed(&app.token, count))
            .await
            .unwrap()
            .into_inner()
            .total_count,
        1
    );

    // Deleting what does not exist (any more, at all, or under that type) is NOT_FOUND and harmless.
    assert_eq!(code(delete(&app, "CLUSTER", "r1").await), Code::NotFound);
    assert_eq!(code(delete(&app, "CLUSTER", "never").await), Code::NotFound);
    assert_eq!(code(delete(&app, "smn_topic", "r2").await), Code::NotFound);
    assert_eq!(
        app.resource_tags("CLUSTER", "r2").await.unwrap(),
        owned(&[("shared", "2")])
    );

    // The id and the name can be used again, and nothing of the old resource comes back.
    app.tag("CLUSTER", &["r1"], &[("new", "1")]).await;
    assert_eq!(
        app.resource_tags("CLUSTER", "r1").await.unwrap(),
        owned(&[("new", "1")])
    );
    put(&app, "CLUSTER", "r2", "doomed")
        .await
        .expect("the deleted resource's name is free");
}

async fn channel(app: &TestApp) -> Channel {
    Channel::from_shared(format!("http://{}", app.addr))
        .expect("uri")
        .connect()
        .await
        .expect("connects")
}

async fn health_reports_serving_for_the_server_and_the_service(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut health = HealthClient::new(channel(&app).await);
    for service in ["", "tagging.v1.TaggingService"] {
        let resp = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap_or_else(|e| panic!("health check of {service:?}: {e:?}"))
            .into_inner();
        assert_eq!(
            resp.status,
            ServingStatus::Serving as i32,
            "service {service:?}"
        );
    }
    let err = health
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

async fn reflection_lists_the_tagging_service(b: Backend) {
    use tonic_reflection::pb::{v1, v1alpha};
    let app = TestApp::spawn(b).await;

    let mut alpha =
        v1alpha::server_reflection_client::ServerReflectionClient::new(channel(&app).await);
    let req = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut stream = alpha
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .expect("v1alpha")
        .into_inner();
    let resp = stream
        .message()
        .await
        .expect("a response")
        .expect("one message");
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        resp.message_response
    else {
        panic!("expected a service list, got {resp:?}");
    };
    let services: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(
        services.contains(&"tagging.v1.TaggingService"),
        "{services:?}"
    );
    assert!(services.contains(&"grpc.health.v1.Health"), "{services:?}");

    let mut v1 = v1::server_reflection_client::ServerReflectionClient::new(channel(&app).await);
    let req = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1::server_reflection_request::MessageRequest::FileContainingSymbol(
                "tagging.v1.TaggingService".into(),
            ),
        ),
    };
    let mut stream = v1
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .expect("v1")
        .into_inner();
    let resp = stream
        .message()
        .await
        .expect("a response")
        .expect("one message");
    let Some(v1::server_reflection_response::MessageResponse::FileDescriptorResponse(files)) =
        resp.message_response
    else {
        panic!("expected file descriptors, got {resp:?}");
    };
    assert!(!files.file_descriptor_proto.is_empty());
}

async fn graceful_shutdown_returns_cleanly_and_refuses_new_connections(b: Backend) {
    let mut app = TestApp::spawn(b).await;
    // A connection is open and has been used.
    app.tag("CLUSTER", &["c1"], &[("k", "v")]).await;
    let addr = app.addr;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_ok(),
        "accepts before the stop"
    );

    app.stop().await;

    let refused = tokio::net::TcpStream::connect(addr).await;
    assert!(
        refused.is_err(),
        "a new connection after the stop must be refused: {refused:?}"
    );
    let err = app
        .client
        .clone()
        .list_project_tags(authed(&app.token, pb::ListProjectTagsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
}

async fn concurrent_writes_to_overlapping_resources_all_succeed_consistently(b: Backend) {
    const CALLS: usize = 20;
    const RESOURCES: usize = 5;
    // Each resource is touched by 12 calls, each adding its own key, plus the `shared` key: 13 tags,
    // exactly the limit, so a miscounted or lost write fails the test.
    let app = TestApp::spawn_with(b, &["--max-tags-per-resource", "13"]).await;
    let touched = |i: usize| -> Vec<String> {
        // Deliberately not in id order.
        [(i + 2) % RESOURCES, i % RESOURCES, (i + 1) % RESOURCES]
            .iter()
            .map(|r| format!("r{r}"))
            .collect()
    };
    let mut tasks = Vec::new();
    for i in 0..CALLS {
        let mut client = app.client.clone();
        let token = app.token.clone();
        let req = pb::TagResourcesRequest {
            project_id: String::new(),
            resource_type: "smn_application".into(),
            resource_ids: touched(i),
            tags: vec![
                tag("shared", &format!("v{i}")),
                tag(&format!("k{i:02}"), &format!("v{i}")),
            ],
            expected_revision: None,
        };
        tasks.push(tokio::spawn(async move {
            client.tag_resources(authed(&token, req)).await.map(drop)
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        task.await
            .expect("task")
            .unwrap_or_else(|e| panic!("call {i}: {e:?}"));
    }

    for r in 0..RESOURCES {
        let id = format!("r{r}");
        let writers: Vec<usize> = (0..CALLS).filter(|i| touched(*i).contains(&id)).collect();
        assert_eq!(writers.len(), 12);
        let tags: BTreeMap<String, String> = app
            .resource_tags("smn_application", &id)
            .await
            .unwrap()
            .into_iter()
            .collect();
        assert!(tags.len() <= 13, "{id}: over the limit: {tags:?}");
        let expected_keys: BTreeSet<String> = writers
            .iter()
            .map(|i| format!("k{i:02}"))
            .chain(["shared".to_owned()])
            .collect();
        assert_eq!(
            tags.keys().cloned().collect::<BTreeSet<_>>(),
            expected_keys,
            "{id}"
        );
        for i in &writers {
            assert_eq!(tags[&format!("k{i:02}")], format!("v{i}"), "{id}");
        }
        let shared = &tags["shared"];
        assert!(
            writers.iter().any(|i| *shared == format!("v{i}")),
            "{id}: `shared` = {shared} was written by no writer of it"
        );
    }
}

async fn concurrent_writes_never_exceed_the_per_resource_limit(b: Backend) {
    const LIMIT: usize = 5;
    const CALLS: usize = 10;
    let app = TestApp::spawn_with(b, &["--max-tags-per-resource", "5"]).await;
    let mut tasks = Vec::new();
    for i in 0..CALLS {
        let mut client = app.client.clone();
        let token = app.token.clone();
        let req = pb::TagResourcesRequest {
            project_id: String::new(),
            resource_type: "CLUSTER".into(),
            resource_ids: ids(&["hot"]),
            tags: vec![tag(&format!("k{i}"), "v")],
            expected_revision: None,
        };
        tasks.push(tokio::spawn(async move {
            (i, client.tag_resources(authed(&token, req)).await.map(drop))
        }));
    }
    let mut accepted = BTreeSet::new();
    let mut refused = 0;
    for task in tasks {
        let (i, result) = task.await.expect("task");
        match result {
            Ok(()) => {
                accepted.insert(format!("k{i}"));
            }
            Err(e) => {
                assert_invalid(&e, "tags");
                assert!(e.message().contains("hot"), "{}", e.message());
                refused += 1;
            }
        }
    }
    let stored: BTreeSet<String> = app
        .resource_tags("CLUSTER", "hot")
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert!(stored.len() <= LIMIT, "the limit was exceeded: {stored:?}");
    assert_eq!(
        stored, accepted,
        "exactly the accepted calls' keys are stored"
    );
    // Each refusal saw the resource full, so the resource ends exactly full.
    assert_eq!(accepted.len(), LIMIT, "accepted {accepted:?}");
    assert_eq!(refused, CALLS - LIMIT);
}

/// A write refused inside its transaction (here by the tag limit, after its rows were locked and
/// written) must not leave the transaction open on a pooled connection: its row locks would stall
/// every later write to those resources until that connection happened to be used again.
#[tokio::test]
async fn a_write_refused_mid_transaction_leaves_no_transaction_open_on_postgres() {
    let app = TestApp::spawn_with(Backend::Postgres, &["--max-tags-per-resource", "1"]).await;
    app.tag("CLUSTER", &["hot"], &[("k1", "v")]).await;
    let over = pb::TagResourcesRequest {
        project_id: String::new(),
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&["hot"]),
        tags: vec![tag("k2", "v")],
        expected_revision: None,
    };
    let refused = app
        .client
        .clone()
        .tag_resources(authed(&app.token, over))
        .await
        .expect_err("over the limit");
    assert_invalid(&refused, "tags");

    let mut conn = sqlx::PgConnection::connect(&app.database_url)
        .await
        .expect("the test's PostgreSQL connection");
    let open: Vec<String> = sqlx::query_scalar(
        "SELECT state FROM pg_stat_activity WHERE datname = current_database() \
         AND application_name = 'tagging-service' AND state LIKE 'idle in transaction%'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("pg_stat_activity");
    assert!(open.is_empty(), "sessions left in a transaction: {open:?}");
    // And the resource is free: a write from another connection does not wait for a lock.
    sqlx::query("SET lock_timeout = '1s'")
        .execute(&mut conn)
        .await
        .expect("set");
    sqlx::query("UPDATE resources SET name = 'free' WHERE resource_id = 'hot'")
        .execute(&mut conn)
        .await
        .expect("the refused write's row lock is gone");
}

both_backends!(
    put_resource_registers_a_resource_with_an_optional_name,
    names_are_unique_within_a_project_and_type_only,
    putting_again_renames_keeps_tags_and_an_empty_name_clears_it,
    deleting_a_resource_removes_it_and_its_tags,
    health_reports_serving_for_the_server_and_the_service,
    reflection_lists_the_tagging_service,
    graceful_shutdown_returns_cleanly_and_refuses_new_connections,
    concurrent_writes_to_overlapping_resources_all_succeed_consistently,
    concurrent_writes_never_exceed_the_per_resource_limit,
);
