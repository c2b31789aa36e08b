//! Project B's data, with a system tag, a named cluster and a named topic, and A's one cluster;
//! the markers no answer to A may carry, and B's rows as stored.

use sqlx::{Connection, PgConnection, SqliteConnection};

use super::*;
use crate::helpers::{TestApp, authed, ids, pb, tag};

/// B's ids, names, keys and values.
pub(super) fn b_data() -> Vec<&'static str> {
    [
        B_CLUSTER_NAME,
        B_TOPIC,
        B_TOPIC_NAME,
        B_KEY,
        B_VALUE,
        B_KEY2,
        B_VALUE2,
        B_TOPIC_VALUE,
        B_SYSTEM_KEY,
        B_SYSTEM_VALUE,
    ]
    .into_iter()
    .chain(B_CLUSTERS)
    .collect()
}

/// Everything of B an answer must not show: its project, its data, its page tokens.
pub(super) fn markers(b_tokens: &PageTokensOfB) -> Vec<String> {
    let mut m: Vec<String> = b_data().into_iter().map(str::to_owned).collect();
    m.push(B.to_owned());
    m.extend([
        b_tokens.tag_rows.clone(),
        b_tokens.project_tags.clone(),
        b_tokens.resources.clone(),
        b_tokens.changes.clone(),
    ]);
    m
}

pub(super) struct PageTokensOfB {
    pub(super) tag_rows: String,
    pub(super) project_tags: String,
    pub(super) resources: String,
    pub(super) changes: String,
}

/// B's resources and tags as stored, row by row, including internal ids: any change shows.
pub(super) async fn rows_of(app: &TestApp, project: &str) -> Vec<String> {
    const SQL: &str = concat!(
        "SELECT CAST(r.pk AS TEXT) || '|' || r.resource_type || '|' || r.resource_id || '|' ",
        "|| COALESCE(r.name, '<no name>') || '|' || COALESCE(t.key, '<no tag>') || '=' ",
        "|| COALESCE(t.value, '') FROM resources r LEFT JOIN tags t ON t.resource_pk = r.pk ",
        "WHERE r.project_id = $1 ORDER BY r.pk, t.key"
    );
    if app.database_url.starts_with("sqlite:") {
        let mut conn = SqliteConnection::connect(&app.database_url)
            .await
            .expect("the test's own SQLite connection");
        sqlx::query_scalar(SQL)
            .bind(project)
            .fetch_all(&mut conn)
            .await
            .expect("B's rows")
    } else {
        let mut conn = PgConnection::connect(&app.database_url)
            .await
            .expect("the test's own PostgreSQL connection");
        sqlx::query_scalar(SQL)
            .bind(project)
            .fetch_all(&mut conn)
            .await
            .expect("B's rows")
    }
}

/// B's data (with a system tag, a named cluster and a named topic) and A's one cluster.
pub(super) async fn fixture(app: &TestApp, b: &str, b_system: &str, a: &str) -> PageTokensOfB {
    let mut c = app.client.clone();
    let tag_b = |token: &str, ty: &str, ids_: &[&str], tags: Vec<pb::Tag>| {
        authed(
            token,
            pb::TagResourcesRequest {
                project_id: String::new(),
                resource_type: ty.into(),
                resource_ids: ids(ids_),
                tags,
                expected_revision: None,
            },
        )
    };
    c.tag_resources(tag_b(
        b,
        "CLUSTER",
        &B_CLUSTERS,
        vec![tag(B_KEY, B_VALUE), tag(B_KEY2, B_VALUE2)],
    ))
    .await
    .expect("B tags its clusters");
    c.tag_resources(tag_b(
        b_system,
        "CLUSTER",
        &B_CLUSTERS[..1],
        vec![tag(B_SYSTEM_KEY, B_SYSTEM_VALUE)],
    ))
    .await
    .expect("B's system token tags a cluster");
    c.tag_resources(tag_b(
        b,
        "smn_topic",
        &[B_TOPIC],
        vec![tag(B_KEY, B_TOPIC_VALUE)],
    ))
    .await
    .expect("B tags its topic");
    for (ty, id, name) in [
        ("CLUSTER", B_CLUSTERS[0], B_CLUSTER_NAME),
        ("smn_topic", B_TOPIC, B_TOPIC_NAME),
    ] {
        let put = pb::PutResourceRequest {
            project_id: B.into(),
            resource_type: ty.into(),
            resource_id: id.into(),
            name: name.into(),
            expected_revision: None,
        };
        c.put_resource(authed(b, put)).await.expect("B names it");
    }
    c.tag_resources(tag_b(
        a,
        "CLUSTER",
        &[A_CLUSTER],
        vec![tag("aaa-k", "aaa-v")],
    ))
    .await
    .expect("A tags its cluster");

    // B's own page tokens, of the very queries A repeats below.
    let tag_rows = c
        .list_tag_resources(authed(b, b_tag_rows_query(String::new())))
        .await
        .expect("B lists its tag rows")
        .into_inner()
        .next_token;
    let project_tags = c
        .list_project_tags(authed(
            b,
            pb::ListProjectTagsRequest {
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .expect("B lists its keys")
        .into_inner()
        .next_token;
    let resources = c
        .list_resources(authed(
            b,
            pb::ListResourcesRequest {
                resource_type: "CLUSTER".into(),
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .expect("B lists its resources")
        .into_inner()
        .next_token;
    let changes = c
        .list_tag_changes(authed(
            b,
            pb::ListTagChangesRequest {
                page_size: 1,
                ..Default::default()
            },
        ))
        .await
        .expect("B lists its changes")
        .into_inner()
        .next_token;
    let tokens = PageTokensOfB {
        tag_rows,
        project_tags,
        resources,
        changes,
    };
    for t in [
        &tokens.tag_rows,
        &tokens.project_tags,
        &tokens.resources,
        &tokens.changes,
    ] {
        assert!(!t.is_empty(), "B's first pages have a next page");
    }
    tokens
}

/// B's ACK query of its three clusters, one row per page.
pub(super) fn b_tag_rows_query(next_token: String) -> pb::ListTagResourcesRequest {
    pb::ListTagResourcesRequest {
        project_id: String::new(),
        resource_type: "CLUSTER".into(),
        resource_ids: ids(&B_CLUSTERS),
        tags: Vec::new(),
        page_size: 1,
        next_token,
        consistency_token: String::new(),
    }
}

pub(super) fn filter(key: &str) -> Vec<pb::TagFilter> {
    vec![pb::TagFilter {
        key: key.into(),
        values: Vec::new(),
    }]
}

pub(super) fn name_match(name: &str) -> Vec<pb::Match> {
    vec![pb::Match {
        key: "resource_name".into(),
        value: name.into(),
    }]
}
