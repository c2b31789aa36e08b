//! The database options every command that opens the store shares.

use std::time::Duration;

use clap::Args;

use crate::store::PoolSettings;

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
            postings_bytes: 0,
        }
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
}
