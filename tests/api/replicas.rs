//! Reads from a real streaming replica: a private primary (`PgCluster`) and a hot standby made from
//! it with `pg_basebackup -R`, the server reading from the standby. With the standby's replay
//! paused, a write's consistency token still reads the write (from the primary) while reads
//! without one are served, stale, by the standby, as `/metrics` shows; a revocation the standby
//! has not replayed still refuses the token; a lagging standby is skipped; a stopped standby fails
//! no read, and is used again once it is back.

use std::time::Duration;

use sqlx::{Connection, PgConnection};
use tonic::{Code, Request, transport::Channel};

use crate::{
    helpers::{
        InProcessServer, authed,
        grpc_web::{frame, frames},
        pb,
        pb::tagging_service_client::TaggingServiceClient,
        tag_request, token_in,
    },
    pg_cluster::PgCluster,
};

/// How long the standby may take to be found usable, or set aside.
const SETTLE: Duration = Duration::from_secs(30);
/// Every read's deadline.
const READ_DEADLINE: Duration = Duration::from_secs(5);

struct Setup {
    primary: PgCluster,
    standby: PgCluster,
    server: InProcessServer,
    client: TaggingServiceClient<Channel>,
    token: String,
}

impl Setup {
    /// The primary, its standby, and a server reading from the standby with `flags`.
    async fn start(flags: &[&str]) -> Self {
        let primary = PgCluster::start().await;
        // The server migrates the primary; the standby, made after, has the schema.
        let token = token_in(&primary.url()).await;
        let standby = PgCluster::standby_of(&primary).await;
        let standby_url = standby.url();
        let mut args = vec!["--database-replica-url", standby_url.as_str()];
        args.extend_from_slice(flags);
        let server = InProcessServer::start(&primary.url(), &args).await;
        let client = TaggingServiceClient::connect(format!("http://{}", server.addr))
            .await
            .expect("client");
        let setup = Self {
            primary,
            standby,
            server,
            client,
            token,
        };
        setup.until_usable(true).await;
        setup
    }

    async fn metrics(&self) -> String {
        reqwest::get(format!("http://{}/metrics", self.server.addr))
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// The value of the series `name{labels}` in `/metrics`, if present.
    async fn series(&self, name: &str, labels: &str) -> Option<f64> {
        let prefix = format!("{name}{{{labels}}} ");
        self.metrics().await.lines().find_map(|l| {
            l.strip_prefix(&prefix)
                .map(|v| v.trim().parse().expect("a number"))
        })
    }

    /// Reads served by the primary and by the standby so far.
    async fn reads(&self) -> (f64, f64) {
        let primary = self
            .series("tagging_db_reads_total", r#"server="primary""#)
            .await;
        let standby = self
            .series(
                "tagging_db_reads_total",
                &format!(r#"server="{}""#, self.standby.name()),
            )
            .await;
        (primary.unwrap_or(0.0), standby.unwrap_or(0.0))
    }

    /// Waits until `/metrics` says the standby is (or is not) in use.
    async fn until_usable(&self, usable: bool) {
        let labels = format!(r#"replica="{}""#, self.standby.name());
        let want = if usable { 1.0 } else { 0.0 };
        let deadline = tokio::time::Instant::now() + SETTLE;
        while self.series("tagging_replica_usable", &labels).await != Some(want) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the standby never became usable={usable}:\n{}\nstandby log:\n{}",
                self.metrics().await,
                self.standby.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn standby_sql(&self, statement: &str) {
        let mut conn = PgConnection::connect(&self.standby.url())
            .await
            .expect("a connection to the standby");
        sqlx::query(statement)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }

    /// Pauses the standby's replay and waits until it has paused.
    async fn pause_replay(&self) {
        self.standby_sql("SELECT pg_wal_replay_pause()").await;
        let mut conn = PgConnection::connect(&self.standby.url())
            .await
            .expect("standby");
        loop {
            let state: String = sqlx::query_scalar("SELECT pg_get_wal_replay_pause_state()")
                .fetch_one(&mut conn)
                .await
                .expect("pause state");
            if state == "paused" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sets `env` on c-1 and answers the write's consistency token.
    async fn write(&self, value: &str) -> String {
        let answer = self
            .client
            .clone()
            .tag_resources(authed(
                &self.token,
                tag_request(&["c-1"], &[("env", value)]),
            ))
            .await
            .expect("a write");
        let trailer = answer
            .metadata()
            .get("x-consistency-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let token = answer.into_inner().consistency_token;
        assert_eq!(
            trailer.as_deref(),
            Some(token.as_str()),
            "the metadata carries the field's token"
        );
        token
    }

    /// c-1's `env` as read with `consistency` (none, the request field, or the metadata).
    async fn read(&self, consistency: Consistency<'_>) -> Result<String, tonic::Status> {
        let mut message = pb::ListResourceTagsRequest {
            resource_type: "CLUSTER".into(),
            resource_id: "c-1".into(),
            ..Default::default()
        };
        if let Consistency::Field(token) = consistency {
            message.consistency_token = token.to_owned();
        }
        let mut request: Request<_> = authed(&self.token, message);
        // Far below the longest --replica-wait-ms a test sets: a read that waits for a replica
        // it should have given up on fails.
        request.set_timeout(READ_DEADLINE);
        if let Consistency::Header(token) = consistency {
            request
                .metadata_mut()
                .insert("x-consistency-token", token.parse().expect("ascii"));
        }
        let tags = self
            .client
            .clone()
            .list_resource_tags(request)
            .await?
            .into_inner()
            .tags;
        Ok(tags
            .into_iter()
            .find(|t| t.key == "env")
            .map(|t| t.value)
            .unwrap_or_default())
    }
}

#[derive(Clone, Copy)]
enum Consistency<'a> {
    None,
    Field(&'a str),
    Header(&'a str),
}

#[tokio::test]
async fn a_token_reads_its_write_while_the_replica_lags_and_reads_without_one_go_to_the_replica() {
    let s = Setup::start(&["--replica-max-lag-ms", "600000"]).await;
    let first = s.write("one").await;
    // Caught up: with or without the token, the standby serves the read.
    let before = s.reads().await;
    assert_eq!(s.read(Consistency::Field(&first)).await.unwrap(), "one");
    let after = s.reads().await;
    assert_eq!(
        (after.0, after.1),
        (before.0, before.1 + 1.0),
        "the caught-up standby served the read"
    );

    s.pause_replay().await;
    let second = s.write("two").await;
    for consistency in [Consistency::Field(&second), Consistency::Header(&second)] {
        let before = s.reads().await;
        assert_eq!(
            s.read(consistency).await.unwrap(),
            "two",
            "a token reads its own write"
        );
        let after = s.reads().await;
        assert_eq!(after, (before.0 + 1.0, before.1), "the primary served it");
    }
    // Without a token: the standby, which has not replayed the write.
    let before = s.reads().await;
    assert_eq!(s.read(Consistency::None).await.unwrap(), "one");
    assert_eq!(s.reads().await, (before.0, before.1 + 1.0));
    // The first write's token is satisfied by the paused standby.
    assert_eq!(s.read(Consistency::Field(&first)).await.unwrap(), "one");

    s.standby_sql("SELECT pg_wal_replay_resume()").await;
    // Once it has replayed, the standby serves the second write's token too (within the wait).
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let before = s.reads().await;
        assert_eq!(s.read(Consistency::Field(&second)).await.unwrap(), "two");
        if s.reads().await.1 > before.1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the resumed standby never served the token"
        );
    }
    let lag = s
        .series(
            "tagging_replica_lag_seconds",
            &format!(r#"replica="{}""#, s.standby.name()),
        )
        .await;
    assert!(
        lag.is_some_and(|l| l >= 0.0),
        "the lag is reported: {lag:?}"
    );
}

#[tokio::test]
async fn a_bad_or_foreign_consistency_token_is_refused_naming_it() {
    let s = Setup::start(&[]).await;
    for (consistency, field) in [
        (Consistency::Field("nonsense"), "consistency_token"),
        (Consistency::Header("p1@x"), "x-consistency-token"),
        (Consistency::Field("other-project@3"), "consistency_token"),
    ] {
        let status = s.read(consistency).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains(field), "{}", status.message());
    }
}

#[tokio::test]
async fn a_revocation_the_replica_has_not_replayed_still_refuses_the_token() {
    let s = Setup::start(&["--replica-max-lag-ms", "600000"]).await;
    s.write("one").await;
    // Read once, so the token is recognised from memory from now on.
    assert_eq!(s.read(Consistency::None).await.unwrap(), "one");
    s.pause_replay().await;
    let store = tagging_service::store::connect(&s.primary.url(), &crate::helpers::small_pool())
        .await
        .expect("store");
    let revoked = tagging_service::auth::revoke_token(store.as_ref(), &s.token).await;
    assert!(revoked.expect("revoke"), "the token was live");
    let status = s.read(Consistency::None).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
}

#[tokio::test]
async fn a_lagging_replica_is_skipped_and_a_stopped_one_fails_no_read_and_is_used_again() {
    // A wait longer than a read's deadline: a token read must go to the primary at once when no
    // replica is in use, not wait for one.
    let s = Setup::start(&["--replica-max-lag-ms", "300", "--replica-wait-ms", "10000"]).await;
    s.write("one").await;
    s.pause_replay().await;
    s.write("two").await;
    s.until_usable(false).await;
    let lag = s
        .series(
            "tagging_replica_lag_seconds",
            &format!(r#"replica="{}""#, s.standby.name()),
        )
        .await
        .expect("the lag");
    assert!(
        (0.3..60.0).contains(&lag),
        "skipped for the age of the write it has not replayed: {lag}"
    );
    let before = s.reads().await;
    assert_eq!(
        s.read(Consistency::None).await.unwrap(),
        "two",
        "the primary answers"
    );
    assert_eq!(s.reads().await, (before.0 + 1.0, before.1));
    s.standby_sql("SELECT pg_wal_replay_resume()").await;
    s.until_usable(true).await;

    s.standby.stop().await;
    for _ in 0..5 {
        assert_eq!(
            s.read(Consistency::None).await.unwrap(),
            "two",
            "no read fails"
        );
    }
    s.until_usable(false).await;
    let token = s.write("three").await;
    assert_eq!(s.read(Consistency::Field(&token)).await.unwrap(), "three");

    s.standby.start_again().await;
    s.until_usable(true).await;
    let before = s.reads().await;
    assert_eq!(s.read(Consistency::Field(&token)).await.unwrap(), "three");
    assert_eq!(
        s.reads().await.1,
        before.1 + 1.0,
        "the standby serves again"
    );
}

#[tokio::test]
async fn write_answers_carry_the_token_in_the_trailers_and_rest_headers() {
    let s = Setup::start(&[]).await;
    // gRPC-Web spells the trailers out in the body's last frame.
    let message = prost::Message::encode_to_vec(&tag_request(&["c-9"], &[("k", "v")]));
    let res = reqwest::Client::new()
        .post(format!(
            "http://{}/tagging.v1.TaggingService/TagResources",
            s.server.addr
        ))
        .header("content-type", "application/grpc-web+proto")
        .header("x-auth-token", &s.token)
        .body(frame(&message))
        .send()
        .await
        .expect("answered");
    assert!(
        res.headers().get("x-consistency-token").is_none(),
        "not a header"
    );
    let body = res.bytes().await.expect("body");
    let trailers = frames(&body)
        .into_iter()
        .find(|(flag, _)| flag & 0x80 != 0)
        .map(|(_, t)| String::from_utf8(t).expect("text"))
        .expect("a trailer frame");
    assert!(trailers.contains("x-consistency-token:p1@1"), "{trailers}");

    // SMN: the write's headers, and a read holding the token.
    let rest = reqwest::Client::new();
    let base = format!("http://{}/v2/p1/CLUSTER/c-9", s.server.addr);
    let res = rest
        .post(format!("{base}/tags"))
        .header("x-auth-token", &s.token)
        .json(&serde_json::json!({"tag": {"key": "k", "value": "w"}}))
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), 204);
    let token = res.headers()["x-consistency-token"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(token, "p1@2");
    let res = rest
        .get(format!("{base}/tags"))
        .header("x-auth-token", &s.token)
        .header("x-consistency-token", &token)
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), 200);
    let res = rest
        .get(format!("{base}/tags"))
        .header("x-auth-token", &s.token)
        .header("x-consistency-token", "garbage")
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("x-consistency-token"));
}

#[tokio::test]
async fn changes_after_a_revision_the_replica_has_not_replayed_are_listed_not_refused() {
    let s = Setup::start(&["--replica-max-lag-ms", "600000"]).await;
    s.write("one").await;
    s.pause_replay().await;
    let token = s.write("two").await;
    let revision: i64 = token.rsplit('@').next().unwrap().parse().unwrap();
    // Without a token: the write's revision, which the standby has not replayed, is not a
    // revision "the project has not reached".
    let listed = s
        .client
        .clone()
        .list_tag_changes(authed(
            &s.token,
            pb::ListTagChangesRequest {
                after_revision: revision,
                ..Default::default()
            },
        ))
        .await
        .expect("listed, not refused as ahead of the project")
        .into_inner();
    assert_eq!(listed.revision, revision, "the primary listed it");
    assert!(listed.changes.is_empty());
}
