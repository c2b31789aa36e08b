//! Whole listings for the forms that do not page as the API does: every key of a project at
//! once, and a page of resources by offset together with their total count.

use super::TaggingCore;
use crate::{domain::Caller, domain::Error, proto::pb};

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
    pub async fn list_all_project_tags(
        &self,
        caller: &Caller,
        req: AllProjectTags,
    ) -> Result<Vec<pb::ProjectTag>, Error> {
        let page_size = self.limits().max_page_size as i32;
        let mut tags = Vec::new();
        let mut next_token = String::new();
        loop {
            let page = pb::ListProjectTagsRequest {
                project_id: req.project_id.clone(),
                resource_type: req.resource_type.clone(),
                page_size,
                next_token,
            };
            let page = self.list_project_tags(caller, page).await?;
            tags.extend(page.tags);
            if page.next_token.is_empty() {
                return Ok(tags);
            }
            next_token = page.next_token;
        }
    }

    pub async fn list_resource_page(
        &self,
        caller: &Caller,
        req: ResourcePageRequest,
    ) -> Result<ResourcePage, Error> {
        let max = self.limits().max_page_size;
        let filter = req.filter;
        let page = |page_size: u64, next_token: String| pb::ListResourcesRequest {
            project_id: filter.project_id.clone(),
            resource_type: filter.resource_type.clone(),
            tags: filter.tags.clone(),
            tags_any: filter.tags_any.clone(),
            not_tags: filter.not_tags.clone(),
            not_tags_any: filter.not_tags_any.clone(),
            matches: filter.matches.clone(),
            without_any_tag: filter.without_any_tag,
            page_size: page_size as i32,
            next_token,
        };
        let mut skip = req.offset;
        let mut next_token = String::new();
        let mut resources = Vec::new();
        let mut exhausted = false;
        while skip > 0 {
            let skipped = self
                .list_resources(caller, page(skip.min(u64::from(max)), next_token))
                .await?;
            skip -= skipped.resources.len() as u64;
            next_token = skipped.next_token;
            if next_token.is_empty() {
                exhausted = true;
                break;
            }
        }
        if !exhausted {
            resources = self
                .list_resources(caller, page(u64::from(req.limit), next_token))
                .await?
                .resources;
        }
        let total_count = self.count_resources(caller, filter).await?.total_count;
        Ok(ResourcePage {
            resources,
            total_count,
        })
    }
}
