//! The writes' transactions. Each one that changes tags also changes its scope's counts (see
//! `counts.rs`), from what it replaced or removed; each one that changes anything then records
//! its changes and takes the project's next revision, last before it commits (see
//! `changes.rs`).

use std::collections::HashMap;

use sqlx::{ColumnIndex, Connection, Database, Encode, Executor, IntoArguments, Type};

use super::{
    Deletion, Removal, ResourceRecord, StoreError, TagLimit, WriteTerms,
    backend::{Backend, Chain, Column, Conn, ResourceTag, RowOf, RowsAffected, SqlStore},
    changes::Logged,
    counts::{Deltas, removed_counts},
    error::name_taken,
    scope_keys::ScopeKeys,
    sql::{self, Sql},
};
use crate::domain::{ChangeKind, Scope, SignedOnce, Tag, Visibility};

/// A tag a write removes, with its resource and the scope whose counts it leaves.
#[derive(sqlx::FromRow)]
pub(super) struct ScopedTag {
    pub(super) resource_pk: i64,
    pub(super) scope_pk: i64,
    pub(super) key: String,
    pub(super) value: String,
}

/// A resource a write found or registered under its row lock.
#[derive(sqlx::FromRow)]
struct Locked {
    pk: i64,
    revision: i64,
    resource_id: String,
}

/// A resource a write registered or found.
#[derive(sqlx::FromRow)]
struct Registered {
    pk: i64,
    /// 0: registered by this write (a new resource has no tags, so the write need not read
    /// them).
    revision: i64,
    resource_id: String,
}

impl Registered {
    fn fresh(&self) -> bool {
        self.revision == 0
    }
}

/// The resource that a write would take over the tag limit.
#[derive(sqlx::FromRow)]
struct OverLimit {
    resource_id: String,
    n: i64,
}

impl<B> SqlStore<B>
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
    /// Sets `tags` on the resources `ids` (sorted), registering unknown ones; all or nothing.
    pub async fn write_tags(
        c: &mut Conn<B>,
        (scope, keys): (&Scope, &ScopeKeys),
        ids: &[String],
        tags: &[Tag],
        limit: TagLimit<'_>,
        pre: WriteTerms<'_>,
    ) -> Result<i64, StoreError> {
        let mut tx = c.begin_with(B::BEGIN_WRITE).await?;
        if !Self::first_time(&mut tx, pre.once).await? {
            return Self::current_revision(&mut tx, scope).await;
        }
        let scope_pk = Self::scope_key(&mut tx, scope, keys).await?;
        // Registering the resources locks them (PostgreSQL takes the locks in id order, so two
        // writers to overlapping resources cannot deadlock), so what is read next stays current.
        let up = sql::upsert_resources(scope, ids);
        let registered: Vec<Registered> = sqlx::query_as_with(&up.text, Self::args(&up)?)
            .fetch_all(&mut *tx)
            .await?;
        if let Some(first) = registered.first() {
            // A new resource is at revision 0, which is what "must not exist" expects.
            expect(pre, &ids[0], first.revision)?;
        }
        let pks: Vec<i64> = registered.iter().map(|r| r.pk).collect();
        let known: Vec<i64> = registered
            .iter()
            .filter(|r| !r.fresh())
            .map(|r| r.pk)
            .collect();
        let current: Vec<ResourceTag> = if known.is_empty() {
            Vec::new()
        } else {
            let keys: Vec<&str> = tags.iter().map(|t| t.key.as_str()).collect();
            let read = sql::current_tags(&scope.project_id, &known, &keys);
            sqlx::query_as_with(&read.text, Self::args(&read)?)
                .fetch_all(&mut *tx)
                .await?
        };
        let current: HashMap<(i64, &str), &str> = current
            .iter()
            .map(|t| ((t.resource_pk, t.key.as_str()), t.value.as_str()))
            .collect();
        let mut deltas = Deltas::default();
        let mut changed = Vec::new();
        let mut changes = Vec::new();
        for r in &registered {
            let before = changes.len();
            if r.fresh() {
                changes.push(Logged::new(
                    r.pk,
                    &r.resource_id,
                    ChangeKind::ResourceCreated,
                    None,
                    None,
                    None,
                ));
            }
            for t in tags {
                let was = current.get(&(r.pk, t.key.as_str())).copied();
                deltas.set(&t.key, was, &t.value);
                if was != Some(t.value.as_str()) {
                    let (id, key, value) = (&r.resource_id, Some(&*t.key), Some(&*t.value));
                    changes.push(Logged::new(r.pk, id, ChangeKind::TagSet, key, was, value));
                }
            }
            if changes.len() > before {
                changed.push(r.pk);
            }
        }
        let put = sql::upsert_tags((scope, scope_pk), &pks, tags);
        // A resource this write registered carries `tags` alone: within the limit when they are.
        let unsure = if tags.len() > limit.max { &pks } else { &known };
        let counts = (scope_pk, deltas);
        let revision = if B::CHAIN == Chain::Script {
            // One writer at a time: checking the limit after the last steps holds up no one.
            let last = (put, changes.as_slice());
            let revision = Self::finish(&mut tx, scope, pre, last, counts, &changed).await?;
            Self::within_limit(&mut tx, scope, unsure, limit).await?;
            revision
        } else {
            Self::execute(&mut tx, &put).await?;
            Self::within_limit(&mut tx, scope, unsure, limit).await?;
            let last = (Sql::default(), changes.as_slice());
            Self::finish(&mut tx, scope, pre, last, counts, &changed).await?
        };
        tx.commit().await?;
        Ok(revision)
    }

    /// Removes tags from the resources `ids` (sorted); all or nothing. Unknown resources are skipped.
    pub async fn remove_tags(
        c: &mut Conn<B>,
        scope: &Scope,
        ids: &[String],
        removal: Removal<'_>,
        pre: WriteTerms<'_>,
    ) -> Result<i64, StoreError> {
        let mut tx = c.begin_with(B::BEGIN_WRITE).await?;
        if !Self::first_time(&mut tx, pre.once).await? {
            return Self::current_revision(&mut tx, scope).await;
        }
        let lock = sql::lock_resources(scope, ids, (B::LOCK_ROWS, B::LOOKUP));
        let locked: Vec<Locked> = sqlx::query_as_with(&lock.text, Self::args(&lock)?)
            .fetch_all(&mut *tx)
            .await?;
        if let Some(id) = ids.first() {
            expect(pre, id, locked.first().map_or(0, |r| r.revision))?;
        }
        let pks: Vec<i64> = locked.iter().map(|r| r.pk).collect();
        let mut changed = Vec::new();
        let mut changes = Vec::new();
        let mut counts = (0, Deltas::default());
        if !pks.is_empty() {
            let del = sql::delete_tags(&scope.project_id, &pks, removal);
            let mut removed: Vec<ScopedTag> = sqlx::query_as_with(&del.text, Self::args(&del)?)
                .fetch_all(&mut *tx)
                .await?;
            removed.sort_by(|a, b| (a.resource_pk, &a.key).cmp(&(b.resource_pk, &b.key)));
            let ids: HashMap<i64, &str> = locked
                .iter()
                .map(|r| (r.pk, r.resource_id.as_str()))
                .collect();
            changes = removed
                .iter()
                .map(|t| tag_removed(ids[&t.resource_pk], t))
                .collect();
            counts = removed_counts(&removed);
            changed = removed.iter().map(|t| t.resource_pk).collect();
            changed.dedup();
        }
        let last = (Sql::default(), changes.as_slice());
        let revision = Self::finish(&mut tx, scope, pre, last, counts, &changed).await?;
        tx.commit().await?;
        Ok(revision)
    }

    /// Deletes a resource with its tags, unless it carries a tag hidden from `visibility`.
    pub async fn remove_resource(
        c: &mut Conn<B>,
        scope: &Scope,
        id: &str,
        visibility: &Visibility,
        pre: WriteTerms<'_>,
    ) -> Result<Deletion, StoreError> {
        let mut tx = c.begin_with(B::BEGIN_WRITE).await?;
        if !Self::first_time(&mut tx, pre.once).await? {
            return Ok(Deletion::Deleted(
                Self::current_revision(&mut tx, scope).await?,
            ));
        }
        let ids = [id.to_owned()];
        let lock = sql::lock_resources(scope, &ids, (B::LOCK_ROWS, B::LOOKUP));
        let locked: Option<Locked> = sqlx::query_as_with(&lock.text, Self::args(&lock)?)
            .fetch_optional(&mut *tx)
            .await?;
        expect(pre, id, locked.as_ref().map_or(0, |r| r.revision))?;
        let Some(Locked { pk, .. }) = locked else {
            return Ok(Deletion::NotFound);
        };
        let read = sql::all_tags_of(&scope.project_id, pk);
        let mut tags: Vec<ScopedTag> = sqlx::query_as_with(&read.text, Self::args(&read)?)
            .fetch_all(&mut *tx)
            .await?;
        tags.sort_by(|a, b| a.key.cmp(&b.key));
        let del = sql::delete_resource(scope, pk, visibility);
        let deleted = sqlx::query_with(&del.text, Self::args(&del)?)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Ok(Deletion::Protected);
        }
        // No foreign key takes them: the resource's row lock kept every other write off them.
        if !tags.is_empty() {
            let del = sql::delete_tags_of(&scope.project_id, pk);
            sqlx::query_with(&del.text, Self::args(&del)?)
                .execute(&mut *tx)
                .await?;
        }
        let deleted = ChangeKind::ResourceDeleted;
        let mut changes = vec![Logged::new(pk, id, deleted, None, None, None)];
        changes.extend(tags.iter().map(|t| tag_removed(id, t)));
        let counts = removed_counts(&tags);
        let last = (Sql::default(), changes.as_slice());
        let revision = Self::finish(&mut tx, scope, pre, last, counts, &[]).await?;
        tx.commit().await?;
        Ok(Deletion::Deleted(revision))
    }

    /// Registers a resource or sets its name; answers it with its visible tags.
    pub async fn register(
        c: &mut Conn<B>,
        scope: &Scope,
        id: &str,
        name: Option<&str>,
        visibility: &Visibility,
        pre: WriteTerms<'_>,
    ) -> Result<(ResourceRecord, i64), StoreError> {
        let mut tx = c.begin_with(B::BEGIN_WRITE).await?;
        let first_time = Self::first_time(&mut tx, pre.once).await?;
        let find = sql::resource_named(scope, id, B::LOCK_ROWS);
        let found: Option<ResourceRecord> = sqlx::query_as_with(&find.text, Self::args(&find)?)
            .fetch_optional(&mut *tx)
            .await?;
        let mut record = [match found {
            Some(found) => found,
            None => ResourceRecord {
                pk: 0,
                resource_id: id.to_owned(),
                name: name.map(str::to_owned),
                revision: 0,
                tags: Vec::new(),
            },
        }];
        // Done before: answered with the resource as it is now, if it still is.
        let mut changed = Vec::new();
        let mut changes = Vec::new();
        if first_time {
            expect(pre, id, record[0].revision)?;
            let put = sql::put_resource(scope, id, name);
            // No row: the resource exists with that name already, and nothing changed.
            let put: Option<i64> = sqlx::query_scalar_with(&put.text, Self::args(&put)?)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| name_taken(e, name))?;
            if let Some(pk) = put {
                changed.push(pk);
                let existed = record[0].pk != 0;
                let kind = match existed {
                    true => ChangeKind::ResourceRenamed,
                    false => ChangeKind::ResourceCreated,
                };
                let old = record[0].name.as_deref().filter(|_| existed);
                changes.push(Logged::new(pk, id, kind, None, old, name));
            }
        }
        let no_counts = (0, Deltas::default());
        let last = (Sql::default(), changes.as_slice());
        let revision = Self::finish(&mut tx, scope, pre, last, no_counts, &changed).await?;
        if let Some(&pk) = changed.first() {
            record[0].pk = pk;
            record[0].name = name.map(str::to_owned);
            record[0].revision = revision;
        }
        Self::with_tags(&mut tx, &scope.project_id, &mut record, visibility).await?;
        tx.commit().await?;
        let [record] = record;
        Ok((record, revision))
    }

    /// Refuses the write when one of the resources `pks` now carries more tags than `limit`.
    async fn within_limit(
        c: &mut Conn<B>,
        scope: &Scope,
        pks: &[i64],
        limit: TagLimit<'_>,
    ) -> Result<(), StoreError> {
        if pks.is_empty() {
            return Ok(());
        }
        let check = sql::over_limit(scope, pks, limit);
        let over: Option<OverLimit> = sqlx::query_as_with(&check.text, Self::args(&check)?)
            .fetch_optional(&mut *c)
            .await?;
        match over {
            Some(over) => Err(StoreError::TooManyTags {
                resource_id: over.resource_id,
                count: over.n,
                max: limit.max,
            }),
            None => Ok(()),
        }
    }

    /// Takes `once` in the write's transaction; answers whether it was free, i.e. whether the
    /// write is to be done. A concurrent write holding the same waits for it to commit or not.
    async fn first_time(c: &mut Conn<B>, once: Option<&SignedOnce>) -> Result<bool, StoreError> {
        let Some(once) = once else {
            return Ok(true);
        };
        let taken = sqlx::query(sql::CLAIM_ONCE)
            .bind(once.access_key_id.as_str())
            .bind(format!("sdk-hmac:{}", once.signature).as_str())
            .bind(once.expires_at)
            .execute(&mut *c)
            .await?;
        if taken.rows_affected() == 0 {
            tracing::info!(
                access_key_id = %once.access_key_id,
                "a signed write sent again: answered without doing it twice"
            );
        }
        Ok(taken.rows_affected() > 0)
    }

    /// The scope's internal key, registering the scope when it has none; from `keys` once a
    /// write of this process has read it.
    async fn scope_key(
        c: &mut Conn<B>,
        scope: &Scope,
        keys: &ScopeKeys,
    ) -> Result<i64, StoreError> {
        if let Some(pk) = keys.get(scope) {
            return Ok(pk);
        }
        let find = sql::scope_pk(scope);
        let found: Option<i64> = sqlx::query_scalar_with(&find.text, Self::args(&find)?)
            .fetch_optional(&mut *c)
            .await?;
        if let Some(pk) = found {
            keys.keep(scope, pk);
            return Ok(pk);
        }
        let insert = sql::insert_scope(scope);
        sqlx::query_with(&insert.text, Self::args(&insert)?)
            .execute(&mut *c)
            .await?;
        Ok(sqlx::query_scalar_with(&find.text, Self::args(&find)?)
            .fetch_one(&mut *c)
            .await?)
    }
}

/// The removal of the tag `t` of the resource `resource_id`.
fn tag_removed(resource_id: &str, t: &ScopedTag) -> Logged {
    let (key, value) = (Some(&*t.key), Some(&*t.value));
    Logged::new(
        t.resource_pk,
        resource_id,
        ChangeKind::TagRemoved,
        key,
        value,
        None,
    )
}

/// Refuses the write when `pre` expects the resource `id` at another revision than `current`.
fn expect(pre: WriteTerms<'_>, id: &str, current: i64) -> Result<(), StoreError> {
    match pre.expected_revision {
        Some(expected) if expected != current => Err(StoreError::RevisionMismatch {
            resource_id: id.to_owned(),
            expected,
            current,
        }),
        _ => Ok(()),
    }
}
