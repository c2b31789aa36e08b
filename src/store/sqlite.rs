//! The embedded backend. SQLite allows one writer at a time, so writes go through a pool of one
//! connection (queued in-process rather than failing with SQLITE_BUSY) and reads through a pool of
//! read-only connections; WAL lets those read while the writer writes.

use std::{str::FromStr, time::Duration};

use async_trait::async_trait;
use sqlx::{
    Arguments,
    sqlite::{
        SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
        SqliteSynchronous,
    },
};

use super::{
    KeyValues, PoolSettings, Removal, ResourceRecord, StoreError, TagLimit, TagRow, TagStore,
    TokenRecord, attach_tags, group_values,
    sql::{self, Arg, Sql},
};
use crate::domain::{Locator, ResourceFilter, Scope, Tag, TagRowQuery, Visibility};

/// How long a statement waits for another process's write lock before reporting unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
}

fn args<'q>(sql: &Sql<'q>) -> Result<SqliteArguments<'q>, StoreError> {
    let mut out = SqliteArguments::default();
    for a in &sql.args {
        match *a {
            Arg::Text(s) => out.add(s),
            Arg::Int(i) => out.add(i),
        }
        .map_err(|e| StoreError::Other(e.to_string()))?;
    }
    Ok(out)
}

impl SqliteStore {
    pub async fn connect(url: &str, pool: &PoolSettings) -> anyhow::Result<Self> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            anyhow::bail!(
                "--database-url: an in-memory SQLite database cannot be shared by the service's connections; name a file"
            );
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Acknowledged writes must survive a power loss, not only a crash of the process.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(pool.acquire_timeout)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(pool.max_connections)
            .acquire_timeout(pool.acquire_timeout)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { read, write })
    }
}

#[async_trait]
impl TagStore for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query(sql::PING).execute(&self.read).await?;
        Ok(())
    }

    async fn page_token_key(&self, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
        sqlx::query(sql::INSERT_PAGE_KEY)
            .bind(fresh)
            .execute(&self.write)
            .await?;
        Ok(sqlx::query_scalar(sql::SELECT_PAGE_KEY)
            .fetch_one(&self.write)
            .await?)
    }

    async fn tag_resources(
        &self,
        scope: &Scope,
        ids: &[String],
        tags: &[Tag],
        limit: TagLimit<'_>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        let up = sql::upsert_resources(scope, ids);
        let pks: Vec<i64> = sqlx::query_scalar_with(&up.text, args(&up)?)
            .fetch_all(&mut *tx)
            .await?;
        let put = sql::upsert_tags(&pks, tags);
        sqlx::query_with(&put.text, args(&put)?)
            .execute(&mut *tx)
            .await?;
        let check = sql::over_limit(&pks, limit);
        let over: Option<(String, i64)> = sqlx::query_as_with(&check.text, args(&check)?)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some((resource_id, count)) = over {
            return Err(StoreError::TooManyTags {
                resource_id,
                count,
                max: limit.max,
            });
        }
        tx.commit().await?;
        Ok(())
    }

    async fn untag_resources(
        &self,
        scope: &Scope,
        ids: &[String],
        removal: Removal<'_>,
    ) -> Result<(), StoreError> {
        let del = sql::delete_tags(scope, ids, removal);
        sqlx::query_with(&del.text, args(&del)?)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn put_resource(
        &self,
        scope: &Scope,
        id: &str,
        name: Option<&str>,
        visibility: &Visibility,
    ) -> Result<ResourceRecord, StoreError> {
        let put = sql::put_resource(scope, id, name);
        let pk: i64 = sqlx::query_scalar_with(&put.text, args(&put)?)
            .fetch_one(&self.write)
            .await
            .map_err(|e| super::name_taken(e, name))?;
        let mut record = vec![ResourceRecord {
            pk,
            resource_id: id.to_owned(),
            name: name.map(str::to_owned),
            tags: Vec::new(),
        }];
        let tags = sql::tags_of(std::slice::from_ref(&pk), visibility);
        attach_tags(
            &mut record,
            sqlx::query_as_with(&tags.text, args(&tags)?)
                .fetch_all(&self.write)
                .await?,
        );
        Ok(record.remove(0))
    }

    async fn delete_resource(&self, scope: &Scope, id: &str) -> Result<bool, StoreError> {
        let del = sql::delete_resource(scope, id);
        Ok(sqlx::query_with(&del.text, args(&del)?)
            .execute(&self.write)
            .await?
            .rows_affected()
            > 0)
    }

    async fn resource_tags(
        &self,
        scope: &Scope,
        locator: &Locator,
        visibility: &Visibility,
    ) -> Result<Option<Vec<Tag>>, StoreError> {
        let q = super::resource_tags_sql(scope, locator, visibility);
        let rows = sqlx::query_as_with(&q.text, args(&q)?)
            .fetch_all(&self.read)
            .await?;
        Ok(super::collect_resource_tags(rows))
    }

    async fn tag_rows(
        &self,
        scope: &Scope,
        query: &TagRowQuery,
        visibility: &Visibility,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<TagRow>, StoreError> {
        let q = sql::tag_rows(scope, query, visibility, after, limit);
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as_with(&q.text, args(&q)?)
            .fetch_all(&self.read)
            .await?;
        Ok(rows.into_iter().map(super::tag_row).collect())
    }

    async fn resources(
        &self,
        scope: &Scope,
        filter: &ResourceFilter,
        visibility: &Visibility,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ResourceRecord>, StoreError> {
        let q = sql::resources(scope, filter, visibility, after, limit);
        let rows = sqlx::query_as_with(&q.text, args(&q)?)
            .fetch_all(&self.read)
            .await?;
        let mut records = super::resource_records(rows);
        let pks: Vec<i64> = records.iter().map(|r| r.pk).collect();
        if !pks.is_empty() {
            let t = sql::tags_of(&pks, visibility);
            attach_tags(
                &mut records,
                sqlx::query_as_with(&t.text, args(&t)?)
                    .fetch_all(&self.read)
                    .await?,
            );
        }
        Ok(records)
    }

    async fn count_resources(
        &self,
        scope: &Scope,
        filter: &ResourceFilter,
        visibility: &Visibility,
    ) -> Result<i64, StoreError> {
        let q = sql::count_resources(scope, filter, visibility);
        Ok(sqlx::query_scalar_with(&q.text, args(&q)?)
            .fetch_one(&self.read)
            .await?)
    }

    async fn project_tags(
        &self,
        project_id: &str,
        resource_type: Option<&str>,
        visibility: &Visibility,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<KeyValues>, StoreError> {
        let q = sql::project_tags(project_id, resource_type, visibility, after, limit);
        Ok(group_values(
            sqlx::query_as_with(&q.text, args(&q)?)
                .fetch_all(&self.read)
                .await?,
        ))
    }

    async fn insert_token(&self, t: &TokenRecord) -> Result<(), StoreError> {
        sqlx::query(sql::INSERT_TOKEN)
            .bind(&t.id)
            .bind(&t.secret_sha256)
            .bind(&t.project_id)
            .bind(t.read_only)
            .bind(t.system)
            .bind(t.created_at)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn find_token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row = sqlx::query_as(sql::SELECT_TOKEN)
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(super::token_record))
    }

    async fn revoke_token(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::REVOKE_TOKEN)
            .bind(id)
            .bind(now)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = sqlx::query_as(sql::SELECT_TOKENS)
            .fetch_all(&self.read)
            .await?;
        Ok(rows.into_iter().map(super::token_record).collect())
    }
}
