//! Command line and environment: every option is a flag with a `TAGGING_…` variable behind it.

use std::{net::SocketAddr, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::{
    auth::MasterKey,
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
    /// A TOML file of options (keys are the long option names, such as `listen` or
    /// `database_url`); flags and environment variables take precedence over it.
    #[arg(long, env = "TAGGING_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
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
    /// Create, list and revoke access key pairs, for the clouds' SDKs and their signed requests.
    Credential {
        #[command(subcommand)]
        command: CredentialCommand,
    },
    /// Make master keys, which seal access-key secrets at rest.
    MasterKey {
        #[command(subcommand)]
        command: MasterKeyCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Create an access key pair and print `ACCESS_KEY_ID SECRET`, and only that, on standard
    /// output. The secret is shown only now.
    Create {
        /// The project the key acts on.
        #[arg(long)]
        project: String,
        /// The key may read but not change anything.
        #[arg(long)]
        read_only: bool,
        #[command(flatten)]
        master_key: MasterKeyArgs,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Revoke an access key, given its id.
    Revoke {
        id: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// List access keys (ids and grants, never secrets).
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum MasterKeyCommand {
    /// Print a new random master key (base64 of 32 bytes) for TAGGING_MASTER_KEY or a key file.
    Generate,
}

/// Where the master key comes from: never the database, so a copy of it alone opens no secret.
#[derive(Debug, Clone, Default, Args)]
pub struct MasterKeyArgs {
    /// A file holding the master key (base64 of 32 bytes; `master-key generate` makes one).
    #[arg(long, env = "TAGGING_MASTER_KEY_FILE", value_name = "FILE")]
    pub master_key_file: Option<std::path::PathBuf>,
    /// The master key itself. Give it in the environment (TAGGING_MASTER_KEY), not as a flag, so it
    /// never shows in a process listing.
    #[arg(long, env = "TAGGING_MASTER_KEY", hide = true, hide_env_values = true)]
    pub master_key: Option<String>,
}

impl MasterKeyArgs {
    /// The configured key, if any; an error names the option at fault and never shows the key.
    pub fn load(&self) -> anyhow::Result<Option<MasterKey>> {
        let (text, option) = match (&self.master_key, &self.master_key_file) {
            (Some(_), Some(_)) => anyhow::bail!(
                "give the master key once: TAGGING_MASTER_KEY or --master-key-file, not both"
            ),
            (Some(text), None) => (text.clone(), "TAGGING_MASTER_KEY".to_owned()),
            (None, Some(path)) => (
                std::fs::read_to_string(path).map_err(|e| {
                    anyhow::anyhow!("--master-key-file: cannot read {}: {e}", path.display())
                })?,
                format!("--master-key-file {}", path.display()),
            ),
            (None, None) => return Ok(None),
        };
        MasterKey::from_base64(&text)
            .map(Some)
            .map_err(|rule| anyhow::anyhow!("{option}: the master key {rule}"))
    }
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
            statement_timeout: None,
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
    /// Largest REST request body, in bytes.
    #[arg(long, env = "TAGGING_MAX_BODY_BYTES", default_value_t = 1024 * 1024, value_parser = clap::value_parser!(u32).range(1024..=64 * 1024 * 1024))]
    pub max_body_bytes: u32,
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
    /// Without a master key the service checks no AK/SK signatures (tokens still work).
    #[command(flatten)]
    pub master_key: MasterKeyArgs,
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
                max_resource_ids: self.max_resource_ids as usize,
                max_page_size: self.max_page_size,
                // The default page never exceeds the largest one.
                default_page_size: Limits::default().default_page_size.min(self.max_page_size),
                ..Limits::default()
            },
        })
    }
}

/// Parses the command line, completed from the `--config` file for options given neither as a
/// flag nor in the environment. Exits with a message on bad options, as clap does.
pub fn parse() -> Cli {
    let args: Vec<String> = std::env::args().collect();
    match with_config_file(args, |name| std::env::var(name).ok()) {
        Ok(args) => Cli::parse_from(args),
        Err(e) => {
            eprintln!("tagging-service: {e:#}");
            std::process::exit(2);
        }
    }
}

/// `args` plus `--option value` for each option of the invoked command that the config file sets
/// and neither `args` nor the environment (`env`) does.
fn with_config_file(
    mut args: Vec<String>,
    env: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<Vec<String>> {
    let path = args
        .iter()
        .enumerate()
        .find_map(|(i, a)| match a.strip_prefix("--config") {
            Some("") => args.get(i + 1).cloned(),
            Some(rest) => rest.strip_prefix('=').map(str::to_owned),
            None => None,
        })
        .or_else(|| env("TAGGING_CONFIG"));
    let Some(path) = path else { return Ok(args) };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("--config: cannot read {path}: {e}"))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| anyhow::anyhow!("--config: {path} is not valid TOML: {e}"))?;

    // The invoked (sub)command, as clap itself reads `args` (options may stand before it).
    let root = <Cli as clap::CommandFactory>::command();
    let matches = root
        .clone()
        .ignore_errors(true)
        .try_get_matches_from(&args)
        .ok();
    let mut command = &root;
    let mut level = matches.as_ref();
    while let Some((name, sub)) = level.and_then(clap::ArgMatches::subcommand) {
        match command.find_subcommand(name) {
            Some(found) => command = found,
            None => break,
        }
        level = Some(sub);
    }
    let known: Vec<&clap::Arg> = all_args(&root);
    let mut extra = Vec::new();
    for (key, value) in &table {
        let long = key.replace('_', "-");
        if !known.iter().any(|a| a.get_long() == Some(long.as_str())) || long == "config" {
            anyhow::bail!("--config: {path}: unknown option `{key}`");
        }
        // Config files get copied and committed; a key belongs in a file of its own.
        if long == "master-key" {
            anyhow::bail!(
                "--config: {path}: `master_key` is not read from a config file; name a key file with `master_key_file`"
            );
        }
        let Some(arg) = command
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()))
        else {
            continue; // an option of another command
        };
        let flag = format!("--{long}");
        let given = args
            .iter()
            .any(|a| *a == flag || a.starts_with(&format!("{flag}=")));
        let in_env = arg
            .get_env()
            .and_then(|e| e.to_str())
            .is_some_and(|e| env(e).is_some());
        if given || in_env {
            continue;
        }
        let switch = matches!(arg.get_action(), clap::ArgAction::SetTrue);
        match (value, switch) {
            (toml::Value::Boolean(on), true) => {
                if *on {
                    extra.push(flag);
                }
            }
            (_, true) => anyhow::bail!("--config: {path}: `{key}` must be true or false"),
            (toml::Value::String(v), false) => extra.extend([flag, v.clone()]),
            (toml::Value::Integer(v), false) => extra.extend([flag, v.to_string()]),
            (toml::Value::Array(items), false) => {
                let items: Option<Vec<&str>> = items.iter().map(toml::Value::as_str).collect();
                let items = items.ok_or_else(|| {
                    anyhow::anyhow!("--config: {path}: `{key}` must be a list of strings")
                })?;
                extra.extend([flag, items.join(",")]);
            }
            (_, false) => anyhow::bail!(
                "--config: {path}: `{key}` must be a string, an integer or a list of strings"
            ),
        }
    }
    args.extend(extra);
    Ok(args)
}

fn all_args(command: &clap::Command) -> Vec<&clap::Arg> {
    let mut out: Vec<&clap::Arg> = command.get_arguments().collect();
    for sub in command.get_subcommands() {
        out.extend(all_args(sub));
    }
    out
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

    fn config_file(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    fn serve(args: Vec<String>) -> ServeArgs {
        match Cli::parse_from(args).command {
            Command::Serve(s) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_config_file() {
        let file = config_file(
            "listen = \"127.0.0.1:1\"\nmax_tags_per_resource = 7\ninsecure_no_auth = true\nreserved_prefixes = [\"x:\", \"y:\"]\nrequest_timeout_ms = 5\n",
        );
        let path = file.path().to_str().unwrap().to_owned();
        let args: Vec<String> = [
            "tagging-service",
            "serve",
            "--config",
            &path,
            "--listen",
            "127.0.0.1:2",
        ]
        .map(String::from)
        .to_vec();
        let env = |name: &str| (name == "TAGGING_MAX_TAGS_PER_RESOURCE").then(|| "9".to_owned());
        let merged = with_config_file(args, env).unwrap();
        // The environment is read by clap itself; here only the file's share is checked.
        assert!(
            !merged.contains(&"--max-tags-per-resource".to_owned()),
            "{merged:?}"
        );
        let s = serve(merged);
        assert_eq!(s.listen.to_string(), "127.0.0.1:2");
        assert!(s.insecure_no_auth);
        assert_eq!(s.reserved_prefixes, ["x:", "y:"]);
        assert_eq!(s.request_timeout_ms, 5);
    }

    #[test]
    fn config_file_errors_name_the_file_and_key() {
        let unknown = config_file("no_such_option = 1\n");
        let path = unknown.path().to_str().unwrap().to_owned();
        let args = vec![
            "tagging-service".into(),
            "serve".into(),
            format!("--config={path}"),
        ];
        let err = with_config_file(args, |_| None).unwrap_err().to_string();
        assert!(
            err.contains("no_such_option") && err.contains(&path),
            "{err}"
        );

        let bad = config_file("listen = [");
        let path = bad.path().to_str().unwrap().to_owned();
        let err = with_config_file(vec!["t".into(), "serve".into()], |n| {
            (n == "TAGGING_CONFIG").then(|| path.clone())
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("not valid TOML"), "{err}");
    }

    #[test]
    fn the_file_applies_when_global_options_come_before_the_command() {
        let file = config_file("max_tags_per_resource = 2\n");
        let path = file.path().to_str().unwrap().to_owned();
        let args = [
            "tagging-service",
            "--config",
            &path,
            "--log-format",
            "json",
            "serve",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            serve(with_config_file(args, |_| None).unwrap()).max_tags_per_resource,
            2
        );
    }

    #[test]
    fn options_of_other_commands_are_skipped() {
        let file = config_file("listen = \"127.0.0.1:1\"\ndatabase_url = \"sqlite:x.db\"\n");
        let path = file.path().to_str().unwrap().to_owned();
        let args = ["tagging-service", "token", "list", "--config", &path]
            .map(String::from)
            .to_vec();
        let merged = with_config_file(args, |_| None).unwrap();
        assert!(
            merged.ends_with(&["--database-url".to_owned(), "sqlite:x.db".to_owned()]),
            "{merged:?}"
        );
        assert!(!merged.contains(&"--listen".to_owned()));
    }

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
