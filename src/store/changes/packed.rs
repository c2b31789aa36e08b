//! The log's rows: the changes a write makes to one resource packed into one row, as a JSON
//! array of `[kind, key, old_value, new_value]` in log order, so that a write adds a row per
//! resource instead of one per change. A row's `seq` is that of its last change.

use super::Logged;
use crate::{domain::ChangeKind, store::StoreError};

/// One change as a row packs it.
type Packed<T> = (i32, Option<T>, Option<T>, Option<T>);

/// A row to add: the changes of one resource in a change set, the last of them numbered `seq`.
#[derive(Debug, PartialEq, Eq)]
pub struct PackedRow<'a> {
    pub resource_pk: i64,
    pub resource_id: &'a str,
    pub seq: i64,
    pub changes: String,
}

/// `changes` (numbered from 0 in the order given) as rows: each run of changes of one resource
/// packed into one. Writers log a resource's changes side by side, so a resource has one row.
pub fn pack(changes: &[Logged]) -> Vec<PackedRow<'_>> {
    let mut rows = Vec::new();
    let mut seq = 0;
    for run in changes.chunk_by(|a, b| {
        (a.resource_pk, &a.change.resource_id) == (b.resource_pk, &b.change.resource_id)
    }) {
        seq += run.len();
        let packed: Vec<Packed<&str>> = run
            .iter()
            .map(|Logged { change: c, .. }| {
                let (key, old, new) = (&c.key, &c.old_value, &c.new_value);
                (
                    c.kind as i32,
                    key.as_deref(),
                    old.as_deref(),
                    new.as_deref(),
                )
            })
            .collect();
        rows.push(PackedRow {
            resource_pk: run[0].resource_pk,
            resource_id: &run[0].change.resource_id,
            seq: i64::try_from(seq - 1).expect("a write's changes are bounded"),
            changes: serde_json::to_string(&packed).expect("strings and integers serialize"),
        });
    }
    rows
}

/// A change a row holds, with its seq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    pub seq: i64,
    pub kind: ChangeKind,
    pub key: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// The changes of a row whose last change is numbered `seq`, in log order.
pub fn unpack(changes: &str, seq: i64) -> Result<Vec<Unpacked>, StoreError> {
    let packed: Vec<Packed<String>> = serde_json::from_str(changes)
        .map_err(|e| StoreError::Other(format!("a row of the change log: {e}")))?;
    let first = seq + 1 - i64::try_from(packed.len()).expect("a row's changes are bounded");
    (first..)
        .zip(packed)
        .map(|(seq, (kind, key, old_value, new_value))| {
            let kind = ChangeKind::try_from(i64::from(kind))
                .map_err(|_| StoreError::Other(format!("the change log holds kind {kind}")))?;
            Ok(Unpacked {
                seq,
                kind,
                key,
                old_value,
                new_value,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logged(pk: i64, key: Option<&str>, new: Option<&str>) -> Logged {
        let kind = match key {
            Some(_) => ChangeKind::TagSet,
            None => ChangeKind::ResourceCreated,
        };
        Logged::new(pk, &format!("r{pk}"), kind, key, None, new)
    }

    #[test]
    fn each_resource_run_is_one_row_numbered_by_its_last_change() {
        let changes = [
            logged(1, None, None),
            logged(1, Some("env"), Some("prod")),
            logged(2, Some("env"), Some("a \"quoted\" value")),
            logged(2, Some("tier"), None),
            logged(2, Some("x"), Some("y")),
        ];
        let rows = pack(&changes);
        let seqs: Vec<(i64, i64)> = rows.iter().map(|r| (r.resource_pk, r.seq)).collect();
        assert_eq!(seqs, [(1, 1), (2, 4)]);
        let second = unpack(&rows[1].changes, rows[1].seq).unwrap();
        let keys: Vec<(i64, Option<&str>)> =
            second.iter().map(|c| (c.seq, c.key.as_deref())).collect();
        assert_eq!(keys, [(2, Some("env")), (3, Some("tier")), (4, Some("x"))]);
        assert_eq!(second[0].new_value.as_deref(), Some("a \"quoted\" value"));
        assert_eq!(second[1].new_value, None);
        let first = unpack(&rows[0].changes, rows[0].seq).unwrap();
        assert_eq!(first[0].kind, ChangeKind::ResourceCreated);
        assert_eq!((first[0].seq, first[0].key.as_deref()), (0, None));
    }

    #[test]
    fn a_row_that_is_not_a_packed_list_is_an_error() {
        assert!(unpack("[[1, \"k\"]]", 1).is_err());
        assert!(unpack("{}", 1).is_err());
        assert!(
            unpack("[[9, \"k\", null, null]]", 0).is_err(),
            "no such kind"
        );
    }
}
