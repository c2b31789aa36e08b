//! The operation table: every operation either face can call, declared once with its name (for
//! metrics and logs), its access level, its request and answer types, and the function that runs
//! it. A face picks an entry and hands it to [`Pipeline::call`](super::Pipeline::call).

use std::{future::Future, pin::Pin};

use super::{AllProjectTags, ResourcePage, ResourcePageRequest, TaggingCore, WatchStream};
use crate::{
    domain::{Access, Caller, Error},
    proto::pb,
};

/// The future an operation's function answers, borrowing the core and the caller.
pub type Running<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// One operation of the service.
pub struct Operation<Req, Ans> {
    pub name: &'static str,
    pub access: Access,
    pub run: for<'a> fn(&'a TaggingCore, &'a Caller, Req) -> Running<'a, Ans>,
}

pub const LIST_TAG_RESOURCES: Operation<pb::ListTagResourcesRequest, pb::ListTagResourcesResponse> =
    Operation {
        name: "ListTagResources",
        access: Access::Read,
        run: |core, caller, req| Box::pin(core.list_tag_resources(caller, req)),
    };

pub const LIST_RESOURCE_TAGS: Operation<pb::ListResourceTagsRequest, pb::ListResourceTagsResponse> =
    Operation {
        name: "ListResourceTags",
        access: Access::Read,
        run: |core, caller, req| Box::pin(core.list_resource_tags(caller, req)),
    };

pub const TAG_RESOURCES: Operation<pb::TagResourcesRequest, pb::TagResourcesResponse> = Operation {
    name: "TagResources",
    access: Access::Write,
    run: |core, caller, req| Box::pin(core.tag_resources(caller, req)),
};

pub const UNTAG_RESOURCES: Operation<pb::UntagResourcesRequest, pb::UntagResourcesResponse> =
    Operation {
        name: "UntagResources",
        access: Access::Write,
        run: |core, caller, req| Box::pin(core.untag_resources(caller, req)),
    };

pub const PUT_RESOURCE: Operation<pb::PutResourceRequest, pb::PutResourceResponse> = Operation {
    name: "PutResource",
    access: Access::Write,
    run: |core, caller, req| Box::pin(core.put_resource(caller, req)),
};

pub const DELETE_RESOURCE: Operation<pb::DeleteResourceRequest, pb::DeleteResourceResponse> =
    Operation {
        name: "DeleteResource",
        access: Access::Write,
        run: |core, caller, req| Box::pin(core.delete_resource(caller, req)),
    };

pub const LIST_PROJECT_TAGS: Operation<pb::ListProjectTagsRequest, pb::ListProjectTagsResponse> =
    Operation {
        name: "ListProjectTags",
        access: Access::Read,
        run: |core, caller, req| Box::pin(core.list_project_tags(caller, req)),
    };

pub const LIST_RESOURCES: Operation<pb::ListResourcesRequest, pb::ListResourcesResponse> =
    Operation {
        name: "ListResources",
        access: Access::Read,
        run: |core, caller, req| Box::pin(core.list_resources(caller, req)),
    };

pub const COUNT_RESOURCES: Operation<pb::CountResourcesRequest, pb::CountResourcesResponse> =
    Operation {
        name: "CountResources",
        access: Access::Read,
        run: |core, caller, req| Box::pin(core.count_resources(caller, req)),
    };

pub const LIST_TAG_CHANGES: Operation<pb::ListTagChangesRequest, pb::ListTagChangesResponse> =
    Operation {
        name: "ListTagChanges",
        access: Access::Read,
        run: |core, caller, req| Box::pin(core.list_tag_changes(caller, req)),
    };

/// Opens a watch: the call ends when its stream is set up, and the stream goes on beside it.
pub const WATCH_TAG_CHANGES: Operation<pb::WatchTagChangesRequest, WatchStream> = Operation {
    name: "WatchTagChanges",
    access: Access::Read,
    run: |core, caller, req| Box::pin(core.watch_tag_changes(caller, req)),
};

/// Every key of a project with its values, unpaged (SMN's project-tags form).
pub const LIST_ALL_PROJECT_TAGS: Operation<AllProjectTags, Vec<pb::ProjectTag>> = Operation {
    name: "ListAllProjectTags",
    access: Access::Read,
    run: |core, caller, req| Box::pin(core.list_all_project_tags(caller, req)),
};

/// A page of matching resources by offset and their total count, from one snapshot (SMN's
/// resource-instance filter).
pub const LIST_RESOURCE_PAGE: Operation<ResourcePageRequest, ResourcePage> = Operation {
    name: "ListResourcePage",
    access: Access::Read,
    run: |core, caller, req| Box::pin(core.list_resource_page(caller, req)),
};

/// Every operation's name and access level, for a face that must authenticate a call before it
/// reads the call's request.
const ACCESS: &[(&str, Access)] = &[
    (LIST_TAG_RESOURCES.name, LIST_TAG_RESOURCES.access),
    (LIST_RESOURCE_TAGS.name, LIST_RESOURCE_TAGS.access),
    (TAG_RESOURCES.name, TAG_RESOURCES.access),
    (UNTAG_RESOURCES.name, UNTAG_RESOURCES.access),
    (PUT_RESOURCE.name, PUT_RESOURCE.access),
    (DELETE_RESOURCE.name, DELETE_RESOURCE.access),
    (LIST_PROJECT_TAGS.name, LIST_PROJECT_TAGS.access),
    (LIST_RESOURCES.name, LIST_RESOURCES.access),
    (COUNT_RESOURCES.name, COUNT_RESOURCES.access),
    (LIST_TAG_CHANGES.name, LIST_TAG_CHANGES.access),
    (WATCH_TAG_CHANGES.name, WATCH_TAG_CHANGES.access),
    (LIST_ALL_PROJECT_TAGS.name, LIST_ALL_PROJECT_TAGS.access),
    (LIST_RESOURCE_PAGE.name, LIST_RESOURCE_PAGE.access),
];

/// The access level of the operation called `name`.
pub fn access_of(name: &str) -> Option<Access> {
    ACCESS.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
}
