//! ListTagChanges: the history of a sequence of writes, field by field, against the revisions the
//! writes answered; its filters and pages; who sees which changes; bad input; and the REST form.

use serde_json::{Value, json};
use tonic::{Code, Request, Status};

use crate::helpers::{
    Backend, PROJECT, TestApp, answer, assert_error, assert_invalid, authed, ids, keys, pb, tag,
    tag_request,
};

const CLUSTER: &str = "ALIYUN::CS::CLUSTER";

/// `msg` as `token`, with `x-request-id: request_id`.
pub(super) fn call<T>(token: &str, request_id: &str, msg: T) -> Request<T> {
    let mut r = authed(token, msg);
    r.metadata_mut().insert(
        "x-request-id",
        request_id.parse().expect("ASCII request id"),
    );
    r
}

/// The id of a token `tgs_<id>_<secret>`: what the log records as its credential.
pub(super) fn credential_of(token: &str) -> String {
    let rest = token
        .strip_prefix("tgs_")
        .expect("a token starts with tgs_");
    rest.split('_').next().expect("an id").to_owned()
}

/// A change without its time, which no test can predict: compared whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Seen {
    pub revision: i64,
    pub resource_type: String,
    pub resource_id: String,
    pub kind: pb::ChangeKind,
    pub key: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub credential_id: String,
    pub request_id: String,
}

impl From<&pb::TagChange> for Seen {
    fn from(c: &pb::TagChange) -> Self {
        Self {
            revision: c.revision,
            resource_type: c.resource_type.clone(),
            resource_id: c.resource_id.clone(),
            kind: c.kind(),
            key: c.key.clone(),
            old_value: c.old_value.clone(),
            new_value: c.new_value.clone(),
            credential_id: c.credential_id.clone(),
            request_id: c.request_id.clone(),
        }
    }
}

/// Who wrote: a token and the request id its call sent.
#[derive(Clone, Copy)]
struct By<'a> {
    token: &'a str,
    request_id: &'a str,
}

/// The change `kind` of CLUSTER `id` (`key` empty for the resource's own) that `by` made at
/// `revision`.
fn cluster(
    revision: i64,
    kind: pb::ChangeKind,
    id: &str,
    key: &str,
    old_value: Option<&str>,
    new_value: Option<&str>,
    by: By<'_>,
) -> Seen {
    Seen {
        revision,
        resource_type: CLUSTER.into(),
        resource_id: id.into(),
        kind,
        key: key.into(),
        old_value: old_value.map(Into::into),
        new_value: new_value.map(Into::into),
        credential_id: credential_of(by.token),
        request_id: by.request_id.into(),
    }
}

/// The sequence's writes and what they must have recorded.
pub(super) struct History {
    /// The second writer's token, of the same project as `app.token`.
    pub other: String,
    /// Every change, in the log's order.
    pub expected: Vec<Seen>,
    /// The revisions the six changing writes took, in order.
    pub revisions: Vec<i64>,
    /// The project's revision after the sequence.
    pub last: i64,
}

/// Writes the sequence through gRPC, alternating two tokens of [`PROJECT`], each call with a
/// request id of its own; checks each write's answer and answers what the log must hold.
pub(super) async fn write_sequence(app: &TestApp) -> History {
    use pb::ChangeKind::{ResourceCreated, ResourceDeleted, ResourceRenamed, TagRemoved, TagSet};
    let other = app.token_for(PROJECT, false, false).await;
    let a = |request_id| By {
        token: &app.token,
        request_id,
    };
    let b = |request_id| By {
        token: &other,
        request_id,
    };
    let mut client = app.client.clone();
    let mut expected = Vec::new();

    let req = tag_request(&["c1", "c2"], &[("env", "dev"), ("team", "a")]);
    let r1 = client
        .tag_resources(call(&app.token, "hist-1", req))
        .await
        .expect("tag c1 and c2")
        .into_inner()
        .revision;
    for id in ["c1", "c2"] {
        let by = a("hist-1");
        expected.push(cluster(r1, ResourceCreated, id, "", None, None, by));
        expected.push(cluster(r1, TagSet, id, "env", None, Some("dev"), by));
        expected.push(cluster(r1, TagSet, id, "team", None, Some("a"), by));
    }

    let req = tag_request(&["c1"], &[("env", "prod")]);
    let r2 = client
        .tag_resources(call(&other, "hist-2", req))
        .await
        .expect("change c1's env")
        .into_inner()
        .revision;
    assert_eq!(r2, r1 + 1, "the project's next revision");
    expected.push(cluster(
        r2,
        TagSet,
        "c1",
        "env",
        Some("dev"),
        Some("prod"),
        b("hist-2"),
    ));

    // The same value again changes nothing: it takes no revision and records nothing.
    let req = tag_request(&["c1"], &[("env", "prod")]);
    let same = client
        .tag_resources(call(&app.token, "hist-noop", req))
        .await
        .expect("a no-op write")
        .into_inner()
        .revision;
    assert_eq!(
        same, r2,
        "a write that changes nothing answers the current revision"
    );

    let untag = pb::UntagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&["c2"]),
        tag_keys: ids(&["team"]),
        ..Default::default()
    };
    let r3 = client
        .untag_resources(call(&other, "hist-3", untag))
        .await
        .expect("untag c2")
        .into_inner()
        .revision;
    assert_eq!(r3, r2 + 1);
    expected.push(cluster(
        r3,
        TagRemoved,
        "c2",
        "team",
        Some("a"),
        None,
        b("hist-3"),
    ));

    let r4 = put(app, &app.token, "hist-4", "alpha").await;
    assert_eq!(r4, r3 + 1);
    expected.push(cluster(
        r4,
        ResourceCreated,
        "c3",
        "",
        None,
        Some("alpha"),
        a("hist-4"),
    ));
    let r5 = put(app, &other, "hist-5", "beta").await;
    assert_eq!(r5, r4 + 1);
    expected.push(cluster(
        r5,
        ResourceRenamed,
        "c3",
        "",
        Some("alpha"),
        Some("beta"),
        b("hist-5"),
    ));

    let delete = pb::DeleteResourceRequest {
        resource_type: "CLUSTER".into(),
        resource_id: "c1".into(),
        ..Default::default()
    };
    let r6 = client
        .delete_resource(call(&app.token, "hist-6", delete))
        .await
        .expect("delete c1")
        .into_inner()
        .revision;
    assert_eq!(r6, r5 + 1);
    let by = a("hist-6");
    expected.push(cluster(r6, ResourceDeleted, "c1", "", None, None, by));
    expected.push(cluster(r6, TagRemoved, "c1", "env", Some("prod"), None, by));
    expected.push(cluster(r6, TagRemoved, "c1", "team", Some("a"), None, by));

    // A refused conditional write changes nothing, so it records nothing.
    let mut refused = tag_request(&["c2"], &[("env", "refused")]);
    refused.expected_revision = Some(r6 + 100);
    let status = client
        .tag_resources(call(&other, "hist-refused", refused))
        .await
        .expect_err("the revision does not match");
    assert_eq!(status.code(), Code::Aborted, "{status:?}");

    History {
        other,
        expected,
        revisions: vec![r1, r2, r3, r4, r5, r6],
        last: r6,
    }
}

/// PutResource of CLUSTER `c3` named `name`: the revision it took.
async fn put(app: &TestApp, token: &str, request_id: &str, name: &str) -> i64 {
    let req = pb::PutResourceRequest {
        resource_type: "CLUSTER".into(),
        resource_id: "c3".into(),
        name: name.into(),
        ..Default::default()
    };
    app.client
        .clone()
        .put_resource(call(token, request_id, req))
        .await
        .expect("put c3")
        .into_inner()
        .revision
}

/// ListTagChanges of `req` as `token`.
pub(super) async fn list(
    app: &TestApp,
    token: &str,
    req: pb::ListTagChangesRequest,
) -> Result<pb::ListTagChangesResponse, Status> {
    Ok(app
        .client
        .clone()
        .list_tag_changes(authed(token, req))
        .await?
        .into_inner())
}

/// Every change `req` selects, walking its pages; asserts each page holds at most `page_size`.
pub(super) async fn walk(
    app: &TestApp,
    token: &str,
    mut req: pb::ListTagChangesRequest,
) -> Vec<pb::TagChange> {
    let mut all = Vec::new();
    for _ in 0..100 {
        let page = list(app, token, req.clone()).await.expect("a page");
        let max = if req.page_size > 0 { req.page_size } else { 50 };
        assert!(page.changes.len() <= max as usize, "{page:?}");
        all.extend(page.changes);
        if page.next_token.is_empty() {
            return all;
        }
        req.next_token = page.next_token;
    }
    panic!("more than 100 pages");
}

pub(super) fn seen(changes: &[pb::TagChange]) -> Vec<Seen> {
    changes.iter().map(Seen::from).collect()
}

/// Asserts `at` is RFC 3339 in UTC with milliseconds: `2026-12-06T08:00:00.123Z`.
fn assert_rfc3339_millis(at: &str) {
    let shape: String = at
        .chars()
        .map(|c| if c.is_ascii_digit() { 'd' } else { c })
        .collect();
    assert_eq!(shape, "dddd-dd-ddTdd:dd:dd.dddZ", "{at}");
}

async fn the_history_holds_every_change_of_every_write_with_its_author_and_request_id(b: Backend) {
    let app = TestApp::spawn(b).await;
    let history = write_sequence(&app).await;
    let page = list(&app, &app.token, pb::ListTagChangesRequest::default())
        .await
        .expect("the history");
    assert_eq!(seen(&page.changes), history.expected);
    assert_eq!(page.revision, history.last, "the project's revision");
    assert!(page.next_token.is_empty(), "one page: {}", page.next_token);
    for c in &page.changes {
        assert_rfc3339_millis(&c.changed_at);
    }
    // Revisions commit in order, so their times never go back.
    let times: Vec<&str> = page.changes.iter().map(|c| c.changed_at.as_str()).collect();
    assert!(times.is_sorted(), "{times:?}");
    // The second token saw the same history: the log is the project's, not the writer's.
    let theirs = list(&app, &history.other, pb::ListTagChangesRequest::default())
        .await
        .expect("the history");
    assert_eq!(theirs.changes, page.changes);
}

/// The expected changes `keep` selects.
fn only(history: &History, keep: impl Fn(&Seen) -> bool) -> Vec<Seen> {
    history
        .expected
        .iter()
        .filter(|c| keep(c))
        .cloned()
        .collect()
}

async fn filters_select_by_type_ids_keys_and_revision(b: Backend) {
    let app = TestApp::spawn(b).await;
    let history = write_sequence(&app).await;
    app.tag("smn_topic", &["t1"], &[("env", "dev")]).await;
    let get = |req: pb::ListTagChangesRequest| {
        let app = &app;
        async move { seen(&walk(app, &app.token, req).await) }
    };
    for name in ["CLUSTER", CLUSTER] {
        let req = pb::ListTagChangesRequest {
            resource_type: name.into(),
            ..Default::default()
        };
        assert_eq!(get(req).await, history.expected, "{name}");
    }
    let topics = get(pb::ListTagChangesRequest {
        resource_type: "smn_topic".into(),
        ..Default::default()
    })
    .await;
    let kinds: Vec<_> = topics
        .iter()
        .map(|c| (c.resource_id.as_str(), c.kind))
        .collect();
    use pb::ChangeKind::{ResourceCreated, TagSet};
    assert_eq!(kinds, [("t1", ResourceCreated), ("t1", TagSet)]);
    assert!(
        topics.iter().all(|c| c.revision == history.last + 1),
        "{topics:?}"
    );

    let req = pb::ListTagChangesRequest {
        resource_ids: ids(&["c2"]),
        ..Default::default()
    };
    assert_eq!(get(req).await, only(&history, |c| c.resource_id == "c2"));
    let req = pb::ListTagChangesRequest {
        keys: ids(&["team"]),
        ..Default::default()
    };
    assert_eq!(get(req).await, only(&history, |c| c.key == "team"));
    let after = history.revisions[2];
    let req = pb::ListTagChangesRequest {
        resource_type: "CLUSTER".into(),
        after_revision: after,
        ..Default::default()
    };
    assert_eq!(get(req).await, only(&history, |c| c.revision > after));
}

async fn pages_of_two_walk_the_same_history(b: Backend) {
    let app = TestApp::spawn(b).await;
    let history = write_sequence(&app).await;
    let req = pb::ListTagChangesRequest {
        page_size: 2,
        ..Default::default()
    };
    let first = list(&app, &app.token, req.clone()).await.expect("page 1");
    assert_eq!(first.changes.len(), 2);
    assert!(!first.next_token.is_empty(), "more pages follow");
    assert_eq!(seen(&walk(&app, &app.token, req).await), history.expected);
}

async fn only_a_system_token_sees_the_changes_of_system_tags(b: Backend) {
    let app = TestApp::spawn(b).await;
    let system = app.token_for(PROJECT, false, true).await;
    app.tag("CLUSTER", &["c1"], &[("env", "dev")]).await;
    let mut req = tag_request(&["c1"], &[("ACS:owner", "ops")]);
    req.tags.push(tag("env", "prod"));
    let revision = app
        .client
        .clone()
        .tag_resources(call(&system, "sys-1", req))
        .await
        .expect("a system write")
        .into_inner()
        .revision;
    let all = pb::ListTagChangesRequest::default();
    let theirs = walk(&app, &system, all.clone()).await;
    assert_eq!(keys_at(&theirs, revision), ["ACS:owner", "env"]);
    let mine = walk(&app, &app.token, all.clone()).await;
    assert_eq!(
        keys_at(&mine, revision),
        ["env"],
        "the system's key is hidden"
    );

    let by_key = |key: &str| pb::ListTagChangesRequest {
        keys: ids(&[key]),
        ..Default::default()
    };
    let theirs = walk(&app, &system, by_key("ACS:owner")).await;
    assert_eq!(keys_at(&theirs, revision), ["ACS:owner"]);
    let refused = list(&app, &app.token, by_key("acs:owner"))
        .await
        .expect_err("a normal token cannot name a system key");
    assert_invalid(&refused, "keys[0]");

    // Deleting the resource removes the system's tag too; only the system sees that removal.
    let delete = pb::DeleteResourceRequest {
        resource_type: "CLUSTER".into(),
        resource_id: "c1".into(),
        ..Default::default()
    };
    let deleted = app
        .client
        .clone()
        .delete_resource(call(&system, "sys-2", delete))
        .await
        .expect("a system token deletes it")
        .into_inner()
        .revision;
    let theirs = walk(&app, &system, all.clone()).await;
    assert_eq!(keys_at(&theirs, deleted), ["", "ACS:owner", "env"]);
    let mine = walk(&app, &app.token, all).await;
    assert_eq!(keys_at(&mine, deleted), ["", "env"]);
}

/// The keys of the changes of `revision` (empty for a resource's own change).
fn keys_at(changes: &[pb::TagChange], revision: i64) -> Vec<&str> {
    let at = changes.iter().filter(|c| c.revision == revision);
    at.map(|c| c.key.as_str()).collect()
}

async fn another_projects_token_never_sees_the_history(b: Backend) {
    let app = TestApp::spawn(b).await;
    write_sequence(&app).await;
    let stranger = app.token_for("p2", false, false).await;
    let theirs = pb::ListTagChangesRequest {
        project_id: PROJECT.into(),
        ..Default::default()
    };
    let denied = list(&app, &stranger, theirs)
        .await
        .expect_err("another project's history");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    for project_id in ["", "p2"] {
        let own = pb::ListTagChangesRequest {
            project_id: project_id.into(),
            ..Default::default()
        };
        let page = list(&app, &stranger, own).await.expect("its own history");
        assert!(page.changes.is_empty(), "{project_id:?}: {page:?}");
        assert_eq!(page.revision, 0, "nothing was written to p2");
    }
}

/// The (kind, old, new) of every change after `after`.
async fn resource_changes_after(
    app: &TestApp,
    after: i64,
) -> Vec<(pb::ChangeKind, Option<String>, Option<String>)> {
    let req = pb::ListTagChangesRequest {
        after_revision: after,
        ..Default::default()
    };
    let changes = walk(app, &app.token, req).await;
    changes
        .into_iter()
        .map(|c| (c.kind(), c.old_value.clone(), c.new_value.clone()))
        .collect()
}

async fn put_resource_records_a_name_given_kept_or_taken_away_as_it_changes(b: Backend) {
    use pb::ChangeKind::{ResourceCreated, ResourceRenamed};
    let app = TestApp::spawn(b).await;
    let unnamed = put(&app, &app.token, "put-1", "").await;
    let named = put(&app, &app.token, "put-2", "alpha").await;
    // The same name again changes nothing: no revision, nothing recorded.
    let again = put(&app, &app.token, "put-3", "alpha").await;
    assert_eq!(again, named);
    let cleared = put(&app, &app.token, "put-4", "").await;
    assert_eq!((named, cleared), (unnamed + 1, unnamed + 2));
    let alpha = || Some("alpha".to_owned());
    assert_eq!(
        resource_changes_after(&app, 0).await,
        [
            (ResourceCreated, None, None),
            (ResourceRenamed, None, alpha()),
            (ResourceRenamed, alpha(), None),
        ]
    );
}

async fn bad_input_is_invalid_argument_naming_the_field(b: Backend) {
    let app = TestApp::spawn(b).await;
    let cases = [
        (
            pb::ListTagChangesRequest {
                after_revision: -1,
                ..Default::default()
            },
            "after_revision",
        ),
        (
            pb::ListTagChangesRequest {
                resource_type: "NO_SUCH_TYPE".into(),
                ..Default::default()
            },
            "resource_type",
        ),
        (
            pb::ListTagChangesRequest {
                keys: (0..21).map(|i| format!("k{i}")).collect(),
                ..Default::default()
            },
            "keys",
        ),
        (
            pb::ListTagChangesRequest {
                page_size: 1001,
                ..Default::default()
            },
            "page_size",
        ),
        (
            pb::ListTagChangesRequest {
                next_token: "not-a-token".into(),
                ..Default::default()
            },
            "next_token",
        ),
    ];
    for (req, field) in cases {
        let status = list(&app, &app.token, req).await.expect_err(field);
        assert_invalid(&status, field);
    }
}

/// A change as the REST form shows it: the gRPC answer's, with `kind` by name and empty fields
/// left out.
fn rest_change(c: &pb::TagChange) -> Value {
    let mut v = json!({
        "revision": c.revision,
        "resource_type": c.resource_type,
        "resource_id": c.resource_id,
        "kind": c.kind().as_str_name().strip_prefix("CHANGE_KIND_").expect("a kind"),
        "credential_id": c.credential_id,
        "request_id": c.request_id,
        "changed_at": c.changed_at,
    });
    let optional = [
        ("key", (!c.key.is_empty()).then_some(&c.key)),
        ("old_value", c.old_value.as_ref()),
        ("new_value", c.new_value.as_ref()),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            v[name] = json!(value);
        }
    }
    v
}

/// GET /v2/p1/tag_changes with `query` as the default token, walking `marker`s; answers every
/// change and the last page's `revision`.
async fn rest_walk(app: &TestApp, query: &[(&str, &str)]) -> (Vec<Value>, i64) {
    let mut changes = Vec::new();
    let mut marker = String::new();
    for _ in 0..100 {
        let mut q: Vec<(&str, &str)> = query.to_vec();
        if !marker.is_empty() {
            q.push(("marker", marker.as_str()));
        }
        let req = app.rest().get(format!("/v2/{PROJECT}/tag_changes"));
        let a = answer(req.query(&q).header("x-auth-token", &app.token)).await;
        assert_eq!(a.status, 200, "{}", a.body);
        let expected = ["changes", "next_marker", "request_id", "revision"];
        assert_eq!(keys(&a.body), expected, "{}", a.body);
        assert_eq!(a.body["request_id"], a.request_id.as_str());
        changes.extend(a.body["changes"].as_array().expect("changes").clone());
        marker = a.body["next_marker"].as_str().expect("a marker").to_owned();
        if marker.is_empty() {
            return (changes, a.body["revision"].as_i64().expect("a revision"));
        }
    }
    panic!("more than 100 pages");
}

async fn the_rest_form_answers_the_same_history_in_smn_json_with_limit_and_marker(b: Backend) {
    let app = TestApp::spawn(b).await;
    let history = write_sequence(&app).await;
    let all = walk(&app, &app.token, pb::ListTagChangesRequest::default()).await;
    let expected: Vec<Value> = all.iter().map(rest_change).collect();

    let (one_page, revision) = rest_walk(&app, &[]).await;
    assert_eq!(one_page, expected);
    assert_eq!(revision, history.last);
    let (paged, _) = rest_walk(&app, &[("limit", "2")]).await;
    assert_eq!(paged, expected);

    let after = history.revisions[2];
    let after_text = after.to_string();
    let query = [
        ("resource_type", "CLUSTER"),
        ("resource_ids", r#"["c2","c3"]"#),
        ("keys", ""),
        ("after_revision", after_text.as_str()),
        ("limit", "1"),
    ];
    let (filtered, _) = rest_walk(&app, &query).await;
    let wanted: Vec<Value> = all
        .iter()
        .filter(|c| c.revision > after)
        .filter(|c| ["c2", "c3"].contains(&c.resource_id.as_str()))
        .map(rest_change)
        .collect();
    assert!(!wanted.is_empty(), "the filter selects something");
    assert_eq!(filtered, wanted);
    let (team, _) = rest_walk(&app, &[("keys", r#"["team"]"#)]).await;
    let team_changes: Vec<Value> = all
        .iter()
        .filter(|c| c.key == "team")
        .map(rest_change)
        .collect();
    assert_eq!(team, team_changes);
}

async fn bad_rest_parameters_are_400_naming_the_parameter(b: Backend) {
    let app = TestApp::spawn(b).await;
    for (query, field) in [
        (("after_revision", "-1"), "after_revision"),
        (("after_revision", "seven"), "after_revision"),
        (("resource_type", "NO_SUCH_TYPE"), "resource_type"),
        (("resource_ids", "c1"), "resource_ids"),
        (("keys", r#"["a","a","#), "keys"),
        (("limit", "ten"), "limit"),
    ] {
        let req = app.rest().get(format!("/v2/{PROJECT}/tag_changes"));
        let a = answer(req.query(&[query]).header("x-auth-token", &app.token)).await;
        assert_error(&a, 400, "SMN.00010400", field);
    }
}

/// The REST form's page size is `limit` and its page token `marker`: a 400 must name what the
/// client sent, not the gRPC field behind it.
async fn a_bad_limit_or_marker_is_a_400_naming_limit_or_marker(b: Backend) {
    let app = TestApp::spawn(b).await;
    for (query, field) in [
        (("limit", "5000"), "limit"),
        (("marker", "garbage"), "marker"),
    ] {
        let req = app.rest().get(format!("/v2/{PROJECT}/tag_changes"));
        let a = answer(req.query(&[query]).header("x-auth-token", &app.token)).await;
        assert_error(&a, 400, "SMN.00010400", field);
    }
}

/// A revision in the query is digits, as the handler's own rule says and as `limit` refuses a
/// sign: `+5` and ` 5` are refused rather than read as 5.
async fn a_signed_or_padded_after_revision_is_a_400(b: Backend) {
    let app = TestApp::spawn(b).await;
    for raw in ["+5", " 5"] {
        let req = app.rest().get(format!("/v2/{PROJECT}/tag_changes"));
        let query = [("after_revision", raw)];
        let a = answer(req.query(&query).header("x-auth-token", &app.token)).await;
        assert_error(&a, 400, "SMN.00010400", "after_revision");
    }
}

both_backends!(
    the_history_holds_every_change_of_every_write_with_its_author_and_request_id,
    filters_select_by_type_ids_keys_and_revision,
    pages_of_two_walk_the_same_history,
    only_a_system_token_sees_the_changes_of_system_tags,
    another_projects_token_never_sees_the_history,
    put_resource_records_a_name_given_kept_or_taken_away_as_it_changes,
    bad_input_is_invalid_argument_naming_the_field,
    the_rest_form_answers_the_same_history_in_smn_json_with_limit_and_marker,
    bad_rest_parameters_are_400_naming_the_parameter,
    a_bad_limit_or_marker_is_a_400_naming_limit_or_marker,
    a_signed_or_padded_after_revision_is_a_400,
);
