//! How a write changes its scope's counts of keys and of (key, value) pairs. A write learns what
//! it replaces or removes from the rows themselves (read under the resources' row locks, or
//! returned by the deletion), so the counts it applies are exact, and it applies them in the same
//! transaction, in one statement per table, in key order: concurrent writers take the count rows'
//! locks in one global order and cannot deadlock on them.

use std::collections::BTreeMap;

use sqlx::{ColumnIndex, Database, Encode, Executor, IntoArguments, Type};

use super::{
    StoreError,
    backend::{Backend, Column, Conn, RowOf, SqlStore},
    sql,
    writes::ScopedTag,
};

/// Changes to one scope's counts, ordered by key (and value), which is the order they are applied.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Deltas {
    pub keys: BTreeMap<String, i64>,
    pub values: BTreeMap<(String, String), i64>,
}

impl Deltas {
    /// A resource's tag `key` goes from `old` (absent: `None`) to `new`.
    pub fn set(&mut self, key: &str, old: Option<&str>, new: &str) {
        match old {
            Some(old) if old == new => {}
            Some(old) => {
                self.value(key, old, -1);
                self.value(key, new, 1);
            }
            None => {
                *self.keys.entry(key.to_owned()).or_default() += 1;
                self.value(key, new, 1);
            }
        }
    }

    /// A resource's tag `key` = `value` is removed.
    pub fn removed(&mut self, key: &str, value: &str) {
        *self.keys.entry(key.to_owned()).or_default() -= 1;
        self.value(key, value, -1);
    }

    fn value(&mut self, key: &str, value: &str, by: i64) {
        *self
            .values
            .entry((key.to_owned(), value.to_owned()))
            .or_default() += by;
    }

    /// Drops entries that cancelled out; answers whether anything is left to apply.
    pub fn settle(&mut self) -> bool {
        self.keys.retain(|_, n| *n != 0);
        self.values.retain(|_, n| *n != 0);
        !self.keys.is_empty() || !self.values.is_empty()
    }

    /// Each count table, with the keys whose rows in it these deltas change (a key once per value
    /// in `tag_values`); none of them when no count goes down, so none can reach zero.
    pub fn may_reach_zero(&self) -> [(&'static str, Vec<&str>); 2] {
        let (keys, values) = match self.any_decrease() {
            true => (
                self.keys.keys().map(String::as_str).collect(),
                self.values.keys().map(|(k, _)| k.as_str()).collect(),
            ),
            false => (Vec::new(), Vec::new()),
        };
        [("tag_keys", keys), ("tag_values", values)]
    }

    /// Whether some count goes down, and so may reach zero and be deleted.
    fn any_decrease(&self) -> bool {
        self.keys
            .values()
            .chain(self.values.values())
            .any(|n| *n < 0)
    }
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
    pub(super) async fn apply_counts(
        c: &mut Conn<B>,
        scope: sql::ProjectScope<'_>,
        mut deltas: Deltas,
    ) -> Result<(), StoreError> {
        if !deltas.settle() {
            return Ok(());
        }
        let statements = [
            (!deltas.keys.is_empty()).then(|| sql::add_key_counts(scope, &deltas)),
            (!deltas.values.is_empty()).then(|| sql::add_value_counts(scope, &deltas)),
        ];
        for add in statements.iter().flatten() {
            sqlx::query_with(&add.text, Self::args(add)?)
                .execute(&mut *c)
                .await?;
        }
        Self::drop_zero_counts(c, scope, &deltas).await
    }

    /// After settled `deltas` were added: deletes the counts they took to zero.
    pub(super) async fn drop_zero_counts(
        c: &mut Conn<B>,
        scope: sql::ProjectScope<'_>,
        deltas: &Deltas,
    ) -> Result<(), StoreError> {
        for (table, keys) in deltas.may_reach_zero() {
            if keys.is_empty() {
                continue;
            }
            let drop = sql::drop_zero_counts(table, scope, &keys);
            sqlx::query_with(&drop.text, Self::args(&drop)?)
                .execute(&mut *c)
                .await?;
        }
        Ok(())
    }
}

/// What removing `removed` (all of one scope, as one write's are) takes off its scope's counts:
/// the scope's key and the deltas; none when nothing is removed.
pub(super) fn removed_counts(removed: &[ScopedTag]) -> (i64, Deltas) {
    let mut deltas = Deltas::default();
    for t in removed {
        deltas.removed(&t.key, &t.value);
    }
    (removed.first().map_or(0, |t| t.scope_pk), deltas)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_value_moves_one_resource_between_values_and_keeps_the_key() {
        let mut d = Deltas::default();
        d.set("env", Some("dev"), "prod");
        d.set("env", Some("prod"), "prod");
        d.set("tier", None, "web");
        assert!(d.settle());
        assert_eq!(
            d.keys.into_iter().collect::<Vec<_>>(),
            [("tier".to_owned(), 1)]
        );
        let values: Vec<_> = d.values.into_iter().collect();
        assert_eq!(
            values,
            [
                (("env".to_owned(), "dev".to_owned()), -1),
                (("env".to_owned(), "prod".to_owned()), 1),
                (("tier".to_owned(), "web".to_owned()), 1),
            ]
        );
    }

    #[test]
    fn changes_that_cancel_leave_nothing_to_apply() {
        let mut d = Deltas::default();
        d.set("env", Some("dev"), "prod");
        d.set("env", Some("prod"), "dev");
        assert!(!d.settle());
        d.removed("env", "dev");
        assert!(d.settle());
        assert!(d.any_decrease());
    }
}
