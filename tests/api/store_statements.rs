//! Every statement the service runs on a per-tenant table names the project: the rule a database
//! sharded by project needs to route each statement to one shard (docs/scaling.md, "Sharding by
//! tenant"). Black-box: the real binary on a fresh PostgreSQL database, with sqlx's statement log
//! on (`RUST_LOG=…,sqlx::query=debug`, one JSON line per statement, start-up included), every RPC
//! that reads or writes tags, resources or changes driven through the gRPC client and the SMN
//! filter route, and the change log's compaction given time to run. Each distinct statement is
//! then checked.
//!
//! The rule is the one a sharded database routes by: every per-tenant table a statement reads
//! or writes is named by its project. An occurrence of such a table (after `FROM`, `JOIN`,
//! `UPDATE` or `INTO`) is named when the statement filters it by `alias.project_id = $n` (each
//! occurrence its own: an alias that occurs twice needs the filter twice), by an unqualified
//! `project_id = $n` when it is the statement's only per-tenant table, or when it is inserted
//! with `project_id` as its first column. What does not follow the rule is listed below by name
//! with its reason, and each listed statement must still be observed, so the lists shrink when
//! the code changes.

use std::{collections::BTreeSet, time::Duration};

use reqwest::Method;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use tokio_stream::StreamExt;

use crate::helpers::{
    Backend, TaggingServiceClient, TestDb, authed,
    binary::{Server, binary, run_bounded, start_server},
    pb, tag,
};

/// The tables whose rows belong to one project: distributed by project on a sharded database.
pub(crate) const PER_TENANT: [&str; 8] = [
    "resources",
    "tags",
    "scopes",
    "tag_keys",
    "tag_values",
    "project_revisions",
    "change_sets",
    "tag_changes",
];

/// Credentials, used nonces and server keys: looked up by their own key (a token's or access key's
/// id, a key's name), never by project, and small: reference tables, copied to every node, on a
/// sharded database. Statements touching only these are exempt.
const REFERENCE: [&str; 4] = [
    "api_tokens",
    "access_keys",
    "signature_nonces",
    "server_keys",
];

/// sqlx's own record of the applied migrations (the migrator's bookkeeping).
const MIGRATOR_TABLE: &str = "_sqlx_migrations";

/// The migrations: run once, before the server serves, over every project's rows by design (they
/// create and fill tables). Exempt by file: a statement exempt as a migration is the whole text of
/// one of these files, as the migrator sends it.
const MIGRATIONS: [(&str, &str); 11] = [
    (
        "0001_init.sql",
        include_str!("../../migrations/postgres/0001_init.sql"),
    ),
    (
        "0003_access_keys.sql",
        include_str!("../../migrations/postgres/0003_access_keys.sql"),
    ),
    (
        "0004_scoped_tags.sql",
        include_str!("../../migrations/postgres/0004_scoped_tags.sql"),
    ),
    (
        "0005_token_lifecycle.sql",
        include_str!("../../migrations/postgres/0005_token_lifecycle.sql"),
    ),
    (
        "0006_revisions.sql",
        include_str!("../../migrations/postgres/0006_revisions.sql"),
    ),
    (
        "0007_change_log.sql",
        include_str!("../../migrations/postgres/0007_change_log.sql"),
    ),
    (
        "0008_logged_resource_pk.sql",
        include_str!("../../migrations/postgres/0008_logged_resource_pk.sql"),
    ),
    (
        "0009_packed_change_log.sql",
        include_str!("../../migrations/postgres/0009_packed_change_log.sql"),
    ),
    (
        "0010_lighter_tag_writes.sql",
        include_str!("../../migrations/postgres/0010_lighter_tag_writes.sql"),
    ),
    (
        "0011_project_on_every_row.sql",
        include_str!("../../migrations/postgres/0011_project_on_every_row.sql"),
    ),
    (
        "0012_scope_walk_index.sql",
        include_str!("../../migrations/postgres/0012_scope_walk_index.sql"),
    ),
];

/// A statement named by its shape: `*` stands for any text, `#` for a run of placeholders, integer
/// literals, `NULL`s, commas, spaces and parentheses (a list of arguments or of rows).
struct Named {
    name: &'static str,
    shape: &'static str,
}

/// Cross-tenant by design: the background compaction starts from the projects that have history to
/// drop (`sql::PROJECTS_WITH_HISTORY`); each of its later statements names its project. On a
/// sharded database this one reads every shard's `project_revisions`, once per compaction round.
const CROSS_TENANT: [Named; 1] = [Named {
    name: "changes::PROJECTS_WITH_HISTORY (compaction)",
    shape: "SELECT project_id, compacted FROM project_revisions WHERE revision > compacted ORDER BY project_id",
}];

/// Whether `text` has the shape `shape` (see [`Named`]).
fn has_shape(text: &str, shape: &str) -> bool {
    fn list_char(c: u8) -> bool {
        matches!(
            c,
            b'$' | b'0'..=b'9' | b',' | b' ' | b'(' | b')' | b'N' | b'U' | b'L'
        )
    }
    fn go(t: &[u8], s: &[u8]) -> bool {
        match s.split_first() {
            None => t.is_empty(),
            Some((b'*', rest)) => (0..=t.len()).any(|i| go(&t[i..], rest)),
            Some((b'#', rest)) => {
                let run = t.iter().take_while(|c| list_char(**c)).count();
                (1..=run).any(|i| go(&t[i..], rest))
            }
            Some((c, rest)) => t.first() == Some(c) && go(&t[1..], rest),
        }
    }
    go(text.as_bytes(), shape.as_bytes())
}

/// The tables of the schema that `text` names (as whole words).
fn tables_named(text: &str) -> BTreeSet<&'static str> {
    let words: BTreeSet<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    PER_TENANT
        .iter()
        .chain(REFERENCE.iter())
        .chain(std::iter::once(&MIGRATOR_TABLE))
        .filter(|t| words.contains(**t))
        .copied()
        .collect()
}

/// The words and signs of a statement, in order: identifiers (and placeholders) whole, every
/// other sign on its own.
fn tokens(text: &str) -> Vec<&str> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let len = if word(c) {
            rest.find(|c: char| !word(c)).unwrap_or(rest.len())
        } else {
            c.len_utf8()
        };
        if !c.is_whitespace() {
            out.push(&rest[..len]);
        }
        rest = &rest[len..];
    }
    out
}

/// Each per-tenant table the statement reads or writes: its name, the name it goes by (its
/// alias, else its own), and whether it is inserted into with `project_id` first.
fn occurrences(text: &str) -> Vec<(&str, &str, bool)> {
    let t = tokens(text);
    let mut out = Vec::new();
    for i in 1..t.len() {
        let Some(table) = PER_TENANT.iter().find(|p| **p == t[i]) else {
            continue;
        };
        if !matches!(t[i - 1], "FROM" | "JOIN" | "UPDATE" | "INTO") {
            continue;
        }
        let next = t.get(i + 1).copied().unwrap_or_default();
        let inserted = t[i - 1] == "INTO" && t.get(i + 2) == Some(&"project_id");
        let aliased = next.starts_with(|c: char| c.is_ascii_lowercase());
        out.push((*table, if aliased { next } else { *table }, inserted));
    }
    out
}

/// How many times `text` holds `project_id = $` preceded by `qualifier` (`None`: by nothing).
fn project_filters(text: &str, qualifier: Option<&str>) -> usize {
    let t = tokens(text);
    (0..t.len())
        .filter(|&i| {
            t[i] == "project_id"
                && t.get(i + 1) == Some(&"=")
                && t.get(i + 2).is_some_and(|p| p.starts_with('$'))
                && match qualifier {
                    Some(q) => i >= 2 && t[i - 1] == "." && t[i - 2] == q,
                    None => i == 0 || t[i - 1] != ".",
                }
        })
        .count()
}

/// The rule (see the module's documentation).
fn names_the_project(text: &str) -> bool {
    let found = occurrences(text);
    let read: Vec<&(&str, &str, bool)> = found.iter().filter(|o| !o.2).collect();
    read.iter().all(|(table, name, _)| {
        let times = read.iter().filter(|o| o.1 == *name).count();
        project_filters(text, Some(name)) >= times
            || (name == table && found.len() == 1 && project_filters(text, None) >= 1)
    })
}

/// How a statement stands against the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// It touches no per-tenant table: transaction control, session settings, `SELECT 1`,
    /// `pg_notify`, the migrator's bookkeeping, credentials, nonces and server keys.
    NotPerTenant,
    NamesTheProject,
    Migration(&'static str),
    CrossTenant(&'static str),
    /// A statement on a per-tenant table that names no project and is listed nowhere.
    Refused,
}

fn verdict(text: &str) -> Verdict {
    if let Some((file, _)) = MIGRATIONS.iter().find(|(_, sql)| sql.trim() == text) {
        return Verdict::Migration(file);
    }
    if !tables_named(text).iter().any(|t| PER_TENANT.contains(t)) {
        return Verdict::NotPerTenant;
    }
    if names_the_project(text) {
        return Verdict::NamesTheProject;
    }
    if let Some(n) = CROSS_TENANT.iter().find(|n| has_shape(text, n.shape)) {
        return Verdict::CrossTenant(n.name);
    }
    Verdict::Refused
}

/// The text of every statement in the server's log (sqlx logs the whole text under
/// `db.statement` unless its first four words are all of it, in `summary`).
fn statements(server: &Server) -> BTreeSet<String> {
    let log = server.log.lock().expect("log lock");
    log.iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["target"] == "sqlx::query")
        .map(|l| {
            let full = l["fields"]["db.statement"]
                .as_str()
                .unwrap_or_default()
                .trim();
            if full.is_empty() {
                l["fields"]["summary"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            } else {
                full.to_owned()
            }
        })
        .collect()
}

fn filter(key: &str, values: &[&str]) -> pb::TagFilter {
    pb::TagFilter {
        key: key.into(),
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    }
}

/// Every RPC that reads or writes tags, resources or changes, in the shapes that make different
/// statements: new and known resources, changed and removed tags, counts that reach zero, names,
/// each filter driver, pages after the first, the change log and a watch.
pub(crate) async fn drive(client: &TaggingServiceClient<tonic::transport::Channel>, token: &str) {
    let mut c = client.clone();
    let tags = |ids: &[&str], pairs: &[(&str, &str)]| pb::TagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
        tags: pairs.iter().map(|(k, v)| tag(k, v)).collect(),
        ..Default::default()
    };
    let mut watch = c
        .watch_tag_changes(authed(
            token,
            pb::WatchTagChangesRequest {
                after_revision: Some(0),
                ..Default::default()
            },
        ))
        .await
        .expect("watch")
        .into_inner();
    for (ids, pairs) in [
        (
            &["c-1", "c-2", "c-3"][..],
            &[("env", "prod"), ("team", "a")][..],
        ),
        (&["c-1"], &[("env", "dev")]),
    ] {
        c.tag_resources(authed(token, tags(ids, pairs)))
            .await
            .expect("tag");
    }
    let untag = |ids: &[&str], keys: &[&str], all: bool| pb::UntagResourcesRequest {
        resource_type: "CLUSTER".into(),
        resource_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
        tag_keys: keys.iter().map(|s| (*s).to_owned()).collect(),
        all,
        ..Default::default()
    };
    c.untag_resources(authed(token, untag(&["c-1"], &["env"], false)))
        .await
        .expect("untag keys");
    c.untag_resources(authed(token, untag(&["c-2"], &[], true)))
        .await
        .expect("untag all");
    for name in ["four", "four-b", "four-b"] {
        c.put_resource(authed(
            token,
            pb::PutResourceRequest {
                resource_type: "CLUSTER".into(),
                resource_id: "c-4".into(),
                name: name.into(),
                ..Default::default()
            },
        ))
        .await
        .expect("put");
    }
    c.delete_resource(authed(
        token,
        pb::DeleteResourceRequest {
            resource_type: "CLUSTER".into(),
            resource_id: "c-3".into(),
            ..Default::default()
        },
    ))
    .await
    .expect("delete");

    for (id, by) in [
        ("c-1", pb::ResourceIdType::Id),
        ("four-b", pb::ResourceIdType::Name),
        ("absent", pb::ResourceIdType::Id),
    ] {
        let _ = c
            .list_resource_tags(authed(
                token,
                pb::ListResourceTagsRequest {
                    resource_type: "CLUSTER".into(),
                    resource_id: id.into(),
                    resource_id_type: by.into(),
                    ..Default::default()
                },
            ))
            .await;
    }
    for (ids, pairs) in [
        (&[][..], &[("team", "a")][..]),
        (&[], &[("team", "")]),
        (&["c-1", "c-2"], &[]),
        (&["c-1"], &[("team", "a")]),
    ] {
        let mut next_token = String::new();
        loop {
            let page = c
                .list_tag_resources(authed(
                    token,
                    pb::ListTagResourcesRequest {
                        resource_type: "CLUSTER".into(),
                        resource_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
                        tags: pairs.iter().map(|(k, v)| tag(k, v)).collect(),
                        page_size: 1,
                        next_token,
                        ..Default::default()
                    },
                ))
                .await
                .expect("list tag resources")
                .into_inner();
            next_token = page.next_token;
            if next_token.is_empty() {
                break;
            }
        }
    }
    let filters: Vec<pb::ListResourcesRequest> = vec![
        pb::ListResourcesRequest {
            tags: vec![filter("team", &["a"])],
            ..Default::default()
        },
        pb::ListResourcesRequest {
            tags: vec![filter("team", &[]), filter("env", &["prod"])],
            ..Default::default()
        },
        pb::ListResourcesRequest {
            tags: vec![filter("team", &["a"]), filter("env", &["prod"])],
            ..Default::default()
        },
        pb::ListResourcesRequest {
            tags_any: vec![filter("team", &["a"]), filter("env", &["prod", "dev"])],
            not_tags: vec![filter("env", &["dev"])],
            not_tags_any: vec![filter("x", &[])],
            ..Default::default()
        },
        pb::ListResourcesRequest {
            matches: vec![pb::Match {
                key: "resource_name".into(),
                value: "four-b".into(),
            }],
            ..Default::default()
        },
        pb::ListResourcesRequest {
            without_any_tag: true,
            ..Default::default()
        },
        // A negation alone: answered from the filter postings.
        pb::ListResourcesRequest {
            not_tags: vec![filter("env", &["dev"])],
            ..Default::default()
        },
        pb::ListResourcesRequest::default(),
    ];
    for f in filters {
        let count = pb::CountResourcesRequest {
            resource_type: "CLUSTER".into(),
            tags: f.tags.clone(),
            tags_any: f.tags_any.clone(),
            not_tags: f.not_tags.clone(),
            not_tags_any: f.not_tags_any.clone(),
            matches: f.matches.clone(),
            without_any_tag: f.without_any_tag,
            ..Default::default()
        };
        c.count_resources(authed(token, count))
            .await
            .expect("count");
        let mut next_token = String::new();
        loop {
            let page = c
                .list_resources(authed(
                    token,
                    pb::ListResourcesRequest {
                        resource_type: "CLUSTER".into(),
                        page_size: 1,
                        next_token,
                        ..f.clone()
                    },
                ))
                .await
                .expect("list resources")
                .into_inner();
            next_token = page.next_token;
            if next_token.is_empty() {
                break;
            }
        }
    }
    // A write since the postings were read: the next read replays the log.
    c.untag_resources(authed(token, untag(&["c-3"], &["env"], false)))
        .await
        .expect("untag");
    let negation = pb::CountResourcesRequest {
        resource_type: "CLUSTER".into(),
        not_tags: vec![filter("env", &["dev"])],
        ..Default::default()
    };
    c.count_resources(authed(token, negation))
        .await
        .expect("count");
    for resource_type in ["", "CLUSTER"] {
        let mut next_token = String::new();
        loop {
            let page = c
                .list_project_tags(authed(
                    token,
                    pb::ListProjectTagsRequest {
                        resource_type: resource_type.into(),
                        page_size: 1,
                        next_token,
                        ..Default::default()
                    },
                ))
                .await
                .expect("project tags")
                .into_inner();
            next_token = page.next_token;
            if next_token.is_empty() {
                break;
            }
        }
    }
    for (resource_type, ids, keys) in [("", &[][..], &[][..]), ("CLUSTER", &["c-1"], &["env"])] {
        c.list_tag_changes(authed(
            token,
            pb::ListTagChangesRequest {
                resource_type: resource_type.into(),
                resource_ids: ids.iter().map(|s: &&str| (*s).to_owned()).collect(),
                keys: keys.iter().map(|s: &&str| (*s).to_owned()).collect(),
                page_size: 2,
                ..Default::default()
            },
        ))
        .await
        .expect("tag changes");
    }
    // The watch has read the log since revision 0, and then woken for each write.
    let first = tokio::time::timeout(Duration::from_secs(10), watch.next())
        .await
        .expect("the watch answers")
        .expect("a message")
        .expect("not an error");
    assert!(first.revision >= 1, "{first:?}");
}

/// The SMN REST filter route (filter and count), as a REST caller uses it.
pub(crate) async fn drive_smn(server: &Server, token: &str) {
    let route = "/v2/p1/CLUSTER/resource_instances/action";
    for body in [
        json!({"action": "filter", "tags": [{"key": "team", "values": ["a"]}]}),
        json!({"action": "count", "tags": [{"key": "env", "values": []}]}),
        json!({"action": "filter", "matches": [{"key": "resource_name", "value": "four-b"}]}),
    ] {
        let answer = server
            .rest()
            .request(Method::POST, route)
            .header("X-Auth-Token", token)
            .json(&body)
            .send()
            .await
            .expect("SMN filter");
        assert_eq!(answer.status().as_u16(), 200, "{body}");
    }
}

/// Waits (at most 20 s) for the compaction to drop revisions, so its statements are in the log.
pub(crate) async fn wait_for_compaction(server: &Server) {
    for _ in 0..200 {
        let compacted = server
            .log
            .lock()
            .expect("log lock")
            .iter()
            .any(|l| l.contains("compacted the change log"));
        if compacted {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the change log was never compacted");
}

#[tokio::test]
async fn every_statement_on_a_per_tenant_table_names_the_project() {
    let (_db, url) = TestDb::create(Backend::Postgres).await;
    // Served first, so that its log holds the migrations; the token is made afterwards.
    let mut serve = binary();
    serve
        .env("RUST_LOG", "info,sqlx::query=debug")
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &url])
        .args(["--log-format", "json", "--change-retention", "2s"]);
    let server = start_server(serve);
    let mut create = binary();
    create.args(["token", "create", "--project", "p1", "--database-url", &url]);
    let (status, token, stderr) = run_bounded(create);
    assert!(status.success(), "token create: {stderr}");
    let token = token.trim();
    let client = TaggingServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("client");
    drive(&client, token).await;
    drive_smn(&server, token).await;
    wait_for_compaction(&server).await;

    // Every table of the schema is classified: a new table must be placed in a list above.
    let mut conn = PgConnection::connect(&url)
        .await
        .expect("the test's connection");
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
            .fetch_all(&mut conn)
            .await
            .expect("tables");
    for t in &tables {
        assert!(
            PER_TENANT.contains(&t.as_str())
                || REFERENCE.contains(&t.as_str())
                || t == MIGRATOR_TABLE,
            "table `{t}` is neither per-tenant nor a reference table: classify it"
        );
    }

    // A table distributed by project must have the project in every primary key and unique
    // index.
    let keys: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, i.relname::text FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indisunique AND c.relnamespace = 'public'::regnamespace AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'project_id' AND a.attnum = ANY (x.indkey))",
    )
    .fetch_all(&mut conn)
    .await
    .expect("the unique indexes without the project");
    let per_tenant: Vec<&(String, String)> = keys
        .iter()
        .filter(|(table, _)| PER_TENANT.contains(&table.as_str()))
        .collect();
    assert!(
        per_tenant.is_empty(),
        "unique indexes of per-tenant tables without `project_id`: {per_tenant:?}"
    );

    let seen = statements(&server);
    let verdicts: Vec<(Verdict, &String)> = seen.iter().map(|s| (verdict(s), s)).collect();
    let refused: Vec<&String> = verdicts
        .iter()
        .filter(|(v, _)| *v == Verdict::Refused)
        .map(|(_, s)| *s)
        .collect();
    assert!(
        refused.is_empty(),
        "statements on per-tenant tables that name no project:\n{}",
        refused
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Each exemption is still there: one that is gone is taken off its list.
    let listed = CROSS_TENANT
        .iter()
        .map(|n| (n.name, Verdict::CrossTenant(n.name)))
        .chain(MIGRATIONS.iter().map(|(f, _)| (*f, Verdict::Migration(f))));
    for (name, expected) in listed {
        assert!(
            verdicts.iter().any(|(v, _)| *v == expected),
            "`{name}` was not observed: drop it from its list if the service no longer runs it"
        );
    }
    // The drive reached every per-tenant table with statements that name the project.
    for table in PER_TENANT {
        assert!(
            verdicts
                .iter()
                .any(|(v, s)| *v == Verdict::NamesTheProject && tables_named(s).contains(table)),
            "no statement on `{table}` was observed"
        );
    }
}

#[test]
fn a_statement_on_a_per_tenant_table_without_the_project_is_refused() {
    for text in [
        "SELECT key, value FROM tags WHERE key = $1",
        "DELETE FROM tag_keys WHERE resources = 0",
        "UPDATE resources SET name = $1 WHERE resource_id = $2",
        "SELECT t.key FROM tags t WHERE t.resource_pk IN ($1, $2) AND t.value = $3",
        // Keyed by a scope: a scope belongs to one project, but a shard is found by the project.
        "DELETE FROM tag_keys WHERE scope_pk = $1 AND resources = 0",
        // The project names one table of two.
        "SELECT r.pk, t.key FROM resources r JOIN tags t ON t.resource_pk = r.pk WHERE r.project_id = $1",
        "DELETE FROM tag_changes WHERE change_set IN (SELECT id FROM change_sets WHERE project_id = $1)",
        // One alias, two tables, one filter.
        "SELECT 1 FROM tags p WHERE p.project_id = $1 AND EXISTS (SELECT 1 FROM tags p WHERE p.key = $2)",
        // A filter on a derived table does not name the table it is read from.
        "SELECT r.pk FROM (SELECT pk, project_id FROM resources WHERE pk IN ($1)) r WHERE r.project_id = $2",
        "INSERT INTO tags (resource_pk, project_id, key, value) VALUES ($1, $2, $3, $4)",
    ] {
        assert_eq!(verdict(text), Verdict::Refused, "{text}");
    }
    for text in [
        "SELECT revision FROM project_revisions WHERE project_id = $1",
        "SELECT r.pk, t.key FROM resources r JOIN tags t ON t.project_id = $1 AND t.resource_pk = r.pk WHERE r.project_id = $2",
        "DELETE FROM tag_changes WHERE tag_changes.project_id = $1 AND change_set IN (SELECT s.id FROM change_sets s WHERE s.project_id = $1)",
        "INSERT INTO tags (project_id, resource_pk, key, value) SELECT r.project_id, r.pk, $1, $2 FROM resources r WHERE r.project_id = $3",
    ] {
        assert_eq!(verdict(text), Verdict::NamesTheProject, "{text}");
    }
    assert_eq!(
        verdict("SELECT id FROM api_tokens WHERE id = $1"),
        Verdict::NotPerTenant
    );
}
