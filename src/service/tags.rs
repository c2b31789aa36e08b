//! Tag reads and writes: the ACK and SMN tag operations and the project's tag keys.

use super::{
    TaggingCore, consistency_token,
    convert::{tags_in, tags_out},
};
use crate::{
    domain::{
        Author, Caller, Cursor, Error, Locator, QueryBinding, Scope, Tag, TagRowQuery, Violations,
    },
    proto::pb,
    store::{KeyValues, Removal, TagLimit, WriteTerms},
};

/// The terms of a write of `caller`: its signature not yet used, the expected revision, and the
/// caller as the change log records it.
pub(super) fn terms(caller: &Caller, expected_revision: Option<i64>) -> WriteTerms<'_> {
    WriteTerms {
        once: caller.once.as_ref(),
        expected_revision,
        author: Author {
            credential_id: caller.credentials.author(),
            request_id: &caller.request_id,
        },
    }
}

impl TaggingCore {
    /// The scope of a request, its type checked against the catalog into `v`.
    pub(super) fn scope(
        &self,
        v: &mut Violations,
        project_id: String,
        resource_type: &str,
    ) -> Scope {
        let resource_type = self
            .rules
            .resource_type(v, resource_type)
            .map(|t| t.name.clone())
            .unwrap_or_default();
        Scope {
            project_id,
            resource_type,
        }
    }

    pub async fn list_tag_resources(
        &self,
        caller: &Caller,
        req: pb::ListTagResourcesRequest,
    ) -> Result<pb::ListTagResourcesResponse, Error> {
        let project = caller.project_for(&req.project_id)?;
        let mut v = Violations::default();
        let scope = self.scope(&mut v, project, &req.resource_type);
        self.rules.resource_ids(&mut v, &req.resource_ids, false);
        let tags = tags_in(req.tags);
        let filters = self.rules.tag_filter(&mut v, &tags, caller);
        if req.resource_ids.is_empty() && tags.is_empty() {
            v.add(
                "resource_ids",
                "at least one of `resource_ids` and `tags` is required",
            );
        }
        let page_size = self.rules.page_size(&mut v, req.page_size);
        v.finish()?;

        let binding = tag_rows_binding(&scope, caller.system, &req.resource_ids, &tags);
        let after = self.cursor(&req.next_token, &binding, |c| match c {
            Cursor::TagRow { resource, key } => Some((resource, key)),
            _ => None,
        })?;
        let query = TagRowQuery {
            resource_ids: req.resource_ids,
            tags: filters,
        };
        let visibility = self.read_visibility(caller, &scope.project_id, &req.consistency_token)?;
        let after = after.as_ref().map(|(pk, key)| (*pk, key.as_str()));
        let mut rows = self
            .store
            .tag_rows(&scope, &query, &visibility, after, page_size + 1)
            .await?;
        let next_token = self.next_token(&mut rows, page_size, &binding, |last| Cursor::TagRow {
            resource: last.resource_pk,
            key: last.key.clone(),
        });
        let qualified = self.rules.catalog.qualified(&scope.resource_type);
        Ok(pb::ListTagResourcesResponse {
            tag_resources: rows
                .into_iter()
                .map(|r| pb::TagResource {
                    resource_id: r.resource_id,
                    resource_type: qualified.to_owned(),
                    tag_key: r.key,
                    tag_value: r.value,
                })
                .collect(),
            next_token,
        })
    }

    pub async fn list_resource_tags(
        &self,
        caller: &Caller,
        req: pb::ListResourceTagsRequest,
    ) -> Result<pb::ListResourceTagsResponse, Error> {
        let project = caller.project_for(&req.project_id)?;
        let mut v = Violations::default();
        let scope = self.scope(&mut v, project, &req.resource_type);
        let locator = match pb::ResourceIdType::try_from(req.resource_id_type) {
            Ok(pb::ResourceIdType::Unspecified | pb::ResourceIdType::Id) => {
                self.rules
                    .resource_id(&mut v, "resource_id", &req.resource_id);
                Locator::Id(req.resource_id)
            }
            Ok(pb::ResourceIdType::Name) => {
                self.rules
                    .resource_name(&mut v, "resource_id", &req.resource_id);
                Locator::Name(req.resource_id)
            }
            Err(_) => {
                v.add(
                    "resource_id_type",
                    "must be RESOURCE_ID_TYPE_ID or RESOURCE_ID_TYPE_NAME",
                );
                Locator::Id(req.resource_id)
            }
        };
        v.finish()?;
        let visibility = self.read_visibility(caller, &scope.project_id, &req.consistency_token)?;
        let found = self
            .store
            .resource_tags(&scope, &locator, &visibility)
            .await?
            .ok_or_else(|| not_found(&scope, &locator))?;
        Ok(pb::ListResourceTagsResponse {
            tags: tags_out(found.tags),
            revision: found.revision,
        })
    }

    pub async fn tag_resources(
        &self,
        caller: &Caller,
        req: pb::TagResourcesRequest,
    ) -> Result<pb::TagResourcesResponse, Error> {
        let project = caller.project_for(&req.project_id)?;
        let mut v = Violations::default();
        let scope = self.scope(&mut v, project, &req.resource_type);
        self.rules.resource_ids(&mut v, &req.resource_ids, true);
        let tags = tags_in(req.tags);
        self.rules.tags_to_write(&mut v, &tags, caller);
        self.rules
            .expected_revision(&mut v, req.expected_revision, req.resource_ids.len());
        v.finish()?;
        let limit = TagLimit {
            max: self.rules.limits.max_tags_per_resource,
            exempt_prefixes: &self.rules.reserved_prefixes,
        };
        let pre = terms(caller, req.expected_revision);
        let revision = self
            .store
            .tag_resources(&scope, &req.resource_ids, &tags, limit, pre)
            .await?;
        self.feed.committed(&scope.project_id);
        Ok(pb::TagResourcesResponse {
            revision,
            consistency_token: consistency_token(&scope, revision),
        })
    }

    pub async fn untag_resources(
        &self,
        caller: &Caller,
        req: pb::UntagResourcesRequest,
    ) -> Result<pb::UntagResourcesResponse, Error> {
        let project = caller.project_for(&req.project_id)?;
        let mut v = Violations::default();
        let scope = self.scope(&mut v, project, &req.resource_type);
        self.rules.resource_ids(&mut v, &req.resource_ids, true);
        self.rules.tag_keys(&mut v, &req.tag_keys, caller);
        if req.tag_keys.is_empty() && !req.all {
            v.add(
                "tag_keys",
                "name the keys to remove, or set `all` to remove every tag",
            );
        }
        self.rules
            .expected_revision(&mut v, req.expected_revision, req.resource_ids.len());
        v.finish()?;
        let visibility = self.rules.visibility(caller);
        let removal = if req.tag_keys.is_empty() {
            Removal::AllVisible(&visibility)
        } else {
            Removal::Keys(&req.tag_keys)
        };
        let pre = terms(caller, req.expected_revision);
        let revision = self
            .store
            .untag_resources(&scope, &req.resource_ids, removal, pre)
            .await?;
        self.feed.committed(&scope.project_id);
        Ok(pb::UntagResourcesResponse {
            revision,
            consistency_token: consistency_token(&scope, revision),
        })
    }

    /// The catalog name of `resource_type`, checked into `v`; `None` (every type) when empty.
    pub(super) fn type_if_named(&self, v: &mut Violations, resource_type: &str) -> Option<String> {
        (!resource_type.is_empty())
            .then(|| self.scope(v, String::new(), resource_type).resource_type)
    }

    pub async fn list_project_tags(
        &self,
        caller: &Caller,
        req: pb::ListProjectTagsRequest,
    ) -> Result<pb::ListProjectTagsResponse, Error> {
        let project = caller.project_for(&req.project_id)?;
        let mut v = Violations::default();
        let resource_type = self.type_if_named(&mut v, &req.resource_type);
        let page_size = self.rules.page_size(&mut v, req.page_size);
        v.finish()?;
        let binding = QueryBinding::new("ListProjectTags")
            .text(&project)
            .text(resource_type.as_deref().unwrap_or_default())
            .flag(caller.system);
        let after = self.cursor(&req.next_token, &binding, |c| match c {
            Cursor::Key(key) => Some(key),
            _ => None,
        })?;
        let visibility = self.read_visibility(caller, &project, &req.consistency_token)?;
        let mut keys = self
            .store
            .project_tags(
                &project,
                resource_type.as_deref(),
                &visibility,
                after.as_deref(),
                page_size + 1,
            )
            .await?;
        let next_token = self.next_token(&mut keys, page_size, &binding, |last| {
            Cursor::Key(last.key.clone())
        });
        Ok(pb::ListProjectTagsResponse {
            tags: keys.into_iter().map(project_tag).collect(),
            next_token,
        })
    }
}

pub(super) fn project_tag(KeyValues { key, values }: KeyValues) -> pb::ProjectTag {
    pb::ProjectTag { key, values }
}

/// What a ListTagResources page token is bound to.
fn tag_rows_binding(scope: &Scope, system: bool, ids: &[String], tags: &[Tag]) -> QueryBinding {
    let mut binding = QueryBinding::new("ListTagResources")
        .text(&scope.project_id)
        .text(&scope.resource_type)
        .flag(system)
        .text(&ids.len().to_string());
    for id in ids {
        binding = binding.text(id);
    }
    for t in tags {
        binding = binding.text(&t.key).text(&t.value);
    }
    binding
}

pub(super) fn not_found(scope: &Scope, locator: &Locator) -> Error {
    let (what, id) = match locator {
        Locator::Id(id) => ("id", id),
        Locator::Name(name) => ("name", name),
    };
    Error::NotFound(format!(
        "no resource of type `{}` with {what} `{id}` in project `{}`",
        scope.resource_type, scope.project_id
    ))
}
