//! The [`TagStore`](super::TagStore) implementation both backends share: the same statements (from
//! `sql.rs`) run the same way. A backend brings its argument builder `args`, its `reader()` and
//! `writer()` pools, and its own connection set-up. A macro rather than generics: sqlx's executor
//! traits are higher-ranked, and spelling them out on every method would bury the logic.

/// Implements `TagStore` for `$store`, whose connections are `$conn`, which must provide
/// `reader()` and `writer()` pools and `pools()`, with a function
/// `args(&Sql) -> Result<Arguments, StoreError>` in scope.
macro_rules! impl_tag_store {
    ($store:ty, $conn:ty) => {
        impl $store {
            /// Runs `f` on a connection of `pool`, then gives the connection back according to
            /// how `f` ended (see `pool.rs`).
            async fn on<T>(
                pool: &$crate::store::pool::Pool<$conn>,
                f: impl AsyncFnOnce(&mut $conn) -> Result<T, StoreError>,
            ) -> Result<T, StoreError> {
                let mut lease = pool.acquire().await?;
                let result = f(&mut lease).await;
                lease.release(&result).await;
                result
            }

            /// Runs a revocation (`statement` binds the id, then the time); answers whether a
            /// live credential was revoked.
            async fn revoke(
                &self,
                statement: &'static str,
                id: &str,
                now: i64,
            ) -> Result<bool, StoreError> {
                Self::on(self.writer(), async |c| {
                    let done = sqlx::query(statement)
                        .bind(id)
                        .bind(now)
                        .execute(&mut *c)
                        .await?;
                    Ok(done.rows_affected() > 0)
                })
                .await
            }

            /// After a read that found nothing: was there nothing, or is the caller's token (one
            /// recognised from memory, checked inside the read itself) revoked?
            async fn confirm_live(
                c: &mut $conn,
                visibility: &Visibility,
            ) -> Result<(), StoreError> {
                let Some(id) = &visibility.while_live else {
                    return Ok(());
                };
                let live: Option<i32> = sqlx::query_scalar(sql::TOKEN_LIVE)
                    .bind(id)
                    .fetch_optional(&mut *c)
                    .await?;
                live.map(|_| ()).ok_or(StoreError::TokenNotLive)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::TagStore for $store {
            async fn ping(&self) -> Result<(), StoreError> {
                Self::on(self.reader(), async |c| {
                    sqlx::query(sql::PING).execute(&mut *c).await?;
                    Ok(())
                })
                .await
            }

            fn pool_stats(&self) -> $crate::store::PoolStats {
                self.pools()
                    .into_iter()
                    .fold($crate::store::PoolStats::default(), |acc, pool| {
                        let s = pool.stats();
                        $crate::store::PoolStats {
                            size: acc.size + s.size,
                            idle: acc.idle + s.idle,
                        }
                    })
            }

            async fn page_token_key(&self, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
                Self::on(self.writer(), async |c| {
                    sqlx::query(sql::INSERT_PAGE_KEY)
                        .bind(fresh)
                        .execute(&mut *c)
                        .await?;
                    Ok(sqlx::query_scalar(sql::SELECT_PAGE_KEY)
                        .fetch_one(&mut *c)
                        .await?)
                })
                .await
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
                Self::on(self.writer(), async |c| {
                    let mut tx = sqlx::Connection::begin(&mut *c).await?;
                    let up = sql::upsert_resources(scope, &ids);
                    let pks: Vec<i64> = sqlx::query_scalar_with(&up.text, args(&up)?)
                        .fetch_all(&mut *tx)
                        .await?;
                    let put = sql::upsert_tags(&pks, tags);
                    sqlx::query_with(&put.text, args(&put)?)
                        .execute(&mut *tx)
                        .await?;
                    let check = sql::over_limit(&pks, limit);
                    let over: Option<(String, i64)> =
                        sqlx::query_as_with(&check.text, args(&check)?)
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
                })
                .await
            }

            async fn untag_resources(
                &self,
                scope: &Scope,
                ids: &[String],
                removal: Removal<'_>,
            ) -> Result<(), StoreError> {
                let del = sql::delete_tags(scope, ids, removal);
                Self::on(self.writer(), async |c| {
                    sqlx::query_with(&del.text, args(&del)?)
                        .execute(&mut *c)
                        .await?;
                    Ok(())
                })
                .await
            }

            async fn put_resource(
                &self,
                scope: &Scope,
                id: &str,
                name: Option<&str>,
                visibility: &Visibility,
            ) -> Result<ResourceRecord, StoreError> {
                let put = sql::put_resource(scope, id, name);
                Self::on(self.writer(), async |c| {
                    let pk: i64 = sqlx::query_scalar_with(&put.text, args(&put)?)
                        .fetch_one(&mut *c)
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
                            .fetch_all(&mut *c)
                            .await?,
                    );
                    Ok(record.remove(0))
                })
                .await
            }

            async fn delete_resource(&self, scope: &Scope, id: &str) -> Result<bool, StoreError> {
                let del = sql::delete_resource(scope, id);
                Self::on(self.writer(), async |c| {
                    Ok(sqlx::query_with(&del.text, args(&del)?)
                        .execute(&mut *c)
                        .await?
                        .rows_affected()
                        > 0)
                })
                .await
            }

            async fn resource_tags(
                &self,
                scope: &Scope,
                locator: &Locator,
                visibility: &Visibility,
            ) -> Result<Option<Vec<Tag>>, StoreError> {
                let q = super::resource_tags_sql(scope, locator, visibility);
                Self::on(self.reader(), async |c| {
                    let rows = sqlx::query_as_with(&q.text, args(&q)?)
                        .fetch_all(&mut *c)
                        .await?;
                    let found = super::collect_resource_tags(rows);
                    if found.is_none() {
                        Self::confirm_live(c, visibility).await?;
                    }
                    Ok(found)
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
                let q = sql::tag_rows(scope, query, visibility, after, limit);
                Self::on(self.reader(), async |c| {
                    let rows: Vec<(i64, String, String, String)> =
                        sqlx::query_as_with(&q.text, args(&q)?)
                            .fetch_all(&mut *c)
                            .await?;
                    if rows.is_empty() {
                        Self::confirm_live(c, visibility).await?;
                    }
                    Ok(rows.into_iter().map(super::tag_row).collect())
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
                let q = sql::resources(scope, filter, visibility, after, limit);
                Self::on(self.reader(), async |c| {
                    let rows = sqlx::query_as_with(&q.text, args(&q)?)
                        .fetch_all(&mut *c)
                        .await?;
                    let mut records = super::resource_records(rows);
                    if records.is_empty() {
                        Self::confirm_live(c, visibility).await?;
                        return Ok(records);
                    }
                    let pks: Vec<i64> = records.iter().map(|r| r.pk).collect();
                    let t = sql::tags_of(&pks, visibility);
                    attach_tags(
                        &mut records,
                        sqlx::query_as_with(&t.text, args(&t)?)
                            .fetch_all(&mut *c)
                            .await?,
                    );
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
                let q = sql::count_resources(scope, filter, visibility);
                Self::on(self.reader(), async |c| {
                    let count = sqlx::query_scalar_with(&q.text, args(&q)?)
                        .fetch_one(&mut *c)
                        .await?;
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
                Self::on(self.reader(), async |c| {
                    let keys = group_values(
                        sqlx::query_as_with(&q.text, args(&q)?)
                            .fetch_all(&mut *c)
                            .await?,
                    );
                    if keys.is_empty() {
                        Self::confirm_live(c, visibility).await?;
                    }
                    Ok(keys)
                })
                .await
            }

            async fn insert_token(&self, t: &TokenRecord) -> Result<(), StoreError> {
                Self::on(self.writer(), async |c| {
                    sqlx::query(sql::INSERT_TOKEN)
                        .bind(&t.id)
                        .bind(&t.secret_sha256)
                        .bind(&t.project_id)
                        .bind(t.read_only)
                        .bind(t.system)
                        .bind(t.created_at)
                        .execute(&mut *c)
                        .await?;
                    Ok(())
                })
                .await
            }

            async fn find_token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
                Self::on(self.reader(), async |c| {
                    let row = sqlx::query_as(sql::SELECT_TOKEN)
                        .bind(id)
                        .fetch_optional(&mut *c)
                        .await?;
                    Ok(row.map(super::token_record))
                })
                .await
            }

            async fn revoke_token(&self, id: &str, now: i64) -> Result<bool, StoreError> {
                self.revoke(sql::REVOKE_TOKEN, id, now).await
            }

            async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
                Self::on(self.reader(), async |c| {
                    let rows = sqlx::query_as(sql::SELECT_TOKENS)
                        .fetch_all(&mut *c)
                        .await?;
                    Ok(rows.into_iter().map(super::token_record).collect())
                })
                .await
            }

            async fn insert_access_key(&self, k: &AccessKeyRecord) -> Result<(), StoreError> {
                Self::on(self.writer(), async |c| {
                    sqlx::query(sql::INSERT_ACCESS_KEY)
                        .bind(&k.id)
                        .bind(&k.secret_sealed)
                        .bind(&k.project_id)
                        .bind(k.read_only)
                        .bind(k.created_at)
                        .execute(&mut *c)
                        .await?;
                    Ok(())
                })
                .await
            }

            async fn find_access_key(
                &self,
                id: &str,
            ) -> Result<Option<AccessKeyRecord>, StoreError> {
                Self::on(self.reader(), async |c| {
                    let row = sqlx::query_as(sql::SELECT_ACCESS_KEY)
                        .bind(id)
                        .fetch_optional(&mut *c)
                        .await?;
                    Ok(row.map(super::access_key_record))
                })
                .await
            }

            async fn revoke_access_key(&self, id: &str, now: i64) -> Result<bool, StoreError> {
                self.revoke(sql::REVOKE_ACCESS_KEY, id, now).await
            }

            async fn list_access_keys(&self) -> Result<Vec<AccessKeyRecord>, StoreError> {
                Self::on(self.reader(), async |c| {
                    let rows = sqlx::query_as(sql::SELECT_ACCESS_KEYS)
                        .fetch_all(&mut *c)
                        .await?;
                    Ok(rows.into_iter().map(super::access_key_record).collect())
                })
                .await
            }

            async fn master_key_check(&self, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
                Self::on(self.writer(), async |c| {
                    sqlx::query(sql::INSERT_MASTER_KEY_CHECK)
                        .bind(fresh)
                        .execute(&mut *c)
                        .await?;
                    Ok(sqlx::query_scalar(sql::SELECT_MASTER_KEY_CHECK)
                        .fetch_one(&mut *c)
                        .await?)
                })
                .await
            }

            async fn claim_nonce(
                &self,
                access_key_id: &str,
                nonce: &str,
                expires_at: i64,
                now: i64,
            ) -> Result<bool, StoreError> {
                Self::on(self.writer(), async |c| {
                    let done = sqlx::query(sql::CLAIM_NONCE)
                        .bind(access_key_id)
                        .bind(nonce)
                        .bind(expires_at)
                        .bind(now)
                        .execute(&mut *c)
                        .await?;
                    Ok(done.rows_affected() > 0)
                })
                .await
            }

            async fn purge_nonces(&self, now: i64) -> Result<u64, StoreError> {
                Self::on(self.writer(), async |c| {
                    let done = sqlx::query(sql::PURGE_NONCES)
                        .bind(now)
                        .execute(&mut *c)
                        .await?;
                    Ok(done.rows_affected())
                })
                .await
            }
        }
    };
}

pub(super) use impl_tag_store;
