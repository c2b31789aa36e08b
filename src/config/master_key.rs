//! The master key options, shared by `serve` (which opens access-key secrets) and
//! `credential create` (which seals them).

use clap::Args;

use crate::auth::MasterKey;

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
