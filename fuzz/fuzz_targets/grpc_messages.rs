//! Every RPC on arbitrary messages: the input's first byte picks the RPC, the second the caller,
//! the rest is decoded as that RPC's protobuf request and handed to the gRPC service over SQLite.
//! This reaches every rule of `domain::rules` and the filter expressions of `ListResources` and
//! `CountResources` without the REST forms in between.
//!
//! Checked: no panic; only the answers a caller's input can earn (OK, INVALID_ARGUMENT with a
//! field violation per broken rule, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, UNAUTHENTICATED,
//! ABORTED with the current revision for a conditional write),
//! never INTERNAL, UNKNOWN or UNAVAILABLE; no system tag in the answer of a non-system caller.

#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use tagging_service::proto::pb::{self, tagging_service_server::TaggingService};
use tagging_service_fuzz::{is_reserved, runtime, service};
use tonic::{Code, Request, Response, Status};
use tonic_types::StatusExt;

/// Who calls: a token of `demo`, read-only, system, of project `other`, none, or authentication off.
const CALLERS: usize = 6;
const SYSTEM: usize = 2;

fuzz_target!(|data: &[u8]| {
    let [rpc, caller, message @ ..] = data else {
        return;
    };
    let caller = usize::from(*caller) % CALLERS;
    let service = service();
    let api = if caller == 5 {
        &service.grpc_no_auth
    } else {
        &service.grpc
    };
    let token = [
        Some(&service.tokens.demo),
        Some(&service.tokens.read_only),
        Some(&service.tokens.system),
        Some(&service.tokens.other),
        None,
        None,
    ][caller];
    let keys = runtime().block_on(async {
        macro_rules! call {
            ($method:ident, $message:ty, $keys:expr) => {{
                let Ok(m) = <$message>::decode(message) else {
                    return None;
                };
                Some(answer(api.$method(request(m, token)).await).map($keys))
            }};
        }
        match rpc % 10 {
            0 => call!(list_tag_resources, pb::ListTagResourcesRequest, |a| {
                a.tag_resources.into_iter().map(|r| r.tag_key).collect()
            }),
            1 => call!(list_resource_tags, pb::ListResourceTagsRequest, |a| {
                tag_keys(a.tags)
            }),
            2 => call!(tag_resources, pb::TagResourcesRequest, |_| Vec::new()),
            3 => call!(untag_resources, pb::UntagResourcesRequest, |_| Vec::new()),
            4 => call!(put_resource, pb::PutResourceRequest, |a| a
                .resource
                .map(|r| tag_keys(r.tags))
                .unwrap_or_default()),
            5 => call!(delete_resource, pb::DeleteResourceRequest, |_| Vec::new()),
            6 => call!(list_project_tags, pb::ListProjectTagsRequest, |a| a
                .tags
                .into_iter()
                .map(|t| t.key)
                .collect()),
            7 => call!(list_resources, pb::ListResourcesRequest, |a| a
                .resources
                .into_iter()
                .flat_map(|r| tag_keys(r.tags))
                .collect()),
            8 => call!(list_tag_changes, pb::ListTagChangesRequest, |a| a
                .changes
                .into_iter()
                .map(|c| c.key)
                .collect()),
            _ => call!(count_resources, pb::CountResourcesRequest, |_| Vec::new()),
        }
    });
    if let Some(Some(keys)) = keys
        && caller != SYSTEM
    {
        let shown: Vec<&String> = keys.iter().filter(|k| is_reserved(k)).collect();
        assert!(
            shown.is_empty(),
            "system tags shown to caller {caller}: {shown:?}"
        );
    }
});

fn request<T>(message: T, token: Option<&String>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = token {
        let bearer = format!("Bearer {token}").parse().expect("tokens are ASCII");
        request.metadata_mut().insert("authorization", bearer);
    }
    request
}

/// The answer, if there is one; panics on a status no input may cause.
fn answer<T>(result: Result<Response<T>, Status>) -> Option<T> {
    let status = match result {
        Ok(response) => return Some(response.into_inner()),
        Err(status) => status,
    };
    match status.code() {
        Code::InvalidArgument => {
            let violations = status
                .get_details_bad_request()
                .map(|b| b.field_violations)
                .unwrap_or_default();
            assert!(
                !violations.is_empty() && violations.iter().all(|v| !v.field.is_empty()),
                "INVALID_ARGUMENT without the fields it names: {status:?}"
            );
        }
        Code::NotFound | Code::AlreadyExists | Code::PermissionDenied | Code::Unauthenticated => {
            assert!(!status.message().is_empty(), "{status:?}");
        }
        // A conditional write at another revision: its detail names the current one.
        Code::Aborted => {
            let info = status
                .get_details_error_info()
                .unwrap_or_else(|| panic!("ABORTED without its ErrorInfo: {status:?}"));
            assert!(
                info.reason == "REVISION_MISMATCH"
                    && info
                        .metadata
                        .get("current_revision")
                        .is_some_and(|r| r.parse::<i64>().is_ok_and(|r| r >= 0)),
                "{status:?}"
            );
        }
        _ => panic!("no input may cause this: {status:?}"),
    }
    None
}

fn tag_keys(tags: Vec<pb::Tag>) -> Vec<String> {
    tags.into_iter().map(|t| t.key).collect()
}
