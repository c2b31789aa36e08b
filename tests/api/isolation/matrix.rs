//! The rows of the isolation matrix: every RPC and route, aimed at B by A's token, and every write
//! by B's own read-only token.

use reqwest::Method;
use serde_json::{Value, json};

use super::*;
use crate::helpers::{ids, pb, tag};

pub(super) fn grpc(what: &str, expect: Expect, rpc: Rpc) -> Row {
    Row {
        what: format!("{} {what}", rpc.name()),
        call: Call::Grpc(rpc),
        expect,
    }
}

pub(super) fn rest(what: &str, expect: Expect, rest: Rest) -> Row {
    Row {
        what: format!("{} {} {what}", rest.method, rest.route),
        call: Call::Rest(rest),
        expect,
    }
}

pub(super) const ACK: &str = "/tags";
pub(super) const SMN_TAGS: &str = "/v2/{project_id}/{resource_type}/{resource_id}/tags";
pub(super) const SMN_ACTION: &str = "/v2/{project_id}/{resource_type}/{resource_id}/tags/action";
pub(super) const SMN_KEY: &str = "/v2/{project_id}/{resource_type}/{resource_id}/tags/{key}";
pub(super) const SMN_PROJECT_TAGS: &str = "/v2/{project_id}/{resource_type}/tags";
pub(super) const SMN_INSTANCES: &str = "/v2/{project_id}/{resource_type}/resource_instances/action";
pub(super) const SMN_COUNT: &str = "/v2/{project_id}/{resource_type}/resource_instances/count";
pub(super) const SMN_RESOURCE: &str = "/v2/{project_id}/{resource_type}/{resource_id}";
pub(super) const SMN_CHANGES: &str = "/v2/{project_id}/tag_changes";
pub(super) const SMN_WATCH: &str = "/v2/{project_id}/tag_changes/watch";

/// `rest` with its path's `{key}` filled in.
pub(super) fn with_key(mut rest: Rest, key: &str) -> Rest {
    rest.path = rest.path.replace("{key}", key);
    rest
}

pub(super) fn ids_json(list: &[&str]) -> String {
    serde_json::to_string(list).expect("JSON")
}

/// Every RPC and route, with A's token aimed at B, in an order where reads come before A's own
/// writes (which register B's ids in A's project) could change what A reads.
pub(super) fn matrix(t: &PageTokensOfB) -> Vec<Row> {
    use Expect::*;
    let c1 = B_CLUSTERS[0];
    let ltr = |project: &str, ids_: &[&str], tags: Vec<pb::Tag>, token: &str| {
        Rpc::ListTagResources(pb::ListTagResourcesRequest {
            project_id: project.into(),
            resource_type: "CLUSTER".into(),
            resource_ids: ids(ids_),
            tags,
            page_size: 1,
            next_token: token.into(),
            consistency_token: String::new(),
        })
    };
    let lrt = |project: &str, ty: &str, id: &str, by_name: bool| {
        Rpc::ListResourceTags(pb::ListResourceTagsRequest {
            project_id: project.into(),
            resource_type: ty.into(),
            resource_id: id.into(),
            resource_id_type: (if by_name {
                pb::ResourceIdType::Name
            } else {
                pb::ResourceIdType::Id
            }) as i32,
            consistency_token: String::new(),
        })
    };
    let lpt = |project: &str, ty: &str, token: &str| {
        Rpc::ListProjectTags(pb::ListProjectTagsRequest {
            project_id: project.into(),
            resource_type: ty.into(),
            page_size: 1,
            next_token: token.into(),
            consistency_token: String::new(),
        })
    };
    let lr = |project: &str, ty: &str, f: pb::ListResourcesRequest| {
        Rpc::ListResources(pb::ListResourcesRequest {
            project_id: project.into(),
            resource_type: ty.into(),
            ..f
        })
    };
    let cr = |project: &str, ty: &str, f: pb::CountResourcesRequest| {
        Rpc::CountResources(pb::CountResourcesRequest {
            project_id: project.into(),
            resource_type: ty.into(),
            ..f
        })
    };
    let tagr = |project: &str, ids_: &[&str]| {
        Rpc::TagResources(pb::TagResourcesRequest {
            project_id: project.into(),
            resource_type: "CLUSTER".into(),
            resource_ids: ids(ids_),
            tags: vec![tag(B_KEY, "aaa-overwrite")],
            expected_revision: None,
        })
    };
    let untag = |project: &str, keys: &[&str]| {
        Rpc::UntagResources(pb::UntagResourcesRequest {
            project_id: project.into(),
            resource_type: "CLUSTER".into(),
            resource_ids: ids(&B_CLUSTERS),
            tag_keys: ids(keys),
            all: keys.is_empty(),
            expected_revision: None,
        })
    };
    let put = |project: &str, ty: &str, id: &str, name: &str| {
        Rpc::PutResource(pb::PutResourceRequest {
            project_id: project.into(),
            resource_type: ty.into(),
            resource_id: id.into(),
            name: name.into(),
            expected_revision: None,
        })
    };
    let delete = |project: &str, ty: &str, id: &str| {
        Rpc::DeleteResource(pb::DeleteResourceRequest {
            project_id: project.into(),
            resource_type: ty.into(),
            resource_id: id.into(),
            expected_revision: None,
        })
    };
    let v2 = |method: Method, route: &'static str, project: &str, ty: &str, id: &str| {
        let path = route
            .replace("{project_id}", project)
            .replace("{resource_type}", ty)
            .replace("{resource_id}", id);
        Rest::new(method, route, path)
    };
    let changes = |project: &str, f: pb::ListTagChangesRequest| {
        Rpc::ListTagChanges(pb::ListTagChangesRequest {
            project_id: project.into(),
            ..f
        })
    };
    let watch = |project: &str, f: pb::WatchTagChangesRequest| {
        Rpc::WatchTagChanges(pb::WatchTagChangesRequest {
            project_id: project.into(),
            after_revision: Some(0),
            ..f
        })
    };
    let instances = |project: &str, ty: &str, body: Value| {
        v2(Method::POST, SMN_INSTANCES, project, ty, "").body(body)
    };

    vec![
        // Reads over gRPC.
        grpc("naming B", Denied, ltr(B, &B_CLUSTERS, vec![], "")),
        grpc("naming B with B's token", Denied, ltr(B, &B_CLUSTERS, vec![], &t.tag_rows)),
        grpc("B's ids", Empty, ltr("", &B_CLUSTERS, vec![], "")),
        grpc("B's tag", Empty, ltr("", &[], vec![tag(B_KEY, B_VALUE)], "")),
        grpc("B's key, any value", Empty, ltr("", &[], vec![tag(B_KEY, "")], "")),
        grpc("B's page token", ForeignPageToken, ltr("", &B_CLUSTERS, vec![], &t.tag_rows)),
        grpc("naming B", Denied, lrt(B, "CLUSTER", c1, false)),
        grpc("naming B by name", Denied, lrt(B, "smn_topic", B_TOPIC_NAME, true)),
        grpc("B's id", NotFound, lrt("", "CLUSTER", c1, false)),
        grpc("B's topic id", NotFound, lrt("", "smn_topic", B_TOPIC, false)),
        grpc("B's name", NotFound, lrt("", "CLUSTER", B_CLUSTER_NAME, true)),
        grpc("B's topic name", NotFound, lrt("", "smn_topic", B_TOPIC_NAME, true)),
        grpc("naming B", Denied, lpt(B, "", "")),
        grpc("naming B, one type", Denied, lpt(B, "smn_topic", "")),
        grpc("naming B with B's token", Denied, lpt(B, "", &t.project_tags)),
        grpc("B's page token", ForeignPageToken, lpt("", "", &t.project_tags)),
        grpc("A's own", Own, lpt("", "", "")),
        grpc("naming B", Denied, lr(B, "CLUSTER", Default::default())),
        grpc("naming B, by B's name", Denied, lr(B, "smn_topic", pb::ListResourcesRequest {
            matches: name_match(B_TOPIC_NAME),
            ..Default::default()
        })),
        grpc("B's key", Empty, lr("", "CLUSTER", pb::ListResourcesRequest {
            tags: filter(B_KEY),
            ..Default::default()
        })),
        grpc("B's keys, any", Empty, lr("", "CLUSTER", pb::ListResourcesRequest {
            tags_any: [filter(B_KEY), filter(B_KEY2)].concat(),
            ..Default::default()
        })),
        grpc("B's name", Empty, lr("", "CLUSTER", pb::ListResourcesRequest {
            matches: name_match(B_CLUSTER_NAME),
            ..Default::default()
        })),
        grpc("B's topic name", Empty, lr("", "smn_topic", pb::ListResourcesRequest {
            matches: name_match(B_TOPIC_NAME),
            ..Default::default()
        })),
        grpc("not B's key", Own, lr("", "CLUSTER", pb::ListResourcesRequest {
            not_tags_any: filter(B_KEY),
            ..Default::default()
        })),
        grpc("B's page token", ForeignPageToken, lr("", "CLUSTER", pb::ListResourcesRequest {
            page_size: 1,
            next_token: t.resources.clone(),
            ..Default::default()
        })),
        grpc("naming B", Denied, cr(B, "CLUSTER", Default::default())),
        grpc("B's key", Empty, cr("", "CLUSTER", pb::CountResourcesRequest {
            tags: filter(B_KEY),
            ..Default::default()
        })),
        grpc("B's name", Empty, cr("", "smn_topic", pb::CountResourcesRequest {
            matches: name_match(B_TOPIC_NAME),
            ..Default::default()
        })),
        grpc("untagged, not B's", Empty, cr("", "smn_topic", pb::CountResourcesRequest {
            without_any_tag: true,
            ..Default::default()
        })),
        grpc("A's own", Count(1), cr("", "CLUSTER", Default::default())),
        grpc("naming B", Denied, changes(B, Default::default())),
        grpc("A's own", Own, changes("", Default::default())),
        grpc("B's ids and keys", Own, changes("", pb::ListTagChangesRequest {
            resource_ids: ids(&B_CLUSTERS),
            keys: ids(&[B_KEY, B_KEY2]),
            ..Default::default()
        })),
        grpc("B's page token", ForeignPageToken, changes("", pb::ListTagChangesRequest {
            page_size: 1,
            next_token: t.changes.clone(),
            ..Default::default()
        })),
        grpc("naming B", Denied, watch(B, Default::default())),
        grpc("A's own", Own, watch("", Default::default())),
        // Reads over REST.
        rest("B's ids", Empty, Rest::new(Method::GET, ACK, ACK.into())
            .query("resource_type", "CLUSTER")
            .query("resource_ids", ids_json(&B_CLUSTERS))),
        rest("X-Project-Id B", Denied, Rest::new(Method::GET, ACK, ACK.into())
            .header("x-project-id", B)
            .query("resource_type", "CLUSTER")
            .query("resource_ids", ids_json(&B_CLUSTERS))),
        rest("B's tag", Empty, Rest::new(Method::GET, ACK, ACK.into())
            .query("resource_type", "CLUSTER")
            .query("tags", json!([{"key": B_KEY, "value": B_VALUE}]).to_string())),
        rest("B's page token", ForeignPageToken, Rest::new(Method::GET, ACK, ACK.into())
            .query("resource_type", "CLUSTER")
            .query("resource_ids", ids_json(&B_CLUSTERS))
            .query("page_size", "1")
            .query("next_token", t.tag_rows.clone())),
        rest("path B", Denied, v2(Method::GET, SMN_TAGS, B, "CLUSTER", c1)),
        rest("path B by name", Denied, v2(Method::GET, SMN_TAGS, B, "smn_topic", B_TOPIC_NAME)
            .header("x-smn-resourceid-type", "name")),
        rest("path and X-Project-Id B", Denied, v2(Method::GET, SMN_TAGS, B, "CLUSTER", c1)
            .header("x-project-id", B)),
        rest("X-Project-Id B", ProjectMismatch, v2(Method::GET, SMN_TAGS, A, "CLUSTER", c1)
            .header("x-project-id", B)),
        rest("path B, X-Project-Id A", ProjectMismatch, v2(Method::GET, SMN_TAGS, B, "CLUSTER", c1)
            .header("x-project-id", A)),
        rest("B's id", NotFound, v2(Method::GET, SMN_TAGS, A, "CLUSTER", c1)),
        rest("B's name", NotFound, v2(Method::GET, SMN_TAGS, A, "smn_topic", B_TOPIC_NAME)
            .header("x-smn-resourceid-type", "name")),
        rest("path B", Denied, v2(Method::GET, SMN_PROJECT_TAGS, B, "CLUSTER", "")),
        rest("X-Project-Id B", ProjectMismatch, v2(Method::GET, SMN_PROJECT_TAGS, A, "CLUSTER", "")
            .header("x-project-id", B)),
        rest("A's own", Own, v2(Method::GET, SMN_PROJECT_TAGS, A, "CLUSTER", "")),
        rest("A's own topics", Empty, v2(Method::GET, SMN_PROJECT_TAGS, A, "smn_topic", "")),
        rest("path B filter", Denied, instances(B, "CLUSTER", json!({"action": "filter"}))),
        rest("path B count", Denied, instances(B, "CLUSTER", json!({"action": "count"}))),
        rest("path B by name", Denied, instances(B, "smn_topic", json!({
            "action": "filter", "matches": [{"key": "resource_name", "value": B_TOPIC_NAME}]
        }))),
        rest("X-Project-Id B", ProjectMismatch, instances(A, "CLUSTER", json!({"action": "count"}))
            .header("x-project-id", B)),
        rest("B's key", Empty, instances(A, "CLUSTER", json!({
            "action": "filter", "tags": [{"key": B_KEY, "values": [B_VALUE]}], "limit": "10", "offset": "0"
        }))),
        rest("B's name", Empty, instances(A, "smn_topic", json!({
            "action": "filter", "matches": [{"key": "resource_name", "value": B_TOPIC_NAME}]
        }))),
        rest("count B's name", Empty, instances(A, "smn_topic", json!({
            "action": "count", "matches": [{"key": "resource_name", "value": B_TOPIC_NAME}]
        }))),
        rest("count B's key", Empty, instances(A, "CLUSTER", json!({
            "action": "count", "tags": [{"key": B_KEY, "values": []}]
        }))),
        rest("A's own", Count(1), instances(A, "CLUSTER", json!({"action": "count"}))),
        rest("path B", Denied, v2(Method::POST, SMN_COUNT, B, "CLUSTER", "").body(json!({}))),
        rest("X-Project-Id B", ProjectMismatch, v2(Method::POST, SMN_COUNT, A, "CLUSTER", "")
            .header("x-project-id", B)
            .body(json!({}))),
        rest("B's key", Empty, v2(Method::POST, SMN_COUNT, A, "CLUSTER", "")
            .body(json!({"tags": [{"key": B_KEY, "values": []}]}))),
        rest("A's own", Count(1), v2(Method::POST, SMN_COUNT, A, "CLUSTER", "").body(json!({}))),
        rest("A's own, skipping past them", Own, instances(A, "CLUSTER", json!({
            "action": "filter", "offset": "1"
        }))
        .header("x-project-id", A)),
        rest("path B", Denied, v2(Method::GET, SMN_CHANGES, B, "", "")),
        rest("X-Project-Id B", ProjectMismatch, v2(Method::GET, SMN_CHANGES, A, "", "")
            .header("x-project-id", B)),
        rest("A's own", Own, v2(Method::GET, SMN_CHANGES, A, "", "")),
        rest("B's page token", ForeignPageToken, v2(Method::GET, SMN_CHANGES, A, "", "")
            .query("limit", "1")
            .query("marker", t.changes.clone())),
        rest("path B", Denied, v2(Method::GET, SMN_WATCH, B, "", "")),
        rest("X-Project-Id B", ProjectMismatch, v2(Method::GET, SMN_WATCH, A, "", "")
            .header("x-project-id", B)),
        rest("", Public, Rest::new(Method::GET, "/openapi.json", "/openapi.json".into())),
        // Writes aimed at B: refused.
        grpc("naming B", Denied, tagr(B, &B_CLUSTERS)),
        grpc("naming B, all", Denied, untag(B, &[])),
        grpc("naming B, B's keys", Denied, untag(B, &[B_KEY, B_KEY2])),
        grpc("naming B, rename", Denied, put(B, "CLUSTER", c1, "aaa-rename")),
        grpc("naming B, unname", Denied, put(B, "smn_topic", B_TOPIC, "")),
        grpc("naming B", Denied, delete(B, "CLUSTER", c1)),
        grpc("naming B, topic", Denied, delete(B, "smn_topic", B_TOPIC)),
        rest("X-Project-Id B", Denied, Rest::new(Method::PUT, ACK, ACK.into())
            .header("x-project-id", B)
            .body(json!({"resource_type": "CLUSTER", "resource_ids": B_CLUSTERS, "tags": [{"key": B_KEY, "value": "x"}]}))),
        rest("X-Project-Id B, all", Denied, Rest::new(Method::DELETE, ACK, ACK.into())
            .header("x-project-id", B)
            .query("resource_type", "CLUSTER")
            .query("resource_ids", ids_json(&B_CLUSTERS))
            .query("all", "true")),
        rest("path B create", Denied, v2(Method::POST, SMN_ACTION, B, "CLUSTER", c1)
            .body(json!({"action": "create", "tags": [{"key": B_KEY, "value": "x"}]}))),
        rest("path B delete", Denied, v2(Method::POST, SMN_ACTION, B, "CLUSTER", c1)
            .body(json!({"action": "delete", "tags": [{"key": B_KEY}]}))),
        rest("path B", Denied, v2(Method::POST, SMN_TAGS, B, "CLUSTER", c1)
            .body(json!({"tag": {"key": B_KEY, "value": "x"}}))),
        rest("X-Project-Id B", ProjectMismatch, v2(Method::POST, SMN_TAGS, A, "CLUSTER", c1)
            .header("x-project-id", B)
            .body(json!({"tag": {"key": B_KEY, "value": "x"}}))),
        rest("path B", Denied, with_key(v2(Method::DELETE, SMN_KEY, B, "CLUSTER", c1), B_KEY)),
        rest("path B, key `action`", Denied, with_key(v2(Method::DELETE, SMN_KEY, B, "CLUSTER", c1), "action")),
        rest("X-Project-Id B", ProjectMismatch, with_key(v2(Method::DELETE, SMN_KEY, A, "CLUSTER", c1), B_KEY)
            .header("x-project-id", B)),
        rest("X-Project-Id B delete", ProjectMismatch, v2(Method::POST, SMN_ACTION, A, "CLUSTER", c1)
            .header("x-project-id", B)
            .body(json!({"action": "delete", "tags": [{"key": B_KEY}]}))),
        // Writes to B's ids in A's own project: they act on A's rows only.
        grpc("B's ids, all", Written, untag("", &[])),
        grpc("B's ids, B's keys", Written, untag("", &[B_KEY, B_KEY2])),
        grpc("B's id", NotFound, delete("", "CLUSTER", c1)),
        rest("B's id", NotFound, v2(Method::DELETE, SMN_RESOURCE, A, "CLUSTER", c1)),
        grpc("B's topic", NotFound, delete("", "smn_topic", B_TOPIC)),
        rest("B's ids, all", Empty, Rest::new(Method::DELETE, ACK, ACK.into())
            .query("resource_type", "CLUSTER")
            .query("resource_ids", ids_json(&B_CLUSTERS))
            .query("all", "true")),
        rest("B's id, B's key", Empty, v2(Method::POST, SMN_ACTION, A, "CLUSTER", c1)
            .body(json!({"action": "delete", "tags": [{"key": B_KEY}]}))),
        rest("B's id, B's key", Empty, with_key(v2(Method::DELETE, SMN_KEY, A, "CLUSTER", c1), B_KEY)),
        grpc("B's ids", Written, tagr("", &B_CLUSTERS)),
        grpc("B's id and name", Own, put("", "smn_topic", B_TOPIC, B_TOPIC_NAME)),
        rest("path B", Denied, v2(Method::PUT, SMN_RESOURCE, B, "smn_topic", B_TOPIC)
            .body(json!({"name": "aaa-renamed"}))),
        rest("X-Project-Id B", ProjectMismatch, v2(Method::PUT, SMN_RESOURCE, A, "smn_topic", B_TOPIC)
            .header("x-project-id", B)
            .body(json!({"name": "aaa-renamed"}))),
        rest("B's id and name", Own, v2(Method::PUT, SMN_RESOURCE, A, "smn_topic", B_TOPIC)
            .body(json!({"name": B_TOPIC_NAME}))),
        rest("path B", Denied, v2(Method::DELETE, SMN_RESOURCE, B, "CLUSTER", c1)),
        rest("X-Project-Id B", ProjectMismatch, v2(Method::DELETE, SMN_RESOURCE, A, "CLUSTER", c1)
            .header("x-project-id", B)),
        rest("B's ids", Empty, Rest::new(Method::PUT, ACK, ACK.into())
            .body(json!({"resource_type": "CLUSTER", "resource_ids": B_CLUSTERS, "tags": [{"key": B_KEY2, "value": "aaa"}]}))),
        rest("B's id", Empty, v2(Method::POST, SMN_ACTION, A, "CLUSTER", c1)
            .body(json!({"action": "create", "tags": [{"key": "aaa-k2", "value": "aaa"}]}))),
        rest("B's id", Empty, v2(Method::POST, SMN_TAGS, A, "CLUSTER", B_CLUSTERS[1])
            .body(json!({"tag": {"key": "aaa-k3", "value": "aaa"}}))),
        // Last, so every call above is in it.
        rest("", Public, Rest::new(Method::GET, "/metrics", "/metrics".into())),
    ]
}

/// Every write, with B's own read-only token on B's own data.
pub(super) fn read_only_matrix() -> Vec<Row> {
    use Expect::Denied;
    let c1 = B_CLUSTERS[0];
    let v2 = |method: Method, route: &'static str, ty: &str, id: &str| {
        let path = route
            .replace("{project_id}", B)
            .replace("{resource_type}", ty)
            .replace("{resource_id}", id);
        Rest::new(method, route, path)
    };
    vec![
        grpc("", Denied, Rpc::TagResources(pb::TagResourcesRequest {
            project_id: String::new(),
            resource_type: "CLUSTER".into(),
            resource_ids: ids(&[c1, "bbb-new"]),
            tags: vec![tag(B_KEY, "changed")], expected_revision: None, })),
        grpc("all", Denied, Rpc::UntagResources(pb::UntagResourcesRequest {
            project_id: B.into(),
            resource_type: "CLUSTER".into(),
            resource_ids: ids(&B_CLUSTERS),
            tag_keys: Vec::new(),
            all: true, expected_revision: None, })),
        grpc("keys", Denied, Rpc::UntagResources(pb::UntagResourcesRequest {
            project_id: String::new(),
            resource_type: "CLUSTER".into(),
            resource_ids: ids(&B_CLUSTERS),
            tag_keys: ids(&[B_KEY]),
            all: false, expected_revision: None, })),
        grpc("rename", Denied, Rpc::PutResource(pb::PutResourceRequest {
            project_id: String::new(),
            resource_type: "smn_topic".into(),
            resource_id: B_TOPIC.into(),
            name: "renamed".into(), expected_revision: None, })),
        grpc("new", Denied, Rpc::PutResource(pb::PutResourceRequest {
            project_id: B.into(),
            resource_type: "CLUSTER".into(),
            resource_id: "bbb-new".into(),
            name: String::new(), expected_revision: None, })),
        grpc("", Denied, Rpc::DeleteResource(pb::DeleteResourceRequest {
            project_id: String::new(),
            resource_type: "CLUSTER".into(),
            resource_id: c1.into(), expected_revision: None, })),
        rest("", Denied, Rest::new(Method::PUT, ACK, ACK.into())
            .body(json!({"resource_type": "CLUSTER", "resource_ids": [c1], "tags": [{"key": B_KEY, "value": "x"}]}))),
        rest("", Denied, Rest::new(Method::DELETE, ACK, ACK.into())
            .header("x-project-id", B)
            .query("resource_type", "CLUSTER")
            .query("resource_ids", ids_json(&B_CLUSTERS))
            .query("tag_keys", ids_json(&[B_KEY]))),
        rest("create", Denied, v2(Method::POST, SMN_ACTION, "CLUSTER", c1)
            .body(json!({"action": "create", "tags": [{"key": "new", "value": "x"}]}))),
        rest("delete", Denied, v2(Method::POST, SMN_ACTION, "CLUSTER", c1)
            .body(json!({"action": "delete", "tags": [{"key": B_KEY}]}))),
        rest("", Denied, v2(Method::POST, SMN_TAGS, "CLUSTER", c1)
            .body(json!({"tag": {"key": "new", "value": "x"}}))),
        rest("", Denied, with_key(v2(Method::DELETE, SMN_KEY, "CLUSTER", c1), B_KEY)),
        rest("rename", Denied, v2(Method::PUT, SMN_RESOURCE, "smn_topic", B_TOPIC)
            .body(json!({"name": "renamed"}))),
        rest("", Denied, v2(Method::DELETE, SMN_RESOURCE, "CLUSTER", c1)),
    ]
}
