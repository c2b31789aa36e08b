//! [`TagStore`] over any [`Backend`]: each read is one statement, answered from the reader pool;
//! each write runs on the writer pool.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Connection, Database, Encode, Executor, IntoArguments, Type};

use super::{
    Deletion, Horizon, KeyValues, PoolStats, ReadStats, Removal, ResourceRecord, ResourceTags,
    StoreError, TagLimit, TagRow, TagStore, WriteTerms,
    backend::{Backend, Column, Conn, RowOf, SqlStore},
    sql::{self, LogRange},
};
use crate::domain::{
    Change, ChangeFilter, Locator, ResourceFilter, Scope, Tag, TagRowQuery, Visibility,
};

/// A tag of one resource: NULLs for a resource without visible tags (a left join).
#[derive(sqlx::FromRow)]
struct MaybeTag {
    key: Option<String>,
    value: Option<String>,
    revision: i64,
}

/// One distinct (key, value) pair of a project.
#[derive(sqlx::FromRow)]
struct KeyValue {
    key: String,
    value: String,
}

#[async_trait]
impl<B> TagStore for SqlStore<B>
where
    B: Backend,
    for<'c> &'c mut Conn<B>: Executor<'c, Database = B::Db>,
    for<'q> <B::Db as Database>::Arguments<'q>: IntoArguments<'q, B::Db>,
    for<'q> &'q str: Encode<'q, B::Db> + Type<B::Db>,
    for<'q> &'q [u8]: Encode<'q, B::Db> + Type<B::Db>,
    for<'r> &'r str: ColumnIndex<RowOf<B>>,
    usize: ColumnIndex<RowOf<B>>,
    i64: Column<B::Db>,
    i32: Column<B::Db>,
    bool: Column<B::Db>,
    String: Column<B::Db>,
    Vec<u8>: Column<B::Db>,
{
    async fn ping(&self) -> Result<(), StoreError> {
        Self::on(self.backend.reader(), async |c| {
            sqlx::query(sql::PING).execute(&mut *c).await?;
            Ok(())
        })
        .await
    }

    fn read_stats(&self) -> ReadStats {
        ReadStats {
            postings: self.postings.stats(),
            ..ReadStats::default()
        }
    }

    fn pool_stats(&self) -> PoolStats {
        self.backend
            .pools()
            .into_iter()
            .fold(PoolStats::default(), |acc, pool| {
                let s = pool.stats();
                PoolStats {
                    size: acc.size + s.size,
                    idle: acc.idle + s.idle,
                }
            })
    }

    async fn tag_resources(
        &self,
        scope: &Scope,
        ids: &[String],
        tags: &[Tag],
        limit: TagLimit<'_>,
        pre: WriteTerms<'_>,
    ) -> Result<i64, StoreError> {
        let mut ids = ids.to_vec();
        ids.sort();
        Self::on(self.backend.writer(), async |c| {
            Self::write_tags(c, (scope, &self.scopes), &ids, tags, limit, pre).await
        })
        .await
    }

    async fn untag_resources(
        &self,
        scope: &Scope,
        ids: &[String],
        removal: Removal<'_>,
        pre: WriteTerms<'_>,
    ) -> Result<i64, StoreError> {
        let mut ids = ids.to_vec();
        ids.sort();
        ids.dedup();
        Self::on(self.backend.writer(), async |c| {
            Self::remove_tags(c, scope, &ids, removal, pre).await
        })
        .await
    }

    async fn put_resource(
        &self,
        scope: &Scope,
        id: &str,
        name: Option<&str>,
        visibility: &Visibility,
        pre: WriteTerms<'_>,
    ) -> Result<(ResourceRecord, i64), StoreError> {
        Self::on(self.backend.writer(), async |c| {
            Self::register(c, scope, id, name, visibility, pre).await
        })
        .await
    }

    async fn delete_resource(
        &self,
        scope: &Scope,
        id: &str,
        visibility: &Visibility,
        pre: WriteTerms<'_>,
    ) -> Result<Deletion, StoreError> {
        Self::on(self.backend.writer(), async |c| {
            Self::remove_resource(c, scope, id, visibility, pre).await
        })
        .await
    }

    async fn resource_tags(
        &self,
        scope: &Scope,
        locator: &Locator,
        visibility: &Visibility,
    ) -> Result<Option<ResourceTags>, StoreError> {
        let q = match locator {
            Locator::Id(id) => sql::resource_tags(scope, "resource_id", id, visibility),
            Locator::Name(name) => sql::resource_tags(scope, "name", name, visibility),
        };
        Self::on(self.backend.reader(), async |c| {
            let rows: Vec<MaybeTag> = sqlx::query_as_with(&q.text, Self::args(&q)?)
                .fetch_all(&mut *c)
                .await?;
            // No row: no such resource; one row of NULLs: a resource without visible tags.
            let Some(revision) = rows.first().map(|t| t.revision) else {
                Self::confirm_live(c, visibility).await?;
                return Ok(None);
            };
            let tags = rows.into_iter().filter_map(|t| {
                Some(Tag {
                    key: t.key?,
                    value: t.value?,
                })
            });
            Ok(Some(ResourceTags {
                tags: tags.collect(),
                revision,
            }))
        })
        .await
    }

    async fn tag_rows(
        &self,
        scope: &Scope,
        query: &TagRowQuery,
        visibility: &Visibility,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<TagRow>, StoreError> {
        let postings = &self.postings;
        Self::on(self.backend.reader(), async |c| {
            let rows = Self::filtered_tag_rows(c, postings, scope, query, visibility, after, limit)
                .await?;
            if rows.is_empty() {
                Self::confirm_live(c, visibility).await?;
            }
            Ok(rows)
        })
        .await
    }

    async fn resources(
        &self,
        scope: &Scope,
        filter: &ResourceFilter,
        visibility: &Visibility,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ResourceRecord>, StoreError> {
        let postings = &self.postings;
        Self::on(self.backend.reader(), async |c| {
            let mut records =
                Self::filtered_resources(c, postings, scope, filter, visibility, after, limit)
                    .await?;
            if records.is_empty() {
                Self::confirm_live(c, visibility).await?;
            } else {
                Self::with_tags(c, &scope.project_id, &mut records, visibility).await?;
            }
            Ok(records)
        })
        .await
    }

    async fn count_resources(
        &self,
        scope: &Scope,
        filter: &ResourceFilter,
        visibility: &Visibility,
    ) -> Result<i64, StoreError> {
        let postings = &self.postings;
        Self::on(self.backend.reader(), async |c| {
            let count = Self::filtered_count(c, postings, scope, filter, visibility).await?;
            if count == 0 {
                Self::confirm_live(c, visibility).await?;
            }
            Ok(count)
        })
        .await
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
        Self::on(self.backend.reader(), async |c| {
            let rows: Vec<KeyValue> = sqlx::query_as_with(&q.text, Self::args(&q)?)
                .fetch_all(&mut *c)
                .await?;
            if rows.is_empty() {
                Self::confirm_live(c, visibility).await?;
            }
            Ok(group_values(rows))
        })
        .await
    }

    async fn resource_page(
        &self,
        scope: &Scope,
        filter: &ResourceFilter,
        visibility: &Visibility,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<ResourceRecord>, i64), StoreError> {
        let postings = &self.postings;
        Self::on(self.backend.reader(), async |c| {
            let mut tx = c.begin_with(B::SNAPSHOT).await?;
            let (mut records, total) =
                Self::filtered_page(&mut tx, postings, scope, filter, visibility, offset, limit)
                    .await?;
            // A page past the end is empty while the count is not, and says nothing of the token.
            if total == 0 {
                Self::confirm_live(&mut tx, visibility).await?;
            }
            if !records.is_empty() {
                Self::with_tags(&mut tx, &scope.project_id, &mut records, visibility).await?;
            }
            tx.commit().await?;
            Ok((records, total))
        })
        .await
    }

    async fn tag_changes(
        &self,
        project_id: &str,
        filter: &ChangeFilter,
        visibility: &Visibility,
        range: LogRange,
        limit: u32,
    ) -> Result<(Vec<Change>, Horizon), StoreError> {
        Self::on(self.backend.reader(), async |c| {
            // One snapshot: the page ends at the horizon it reports, and a compaction is either
            // wholly in it (rows gone, mark raised) or not at all.
            let mut tx = c.begin_with(B::SNAPSHOT).await?;
            let horizon = Self::read_horizon(&mut tx, project_id).await?;
            let upto = Some(
                range
                    .upto
                    .map_or(horizon.current, |u| u.min(horizon.current)),
            );
            let range = LogRange { upto, ..range };
            let changes =
                Self::read_changes(&mut tx, project_id, filter, visibility, range, limit).await?;
            if changes.is_empty() {
                Self::confirm_live(&mut tx, visibility).await?;
            }
            tx.commit().await?;
            Ok((changes, horizon))
        })
        .await
    }

    async fn horizon(&self, project_id: &str) -> Result<Horizon, StoreError> {
        Self::on(self.backend.reader(), async |c| {
            Self::read_horizon(c, project_id).await
        })
        .await
    }

    async fn compact_changes(&self, before_ms: i64) -> Result<u64, StoreError> {
        Self::on(self.backend.writer(), async |c| {
            Self::compact(c, before_ms).await
        })
        .await
    }
}

/// Groups (key, value) rows, ordered by key, into keys with their values.
fn group_values(rows: Vec<KeyValue>) -> Vec<KeyValues> {
    let mut out: Vec<KeyValues> = Vec::new();
    for KeyValue { key, value } in rows {
        match out.last_mut() {
            Some(last) if last.key == key => last.values.push(value),
            _ => out.push(KeyValues {
                key,
                values: vec![value],
            }),
        }
    }
    out
}
