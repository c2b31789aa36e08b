//! Filtered reads: the counts their plan needs, read on the connection (or in the snapshot) the
//! read runs in, then the statement of the chosen plan (see `plan.rs`).

use sqlx::{
    ColumnIndex, Connection, Database, Encode, Executor, IntoArguments, Postgres, Row, Type,
};

use super::{
    ResourceRecord, StoreError, TagRow,
    backend::{Backend, Column, Conn, RowOf, SqlStore},
    plan::{self, Driver, Plan, Positives},
    sql::{self, Matching},
};
use crate::domain::{ResourceFilter, Scope, TagRowQuery, Visibility};

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
        scope: &Scope,
        filter: &'a ResourceFilter,
        visibility: &Visibility,
        want_counts: bool,
    ) -> Result<Planned<'a>, StoreError> {
        let positives = Positives::of(filter);
        let name = filter.name.as_deref();
        let counts = if name.is_none() && (want_counts || positives.need_counts()) {
            Some(Self::filter_counts(c, scope, positives, visibility).await?)
        } else {
            None
        };
        Ok(Planned {
            plan: plan::choose(positives, name, counts.as_deref()),
            counts,
        })
    }

    pub async fn filtered_tag_rows(
        c: &mut Conn<B>,
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
            let Planned { plan, .. } = Self::plan(c, scope, &filter, visibility, false).await?;
            if plan.driver == Driver::Empty {
                return Ok(Vec::new());
            }
            let m = Matching {
                scope,
                filter: &filter,
                plan,
                visibility,
            };
            sql::tag_rows(&m, after, limit, B::FENCE)
        } else {
            sql::named_tag_rows(scope, query, visibility, after, limit)
        };
        Ok(sqlx::query_as_with(&q.text, Self::args(&q)?)
            .fetch_all(&mut *c)
            .await?)
    }

    pub async fn filtered_resources(
        c: &mut Conn<B>,
        scope: &Scope,
        filter: &ResourceFilter,
        visibility: &Visibility,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ResourceRecord>, StoreError> {
        let Planned { plan, .. } = Self::plan(c, scope, filter, visibility, false).await?;
        let m = Matching {
            scope,
            filter,
            plan,
            visibility,
        };
        Self::records(c, &m, |m| sql::resources(m, after, limit, B::FENCE)).await
    }

    /// How many resources match. A filter that is one positive filter alone is counted by the
    /// counts themselves, whatever its size.
    pub async fn filtered_count(
        c: &mut Conn<B>,
        scope: &Scope,
        filter: &ResourceFilter,
        visibility: &Visibility,
    ) -> Result<i64, StoreError> {
        let alone = only_positive(filter);
        let Planned { plan, counts } = Self::plan(c, scope, filter, visibility, alone).await?;
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
        scope: &Scope,
        filter: &ResourceFilter,
        visibility: &Visibility,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<ResourceRecord>, i64), StoreError> {
        let alone = only_positive(filter);
        let Planned { plan, counts } = Self::plan(c, scope, filter, visibility, alone).await?;
        let m = Matching {
            scope,
            filter,
            plan,
            visibility,
        };
        let records =
            Self::records(c, &m, |m| sql::resource_page(m, offset, limit, B::FENCE)).await?;
        let total = Self::count(c, &m, counts.as_deref()).await?;
        Ok((records, total))
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
