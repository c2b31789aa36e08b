//! Bringing the sets a read needs to the revision of the read's snapshot: kept sets at it are
//! used as they are, older ones replay the log since their revision, and the rest (none kept, the
//! log compacted past them, or more changes since than reading them whole would cost) are read
//! from the tags. Everything is read in the caller's snapshot, so the sets and whatever else the
//! read returns agree.

use std::{collections::HashMap, sync::Arc};

use roaring::RoaringTreemap;
use sqlx::{ColumnIndex, Database, Encode, Executor, IntoArguments, Type};

use super::{
    Found, Posting, Postings, Term, TermKey,
    terms::{self, Replayed},
};
use crate::{
    domain::{ResourceFilter, Scope, Visibility},
    store::{
        StoreError,
        backend::{Backend, Column, Conn, RowOf, SqlStore},
        changes, sql,
    },
};

/// A row of the log as replay reads it.
#[derive(sqlx::FromRow)]
struct LogRow {
    revision: i64,
    seq: i32,
    /// `None` for changes logged before the log kept it.
    resource_pk: Option<i64>,
    changes: String,
}

/// Rows of the log (a resource's changes in one write each) replayed at most before the sets
/// they concern are read whole instead.
const REPLAY_MAX: u32 = 50_000;

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
    /// The resources `filter` matches in the snapshot `c` is in, from the sets of its terms
    /// (`terms::needed`).
    pub(in crate::store) async fn posting_matches(
        c: &mut Conn<B>,
        postings: &Postings,
        scope: &Scope,
        (filter, needed): (&ResourceFilter, Vec<Term>),
        visibility: &Visibility,
    ) -> Result<RoaringTreemap, StoreError> {
        let q = sql::posting_horizon(scope, visibility);
        let horizon: Option<(i64, i64)> = sqlx::query_as_with(&q.text, Self::args(&q)?)
            .fetch_optional(&mut *c)
            .await?;
        let (revision, compacted) = match horizon {
            Some(h) => h,
            None => {
                Self::confirm_live(c, visibility).await?;
                (0, 0)
            }
        };
        let mut sets: HashMap<Term, Arc<RoaringTreemap>> = HashMap::new();
        let mut stale = Vec::new();
        let mut missing = Vec::new();
        for term in needed {
            let key = key_of(scope, &term);
            match postings.get(&key) {
                Some(p) if p.revision == revision => {
                    postings.found(Found::Current);
                    sets.insert(term, p.set);
                }
                Some(p) if p.revision >= compacted && p.revision < revision => {
                    stale.push((term, p));
                }
                _ => missing.push(term),
            }
        }
        if !stale.is_empty() {
            let (advanced, failed) = Self::replay(c, scope, stale, revision).await?;
            for (term, set) in advanced {
                postings.found(Found::Advanced);
                let set = Arc::new(set);
                postings.put(key_of(scope, &term), posting(&set, revision));
                sets.insert(term, set);
            }
            missing.extend(failed);
        }
        for term in missing {
            let set = Arc::new(Self::read_set(c, scope, &term).await?);
            postings.found(Found::Built);
            postings.put(key_of(scope, &term), posting(&set, revision));
            sets.insert(term, set);
        }
        let sets: HashMap<Term, &RoaringTreemap> =
            sets.iter().map(|(t, s)| (t.clone(), s.as_ref())).collect();
        Ok(terms::matching(filter, &sets))
    }

    /// The set of `term`, read whole from the tags (or the scope's resources).
    async fn read_set(
        c: &mut Conn<B>,
        scope: &Scope,
        term: &Term,
    ) -> Result<RoaringTreemap, StoreError> {
        let q = sql::posting_set(scope, term);
        let mut ids: Vec<i64> = sqlx::query_scalar_with(&q.text, Self::args(&q)?)
            .fetch_all(&mut *c)
            .await?;
        ids.sort_unstable();
        RoaringTreemap::from_sorted_iter(ids.into_iter().filter_map(|pk| u64::try_from(pk).ok()))
            .map_err(|e| StoreError::Other(format!("a term's resources out of order: {e}")))
    }

    /// Replays the log from the oldest of the `stale` sets' revisions to `revision`; answers the
    /// sets it brought there and the terms it could not (too many changes, or one logged without
    /// its resource's internal id).
    async fn replay(
        c: &mut Conn<B>,
        scope: &Scope,
        stale: Vec<(Term, Posting)>,
        revision: i64,
    ) -> Result<(Vec<(Term, RoaringTreemap)>, Vec<Term>), StoreError> {
        let from = stale
            .iter()
            .map(|(_, p)| p.revision)
            .min()
            .unwrap_or(revision);
        let keys: Vec<&str> = stale
            .iter()
            .filter_map(|(t, _)| match t {
                Term::Key(k) | Term::Pair(k, _) => Some(k.as_str()),
                Term::Resources => None,
            })
            .collect();
        let resources = stale.iter().any(|(t, _)| *t == Term::Resources);
        let q = sql::posting_replay(scope, (from, revision), REPLAY_MAX + 1);
        let rows: Vec<LogRow> = sqlx::query_as_with(&q.text, Self::args(&q)?)
            .fetch_all(&mut *c)
            .await?;
        if rows.len() > REPLAY_MAX as usize {
            return Ok((Vec::new(), stale.into_iter().map(|(t, _)| t).collect()));
        }
        let mut log = Vec::new();
        for row in rows {
            for change in changes::unpack(&row.changes, row.seq.into())? {
                let needed = match change.key.as_deref() {
                    Some(k) => keys.contains(&k),
                    None => resources,
                };
                if needed {
                    let (revision, resource_pk) = (row.revision, row.resource_pk);
                    log.push(Replayed {
                        revision,
                        resource_pk,
                        change,
                    });
                }
            }
        }
        let mut advanced = Vec::new();
        let mut failed = Vec::new();
        for (term, kept) in stale {
            let mut set = Arc::unwrap_or_clone(kept.set);
            let replayed = log
                .iter()
                .filter(|change| change.revision > kept.revision)
                .all(|change| terms::apply(&term, &mut set, change));
            if replayed {
                advanced.push((term, set));
            } else {
                failed.push(term);
            }
        }
        Ok((advanced, failed))
    }
}

fn key_of(scope: &Scope, term: &Term) -> TermKey {
    TermKey {
        project_id: scope.project_id.clone(),
        resource_type: scope.resource_type.clone(),
        term: term.clone(),
    }
}

fn posting(set: &Arc<RoaringTreemap>, revision: i64) -> Posting {
    Posting {
        set: set.clone(),
        revision,
    }
}
