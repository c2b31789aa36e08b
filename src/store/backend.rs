//! The [`TagStore`](super::TagStore) implementation both backends share: the same statements (from
//! `sql.rs`) run the same way. A backend brings its argument builder `args`, its `reader()` and
//! `writer()` pools, and its own connection set-up. A macro rather than generics: sqlx's executor
//! traits are higher-ranked, and spelling them out on every method would bury the logic.

/// Implements `TagStore` for `$store`, which must provide `reader()` and `writer()`, with a
/// function `args(&Sql) -> Result<Arguments, StoreError>` in scope.
macro_rules! impl_tag_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::TagStore for $store {
            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query(sql::PING).execute(self.reader()).await?;
                Ok(())
            }

            fn pool_stats(&self) -> $crate::store::PoolStats {
                self.pools()
                    .into_iter()
                    .fold($crate::store::PoolStats::default(), |acc, pool| {
                        $crate::store::PoolStats {
                            size: acc.size + pool.size(),
                            idle: acc.idle + u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                        }
                    })
            }

            async fn page_token_key(&self, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
                sqlx::query(sql::INSERT_PAGE_KEY)
                    .bind(fresh)
                    .execute(self.writer())
                    .await?;
                Ok(sqlx::query_scalar(sql::SELECT_PAGE_KEY)
                    .fetch_one(self.writer())
                    .await?)
            }

            async fn tag_resources(
                &self,
                scope: &Scope,
                ids: &[String],
                tags: &[Tag],
                limit: TagLimit<'_>,
            ) -> Result<(), StoreError> {
                // PostgreSQL takes row locks in id order, so two writers to overlapping resources cannot
                // deadlock; SQLite has a single writer and does not care.
                let mut ids = ids.to_vec();
                ids.sort();
                let mut tx = self.writer().begin().await?;
                let up = sql::upsert_resources(scope, &ids);
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
                    .execute(self.writer())
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
                    .fetch_one(self.writer())
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
                        .fetch_all(self.writer())
                        .await?,
                );
                Ok(record.remove(0))
            }

            async fn delete_resource(&self, scope: &Scope, id: &str) -> Result<bool, StoreError> {
                let del = sql::delete_resource(scope, id);
                Ok(sqlx::query_with(&del.text, args(&del)?)
                    .execute(self.writer())
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
                    .fetch_all(self.reader())
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
                let rows: Vec<(i64, String, String, String)> =
                    sqlx::query_as_with(&q.text, args(&q)?)
                        .fetch_all(self.reader())
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
                    .fetch_all(self.reader())
                    .await?;
                let mut records = super::resource_records(rows);
                let pks: Vec<i64> = records.iter().map(|r| r.pk).collect();
                if !pks.is_empty() {
                    let t = sql::tags_of(&pks, visibility);
                    attach_tags(
                        &mut records,
                        sqlx::query_as_with(&t.text, args(&t)?)
                            .fetch_all(self.reader())
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
                    .fetch_one(self.reader())
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
                        .fetch_all(self.reader())
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
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn find_token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
                let row = sqlx::query_as(sql::SELECT_TOKEN)
                    .bind(id)
                    .fetch_optional(self.reader())
                    .await?;
                Ok(row.map(super::token_record))
            }

            async fn revoke_token(&self, id: &str, now: i64) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::REVOKE_TOKEN)
                    .bind(id)
                    .bind(now)
                    .execute(self.writer())
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
                let rows = sqlx::query_as(sql::SELECT_TOKENS)
                    .fetch_all(self.reader())
                    .await?;
                Ok(rows.into_iter().map(super::token_record).collect())
            }

            async fn insert_access_key(&self, k: &AccessKeyRecord) -> Result<(), StoreError> {
                sqlx::query(sql::INSERT_ACCESS_KEY)
                    .bind(&k.id)
                    .bind(&k.secret_sealed)
                    .bind(&k.project_id)
                    .bind(k.read_only)
                    .bind(k.created_at)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn find_access_key(
                &self,
                id: &str,
            ) -> Result<Option<AccessKeyRecord>, StoreError> {
                let row = sqlx::query_as(sql::SELECT_ACCESS_KEY)
                    .bind(id)
                    .fetch_optional(self.reader())
                    .await?;
                Ok(row.map(super::access_key_record))
            }

            async fn revoke_access_key(&self, id: &str, now: i64) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::REVOKE_ACCESS_KEY)
                    .bind(id)
                    .bind(now)
                    .execute(self.writer())
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_access_keys(&self) -> Result<Vec<AccessKeyRecord>, StoreError> {
                let rows = sqlx::query_as(sql::SELECT_ACCESS_KEYS)
                    .fetch_all(self.reader())
                    .await?;
                Ok(rows.into_iter().map(super::access_key_record).collect())
            }

            async fn master_key_check(&self, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
                sqlx::query(sql::INSERT_MASTER_KEY_CHECK)
                    .bind(fresh)
                    .execute(self.writer())
                    .await?;
                Ok(sqlx::query_scalar(sql::SELECT_MASTER_KEY_CHECK)
                    .fetch_one(self.writer())
                    .await?)
            }

            async fn claim_nonce(
                &self,
                access_key_id: &str,
                nonce: &str,
                expires_at: i64,
                now: i64,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::CLAIM_NONCE)
                    .bind(access_key_id)
                    .bind(nonce)
                    .bind(expires_at)
                    .bind(now)
                    .execute(self.writer())
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn purge_nonces(&self, now: i64) -> Result<u64, StoreError> {
                let done = sqlx::query(sql::PURGE_NONCES)
                    .bind(now)
                    .execute(self.writer())
                    .await?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(super) use impl_tag_store;
