//! The change log's history: `ListTagChanges`, and what it shares with `WatchTagChanges`: the
//! filter's rules and the API's shape of a change.

use super::TaggingCore;
use crate::{
    domain::{
        Caller, Catalog, Change, ChangeFilter, Cursor, Error, QueryBinding, Violations,
        time::rfc3339_millis,
    },
    proto::pb,
    store::{Horizon, sql::LogRange},
};

/// A filter as a request gives it, before its rules are checked.
pub(super) struct FilterRequest<'a> {
    pub resource_type: &'a str,
    pub resource_ids: Vec<String>,
    pub keys: Vec<String>,
}

impl TaggingCore {
    pub async fn list_tag_changes(
        &self,
        caller: &Caller,
        req: pb::ListTagChangesRequest,
    ) -> Result<pb::ListTagChangesResponse, Error> {
        let project = caller.project_for(&req.project_id)?;
        let mut v = Violations::default();
        let filter = self.change_filter(
            &mut v,
            caller,
            FilterRequest {
                resource_type: &req.resource_type,
                resource_ids: req.resource_ids,
                keys: req.keys,
            },
        );
        after_revision(&mut v, req.after_revision);
        let page_size = self.rules.page_size(&mut v, req.page_size);
        v.finish()?;
        let binding = changes_binding(&project, caller.system, &filter, req.after_revision);
        let after = self
            .cursor(&req.next_token, &binding, |c| match c {
                Cursor::Change { revision, seq } => Some((revision, seq)),
                _ => None,
            })?
            .unwrap_or((req.after_revision, i64::MAX));
        let mut visibility = self.read_visibility(caller, &project, &req.consistency_token)?;
        // Changes after a revision can only be listed by a server that has reached it: a replica
        // behind it would call the revision one the project has not reached.
        visibility.at_least = visibility.at_least.max(Some(after.0).filter(|r| *r > 0));
        let range = LogRange { after, upto: None };
        let (mut changes, horizon) = self
            .store
            .tag_changes(&project, &filter, &visibility, range, page_size + 1)
            .await?;
        if req.next_token.is_empty() {
            kept(req.after_revision, horizon)?;
        } else if after.0 < horizon.compacted {
            // Compaction dropped what this page starts from.
            kept(after.0, horizon)?;
        }
        let next_token =
            self.next_token(&mut changes, page_size, &binding, |last| Cursor::Change {
                revision: last.revision,
                seq: last.seq,
            });
        Ok(pb::ListTagChangesResponse {
            changes: changes
                .into_iter()
                .map(|c| change_out(&self.rules.catalog, c))
                .collect(),
            next_token,
            revision: horizon.current,
        })
    }

    /// A change filter's rules: a known type, valid distinct ids and keys within the limits.
    pub(super) fn change_filter(
        &self,
        v: &mut Violations,
        caller: &Caller,
        req: FilterRequest<'_>,
    ) -> ChangeFilter {
        let resource_type = self.type_if_named(v, req.resource_type);
        self.rules.resource_ids(v, &req.resource_ids, false);
        let max = self.rules.limits.max_tags_per_request;
        if req.keys.len() > max {
            v.add(
                "keys",
                format!("at most {max} keys per request, got {}", req.keys.len()),
            );
        } else {
            for (i, key) in req.keys.iter().enumerate() {
                self.rules.tag_key(v, &format!("keys[{i}]"), key, caller);
                if req.keys[..i].contains(key) {
                    v.add(format!("keys[{i}]"), format!("key `{key}` is listed twice"));
                }
            }
        }
        ChangeFilter {
            resource_type,
            resource_ids: req.resource_ids,
            keys: req.keys,
        }
    }
}

/// A change as the API shows it.
pub(super) fn change_out(catalog: &Catalog, c: Change) -> pb::TagChange {
    pb::TagChange {
        revision: c.revision,
        resource_type: catalog.qualified(&c.resource_type).to_owned(),
        resource_id: c.change.resource_id,
        kind: c.change.kind as i32,
        key: c.change.key.unwrap_or_default(),
        old_value: c.change.old_value,
        new_value: c.change.new_value,
        credential_id: c.credential_id,
        request_id: c.request_id,
        changed_at: rfc3339_millis(c.changed_at),
    }
}

/// `after_revision`: 0 (from the oldest kept) or a revision.
pub(super) fn after_revision(v: &mut Violations, after: i64) {
    if after < 0 {
        v.add(
            "after_revision",
            "must be 0 (from the oldest kept change) or a revision, not negative",
        );
    }
}

/// Where history after `after` starts, as the project's `horizon` allows: 0 is the oldest kept
/// revision; a revision compaction dropped, or one the project has not reached, is refused.
pub(super) fn kept(after: i64, horizon: Horizon) -> Result<i64, Error> {
    if after == 0 {
        return Ok(horizon.compacted);
    }
    if after < horizon.compacted {
        return Err(Error::Compacted {
            after,
            oldest: horizon.compacted + 1,
        });
    }
    if after > horizon.current {
        return Err(Error::invalid(
            "after_revision",
            format!(
                "{after} is ahead of the project's revision {}: a revision from another project or database?",
                horizon.current
            ),
        ));
    }
    Ok(after)
}

fn changes_binding(project: &str, system: bool, filter: &ChangeFilter, after: i64) -> QueryBinding {
    let mut binding = QueryBinding::new("ListTagChanges")
        .text(project)
        .text(filter.resource_type.as_deref().unwrap_or_default())
        .flag(system)
        .text(&after.to_string())
        .text(&filter.resource_ids.len().to_string());
    for id in &filter.resource_ids {
        binding = binding.text(id);
    }
    for key in &filter.keys {
        binding = binding.text(key);
    }
    binding
}
