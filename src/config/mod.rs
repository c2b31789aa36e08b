//! Command line and environment: every option is a flag with a `TAGGING_…` variable behind it.

mod database;
mod file;
mod master_key;
mod serve;

use clap::{Parser, Subcommand, ValueEnum};

pub use crate::domain::time::rfc3339;
pub use database::{DatabaseArgs, redacted};
pub use master_key::MasterKeyArgs;
pub use serve::ServeArgs;

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
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit (run it before `serve --no-migrate`).
    Migrate(DatabaseArgs),
    /// Write a consistent copy of a SQLite database while the service runs (PostgreSQL: use
    /// pg_dump, see docs/operations.md). Keep the master key with it: the copy's access keys
    /// open only under that key.
    Backup {
        /// The file to write; it must not exist yet. Readable by its owner only.
        #[arg(long, value_name = "FILE")]
        output: std::path::PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
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
    /// Seal every access-key secret under a new master key, in one transaction. The current key
    /// comes from TAGGING_MASTER_KEY or --master-key-file; restart the servers with the new one.
    Rotate {
        /// A file holding the new master key (`master-key generate` makes one).
        #[arg(long, env = "TAGGING_NEW_MASTER_KEY_FILE", value_name = "FILE")]
        new_master_key_file: std::path::PathBuf,
        #[command(flatten)]
        master_key: MasterKeyArgs,
        #[command(flatten)]
        database: DatabaseArgs,
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
        /// What or whom the token is for, shown by `token list`.
        #[arg(long, default_value = "")]
        name: String,
        /// The token is refused this long after its creation, e.g. `90d`, `12h`, `1h30m`
        /// (units s, m, h, d, w). Default: it never expires.
        #[arg(long, value_name = "DURATION", value_parser = crate::domain::time::parse_duration)]
        expires_in: Option<u64>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Revoke a token, given its id or the token itself.
    Revoke {
        id: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// List tokens: id, project, grant, state, creation, expiry and name (never secrets).
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// Parses the command line, completed from the `--config` file for options given neither as a
/// flag nor in the environment. Exits with a message on bad options, as clap does.
pub fn parse() -> Cli {
    let args: Vec<String> = std::env::args().collect();
    match file::with_config_file(args, |name| std::env::var(name).ok()) {
        Ok(args) => Cli::parse_from(args),
        Err(e) => {
            eprintln!("tagging-service: {e:#}");
            std::process::exit(2);
        }
    }
}

#[cfg(test)]
mod test_support {
    use super::*;

    pub(super) fn config_file(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    pub(super) fn serve(args: Vec<String>) -> ServeArgs {
        match Cli::parse_from(args).command {
            Command::Serve(s) => *s,
            other => panic!("{other:?}"),
        }
    }
}
