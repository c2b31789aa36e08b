//! What the service-level fuzz targets share: one real service per fuzzing process, over a real
//! SQLite file with some resources and tags already in it, and the runtime that drives it.

use std::{
    ffi::c_int,
    path::{Path, PathBuf},
    sync::{Arc, LazyLock, OnceLock},
    time::Duration,
};

use tagging_service::{
    auth::{
        Authenticator, Grant, MasterKey, create_access_key, create_token,
        signature::{Scheme, format_date},
        unix_now,
    },
    domain::{Access, Caller, Catalog, Limits, Principal, ProjectScope, Rules},
    grpc::TaggingApi,
    proto::pb,
    rest,
    service::{Admission, ChangeFeed, Pipeline, TaggingCore, WatchSettings},
    store::{self, CredentialStore, PoolSettings},
    telemetry::Metrics,
};
use tokio::runtime::Runtime;

/// The project the fuzzed requests' tokens belong to, and the one the seed data lives in.
pub const PROJECT: &str = "demo";
pub const OTHER_PROJECT: &str = "other";
/// The service's default reserved prefixes: only a system caller may ever see keys under them.
pub const RESERVED_PREFIXES: [&str; 3] = ["acs:", "aliyun", "_sys_"];
const MAX_BODY_BYTES: usize = 1 << 20;
const MAX_QUERY_BYTES: usize = 8 << 10;

/// One token per kind of caller, and an access key id of project `demo` (its secret stays unknown:
/// a fuzzed signature never matches, but every check before the HMAC runs).
pub struct Tokens {
    pub demo: String,
    pub read_only: String,
    pub system: String,
    pub other: String,
    pub access_key_id: String,
}

/// The service, assembled as `startup` assembles it, with authentication on and, beside it, off.
pub struct Service {
    pub rest: axum::Router,
    pub rest_no_auth: axum::Router,
    pub grpc: TaggingApi,
    pub grpc_no_auth: TaggingApi,
    pub tokens: Tokens,
}

/// A current-thread runtime: libFuzzer calls the target on one thread, one input at a time.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    });
    &RUNTIME
}

pub fn service() -> &'static Service {
    static SERVICE: LazyLock<Service> = LazyLock::new(|| runtime().block_on(build()));
    &SERVICE
}

/// Where the database goes: shared memory when there is some, since SQLite here syncs every write
/// to disk and a fuzzer writes thousands of times a second.
fn scratch_dir() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    }
}

const DIR_PREFIX: &str = "tagging-fuzz-";
static DATABASE_DIR: OnceLock<PathBuf> = OnceLock::new();

unsafe extern "C" {
    fn atexit(callback: extern "C" fn()) -> c_int;
}

/// Statics are never dropped, so the database is removed when libFuzzer exits, and those of
/// fuzzing processes that died (a crash exits without this) when the next one starts.
extern "C" fn remove_database() {
    if let Some(dir) = DATABASE_DIR.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn remove_stale_databases(parent: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let pid = name
            .to_str()
            .and_then(|n| n.strip_prefix(DIR_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .filter(|pid| pid.parse::<u32>().is_ok());
        if let Some(pid) = pid
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn database_dir() -> &'static Path {
    DATABASE_DIR.get_or_init(|| {
        let parent = scratch_dir();
        remove_stale_databases(&parent);
        let dir = tempfile::Builder::new()
            .prefix(&format!("{DIR_PREFIX}{}-", std::process::id()))
            .tempdir_in(parent)
            .expect("a scratch directory")
            .keep();
        // SAFETY: registers a plain function with the C runtime; it only removes a directory.
        unsafe { atexit(remove_database) };
        dir
    })
}

async fn build() -> Service {
    let dir = database_dir();
    let url = format!("sqlite:{}", dir.join("fuzz.db").display());
    let pool = PoolSettings {
        max_connections: 4,
        acquire_timeout: Duration::from_secs(5),
        statement_timeout: None,
        postings_bytes: 0,
    };
    let store = store::connect(&url, &pool).await.expect("the SQLite store");
    let rules = Rules {
        catalog: Catalog::default(),
        reserved_prefixes: RESERVED_PREFIXES.map(str::to_owned).to_vec(),
        limits: Limits::default(),
    };
    let master = MasterKey::generate();
    let auth = Arc::new(Authenticator::new(
        store.clone(),
        true,
        Some(master.clone()),
    ));
    let settings = WatchSettings {
        bookmark: Duration::from_secs(10),
        buffer: 16,
        max_watchers: 16,
        poll: Duration::from_secs(1),
    };
    let feed = ChangeFeed::new(store.clone(), settings, auth.clone());
    let core = Arc::new(
        TaggingCore::new(store.as_ref(), store.clone(), Arc::new(rules), feed)
            .await
            .expect("the core"),
    );
    let key_grant = Grant {
        project_id: PROJECT.to_owned(),
        read_only: false,
        system: false,
    };
    let (access_key_id, _) = create_access_key(store.as_ref(), &master, &key_grant)
        .await
        .expect("an access key");
    let tokens = Tokens {
        demo: token(store.as_ref(), PROJECT, false, false).await,
        read_only: token(store.as_ref(), PROJECT, true, false).await,
        system: token(store.as_ref(), PROJECT, false, true).await,
        other: token(store.as_ref(), OTHER_PROJECT, false, false).await,
        access_key_id,
    };
    seed(&core).await;
    let metrics = Arc::new(Metrics::default());
    let admission = Admission::new(64, Duration::from_secs(30));
    let no_auth = Arc::new(Authenticator::new(store, false, None));
    let pipeline = |auth: Arc<Authenticator>| {
        Arc::new(Pipeline::new(
            core.clone(),
            auth,
            metrics.clone(),
            admission.clone(),
        ))
    };
    let (with_auth, without_auth) = (pipeline(auth), pipeline(no_auth));
    let router = |pipeline: &Arc<Pipeline>| {
        let options = rest::Options {
            max_body_bytes: MAX_BODY_BYTES,
            body_timeout: std::time::Duration::from_secs(30),
            max_query_bytes: MAX_QUERY_BYTES,
            region_id: None,
        };
        rest::router(pipeline.clone(), options)
    };
    Service {
        rest: router(&with_auth),
        rest_no_auth: router(&without_auth),
        grpc: TaggingApi::new(with_auth),
        grpc_no_auth: TaggingApi::new(without_auth),
        tokens,
    }
}

async fn token(
    store: &dyn CredentialStore,
    project: &str,
    read_only: bool,
    system: bool,
) -> String {
    let grant = Grant {
        project_id: project.to_owned(),
        read_only,
        system,
    };
    create_token(store, &grant).await.expect("a token").1
}

/// More clusters than a default page, tagged as in the walkthrough of docs/rest-compat.md, some with a system tag, and SMN
/// topics with names, so reads find rows, pages and names to follow.
async fn seed(core: &TaggingCore) {
    let system = Principal {
        scope: ProjectScope::One(PROJECT.to_owned()),
        read_only: false,
        system: true,
        unconfirmed_token: None,
        once: None,
        credentials: Default::default(),
    };
    let system = Caller::new(system, Access::Write, "fuzz-seed".to_owned());
    let tag = |key: &str, value: &str| pb::Tag {
        key: key.to_owned(),
        value: value.to_owned(),
    };
    for (i, env) in ["dev", "prod", "test"].into_iter().enumerate() {
        let ids = (0..25).map(|n| format!("c-{}", i * 25 + n + 1)).collect();
        let tags = vec![tag("env", env), tag("team", "IT"), tag("acs:owner", "ops")];
        let req = pb::TagResourcesRequest {
            project_id: String::new(),
            resource_type: "CLUSTER".to_owned(),
            resource_ids: ids,
            tags,
            expected_revision: None,
        };
        core.tag_resources(&system, req)
            .await
            .expect("seed clusters");
    }
    for (id, name) in [("t-1", "orders"), ("t-2", "billing"), ("t-3", "audit")] {
        let req = pb::PutResourceRequest {
            project_id: String::new(),
            resource_type: "smn_topic".to_owned(),
            resource_id: id.to_owned(),
            name: name.to_owned(),
            expected_revision: None,
        };
        core.put_resource(&system, req).await.expect("seed topics");
        let req = pb::TagResourcesRequest {
            project_id: String::new(),
            resource_type: "smn_topic".to_owned(),
            resource_ids: vec![id.to_owned()],
            tags: vec![tag("owner", name), tag("_sys_quota", "10")],
            expected_revision: None,
        };
        core.tag_resources(&system, req).await.expect("seed tags");
    }
}

/// Whether `key` is a system tag's, which no caller but a system one may see.
pub fn is_reserved(key: &str) -> bool {
    RESERVED_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Now in the two signature schemes' date formats (`2026-11-23T20:43:50Z`, `20261123T204350Z`), so
/// a fuzzed signed request gets past the clock check to the canonical request.
pub fn signature_dates() -> (String, String) {
    let now = unix_now();
    (
        format_date(Scheme::Acs3, now),
        format_date(Scheme::SdkHmac, now),
    )
}
