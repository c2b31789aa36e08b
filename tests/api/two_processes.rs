//! Two service processes on one PostgreSQL database, calls alternating between them, as behind a
//! load balancer: whichever answers, a caller observes the same tokens and revocations, access
//! keys, page tokens and used nonces; `/metrics` counts each process's own calls.

use reqwest::Method;
use tonic::{Code, transport::Channel};

use crate::{
    helpers::{
        Backend, InProcessServer, PROJECT, TestDb, authed, pb,
        pb::tagging_service_client::TaggingServiceClient, small_pool, tag_request,
    },
    signatures::{CLUSTER_ROWS, Key, acs3_via, master_key, send},
};
use tagging_service::{
    auth::{self, Grant, MasterKey},
    store::{self, Store},
};

struct Pair {
    servers: [InProcessServer; 2],
    clients: [TaggingServiceClient<Channel>; 2],
    store: std::sync::Arc<dyn Store>,
    master: MasterKey,
    _db: TestDb,
}

impl Pair {
    async fn start() -> Self {
        let (db, url) = TestDb::create(Backend::Postgres).await;
        let key = master_key().await;
        let flags = ["--master-key", key.as_str()];
        let servers = [
            InProcessServer::start(&url, &flags).await,
            InProcessServer::start(&url, &flags).await,
        ];
        let connect = |addr| async move {
            TaggingServiceClient::connect(format!("http://{addr}"))
                .await
                .expect("client")
        };
        let clients = [
            connect(servers[0].addr).await,
            connect(servers[1].addr).await,
        ];
        let store = store::connect(&url, &small_pool()).await.expect("store");
        let master = MasterKey::from_base64(&key).expect("master key");
        Self {
            servers,
            clients,
            store,
            master,
            _db: db,
        }
    }

    async fn token(&self) -> (String, String) {
        let grant = Grant {
            project_id: PROJECT.to_owned(),
            read_only: false,
            system: false,
        };
        auth::create_token(self.store.as_ref(), &grant)
            .await
            .expect("token")
    }

    async fn read(
        &self,
        process: usize,
        token: &str,
        id: &str,
    ) -> Result<Vec<(String, String)>, tonic::Status> {
        let request = pb::ListResourceTagsRequest {
            resource_type: "CLUSTER".into(),
            resource_id: id.into(),
            ..Default::default()
        };
        let answer = self.clients[process]
            .clone()
            .list_resource_tags(authed(token, request))
            .await?;
        Ok(answer
            .into_inner()
            .tags
            .into_iter()
            .map(|t| (t.key, t.value))
            .collect())
    }

    async fn write(
        &self,
        process: usize,
        token: &str,
        id: &str,
        value: &str,
    ) -> Result<(), tonic::Status> {
        self.clients[process]
            .clone()
            .tag_resources(authed(token, tag_request(&[id], &[("env", value)])))
            .await
            .map(drop)
    }

    async fn requests_total(&self, process: usize, method: &str) -> u64 {
        let text = reqwest::get(format!("http://{}/metrics", self.servers[process].addr))
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics text");
        let series =
            format!(r#"tagging_requests_total{{transport="grpc",method="{method}",code="Ok"}} "#);
        text.lines()
            .find_map(|l| l.strip_prefix(&series))
            .map_or(0, |n| n.trim().parse().expect("a count"))
    }
}

#[tokio::test]
async fn a_write_through_one_process_is_read_through_the_other_and_a_revocation_reaches_both() {
    let pair = Pair::start().await;
    let (id, token) = pair.token().await;
    pair.write(0, &token, "c-1", "a")
        .await
        .expect("write through A");
    assert_eq!(
        pair.read(1, &token, "c-1").await.expect("read through B"),
        vec![("env".into(), "a".into())]
    );
    pair.write(1, &token, "c-1", "b")
        .await
        .expect("write through B");
    assert_eq!(
        pair.read(0, &token, "c-1").await.expect("read through A"),
        vec![("env".into(), "b".into())]
    );

    // Both processes now remember the token; revoked through neither, it is refused by both.
    assert!(
        auth::revoke_token(pair.store.as_ref(), &id)
            .await
            .expect("revoke")
    );
    for process in [0, 1] {
        let read = pair
            .read(process, &token, "c-1")
            .await
            .expect_err("a revoked token reads");
        assert_eq!(
            read.code(),
            Code::Unauthenticated,
            "process {process}: {read:?}"
        );
        let write = pair
            .write(process, &token, "c-1", "c")
            .await
            .expect_err("a revoked token writes");
        assert_eq!(
            write.code(),
            Code::Unauthenticated,
            "process {process}: {write:?}"
        );
    }
}

#[tokio::test]
async fn a_page_token_of_one_process_continues_on_the_other() {
    let pair = Pair::start().await;
    let (_, token) = pair.token().await;
    let ids = ["c-1", "c-2", "c-3", "c-4", "c-5"];
    pair.clients[0]
        .clone()
        .tag_resources(authed(&token, tag_request(&ids, &[("env", "prod")])))
        .await
        .expect("tag");
    let page = |process: usize, next_token: String| {
        let mut client = pair.clients[process].clone();
        let token = token.clone();
        async move {
            client
                .list_resources(authed(
                    &token,
                    pb::ListResourcesRequest {
                        resource_type: "CLUSTER".into(),
                        page_size: 2,
                        next_token,
                        ..Default::default()
                    },
                ))
                .await
                .expect("list_resources")
                .into_inner()
        }
    };
    let mut seen = Vec::new();
    let mut next_token = String::new();
    for process in [0, 1, 0, 1] {
        let answer = page(process, next_token).await;
        seen.extend(answer.resources.into_iter().map(|r| r.resource_id));
        next_token = answer.next_token;
        if next_token.is_empty() {
            break;
        }
    }
    assert_eq!(seen, ids, "pages alternating between the processes");
}

#[tokio::test]
async fn access_keys_nonces_and_metrics_across_processes() {
    let pair = Pair::start().await;
    let grant = Grant {
        project_id: PROJECT.to_owned(),
        read_only: false,
        system: false,
    };
    let (id, secret) = auth::create_access_key(pair.store.as_ref(), &pair.master, &grant)
        .await
        .expect("access key");
    let key = Key {
        id: id.clone(),
        secret,
    };
    let [a, b] = [pair.servers[0].addr, pair.servers[1].addr];
    // One host name for both, as a balancer in front of them presents it.
    let host = "tagging.example.com";
    let list = |addr| {
        acs3_via(
            addr,
            host,
            Method::GET,
            &[("resource_type", "CLUSTER"), ("resource_ids", CLUSTER_ROWS)],
            None,
            &key,
        )
    };
    assert_eq!(send(list(a)).await.0, 200, "signed, through A");
    assert_eq!(send(list(b)).await.0, 200, "signed, through B");

    // The same signed request (its nonce) sent to A and then to B: B refuses it.
    let signed = list(a);
    let again = signed
        .try_clone()
        .expect("a request without a streaming body");
    let again = again.build().expect("request");
    assert_eq!(send(signed).await.0, 200);
    let mut to_b = again;
    to_b.url_mut().set_port(Some(b.port())).expect("port");
    let replayed = reqwest::Client::new().execute(to_b).await.expect("replay");
    assert_eq!(
        replayed.status().as_u16(),
        401,
        "a nonce used on A is used on B"
    );

    assert!(
        auth::revoke_access_key(pair.store.as_ref(), &id)
            .await
            .expect("revoke")
    );
    for addr in [a, b] {
        assert_eq!(
            send(list(addr)).await.0,
            401,
            "a revoked key, through {addr}"
        );
    }

    // Each process's /metrics counts its own calls.
    let (_, token) = pair.token().await;
    let before = [
        pair.requests_total(0, "ListResourceTags").await,
        pair.requests_total(1, "ListResourceTags").await,
    ];
    pair.write(0, &token, "c-1", "x").await.expect("write");
    pair.read(0, &token, "c-1").await.expect("read");
    let after = [
        pair.requests_total(0, "ListResourceTags").await,
        pair.requests_total(1, "ListResourceTags").await,
    ];
    assert_eq!(after[0], before[0] + 1, "A counts its own successful reads");
    assert_eq!(after[1], before[1], "B counts none of A's calls");
}
