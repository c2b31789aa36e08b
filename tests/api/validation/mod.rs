//! Request validation: every rule refuses bad input with INVALID_ARGUMENT whose message and
//! google.rpc.BadRequest details name the field at fault, and a refused request changes nothing.

use tonic::{Code, Status};

use crate::helpers::{TestApp, authed, ids, pb, tag};

mod reporting;
mod requests;
mod resource_filters;
mod tags;

fn tag_request(resource_ids: &[&str], tags: &[(&str, &str)]) -> pb::TagResourcesRequest {
    pb::TagResourcesRequest {
        project_id: String::new(),
        resource_type: "CLUSTER".into(),
        resource_ids: ids(resource_ids),
        tags: tags.iter().map(|(k, v)| tag(k, v)).collect(),
        expected_revision: None,
    }
}

fn filter(key: &str, values: &[&str]) -> pb::TagFilter {
    pb::TagFilter {
        key: key.into(),
        values: ids(values),
    }
}

async fn tag_with(app: &TestApp, token: &str, req: pb::TagResourcesRequest) -> Result<(), Status> {
    app.client
        .clone()
        .tag_resources(authed(token, req))
        .await
        .map(|_| ())
}

/// TagResources with the app's token; answers the refusal.
async fn refused_tag(app: &TestApp, req: pb::TagResourcesRequest) -> Status {
    let shown = format!("{req:?}");
    match tag_with(app, &app.token, req).await {
        Ok(()) => panic!("should be refused: {shown}"),
        Err(e) => e,
    }
}

async fn untag(app: &TestApp, req: pb::UntagResourcesRequest) -> Result<(), Status> {
    app.client
        .clone()
        .untag_resources(authed(&app.token, req))
        .await
        .map(|_| ())
}

async fn list_tag_resources(
    app: &TestApp,
    req: pb::ListTagResourcesRequest,
) -> Result<pb::ListTagResourcesResponse, Status> {
    app.client
        .clone()
        .list_tag_resources(authed(&app.token, req))
        .await
        .map(tonic::Response::into_inner)
}

async fn list_resources(
    app: &TestApp,
    req: pb::ListResourcesRequest,
) -> Result<pb::ListResourcesResponse, Status> {
    app.client
        .clone()
        .list_resources(authed(&app.token, req))
        .await
        .map(tonic::Response::into_inner)
}

async fn put_resource(app: &TestApp, req: pb::PutResourceRequest) -> Result<pb::Resource, Status> {
    app.client
        .clone()
        .put_resource(authed(&app.token, req))
        .await
        .map(|r| r.into_inner().resource.expect("a resource"))
}

fn put_req(id: &str, name: &str) -> pb::PutResourceRequest {
    pb::PutResourceRequest {
        resource_type: "smn_topic".into(),
        resource_id: id.into(),
        name: name.into(),
        ..Default::default()
    }
}

async fn assert_not_found(app: &TestApp, resource_type: &str, id: &str) {
    let err = app
        .resource_tags(resource_type, id)
        .await
        .expect_err("the resource should not exist");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
}
