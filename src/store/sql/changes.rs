//! The change log: the rows each write adds, the pages readers and watchers read, and the
//! compaction that drops the oldest revisions.

use std::fmt::Write;

use super::{Arg, Sql};
use crate::domain::{Author, ChangeFilter, ChangeOf, Visibility};

/// Rows per insert: each binds four values, far below either database's limit of parameters.
pub const CHANGES_PER_INSERT: usize = 1000;

/// The columns a reader gets, in `Change`'s order.
const COLUMNS: &str = "c.revision, c.seq, c.resource_type, c.resource_id, c.kind, c.key, c.old_value, c.new_value, c.credential_id, c.request_id, c.changed_at";

/// What the log is written with: the write's revision, author and time, shared by its rows.
pub struct Stamp<'a> {
    pub project_id: &'a str,
    pub resource_type: &'a str,
    pub revision: i64,
    pub author: Author<'a>,
    pub changed_at: i64,
}

/// Adds `changes`, numbered from `first_seq`, to the log under `stamp`.
pub fn insert_changes<'a>(stamp: &Stamp<'a>, changes: &'a [ChangeOf], first_seq: usize) -> Sql<'a> {
    let mut sql = Sql::new(
        "INSERT INTO tag_changes (project_id, revision, seq, resource_type, resource_id, kind, key, old_value, new_value, credential_id, request_id, changed_at) VALUES ",
    );
    // The values every row shares are bound once, as $1 to $4, and named again by each row.
    let mut shared = Sql::new("");
    shared
        .text(stamp.project_id)
        .text(stamp.resource_type)
        .text(stamp.author.credential_id)
        .text(stamp.author.request_id);
    sql.args = shared.args;
    for (i, c) in changes.iter().enumerate() {
        let sep = if i > 0 { ", " } else { "" };
        write!(
            sql.text,
            "{sep}($1, {}, {}, $2, ",
            stamp.revision,
            first_seq + i
        )
        .expect("writing to a String");
        sql.text(&c.resource_id);
        write!(sql.text, ", {}, ", c.kind as i64).expect("writing to a String");
        sql.maybe_text(c.key.as_deref())
            .push(", ")
            .maybe_text(c.old_value.as_deref())
            .push(", ")
            .maybe_text(c.new_value.as_deref());
        write!(sql.text, ", $3, $4, {})", stamp.changed_at).expect("writing to a String");
    }
    sql
}

/// Where a page of the log starts and ends.
#[derive(Debug, Clone, Copy)]
pub struct LogRange {
    /// After this (revision, seq).
    pub after: (i64, i64),
    /// Up to this revision, inclusive, when given.
    pub upto: Option<i64>,
}

/// Up to `limit` changes of the project in `range` that `filter` selects and `visibility` shows,
/// in log order: one range of the primary key, read in its order.
pub fn changes<'a>(
    project_id: &'a str,
    filter: &'a ChangeFilter,
    visibility: &'a Visibility,
    range: LogRange,
    limit: u32,
) -> Sql<'a> {
    let mut sql = Sql::new(&format!(
        "SELECT {COLUMNS} FROM tag_changes c WHERE c.project_id = "
    ));
    sql.text(project_id)
        .push(" AND (c.revision, c.seq) > (")
        .int(range.after.0)
        .push(", ")
        .int(range.after.1)
        .push(")");
    if let Some(upto) = range.upto {
        sql.push(" AND c.revision <= ").int(upto);
    }
    if let Some(t) = &filter.resource_type {
        sql.push(" AND c.resource_type = ").text(t);
    }
    if !filter.resource_ids.is_empty() {
        sql.push(" AND c.resource_id IN ")
            .list(&filter.resource_ids, |id| Arg::Text(id));
    }
    if !filter.keys.is_empty() {
        sql.push(" AND c.key IN ")
            .list(&filter.keys, |k| Arg::Text(k));
    }
    // A change of the resource itself has no key, and everyone sees it.
    sql.push(" AND (c.key IS NULL OR (TRUE")
        .visible("c", visibility)
        .push("))")
        .while_live(visibility);
    write!(sql.text, " ORDER BY c.revision, c.seq LIMIT {limit}").expect("writing to a String");
    sql
}

/// The project's current revision and the newest one compacted away; no row: `(0, 0)`.
pub const HORIZON: &str = "SELECT revision, compacted FROM project_revisions WHERE project_id = $1";

/// The projects whose log holds revisions, with the newest revision compacted away.
pub const PROJECTS_WITH_HISTORY: &str = "SELECT project_id, compacted FROM project_revisions WHERE revision > compacted ORDER BY project_id";

/// Of the project's oldest `batch` changes after revision $2, the newest revision written before
/// $3 (Unix ms): what compaction may drop next. Revisions are taken in time order, so the
/// oldest rows are the ones to look at.
pub fn compactable(batch: u32) -> String {
    format!(
        "SELECT MAX(o.revision) FROM (SELECT c.revision, c.changed_at FROM tag_changes c WHERE c.project_id = $1 AND c.revision > $2 ORDER BY c.revision, c.seq LIMIT {batch}) o WHERE o.changed_at < $3"
    )
}

/// Drops the project's changes up to revision $2.
pub const DROP_CHANGES: &str = "DELETE FROM tag_changes WHERE project_id = $1 AND revision <= $2";

/// Raises the project's compaction mark to $2.
pub const MARK_COMPACTED: &str =
    "UPDATE project_revisions SET compacted = $2 WHERE project_id = $1 AND compacted < $2";
