//! The options of `serve`: where to listen, and the rules and limits the service enforces.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::Args;

use super::{DatabaseArgs, MasterKeyArgs};
use crate::{
    domain::{Catalog, Limits, Rules, catalog::DEFAULT_CATALOG},
    service::WatchSettings,
    store::ReplicaSettings,
    tls::TlsFiles,
};

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TAGGING_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// PEM certificate chain: the port then serves gRPC, gRPC-Web and REST over TLS only. The
    /// files are read again when they change (see --tls-reload-interval-ms).
    #[arg(
        long,
        env = "TAGGING_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(
        long,
        env = "TAGGING_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificates: every client must present a certificate one of them signed (mTLS), in
    /// addition to its token or signature.
    #[arg(
        long,
        env = "TAGGING_TLS_CLIENT_CA",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_client_ca: Option<PathBuf>,
    /// How often the TLS files are checked for changes, in milliseconds.
    #[arg(long, env = "TAGGING_TLS_RELOAD_INTERVAL_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    pub tls_reload_interval_ms: u64,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Do not apply migrations: refuse to start unless the schema is exactly the one this
    /// binary knows (apply them first with `tagging-service migrate`).
    #[arg(long, env = "TAGGING_NO_MIGRATE")]
    pub no_migrate: bool,
    /// Turn authentication off: any caller may act on any project. For local experiments only.
    #[arg(long, env = "TAGGING_INSECURE_NO_AUTH")]
    pub insecure_no_auth: bool,
    /// Accepted resource types, `name[=qualified name]`, comma-separated.
    #[arg(long, env = "TAGGING_RESOURCE_TYPES", default_value = DEFAULT_CATALOG)]
    pub resource_types: String,
    /// Key prefixes of system tags, comma-separated: only system tokens write or see them.
    #[arg(
        long,
        env = "TAGGING_RESERVED_PREFIXES",
        value_delimiter = ',',
        default_value = "acs:,aliyun,_sys_"
    )]
    pub reserved_prefixes: Vec<String>,
    /// Tags one resource may carry (system tags do not count).
    #[arg(long, env = "TAGGING_MAX_TAGS_PER_RESOURCE", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_tags_per_resource: u32,
    /// Resource ids one request may name.
    #[arg(long, env = "TAGGING_MAX_RESOURCE_IDS", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_resource_ids: u32,
    /// Largest page a list call answers (`page_size`, SMN's `limit`).
    #[arg(long, env = "TAGGING_MAX_PAGE_SIZE", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_page_size: u32,
    /// Largest REST query string, in bytes as received (percent-encoded); a longer one is refused
    /// with 414. HTTP/1 itself refuses a request target above 64 KiB.
    #[arg(long, env = "TAGGING_MAX_QUERY_BYTES", default_value_t = 8 * 1024, value_parser = clap::value_parser!(u32).range(256..=32 * 1024))]
    pub max_query_bytes: u32,
    /// Largest gRPC message, received or sent, in bytes.
    #[arg(long, env = "TAGGING_MAX_MESSAGE_BYTES", default_value_t = 4 * 1024 * 1024, value_parser = clap::value_parser!(u32).range(1024..=64 * 1024 * 1024))]
    pub max_message_bytes: u32,
    /// Largest gRPC request message once decompressed, in bytes (at most `--max-message-bytes`).
    /// The largest legal request under the default limits is about 82 KiB: 50 ids of 256
    /// characters and 20 tags, all of four-byte characters. Raise it with `--max-resource-ids`.
    #[arg(long, env = "TAGGING_MAX_REQUEST_BYTES", default_value_t = 256 * 1024, value_parser = clap::value_parser!(u32).range(1024..=64 * 1024 * 1024))]
    pub max_request_bytes: u32,
    /// HTTP/2 streams (calls) one connection may have open at once.
    #[arg(long, env = "TAGGING_MAX_CONCURRENT_STREAMS", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_concurrent_streams: u32,
    /// Largest REST request body, in bytes.
    #[arg(long, env = "TAGGING_MAX_BODY_BYTES", default_value_t = 1024 * 1024, value_parser = clap::value_parser!(u32).range(1024..=64 * 1024 * 1024))]
    pub max_body_bytes: u32,
    /// Longest a REST request's body may take to arrive after its headers, in milliseconds; a
    /// later one is answered 408 and its connection closed.
    #[arg(long, env = "TAGGING_BODY_TIMEOUT_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    pub body_timeout_ms: u64,
    /// Longest a connection may stay open with no call in flight, or with its peer taking
    /// nothing the server writes, in milliseconds. HTTP/2 keepalive pings also close, sooner, a
    /// connection whose peer is gone.
    #[arg(long, env = "TAGGING_IDLE_TIMEOUT_MS", default_value_t = 300_000, value_parser = clap::value_parser!(u64).range(1_000..=86_400_000))]
    pub idle_timeout_ms: u64,
    /// Longest a call may run, in milliseconds; a shorter `grpc-timeout` from the caller wins.
    #[arg(long, env = "TAGGING_REQUEST_TIMEOUT_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub request_timeout_ms: u64,
    /// Calls served at once, over every transport; more are refused at once with
    /// RESOURCE_EXHAUSTED (HTTP 429) instead of queueing.
    #[arg(long, env = "TAGGING_MAX_CONCURRENT_CALLS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_concurrent_calls: u32,
    /// Origins allowed to call from a browser (REST and gRPC-Web), comma-separated, or `*`.
    /// Empty (the default): CORS is off.
    #[arg(long, env = "TAGGING_CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Vec<String>,
    /// Longest wait for in-flight calls after SIGTERM or SIGINT, in seconds.
    #[arg(long, env = "TAGGING_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
    /// The region this service stands for: the ACK form's `region_id`, when sent, must be this one.
    /// Unset: any region is accepted.
    #[arg(long, env = "TAGGING_REGION_ID")]
    pub region_id: Option<String>,
    /// How long the change log keeps a change (e.g. 7d, 12h, 90m); older ones are compacted
    /// away in the background, and history from before them is refused (OUT_OF_RANGE, 410).
    #[arg(long, env = "TAGGING_CHANGE_RETENTION", value_name = "DURATION", default_value = "7d", value_parser = crate::domain::time::parse_duration)]
    pub change_retention: u64,
    /// A watch with nothing to send for this long sends a bookmark, in milliseconds; its
    /// credentials are checked again as it does. A consumer that takes nothing for this long
    /// while messages wait for it is too slow, and its stream ends (RESOURCE_EXHAUSTED).
    #[arg(long, env = "TAGGING_WATCH_BOOKMARK_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    pub watch_bookmark_ms: u64,
    /// Messages (revisions) a watch holds for a consumer that has not taken them yet.
    #[arg(long, env = "TAGGING_WATCH_BUFFER", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub watch_buffer: u32,
    /// How often a watched project's change log is read when nothing woke it, in milliseconds:
    /// the longest a change whose wake-up was lost (or, on SQLite, a change another process
    /// wrote) waits to reach watchers.
    #[arg(long, env = "TAGGING_WATCH_POLL_MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub watch_poll_ms: u64,
    /// Watches this process serves at once; more are refused with RESOURCE_EXHAUSTED (429).
    #[arg(long, env = "TAGGING_MAX_WATCHERS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_watchers: u32,
    /// A streaming read replica of the PostgreSQL database, `postgres://…` (repeatable; the
    /// variable takes them comma-separated): tag reads go to a replica that has replayed far
    /// enough, writes and everything that must be current to the primary.
    #[arg(
        long = "database-replica-url",
        env = "TAGGING_DATABASE_REPLICA_URLS",
        value_name = "URL",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub database_replica_urls: Vec<String>,
    /// How long a read with a consistency token waits for a replica to replay that write before
    /// the primary serves it, in milliseconds.
    #[arg(long, env = "TAGGING_REPLICA_WAIT_MS", default_value_t = 50, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub replica_wait_ms: u64,
    /// A replica replaying further behind the primary than this is skipped until it catches up,
    /// in milliseconds.
    #[arg(long, env = "TAGGING_REPLICA_MAX_LAG_MS", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
    pub replica_max_lag_ms: u64,
    /// Memory for the filter postings, in MiB: the sets of resources, per tag filter term, that
    /// answer counts and negations on large projects without reading every matching index
    /// entry. 0 turns them off (every filter is then answered by the database alone).
    #[arg(long, env = "TAGGING_FILTER_POSTINGS_MB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(0..=65_536))]
    pub filter_postings_mb: u64,
    /// Without a master key the service checks no AK/SK signatures (tokens still work).
    #[command(flatten)]
    pub master_key: MasterKeyArgs,
}

impl ServeArgs {
    /// The TLS files, when TLS is on.
    pub fn tls_files(&self) -> Option<TlsFiles> {
        Some(TlsFiles {
            cert: self.tls_cert.clone()?,
            key: self.tls_key.clone()?,
            client_ca: self.tls_client_ca.clone(),
        })
    }

    /// How read replicas are used.
    pub fn replica_settings(&self) -> ReplicaSettings {
        ReplicaSettings {
            wait: Duration::from_millis(self.replica_wait_ms),
            max_lag: Duration::from_millis(self.replica_max_lag_ms),
        }
    }

    /// How watches behave.
    pub fn watch_settings(&self) -> WatchSettings {
        WatchSettings {
            bookmark: Duration::from_millis(self.watch_bookmark_ms),
            buffer: self.watch_buffer as usize,
            max_watchers: self.max_watchers as usize,
            poll: Duration::from_millis(self.watch_poll_ms),
        }
    }

    /// The rules these options configure; an error names the option at fault.
    pub fn rules(&self) -> anyhow::Result<Rules> {
        let catalog = Catalog::parse(&self.resource_types)
            .map_err(|e| anyhow::anyhow!("--resource-types: {e}"))?;
        let reserved_prefixes: Vec<String> = self
            .reserved_prefixes
            .iter()
            // Matched in any case: kept lower-case, so statements fold only the keys' case.
            .map(|p| p.trim().to_lowercase())
            .filter(|p| !p.is_empty())
            .collect();
        Ok(Rules {
            catalog,
            reserved_prefixes,
            limits: Limits {
                max_tags_per_resource: self.max_tags_per_resource as usize,
                max_resource_ids: self.max_resource_ids as usize,
                max_page_size: self.max_page_size,
                // The default page never exceeds the largest one.
                default_page_size: Limits::default().default_page_size.min(self.max_page_size),
                ..Limits::default()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{
        Cli, Command,
        file::with_config_file,
        test_support::{config_file, serve},
    };
    use clap::Parser;

    #[test]
    fn limit_options_reach_the_rules_and_the_default_page_never_exceeds_the_largest() {
        let file = config_file("max_resource_ids = 7\nmax_query_bytes = 4096\n");
        let path = file.path().to_str().unwrap().to_owned();
        let args = [
            "tagging-service",
            "serve",
            "--config",
            &path,
            "--max-page-size",
            "20",
        ]
        .map(String::from)
        .to_vec();
        let s = serve(with_config_file(args, |_| None).unwrap());
        assert_eq!(s.max_query_bytes, 4096);
        let limits = s.rules().unwrap().limits;
        assert_eq!(
            (
                limits.max_resource_ids,
                limits.max_page_size,
                limits.default_page_size
            ),
            (7, 20, 20)
        );
        let defaults = serve(["tagging-service", "serve"].map(String::from).to_vec());
        let limits = defaults.rules().unwrap().limits;
        assert_eq!(
            (
                limits.max_resource_ids,
                limits.max_page_size,
                limits.default_page_size
            ),
            (50, 1000, 50)
        );
        assert_eq!(defaults.max_query_bytes, 8192);
        for bad in [
            ["--max-resource-ids", "0"],
            ["--max-page-size", "0"],
            ["--max-query-bytes", "100"],
        ] {
            let err = Cli::try_parse_from(["tagging-service", "serve", bad[0], bad[1]])
                .unwrap_err()
                .to_string();
            assert!(err.contains(bad[0]), "{err}");
        }
    }

    #[test]
    fn bad_catalog_names_the_option() {
        let cli = Cli::parse_from(["tagging-service", "serve", "--resource-types", "a,a"]);
        let Command::Serve(args) = cli.command else {
            panic!("serve")
        };
        assert!(
            args.rules()
                .unwrap_err()
                .to_string()
                .starts_with("--resource-types")
        );
    }
}
