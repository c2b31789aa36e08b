//! The schema a binary serves: the migrations it was built with. `migrate` (and `serve`, unless
//! told `--no-migrate`) applies the missing ones; every start refuses a database that a newer
//! binary has already migrated, whose tables this one would misread.

use std::collections::BTreeMap;

use anyhow::bail;
use sqlx::migrate::{Migrate, MigrateError, Migrator};

/// What opening the store does to the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Apply the migrations the database lacks (under a lock, so that processes starting together
    /// apply each once).
    Migrate,
    /// Change nothing; refuse a database whose schema is not exactly this binary's.
    Check,
}

/// Refuses a schema this binary cannot serve: one newer than it knows, one a migration of a
/// different text produced, and, under `Schema::Check`, one that lacks a migration.
pub async fn check(
    conn: &mut impl Migrate,
    migrator: &Migrator,
    mode: Schema,
) -> anyhow::Result<()> {
    let applied = match conn.list_applied_migrations().await {
        Ok(applied) => applied,
        // A database no binary has migrated yet has no bookkeeping table.
        Err(e) if e.to_string().contains("_sqlx_migrations") => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let known: BTreeMap<i64, &[u8]> = migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .map(|m| (m.version, &*m.checksum))
        .collect();
    let newest = known.keys().next_back().copied().unwrap_or_default();
    for migration in &applied {
        match known.get(&migration.version) {
            None => bail!(
                "the database's schema has migration {}, newer than this binary knows (its newest is {newest}): a newer tagging-service has upgraded it. Run that version or a later one; to go back, restore the backup taken before the upgrade (docs/operations.md)",
                migration.version
            ),
            Some(checksum) if *checksum != &*migration.checksum => bail!(
                "the database's migration {} differs from this binary's: it was built from other sources; run the binary that migrated it",
                migration.version
            ),
            Some(_) => {}
        }
    }
    if mode == Schema::Check {
        let missing: Vec<i64> = known
            .keys()
            .filter(|v| !applied.iter().any(|a| a.version == **v))
            .copied()
            .collect();
        if !missing.is_empty() {
            bail!(
                "--no-migrate: the database lacks migrations {missing:?} of this binary; apply them first with `tagging-service migrate`"
            );
        }
    }
    Ok(())
}

/// An error of `Migrator::run`, said in the operator's terms.
pub fn describe(e: MigrateError) -> anyhow::Error {
    match e {
        MigrateError::Dirty(version) => anyhow::anyhow!(
            "migration {version} failed part-way on an earlier run and the database was left as it was: restore the backup taken before the upgrade"
        ),
        other => anyhow::Error::new(other).context("cannot migrate the database"),
    }
}
