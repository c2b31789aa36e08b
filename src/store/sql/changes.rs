//! The change log: the rows each write adds, the pages readers and watchers read, and the
//! compaction that drops the oldest revisions.

use std::fmt::Write;

use super::{Arg, Sql};
use crate::{
    domain::{Author, ChangeFilter, Scope, Visibility},
    store::changes::PackedRow,
};

/// Rows per insert: each binds six values, far below either database's limit of parameters.
pub const LOG_ROWS_PER_INSERT: usize = 1000;

/// The columns a reader gets, in `ChangeRow`'s order.
const COLUMNS: &str = "s.revision, c.seq, s.resource_type, c.resource_id, c.changes, s.credential_id, s.request_id, s.changed_at";

/// A write's change set, before it has a revision: answers its id.
pub const INSERT_CHANGE_SET: &str = "INSERT INTO change_sets (project_id, resource_type, credential_id, request_id, changed_at) VALUES ($1, $2, $3, $4, $5) RETURNING id";

/// Adds `rows` to the project's change set `set`. Only placeholders and `NULL`s, so that the
/// text is that of every write of the same shape and the databases parse and plan it once per
/// connection, not once per write.
pub fn insert_changes<'a>(project_id: &'a str, set: i64, rows: &'a [PackedRow<'a>]) -> Sql<'a> {
    let mut sql = Sql::default();
    push_changes(&mut sql, project_id, rows, |sql| {
        sql.int(set);
    });
    sql
}

/// The newest change set: the writing transaction's own, with one writer at a time.
pub(super) const LATEST_SET: &str = "(SELECT max(id) FROM change_sets)";

/// A write's change set and its `rows` as statements of a script (`Chain::Script`, one writer
/// at a time), where the set is then the newest of the table until the write commits: the
/// script's later statements name it as [`LATEST_SET`].
pub fn push_change_set<'a>(
    sql: &mut Sql<'a>,
    scope: &'a Scope,
    author: Author<'a>,
    changed_at: i64,
    rows: &'a [PackedRow<'a>],
) {
    sql.push(
        "INSERT INTO change_sets (project_id, resource_type, credential_id, request_id, changed_at) VALUES (",
    )
    .text(&scope.project_id)
    .push(", ")
    .text(&scope.resource_type)
    .push(", ")
    .text(author.credential_id)
    .push(", ")
    .text(author.request_id)
    .push(", ")
    .int(changed_at)
    .push("); ");
    // An insert each `LOG_ROWS_PER_INSERT` rows, as `insert_changes` is called: each statement
    // of a script binds its own parameters.
    for chunk in rows.chunks(LOG_ROWS_PER_INSERT) {
        push_changes(sql, &scope.project_id, chunk, |sql| {
            sql.push(LATEST_SET);
        });
        sql.push("; ");
    }
}

/// `INSERT` of `rows` into the project's set that `set` writes.
fn push_changes<'a>(
    sql: &mut Sql<'a>,
    project_id: &'a str,
    rows: &'a [PackedRow<'a>],
    set: impl Fn(&mut Sql<'a>),
) {
    sql.push(
        "INSERT INTO tag_changes (project_id, change_set, seq, resource_pk, resource_id, changes) VALUES ",
    );
    for (i, row) in rows.iter().enumerate() {
        sql.push(if i > 0 { ", (" } else { "(" })
            .text(project_id)
            .push(", ");
        set(sql);
        sql.push(", ")
            .int(row.seq)
            .push(", ")
            .int(row.resource_pk)
            .push(", ")
            .text(row.resource_id)
            .push(", ")
            .text(&row.changes)
            .push(")");
    }
}

/// Where a page of the log starts and ends.
#[derive(Debug, Clone, Copy)]
pub struct LogRange {
    /// After this (revision, seq).
    pub after: (i64, i64),
    /// Up to this revision, inclusive, when given.
    pub upto: Option<i64>,
}

/// Up to `limit` rows of the project's log in `range` that hold changes `filter` may select, in
/// log order: one range of the primary key, read in its order. The rows' changes are filtered by
/// key and visibility once unpacked.
pub fn changes<'a>(
    project_id: &'a str,
    filter: &'a ChangeFilter,
    visibility: &'a Visibility,
    range: LogRange,
    limit: u32,
) -> Sql<'a> {
    // The sets in revision order from the project's index, each set's rows by its key.
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS} FROM change_sets s JOIN tag_changes c ON c.change_set = s.id WHERE "
    ));
    sql.project("s", project_id)
        .push(" AND ")
        .project("c", project_id)
        .push(" AND s.revision >= ")
        .int(range.after.0)
        .push(" AND (s.revision, c.seq) > (")
        .int(range.after.0)
        .push(", ")
        .int(range.after.1)
        .push(")");
    if let Some(upto) = range.upto {
        sql.push(" AND s.revision <= ").int(upto);
    }
    if let Some(t) = &filter.resource_type {
        sql.push(" AND s.resource_type = ").text(t);
    }
    if !filter.resource_ids.is_empty() {
        sql.push(" AND c.resource_id IN ")
            .list(&filter.resource_ids, |id| Arg::Text(id));
    }
    sql.while_live(visibility);
    write!(sql.text, " ORDER BY s.revision, c.seq LIMIT {limit}").expect("writing to a String");
    sql
}

/// The project's current revision and the newest one compacted away; no row: `(0, 0)`.
pub const HORIZON: &str = "SELECT revision, compacted FROM project_revisions WHERE project_id = $1";

/// The projects whose log holds revisions, with the newest revision compacted away.
pub const PROJECTS_WITH_HISTORY: &str = "SELECT project_id, compacted FROM project_revisions WHERE revision > compacted ORDER BY project_id";

/// Of the project's oldest `batch` revisions after $2, the newest written before $3 (Unix ms):
/// what compaction may drop next. Revisions are taken in time order, so the oldest are the ones
/// to look at.
pub fn compactable(batch: u32) -> String {
    format!(
        "SELECT MAX(o.revision) FROM (SELECT s.revision, s.changed_at FROM change_sets s WHERE s.project_id = $1 AND s.revision > $2 ORDER BY s.revision LIMIT {batch}) o WHERE o.changed_at < $3"
    )
}

/// Drops the changes of the project's revisions up to $2, then their sets.
pub const DROP_CHANGES: [&str; 2] = [
    "DELETE FROM tag_changes WHERE tag_changes.project_id = $1 AND change_set IN (SELECT s.id FROM change_sets s WHERE s.project_id = $1 AND s.revision <= $2)",
    "DELETE FROM change_sets WHERE project_id = $1 AND revision <= $2",
];

/// Raises the project's compaction mark to $2.
pub const MARK_COMPACTED: &str =
    "UPDATE project_revisions SET compacted = $2 WHERE project_id = $1 AND compacted < $2";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_set_of_many_rows_is_inserted_in_statements_of_bounded_rows() {
        let scope = Scope {
            project_id: "p".into(),
            resource_type: "cluster".into(),
        };
        let author = Author {
            credential_id: "c",
            request_id: "r",
        };
        let rows: Vec<PackedRow> = (0..=LOG_ROWS_PER_INSERT as i64)
            .map(|i| PackedRow {
                resource_pk: i,
                resource_id: "id",
                seq: i,
                changes: String::new(),
            })
            .collect();
        let mut sql = Sql::default();
        push_change_set(&mut sql, &scope, author, 0, &rows);
        let inserts: Vec<&str> = sql
            .text
            .split("; ")
            .filter(|s| s.starts_with("INSERT INTO tag_changes"))
            .collect();
        assert_eq!(inserts.len(), 2);
        let per_insert: Vec<usize> = inserts
            .iter()
            .map(|s| s.matches(LATEST_SET).count())
            .collect();
        assert_eq!(per_insert, [LOG_ROWS_PER_INSERT, 1]);
        assert_eq!(sql.args.len(), 5 + 5 * rows.len());
    }
}
