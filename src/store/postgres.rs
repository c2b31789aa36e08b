//! The production backend: a sized pool of connections whose statements sqlx prepares once per
//! connection and caches.

use std::str::FromStr;

use sqlx::{
    Arguments, Connection,
    postgres::{PgArguments, PgConnectOptions, PgConnection, PgPool},
};

use super::{
    KeyValues, PoolSettings, Removal, ResourceRecord, StoreError, TagLimit, TagRow, TokenRecord,
    attach_tags,
    backend::impl_tag_store,
    group_values,
    sql::{self, Arg, Sql},
};
use crate::domain::{Locator, ResourceFilter, Scope, Tag, TagRowQuery, Visibility};

pub struct PostgresStore {
    pool: PgPool,
}

fn args<'q>(sql: &Sql<'q>) -> Result<PgArguments, StoreError> {
    let mut out = PgArguments::default();
    for a in &sql.args {
        match *a {
            Arg::Text(s) => out.add(s),
            Arg::Int(i) => out.add(i),
        }
        .map_err(|e| StoreError::Other(e.to_string()))?;
    }
    Ok(out)
}

impl PostgresStore {
    pub async fn connect(url: &str, pool: &PoolSettings) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("tagging-service");
        // Migrations run on a connection of their own, free of the statement timeout.
        let mut migrating = PgConnection::connect_with(&options).await?;
        sqlx::migrate!("migrations/postgres")
            .run(&mut migrating)
            .await?;
        migrating.close().await?;
        // Every statement is one of a few fixed shapes whose generic plans are committed in
        // bench/explain/. Left to choose, PostgreSQL re-plans a tag filter on every call (its
        // custom plan looks cheaper), and planning costs five times what executing does.
        let options = options.options([("plan_cache_mode", "force_generic_plan")]);
        let options = match pool.statement_timeout {
            Some(limit) => {
                options.options([("statement_timeout", format!("{}ms", limit.as_millis()))])
            }
            None => options,
        };
        let pool = super::pool_options(pool).connect_with(options).await?;
        Ok(Self { pool })
    }
}

impl PostgresStore {
    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    fn pools(&self) -> Vec<&PgPool> {
        vec![&self.pool]
    }
}

impl_tag_store!(PostgresStore);
