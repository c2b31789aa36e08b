//! Filtered reads: the counts their plan needs, read on the connection (or in the snapshot) the
//! read runs in, then the statement of the chosen plan (see `plan.rs`).

use sqlx::{
    ColumnIndex, Connection, Database, Encode, Executor, IntoArguments, Postgres, Row, Type,
};

use roaring::RoaringTreemap;

use super::{
    ResourceRecord, StoreError, TagRow,
    backend::{Backend, Column, Conn, RowOf, SqlStore},
    plan::{self, Driver, Plan, Positives},
    postings::{Postings, Term, terms},
    sql::{self, Matching},
};
use crate::domain::{ResourceFilter, Scope, TagRowQuery, Visibility};

/// Candidates from which a count, or a page with a negation, is answered from the postings
/// rather than by the database alone: fewer are probed one by one faster than the sets are
/// brought to the read's revision (one statement, and one more per set the log has changed).
const POSTINGS_FROM: i64 = 5_000;

/// A filtered read's plan, and the filters' counts when they were read.
struct Planned<'a> {
    plan: Plan<'a>,
    counts: Option<Vec<i64>>,
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
    /// How many of the scope's resources each positive filter matches; zeros when the scope has
    /// no tags (or the caller's token is no longer live: the read then finds nothing and says so).
    async fn filter_counts(
        c: &mut Conn<B>,
        scope: &Scope,
        positives: Positives<'_>,
        visibility: &Visibility,
    ) -> Result<Vec<i64>, StoreError> {
        let q = sql::filter_counts(scope, positives.counted(), visibility);
        let n = positives.counted().count();
        let row = sqlx::query_with(&q.text, Self::args(&q)?)
            .fetch_optional(&mut *c)
            .await?;
        match row {
            Some(row) => Ok((1..=n)
                .map(|i| row.try_get::<i64, usize>(i))
                .collect::<Result<_, _>>()?),
            None => Ok(vec![0; n]),
        }
    }

    async fn plan<'a>(
        c: &mut Conn<B>,
        postings: &Postings,
        scope: &Scope,
        filter: &'a ResourceFilter,
        visibility: &Visibility,
        want_counts: bool,
    ) -> Result<Planned<'a>, StoreError> {
        let positives = Positives::of(filter);
        let name = filter.name.as_deref();
        let any_positive = positives.counted().next().is_some();
        let counts = if name.is_none() && (want_counts && any_positive || positives.need_counts()) {
            Some(Self::filter_counts(c, scope, positives, visibility).await?)
        } else {
            None
        };
        let mut plan = plan::choose(positives, name, counts.as_deref());
        if let Some(counts) = counts.as_deref()
            && !postings.enabled()
        {
            plan = plan::without_postings(plan, positives, counts);
        }
        Ok(Planned { plan, counts })
    }

    pub async fn filtered_tag_rows(
        c: &mut Conn<B>,
        postings: &Postings,
        scope: &Scope,
        query: &TagRowQuery,
        visibility: &Visibility,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<TagRow>, StoreError> {
        let filter = ResourceFilter {
            all: query.tags.clone(),
            ..ResourceFilter::default()
        };
        let q = if query.resource_ids.is_empty() {
            let planned = Self::plan(c, postings, scope, &filter, visibility, false).await?;
            if let Some(terms) = by_postings(postings, &filter, &planned, false) {
                let matching = (&filter, terms);
                return Self::tag_rows_of_set(
                    c, postings, scope, matching, visibility, after, limit,
                )
                .await;
            }
            let plan = planned.plan;
            if plan.driver == Driver::Empty {
                return Ok(Vec::new());
            }
            let m = Matching {
                scope,
                filter: &filter,
                plan,
                visibility,
            };
            sql::tag_rows(&m, after, limit, B::LOOKUP)
        } else {
            sql::named_tag_rows(scope, query, visibility, after, limit)
        };
        Ok(sqlx::query_as_with(&q.text, Self::args(&q)?)
            .fetch_all(&mut *c)
            .await?)
    }

    /// A page of tag rows of the resources the postings' sets say match, in one snapshot.
    async fn tag_rows_of_set(
        c: &mut Conn<B>,
        postings: &Postings,
        scope: &Scope,
        matching: (&ResourceFilter, Vec<Term>),
        visibility: &Visibility,
        after: Option<(i64, &str)>,
        limit: u32,
    ) -> Result<Vec<TagRow>, StoreError> {
        let mut tx = c.begin_with(B::SNAPSHOT).await?;
        let set = Self::posting_matches(&mut tx, postings, scope, matching, visibility).await?;
        // The resource of `after` may have rows left; each after it has one at least.
        let from = after.map_or(0, |(pk, _)| u64::try_from(pk).unwrap_or(0));
        let pks = ids_from(&set, from, limit.saturating_add(1));
        if pks.is_empty() {
            return Ok(Vec::new());
        }
        let q = sql::tag_rows_by_pk(scope, &pks, visibility, after, limit, B::LOOKUP);
        let rows = sqlx::query_as_with(&q.text, Self::args(&q)?)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(rows)
    }

    pub async fn filtered_resources(
        c: &mut Conn<B>,
        postings: &Postings,
        scope: &Scope,
        filter: &ResourceFilter,
        visibility: &Visibility,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ResourceRecord>, StoreError> {
        let negating = !filter.not_all.is_empty() || !filter.not_any.is_empty();
        let want = negating && postings.enabled();
        let planned = Self::plan(c, postings, scope, filter, visibility, want).await?;
        if let Some(terms) = by_postings(postings, filter, &planned, negating) {
            let mut tx = c.begin_with(B::SNAPSHOT).await?;
            let set = Self::posting_matches(&mut tx, postings, scope, (filter, terms), visibility)
                .await?;
            let records = Self::by_pks(&mut tx, scope, &page_after(&set, after, limit)).await?;
            tx.commit().await?;
            return Ok(records);
        }
        let plan = planned.plan;
        let m = Matching {
            scope,
            filter,
            plan,
            visibility,
        };
        Self::records(c, &m, |m| sql::resources(m, after, limit, B::LOOKUP)).await
    }

    /// How many resources match. A filter that is one positive filter alone is counted by the
    /// counts themselves, whatever its size.
    pub async fn filtered_count(
        c: &mut Conn<B>,
        postings: &Postings,
        scope: &Scope,
        filter: &ResourceFilter,
        visibility: &Visibility,
    ) -> Result<i64, StoreError> {
        let alone = only_positive(filter);
        let want = alone || postings.enabled();
        let planned = Self::plan(c, postings, scope, filter, visibility, want).await?;
        if !alone && let Some(terms) = by_postings(postings, filter, &planned, true) {
            let mut tx = c.begin_with(B::SNAPSHOT).await?;
            let set = Self::posting_matches(&mut tx, postings, scope, (filter, terms), visibility)
                .await?;
            tx.commit().await?;
            return Ok(len(&set));
        }
        let Planned { plan, counts } = planned;
        let m = Matching {
            scope,
            filter,
            plan,
            visibility,
        };
        Self::count(c, &m, counts.as_deref()).await
    }

    /// The page at `offset` and how many match in all, from one plan (its counts read once), on
    /// `c`, which the caller holds in one snapshot.
    pub async fn filtered_page(
        c: &mut Conn<B>,
        postings: &Postings,
        scope: &Scope,
        filter: &ResourceFilter,
        visibility: &Visibility,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<ResourceRecord>, i64), StoreError> {
        let alone = only_positive(filter);
        let want = alone || postings.enabled();
        let planned = Self::plan(c, postings, scope, filter, visibility, want).await?;
        if let Some(terms) = by_postings(postings, filter, &planned, !alone) {
            let set =
                Self::posting_matches(c, postings, scope, (filter, terms), visibility).await?;
            let records = Self::by_pks(c, scope, &page_at(&set, offset, limit)).await?;
            return Ok((records, len(&set)));
        }
        let Planned { plan, counts } = planned;
        let m = Matching {
            scope,
            filter,
            plan,
            visibility,
        };
        let records =
            Self::records(c, &m, |m| sql::resource_page(m, offset, limit, B::LOOKUP)).await?;
        let total = Self::count(c, &m, counts.as_deref()).await?;
        Ok((records, total))
    }

    /// The scope's resources of internal ids `pks`, in order.
    async fn by_pks(
        c: &mut Conn<B>,
        scope: &Scope,
        pks: &[i64],
    ) -> Result<Vec<ResourceRecord>, StoreError> {
        if pks.is_empty() {
            return Ok(Vec::new());
        }
        let q = sql::resources_by_pk(scope, pks, B::LOOKUP);
        Ok(sqlx::query_as_with(&q.text, Self::args(&q)?)
            .fetch_all(&mut *c)
            .await?)
    }

    /// The resources `build`'s statement reads for the plan; none, unread, when nothing can match.
    async fn records<'a>(
        c: &mut Conn<B>,
        m: &Matching<'a>,
        build: impl FnOnce(&Matching<'a>) -> sql::Sql<'a>,
    ) -> Result<Vec<ResourceRecord>, StoreError> {
        if m.plan.driver == Driver::Empty {
            return Ok(Vec::new());
        }
        let q = build(m);
        Ok(sqlx::query_as_with(&q.text, Self::args(&q)?)
            .fetch_all(&mut *c)
            .await?)
    }

    /// How many resources the plan matches: its one filter's count when the filter is that alone
    /// (`counts` read for it), else counted by the plan's statement, merging the filters of a size
    /// with its driver (`plan::for_count`).
    async fn count(
        c: &mut Conn<B>,
        m: &Matching<'_>,
        counts: Option<&[i64]>,
    ) -> Result<i64, StoreError> {
        match (m.plan.driver, counts) {
            (Driver::Empty, _) => Ok(0),
            (_, Some(counts)) if only_positive(m.filter) => Ok(counts[0]),
            _ => {
                let plan = plan::for_count(m.plan, Positives::of(m.filter), counts);
                let m = Matching { plan, ..*m };
                let q = sql::count_resources(&m);
                let count = sqlx::query_scalar_with(&q.text, Self::args(&q)?);
                if plan.joined.is_empty() || <B::Db as Database>::NAME != Postgres::NAME {
                    return Ok(count.fetch_one(&mut *c).await?);
                }
                // A savepoint when the caller's snapshot is open; rolling it back undoes the
                // settings, and the count wrote nothing.
                let mut tx = c.begin().await?;
                sqlx::query(sql::MERGE_SETTINGS).execute(&mut *tx).await?;
                let n = count.fetch_one(&mut *tx).await?;
                tx.rollback().await?;
                Ok(n)
            }
        }
    }
}

/// Whether the filter is a single positive filter and nothing else, which its count answers.
fn only_positive(f: &ResourceFilter) -> bool {
    f.all.len() + f.any.len() == 1
        && f.not_all.is_empty()
        && f.not_any.is_empty()
        && f.name.is_none()
        && !f.untagged
}

/// The terms whose sets answer `filter`, when the postings should: sets can (no name, no
/// "without any tag"), something can match, and either the plan is driven by a large key, whose
/// resources in order only its set holds, or the read would otherwise `probe` every candidate of
/// its smallest positive part (or of the scope, when it has none) and that is large (see
/// [`POSTINGS_FROM`]).
fn by_postings(
    postings: &Postings,
    filter: &ResourceFilter,
    planned: &Planned<'_>,
    probe: bool,
) -> Option<Vec<Term>> {
    if !postings.enabled() || planned.plan.driver == Driver::Empty {
        return None;
    }
    let keyed = matches!(planned.plan.driver, Driver::Key(_));
    let large = match planned.counts.as_deref() {
        Some(counts) => {
            let (all, any) = counts.split_at(filter.all.len());
            let any = (!any.is_empty()).then(|| any.iter().sum::<i64>());
            let smallest = all.iter().copied().chain(any).min();
            smallest.is_none_or(|n| n > POSTINGS_FROM)
        }
        None => filter.all.is_empty() && filter.any.is_empty(),
    };
    (keyed || probe && large)
        .then(|| terms::needed(filter))
        .flatten()
}

fn len(set: &RoaringTreemap) -> i64 {
    i64::try_from(set.len()).unwrap_or(i64::MAX)
}

/// Up to `limit` of the set's ids after `after`, in order.
fn page_after(set: &RoaringTreemap, after: Option<i64>, limit: u32) -> Vec<i64> {
    let from = after.map_or(0, |pk| u64::try_from(pk).unwrap_or(0).saturating_add(1));
    ids_from(set, from, limit)
}

/// Up to `limit` of the set's ids from the `offset`-th on, in order.
fn page_at(set: &RoaringTreemap, offset: u64, limit: u32) -> Vec<i64> {
    set.select(offset)
        .map_or_else(Vec::new, |first| ids_from(set, first, limit))
}

/// Up to `limit` of the set's ids from `from` on, in order.
fn ids_from(set: &RoaringTreemap, from: u64, limit: u32) -> Vec<i64> {
    let mut ids = set.iter();
    ids.advance_to(from);
    ids.take(limit as usize)
        .filter_map(|pk| i64::try_from(pk).ok())
        .collect()
}
