//! [`CredentialStore`] over any [`Backend`].

use async_trait::async_trait;
use sqlx::{ColumnIndex, Connection, Database, Encode, Executor, IntoArguments, Type};

use super::{
    AccessKeyRecord, CredentialStore, StoreError, TokenRecord,
    backend::{Backend, Column, Conn, RowOf, RowsAffected, SqlStore},
    sql,
};

#[async_trait]
impl<B> CredentialStore for SqlStore<B>
where
    B: Backend,
    for<'c> &'c mut Conn<B>: Executor<'c, Database = B::Db>,
    for<'q> <B::Db as Database>::Arguments<'q>: IntoArguments<'q, B::Db>,
    for<'q> &'q str: Encode<'q, B::Db> + Type<B::Db>,
    for<'q> &'q [u8]: Encode<'q, B::Db> + Type<B::Db>,
    for<'r> &'r str: ColumnIndex<RowOf<B>>,
    usize: ColumnIndex<RowOf<B>>,
    i64: Column<B::Db>,
    Option<i64>: Column<B::Db>,
    i32: Column<B::Db>,
    bool: Column<B::Db>,
    String: Column<B::Db>,
    Vec<u8>: Column<B::Db>,
{
    async fn page_token_key(&self, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.key(sql::INSERT_PAGE_KEY, sql::SELECT_PAGE_KEY, fresh)
            .await
    }

    async fn insert_token(&self, t: &TokenRecord) -> Result<(), StoreError> {
        Self::on(self.backend.writer(), async |c| {
            sqlx::query(sql::INSERT_TOKEN)
                .bind(&t.id)
                .bind(&t.secret_sha256)
                .bind(&t.project_id)
                .bind(t.read_only)
                .bind(t.system)
                .bind(t.created_at)
                .bind(&t.name)
                .bind(t.expires_at)
                .execute(&mut *c)
                .await?;
            Ok(())
        })
        .await
    }

    async fn find_token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        Self::on(self.backend.reader(), async |c| {
            Ok(sqlx::query_as(sql::SELECT_TOKEN)
                .bind(id)
                .fetch_optional(&mut *c)
                .await?)
        })
        .await
    }

    async fn revoke_token(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        self.revoke(sql::REVOKE_TOKEN, id, now).await
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        Self::on(self.backend.reader(), async |c| {
            Ok(sqlx::query_as(sql::SELECT_TOKENS)
                .fetch_all(&mut *c)
                .await?)
        })
        .await
    }

    async fn insert_access_key(&self, k: &AccessKeyRecord) -> Result<(), StoreError> {
        Self::on(self.backend.writer(), async |c| {
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

    async fn find_access_key(&self, id: &str) -> Result<Option<AccessKeyRecord>, StoreError> {
        Self::on(self.backend.reader(), async |c| {
            Ok(sqlx::query_as(sql::SELECT_ACCESS_KEY)
                .bind(id)
                .fetch_optional(&mut *c)
                .await?)
        })
        .await
    }

    async fn revoke_access_key(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        self.revoke(sql::REVOKE_ACCESS_KEY, id, now).await
    }

    async fn list_access_keys(&self) -> Result<Vec<AccessKeyRecord>, StoreError> {
        Self::on(self.backend.reader(), async |c| {
            Ok(sqlx::query_as(sql::SELECT_ACCESS_KEYS)
                .fetch_all(&mut *c)
                .await?)
        })
        .await
    }

    async fn master_key_check(&self, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.key(
            sql::INSERT_MASTER_KEY_CHECK,
            sql::SELECT_MASTER_KEY_CHECK,
            fresh,
        )
        .await
    }

    async fn reseal_access_keys(
        &self,
        resealed: &[(String, Vec<u8>)],
        old_check: &[u8],
        new_check: &[u8],
    ) -> Result<bool, StoreError> {
        Self::on(self.backend.writer(), async |c| {
            let mut tx = c.begin_with(B::BEGIN_WRITE).await?;
            // First, so that a second rotation running at once waits here, then finds the check
            // value changed.
            let replaced = sqlx::query(sql::REPLACE_MASTER_KEY_CHECK)
                .bind(old_check)
                .bind(new_check)
                .execute(&mut *tx)
                .await?;
            if replaced.rows_affected() != 1 {
                return Ok(false);
            }
            for (id, sealed) in resealed {
                sqlx::query(sql::RESEAL_ACCESS_KEY)
                    .bind(id.as_str())
                    .bind(sealed.as_slice())
                    .execute(&mut *tx)
                    .await?;
            }
            let keys: i64 = sqlx::query_scalar(sql::COUNT_ACCESS_KEYS)
                .fetch_one(&mut *tx)
                .await?;
            if usize::try_from(keys).ok() != Some(resealed.len()) {
                return Ok(false);
            }
            tx.commit().await?;
            Ok(true)
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
        Self::on(self.backend.writer(), async |c| {
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
        Self::on(self.backend.writer(), async |c| {
            let done = sqlx::query(sql::PURGE_NONCES)
                .bind(now)
                .execute(&mut *c)
                .await?;
            Ok(done.rows_affected())
        })
        .await
    }
}
