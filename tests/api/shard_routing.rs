//! What a database sharded by project does with the service's statements, on PostgreSQL itself:
//! every per-tenant table hash-partitioned by `project_id` (the constraints a partitioned table
//! has are those of a table distributed by Citus: every primary key and unique index holds the
//! partition column), the real binary serving one project through every RPC the statement test
//! drives, and then each partition's scan counters read. PostgreSQL prunes, at planning or when
//! a statement starts, the partitions its project filters exclude, as Citus prunes shards, so a
//! partition that holds none of the project's rows and was scanned received a statement that
//! would have gone to every shard.

use std::time::Duration;

use sqlx::{Connection, PgConnection};

use crate::{
    helpers::{
        Backend, TaggingServiceClient, TestDb,
        binary::{binary, run_bounded, start_server},
    },
    store_statements::{PER_TENANT, drive, drive_smn, wait_for_compaction},
};

const PARTITIONS: u32 = 4;

/// Read across partitions: every project's revisions, by the compaction (cross-tenant by design,
/// see `store_statements`).
const READ_ACROSS: [&str; 1] = ["project_revisions"];

/// Makes `table` a table partitioned by the hash of `project_id`, with the same columns,
/// defaults, constraints and indexes; the table it was stays beside it, renamed, unused. An
/// identity column becomes a column drawing from a sequence (PostgreSQL 15 has no identity
/// column on a partitioned table).
fn partitioned(table: &str) -> String {
    let mut sql = format!(
        "ALTER TABLE {table} RENAME TO {table}_single;
         CREATE TABLE {table} (LIKE {table}_single INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES) PARTITION BY HASH (project_id);"
    );
    if ["resources", "scopes"].contains(&table) {
        sql += &format!(
            "CREATE SEQUENCE {table}_pk_partitioned; ALTER TABLE {table} ALTER COLUMN pk SET DEFAULT nextval('{table}_pk_partitioned');"
        );
    }
    for n in 0..PARTITIONS {
        sql += &format!(
            "CREATE TABLE {table}_p{n} PARTITION OF {table} FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {n});"
        );
    }
    sql
}

/// Each partition's scans so far, sequential and by index.
async fn scans(conn: &mut PgConnection) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT relname::text, seq_scan + COALESCE(idx_scan, 0) FROM pg_stat_user_tables WHERE relname ~ '_p[0-9]+$'",
    )
    .fetch_all(conn)
    .await
    .expect("the partitions' counters")
}

/// Waits (at most 10 s) until `conn` is the database's only session: a session's counters are
/// reported when it ends.
async fn alone(conn: &mut PgConnection) {
    for _ in 0..100 {
        let others: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_one(&mut *conn)
        .await
        .expect("sessions");
        if others == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("other sessions are still connected");
}

#[tokio::test]
async fn each_statement_reads_only_its_projects_partition() {
    let (_db, url) = TestDb::create(Backend::Postgres).await;
    let mut migrate = binary();
    migrate.args(["migrate", "--database-url", &url]);
    let (status, _, stderr) = run_bounded(migrate);
    assert!(status.success(), "migrate: {stderr}");
    let mut conn = PgConnection::connect(&url)
        .await
        .expect("the test's connection");
    for table in PER_TENANT {
        sqlx::raw_sql(&partitioned(table))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("partitioning {table}: {e}"));
    }
    // Building the partitions' indexes scanned them: counted from here on.
    conn.close().await.expect("closing the connection");
    let mut conn = PgConnection::connect(&url)
        .await
        .expect("the test's connection");
    alone(&mut conn).await;
    let before = scans(&mut conn).await;

    let mut create = binary();
    create.args(["token", "create", "--project", "p1", "--database-url", &url]);
    let (status, token, stderr) = run_bounded(create);
    assert!(status.success(), "token create: {stderr}");
    let mut serve = binary();
    serve
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &url])
        .args(["--log-format", "json", "--change-retention", "2s"]);
    let server = start_server(serve);
    let client = TaggingServiceClient::connect(format!("http://{}", server.addr))
        .await
        .expect("client");
    drive(&client, token.trim()).await;
    drive_smn(&server, token.trim()).await;
    wait_for_compaction(&server).await;
    // The server's connections report their counters when they end.
    drop(server);
    alone(&mut conn).await;

    let home: String = sqlx::query_scalar(
        "SELECT tableoid::regclass::text FROM resources WHERE project_id = 'p1' LIMIT 1",
    )
    .fetch_one(&mut conn)
    .await
    .expect("the project's partition");
    let home = home.trim_start_matches("resources_");
    let scans: Vec<(String, i64)> = scans(&mut conn)
        .await
        .into_iter()
        .map(|(name, n)| {
            let was = before.iter().find(|b| b.0 == name).map_or(0, |b| b.1);
            (name, n - was)
        })
        .collect();
    for table in PER_TENANT {
        let own = format!("{table}_{home}");
        let of_table: Vec<&(String, i64)> = scans
            .iter()
            .filter(|(name, _)| {
                name.strip_prefix(table)
                    .is_some_and(|r| r.starts_with("_p") && r[2..].parse::<u32>().is_ok())
            })
            .collect();
        assert_eq!(of_table.len(), PARTITIONS as usize, "{table}: {scans:?}");
        for (name, n) in of_table {
            if *name == own {
                assert!(
                    *n > 0,
                    "{name}, the project's own partition, was never read"
                );
            } else if !READ_ACROSS.contains(&table) {
                assert_eq!(
                    *n, 0,
                    "{name} holds none of the project's rows, yet was scanned {n} times"
                );
            }
        }
    }
}
