//! Command line and environment: every option is a flag with a `TAGGING_…` variable behind it.

use std::{net::SocketAddr, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::{
    domain::{Catalog, Limits, Rules, catalog::DEFAULT_CATALOG},
    store::PoolSettings,
};

#[derive(Debug, Parser)]
#[command(
    name = "tagging-service",
    version,
    about = "Key/value tags on the resources of other services, over gRPC."
)]
pub struct Cli {
    /// Log format on standard error.
    #[arg(long, env = "TAGGING_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (applies pending migrations first).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Create, list and revoke API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it, and only it, on standard output.
    Create {
        /// The project the token acts on.
        #[arg(long)]
        project: String,
        /// The token may read but not change anything.
        #[arg(long)]
        read_only: bool,
        /// The token may write and see tags under the reserved prefixes.
        #[arg(long)]
        system: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Revoke a token, given its id or the token itself.
    Revoke {
        id: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// List tokens (ids and grants, never secrets).
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite:PATH` (created if missing) or `postgres://USER@HOST:PORT/DB`.
    #[arg(
        long,
        env = "TAGGING_DATABASE_URL",
        default_value = "sqlite:tagging.db",
        hide_env_values = true
    )]
    pub database_url: String,
    /// Largest number of database connections.
    #[arg(long, env = "TAGGING_DB_MAX_CONNECTIONS", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_max_connections: u32,
    /// How long a call waits for a free connection before failing with UNAVAILABLE, in milliseconds.
    #[arg(long, env = "TAGGING_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 3000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub db_acquire_timeout_ms: u64,
}

impl DatabaseArgs {
    pub fn pool(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.db_max_connections,
            acquire_timeout: Duration::from_millis(self.db_acquire_timeout_ms),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TAGGING_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
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
    /// Longest wait for in-flight calls after SIGTERM or SIGINT, in seconds.
    #[arg(long, env = "TAGGING_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
}

impl ServeArgs {
    /// The rules these options configure; an error names the option at fault.
    pub fn rules(&self) -> anyhow::Result<Rules> {
        let catalog = Catalog::parse(&self.resource_types)
            .map_err(|e| anyhow::anyhow!("--resource-types: {e}"))?;
        let reserved_prefixes: Vec<String> = self
            .reserved_prefixes
            .iter()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect();
        Ok(Rules {
            catalog,
            reserved_prefixes,
            limits: Limits {
                max_tags_per_resource: self.max_tags_per_resource as usize,
                ..Limits::default()
            },
        })
    }
}

/// The database URL with any password masked, for logs.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_masks_passwords_only() {
        assert_eq!(
            redacted("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redacted("sqlite:tagging.db"), "sqlite:tagging.db");
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
