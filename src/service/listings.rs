//! Whole listings for the forms that do not page as the API does: every key of a project at
//! once, and a page of resources by offset together with their total count, read from one
//! snapshot so the two always agree.

use super::{TaggingCore, tags::project_tag};
use crate::{
    domain::{Caller, Error, Violations},
    proto::pb,
};

/// Which project's keys to list, and of which resource type (all when empty).
#[derive(Debug, Clone, Default)]
pub struct AllProjectTags {
    pub project_id: String,
    pub resource_type: String,
}

/// A filter (CountResources' fields) and the slice of its matches to answer.
#[derive(Debug, Clone, Default)]
pub struct ResourcePageRequest {
    pub filter: pb::CountResourcesRequest,
    pub offset: u64,
    pub limit: u32,
}

/// The matching resources of the slice asked for, and how many match in all.
#[derive(Debug, Clone, Default)]
pub struct ResourcePage {
    pub resources: Vec<pb::Resource>,
    pub total_count: i64,
}

impl TaggingCore {
    /// Every key by pages of the largest size, walked in the store: no page token is made to be
    /// opened again at once.
    pub async fn list_all_project_tags(
        &self,
        caller: &Caller,
        req: AllProjectTags,
    ) -> Result<Vec<pb::ProjectTag>, Error> {
        let project = caller.project_for(&req.project_id)?;
        let mut v = Violations::default();
        let resource_type = self.type_if_named(&mut v, &req.resource_type);
        v.finish()?;
        let visibility = self.read_visibility(caller, &project, "")?;
        let page = self.limits().max_page_size;
        let mut tags: Vec<pb::ProjectTag> = Vec::new();
        loop {
            let after = tags.last().map(|t| t.key.as_str());
            let keys = self
                .store
                .project_tags(&project, resource_type.as_deref(), &visibility, after, page)
                .await?;
            let more = keys.len() == page as usize;
            tags.extend(keys.into_iter().map(project_tag));
            if !more {
                return Ok(tags);
            }
        }
    }

    pub async fn list_resource_page(
        &self,
        caller: &Caller,
        req: ResourcePageRequest,
    ) -> Result<ResourcePage, Error> {
        let (scope, filter) = self.checked_filter(caller, req.filter)?;
        let mut v = Violations::default();
        let limit = self
            .rules
            .page_size(&mut v, i32::try_from(req.limit).unwrap_or(-1));
        v.finish()?;
        let visibility = self.read_visibility(caller, &scope.project_id, "")?;
        let (records, total_count) = self
            .store
            .resource_page(&scope, &filter, &visibility, req.offset, limit)
            .await?;
        Ok(ResourcePage {
            resources: records
                .into_iter()
                .map(|r| self.resource_out(&scope, r))
                .collect(),
            total_count,
        })
    }
}
