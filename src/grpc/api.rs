use std::{pin::Pin, sync::Arc};

use tokio_stream::{Stream, StreamExt};
use tonic::{Code, Request, Response, Status, metadata::MetadataValue};
use tracing::field::Empty;

use super::{authenticate_first::Authenticated, code_of, trailers::TrailingToken};
use crate::{
    domain::{CONSISTENCY_HEADER, Error, Principal, ProjectScope},
    proto::pb::{self, tagging_service_server::TaggingService},
    service::{
        Answered, CallContext, Credentials, Face, Operation, Pipeline, WatchStream,
        operations as op,
    },
    telemetry::traces::{CallShape, TraceParent},
    wire::{self, CallHeaders, parse_grpc_timeout},
};

/// `tagging.v1.TaggingService`: each method reads its call's headers, makes one call through the
/// pipeline, and answers its result with the request id.
pub struct TaggingApi {
    pipeline: Arc<Pipeline>,
}

/// A gRPC call as the pipeline counts and logs it: by method and status code.
pub(super) struct GrpcFace<'a>(pub &'a str);

impl Face for GrpcFace<'_> {
    const TRANSPORT: &'static str = "grpc";

    fn method(&self) -> &str {
        self.0
    }

    fn answered(&self, error: Option<&Error>) -> Answered {
        let code = error.map_or(Code::Ok, code_of);
        Answered::Code {
            name: format!("{code:?}"),
            number: code as i32,
        }
    }

    fn shape(&self) -> CallShape<'_> {
        CallShape::Rpc {
            service: SERVICE,
            method: self.0,
        }
    }
}

/// The service's full name, as its calls' paths and spans name it.
const SERVICE: &str = "tagging.v1.TaggingService";

/// The span of one call's log line; authentication records the caller's project in it.
pub(super) fn call_span(request_id: &str, method: &str) -> tracing::Span {
    tracing::info_span!(
        "grpc",
        request_id = %request_id,
        method = %method,
        project = Empty,
        trace_id = Empty,
        span_id = Empty
    )
}

/// An operation's answer, as far as the face sends more of it than the message: a write's
/// consistency token goes in the trailers too.
trait Sent {
    fn consistency_token(&self) -> Option<&str> {
        None
    }
}

impl Sent for pb::TagResourcesResponse {
    fn consistency_token(&self) -> Option<&str> {
        Some(&self.consistency_token)
    }
}

impl Sent for pb::UntagResourcesResponse {
    fn consistency_token(&self) -> Option<&str> {
        Some(&self.consistency_token)
    }
}

impl Sent for pb::PutResourceResponse {
    fn consistency_token(&self) -> Option<&str> {
        Some(&self.consistency_token)
    }
}

impl Sent for pb::DeleteResourceResponse {
    fn consistency_token(&self) -> Option<&str> {
        Some(&self.consistency_token)
    }
}

impl Sent for pb::ListTagResourcesResponse {}
impl Sent for pb::ListResourceTagsResponse {}
impl Sent for pb::ListProjectTagsResponse {}
impl Sent for pb::ListResourcesResponse {}
impl Sent for pb::CountResourcesResponse {}
impl Sent for pb::ListTagChangesResponse {}
impl Sent for WatchStream {}

impl TaggingApi {
    pub fn new(pipeline: Arc<Pipeline>) -> Self {
        Self { pipeline }
    }

    async fn call<Req, Ans: Sent>(
        &self,
        op: &Operation<Req, Ans>,
        request: Request<Req>,
    ) -> Result<Response<Ans>, Status> {
        let meta = request.metadata();
        let header = |name: &str| meta.get(name).and_then(|v| v.to_str().ok());
        let (credentials, request_id, deadline) = match request.extensions().get::<Authenticated>()
        {
            Some(first) => (
                Credentials::Authenticated(first.principal.clone()),
                first.request_id.clone(),
                header("grpc-timeout")
                    .and_then(parse_grpc_timeout)
                    .map(|d| d.saturating_sub(first.arrived.elapsed())),
            ),
            None => {
                let headers = CallHeaders::read(header);
                let request_id = wire::request_id(header("x-request-id"));
                (
                    Credentials::Token(headers.token),
                    request_id,
                    headers.deadline,
                )
            }
        };
        let span = call_span(&request_id, op.name);
        // Authentication, which names the project in the log line, happened in a span of its own.
        if let Credentials::Authenticated(Principal {
            scope: ProjectScope::One(project),
            ..
        }) = &credentials
        {
            span.record("project", project.as_str());
        }
        let context = CallContext {
            credentials,
            consistency_token: header(CONSISTENCY_HEADER).map(str::to_owned),
            trace: TraceParent::read(header),
            request_id: request_id.clone(),
            deadline,
            span,
        };
        let result = self
            .pipeline
            .call(op, &GrpcFace(op.name), context, Ok(request.into_inner()))
            .await;
        let id =
            MetadataValue::try_from(request_id.as_str()).expect("request ids are visible ASCII");
        match result {
            Ok(answer) => {
                let token = answer
                    .consistency_token()
                    .and_then(|t| tonic::codegen::http::HeaderValue::from_str(t).ok());
                let mut response = Response::new(answer);
                response.metadata_mut().insert("x-request-id", id);
                if let Some(token) = token {
                    response.extensions_mut().insert(TrailingToken(token));
                }
                Ok(response)
            }
            Err(e) => {
                let mut status = Status::from(e);
                status.metadata_mut().insert("x-request-id", id);
                Err(status)
            }
        }
    }
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl TaggingService for TaggingApi {
    async fn list_tag_resources(
        &self,
        r: Request<pb::ListTagResourcesRequest>,
    ) -> Answer<pb::ListTagResourcesResponse> {
        self.call(&op::LIST_TAG_RESOURCES, r).await
    }

    async fn list_resource_tags(
        &self,
        r: Request<pb::ListResourceTagsRequest>,
    ) -> Answer<pb::ListResourceTagsResponse> {
        self.call(&op::LIST_RESOURCE_TAGS, r).await
    }

    async fn tag_resources(
        &self,
        r: Request<pb::TagResourcesRequest>,
    ) -> Answer<pb::TagResourcesResponse> {
        self.call(&op::TAG_RESOURCES, r).await
    }

    async fn untag_resources(
        &self,
        r: Request<pb::UntagResourcesRequest>,
    ) -> Answer<pb::UntagResourcesResponse> {
        self.call(&op::UNTAG_RESOURCES, r).await
    }

    async fn put_resource(
        &self,
        r: Request<pb::PutResourceRequest>,
    ) -> Answer<pb::PutResourceResponse> {
        self.call(&op::PUT_RESOURCE, r).await
    }

    async fn delete_resource(
        &self,
        r: Request<pb::DeleteResourceRequest>,
    ) -> Answer<pb::DeleteResourceResponse> {
        self.call(&op::DELETE_RESOURCE, r).await
    }

    async fn list_project_tags(
        &self,
        r: Request<pb::ListProjectTagsRequest>,
    ) -> Answer<pb::ListProjectTagsResponse> {
        self.call(&op::LIST_PROJECT_TAGS, r).await
    }

    async fn list_resources(
        &self,
        r: Request<pb::ListResourcesRequest>,
    ) -> Answer<pb::ListResourcesResponse> {
        self.call(&op::LIST_RESOURCES, r).await
    }

    async fn count_resources(
        &self,
        r: Request<pb::CountResourcesRequest>,
    ) -> Answer<pb::CountResourcesResponse> {
        self.call(&op::COUNT_RESOURCES, r).await
    }

    async fn list_tag_changes(
        &self,
        r: Request<pb::ListTagChangesRequest>,
    ) -> Answer<pb::ListTagChangesResponse> {
        self.call(&op::LIST_TAG_CHANGES, r).await
    }

    type WatchTagChangesStream =
        Pin<Box<dyn Stream<Item = Result<pb::WatchTagChangesResponse, Status>> + Send>>;

    async fn watch_tag_changes(
        &self,
        r: Request<pb::WatchTagChangesRequest>,
    ) -> Answer<Self::WatchTagChangesStream> {
        let response = self.call(&op::WATCH_TAG_CHANGES, r).await?;
        let (metadata, stream, extensions) = response.into_parts();
        let stream: Self::WatchTagChangesStream = Box::pin(stream.map(|m| m.map_err(Status::from)));
        Ok(Response::from_parts(metadata, stream, extensions))
    }
}
