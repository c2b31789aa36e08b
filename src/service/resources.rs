//! Resource lifecycle and SMN's resource-instance queries.

use super::{
    TaggingCore, consistency_token,
    convert::{filters_in, tags_out},
    tags::{not_found, terms},
};
use crate::{
    domain::{
        Caller, Cursor, Error, KeyFilter, Locator, QueryBinding, ResourceFilter, Scope, Violations,
    },
    proto::pb,
    store::{Deletion, ResourceRecord},
};

/// The filter fields ListResources and CountResources share.
struct FilterFields {
    tags: Vec<pb::TagFilter>,
    tags_any: Vec<pb::TagFilter>,
    not_tags: Vec<pb::TagFilter>,
    not_tags_any: Vec<pb::TagFilter>,
    matches: Vec<pb::Match>,
    without_any_tag: bool,
}

const NAME_PROPERTY: &str = "resource_name";

impl TaggingCore {
    pub async fn put_resource(
        &self,
        caller: &Caller,
        req: pb::PutResourceRequest,
    ) -> Result<pb::PutResourceResponse, Error> {
        let project = caller.project_for(&req.project_id)?;
        let mut v = Violations::default();
        let scope = self.scope(&mut v, project, &req.resource_type);
        self.rules
            .resource_id(&mut v, "resource_id", &req.resource_id);
        let name = (!req.name.is_empty()).then_some(req.name.as_str());
        if let Some(name) = name {
            self.rules.resource_name(&mut v, "name", name);
        }
        self.rules
            .expected_revision(&mut v, req.expected_revision, 1);
        v.finish()?;
        let visibility = self.rules.visibility(caller);
        let pre = terms(caller, req.expected_revision);
        let (record, revision) = self
            .store
            .put_resource(&scope, &req.resource_id, name, &visibility, pre)
            .await?;
        self.feed.committed(&scope.project_id);
        Ok(pb::PutResourceResponse {
            resource: Some(self.resource_out(&scope, record)),
            revision,
            consistency_token: consistency_token(&scope, revision),
        })
    }

    pub async fn delete_resource(
        &self,
        caller: &Caller,
        req: pb::DeleteResourceRequest,
    ) -> Result<pb::DeleteResourceResponse, Error> {
        let project = caller.project_for(&req.project_id)?;
        let mut v = Violations::default();
        let scope = self.scope(&mut v, project, &req.resource_type);
        self.rules
            .resource_id(&mut v, "resource_id", &req.resource_id);
        self.rules
            .expected_revision(&mut v, req.expected_revision, 1);
        v.finish()?;
        let visibility = self.rules.visibility(caller);
        let pre = terms(caller, req.expected_revision);
        match self
            .store
            .delete_resource(&scope, &req.resource_id, &visibility, pre)
            .await?
        {
            Deletion::Deleted(revision) => {
                self.feed.committed(&scope.project_id);
                Ok(pb::DeleteResourceResponse {
                    revision,
                    consistency_token: consistency_token(&scope, revision),
                })
            }
            Deletion::NotFound => Err(not_found(&scope, &Locator::Id(req.resource_id))),
            Deletion::Protected => Err(Error::PermissionDenied(format!(
                "resource `{}` carries system tags; only a system token may delete it",
                req.resource_id
            ))),
        }
    }

    pub async fn list_resources(
        &self,
        caller: &Caller,
        req: pb::ListResourcesRequest,
    ) -> Result<pb::ListResourcesResponse, Error> {
        let project = caller.project_for(&req.project_id)?;
        let mut v = Violations::default();
        let scope = self.scope(&mut v, project, &req.resource_type);
        let page_size = self.rules.page_size(&mut v, req.page_size);
        let filter = self.resource_filter(
            &mut v,
            caller,
            FilterFields {
                tags: req.tags,
                tags_any: req.tags_any,
                not_tags: req.not_tags,
                not_tags_any: req.not_tags_any,
                matches: req.matches,
                without_any_tag: req.without_any_tag,
            },
        );
        v.finish()?;
        let binding = filter_binding("ListResources", &scope, &filter, caller.system);
        let after = self.cursor(&req.next_token, &binding, |c| match c {
            Cursor::Resource(pk) => Some(pk),
            _ => None,
        })?;
        let visibility = self.read_visibility(caller, &scope.project_id, &req.consistency_token)?;
        let mut records = self
            .store
            .resources(&scope, &filter, &visibility, after, page_size + 1)
            .await?;
        let next_token = self.next_token(&mut records, page_size, &binding, |last| {
            Cursor::Resource(last.pk)
        });
        Ok(pb::ListResourcesResponse {
            resources: records
                .into_iter()
                .map(|r| self.resource_out(&scope, r))
                .collect(),
            next_token,
        })
    }

    pub async fn count_resources(
        &self,
        caller: &Caller,
        req: pb::CountResourcesRequest,
    ) -> Result<pb::CountResourcesResponse, Error> {
        let token = req.consistency_token.clone();
        let (scope, filter) = self.checked_filter(caller, req)?;
        let visibility = self.read_visibility(caller, &scope.project_id, &token)?;
        let total_count = self
            .store
            .count_resources(&scope, &filter, &visibility)
            .await?;
        Ok(pb::CountResourcesResponse { total_count })
    }

    /// The scope and filter of a count (and of a page by offset), every rule checked.
    pub(super) fn checked_filter(
        &self,
        caller: &Caller,
        req: pb::CountResourcesRequest,
    ) -> Result<(Scope, ResourceFilter), Error> {
        let project = caller.project_for(&req.project_id)?;
        let mut v = Violations::default();
        let scope = self.scope(&mut v, project, &req.resource_type);
        let filter = self.resource_filter(
            &mut v,
            caller,
            FilterFields {
                tags: req.tags,
                tags_any: req.tags_any,
                not_tags: req.not_tags,
                not_tags_any: req.not_tags_any,
                matches: req.matches,
                without_any_tag: req.without_any_tag,
            },
        );
        v.finish()?;
        Ok((scope, filter))
    }

    fn resource_filter(
        &self,
        v: &mut Violations,
        caller: &Caller,
        f: FilterFields,
    ) -> ResourceFilter {
        let lists = [
            ("tags", filters_in(f.tags)),
            ("tags_any", filters_in(f.tags_any)),
            ("not_tags", filters_in(f.not_tags)),
            ("not_tags_any", filters_in(f.not_tags_any)),
        ];
        for (field, list) in &lists {
            self.rules.key_filters(v, field, list, caller);
            if f.without_any_tag && !list.is_empty() {
                v.add(
                    "without_any_tag",
                    format!(
                        "cannot be combined with `{field}`: an untagged resource matches no tag"
                    ),
                );
            }
        }
        let mut name = None;
        for (i, m) in f.matches.into_iter().enumerate() {
            if m.key != NAME_PROPERTY {
                v.add(
                    format!("matches[{i}].key"),
                    format!("only `{NAME_PROPERTY}` is supported"),
                );
            } else if name.is_some() {
                v.add(
                    format!("matches[{i}].key"),
                    format!("`{NAME_PROPERTY}` is given twice"),
                );
            } else {
                self.rules
                    .resource_name(v, &format!("matches[{i}].value"), &m.value);
                name = Some(m.value);
            }
        }
        let [(_, all), (_, any), (_, not_all), (_, not_any)] = lists;
        ResourceFilter {
            all,
            any,
            not_all,
            not_any,
            name,
            untagged: f.without_any_tag,
        }
    }

    pub(super) fn resource_out(&self, scope: &Scope, r: ResourceRecord) -> pb::Resource {
        pb::Resource {
            resource_id: r.resource_id,
            resource_type: self
                .rules
                .catalog
                .qualified(&scope.resource_type)
                .to_owned(),
            name: r.name.unwrap_or_default(),
            tags: tags_out(r.tags),
            revision: r.revision,
        }
    }
}

fn filter_binding(call: &str, scope: &Scope, f: &ResourceFilter, system: bool) -> QueryBinding {
    let mut b = QueryBinding::new(call)
        .text(&scope.project_id)
        .text(&scope.resource_type)
        .flag(system)
        .flag(f.untagged)
        .text(f.name.as_deref().unwrap_or_default())
        .flag(f.name.is_some());
    for (list, filters) in [
        ("all", &f.all),
        ("any", &f.any),
        ("not_all", &f.not_all),
        ("not_any", &f.not_any),
    ] {
        // The count keeps lists apart: without it, keys and values could be read as list labels.
        b = b.text(list).text(&filters.len().to_string());
        for KeyFilter { key, values } in filters {
            b = b.text(key).text(&values.len().to_string());
            for value in values {
                b = b.text(value);
            }
        }
    }
    b
}
