//! Every route the REST face serves, in one table from which the router is built. The API's routes
//! are exactly the `google.api.http` annotations of `tagging.proto` (a test derives them from the
//! descriptor set and compares this table and `openapi.json` with them); two more serve the
//! document and the metrics.

use axum::{
    Router,
    routing::{MethodRouter, delete, get, post, put},
};

use super::{Form, RestState, ack, smn};

/// One route: its method and path template, the form whose errors it answers in (none for the
/// document and the metrics), and how it is mounted.
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub form: Option<Form>,
    mount: fn(Router<RestState>, &'static str) -> Router<RestState>,
}

impl Route {
    /// Adds this route to `router`.
    pub(super) fn mount(&self, router: Router<RestState>) -> Router<RestState> {
        (self.mount)(router, self.path)
    }
}

/// A route whose path serves only its own template.
fn at(
    router: Router<RestState>,
    path: &'static str,
    method: MethodRouter<RestState>,
) -> Router<RestState> {
    router.route(path, method)
}

const SMN_RESOURCE: &str = "/v2/{project_id}/{resource_type}/{resource_id}";
const SMN_TAGS: &str = "/v2/{project_id}/{resource_type}/{resource_id}/tags";
const SMN_TAG: &str = "/v2/{project_id}/{resource_type}/{resource_id}/tags/{key}";
const SMN_TAG_ACTION: &str = "/v2/{project_id}/{resource_type}/{resource_id}/tags/action";
const SMN_PROJECT_TAGS: &str = "/v2/{project_id}/{resource_type}/tags";
const SMN_INSTANCES: &str = "/v2/{project_id}/{resource_type}/resource_instances/action";
const SMN_COUNT: &str = "/v2/{project_id}/{resource_type}/resource_instances/count";
const SMN_CHANGES: &str = "/v2/{project_id}/tag_changes";
const SMN_WATCH: &str = "/v2/{project_id}/tag_changes/watch";

pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/tags",
        form: Some(Form::Ack),
        mount: |r, p| at(r, p, get(ack::list)),
    },
    Route {
        method: "PUT",
        path: "/tags",
        form: Some(Form::Ack),
        mount: |r, p| at(r, p, put(ack::tag)),
    },
    Route {
        method: "DELETE",
        path: "/tags",
        form: Some(Form::Ack),
        mount: |r, p| at(r, p, delete(ack::untag)),
    },
    Route {
        method: "PUT",
        path: SMN_RESOURCE,
        form: Some(Form::Smn),
        mount: |r, p| at(r, p, put(smn::put_resource)),
    },
    Route {
        method: "DELETE",
        path: SMN_RESOURCE,
        form: Some(Form::Smn),
        mount: |r, p| at(r, p, delete(smn::delete_resource)),
    },
    Route {
        method: "GET",
        path: SMN_TAGS,
        form: Some(Form::Smn),
        mount: |r, p| at(r, p, get(smn::resource_tags)),
    },
    Route {
        method: "POST",
        path: SMN_TAGS,
        form: Some(Form::Smn),
        mount: |r, p| at(r, p, post(smn::create_tag)),
    },
    Route {
        method: "DELETE",
        path: SMN_TAG,
        form: Some(Form::Smn),
        // `action` is also a key one may delete: the static route beside this one must not hide it.
        mount: |r, p| {
            at(r, p, delete(smn::delete_tag)).route(SMN_TAG_ACTION, delete(smn::delete_action_tag))
        },
    },
    Route {
        method: "POST",
        path: SMN_TAG_ACTION,
        form: Some(Form::Smn),
        mount: |r, p| at(r, p, post(smn::batch)),
    },
    Route {
        method: "GET",
        path: SMN_PROJECT_TAGS,
        form: Some(Form::Smn),
        mount: |r, p| at(r, p, get(smn::project_tags)),
    },
    Route {
        method: "POST",
        path: SMN_INSTANCES,
        form: Some(Form::Smn),
        mount: |r, p| at(r, p, post(smn::instances)),
    },
    Route {
        method: "POST",
        path: SMN_COUNT,
        form: Some(Form::Smn),
        mount: |r, p| at(r, p, post(smn::count)),
    },
    Route {
        method: "GET",
        path: SMN_CHANGES,
        form: Some(Form::Smn),
        mount: |r, p| at(r, p, get(smn::list_changes)),
    },
    Route {
        method: "GET",
        path: SMN_WATCH,
        form: Some(Form::Smn),
        mount: |r, p| at(r, p, get(smn::watch_changes)),
    },
    Route {
        method: "GET",
        path: "/openapi.json",
        form: None,
        mount: |r, p| at(r, p, get(super::openapi)),
    },
    Route {
        method: "GET",
        path: "/metrics",
        form: None,
        mount: |r, p| at(r, p, get(super::metrics_text)),
    },
];
