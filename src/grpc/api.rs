use std::{sync::Arc, time::Instant};

use tonic::{Code, Request, Response, Status, metadata::MetadataValue};
use tracing::{Instrument, field::Empty};

use super::code_of;
use crate::{
    auth::{Authenticator, presented_token},
    domain::{Access, Error, Principal},
    proto::pb::{self, tagging_service_server::TaggingService},
    service::{Admission, TaggingCore, parse_grpc_timeout},
    telemetry::{Metrics, new_request_id, usable_request_id},
};

/// `tagging.v1.TaggingService`: each call is authenticated, bounded by its deadline, logged in
/// one span and counted, then handed to the core.
pub struct TaggingApi {
    core: Arc<TaggingCore>,
    auth: Arc<Authenticator>,
    metrics: Arc<Metrics>,
    admission: Admission,
}

impl TaggingApi {
    pub fn new(
        core: Arc<TaggingCore>,
        auth: Arc<Authenticator>,
        metrics: Arc<Metrics>,
        admission: Admission,
    ) -> Self {
        Self {
            core,
            auth,
            metrics,
            admission,
        }
    }

    async fn handle<Req, Res>(
        &self,
        method: &'static str,
        access: Access,
        request: Request<Req>,
        op: impl AsyncFnOnce(&Principal, Req) -> Result<Res, Error>,
    ) -> Result<Response<Res>, Status> {
        let started = Instant::now();
        let meta = request.metadata();
        let header = |name| meta.get(name).and_then(|v| v.to_str().ok());
        let request_id = usable_request_id(header("x-request-id")).unwrap_or_else(new_request_id);
        let requested = header("grpc-timeout").and_then(parse_grpc_timeout);
        let token =
            presented_token(header("authorization"), header("x-auth-token")).map(str::to_owned);
        let span = tracing::info_span!("grpc", request_id = %request_id, method, project = Empty);

        let work = async {
            let caller = self.auth.authenticate(token.as_deref(), access).await?;
            let result = op(&caller, request.into_inner()).await;
            self.auth
                .forget_if_refused(caller.unconfirmed_token.as_deref(), &result);
            result
        };
        let result = self
            .admission
            .run(requested, work.instrument(span.clone()))
            .await;

        let code = result.as_ref().map_or_else(code_of, |_| Code::Ok);
        let elapsed = started.elapsed();
        span.in_scope(|| {
            tracing::info!(code = ?code, latency_ms = elapsed.as_secs_f64() * 1000.0, "rpc");
        });
        self.metrics
            .observe("grpc", method, &format!("{code:?}"), elapsed);
        let id =
            MetadataValue::try_from(request_id.as_str()).expect("request ids are visible ASCII");
        match result {
            Ok(answer) => {
                let mut response = Response::new(answer);
                response.metadata_mut().insert("x-request-id", id);
                Ok(response)
            }
            Err(e) => {
                self.metrics.error(e.kind());
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
        self.handle("ListTagResources", Access::Read, r, async |c, req| {
            self.core.list_tag_resources(c, req).await
        })
        .await
    }

    async fn list_resource_tags(
        &self,
        r: Request<pb::ListResourceTagsRequest>,
    ) -> Answer<pb::ListResourceTagsResponse> {
        self.handle("ListResourceTags", Access::Read, r, async |c, req| {
            self.core.list_resource_tags(c, req).await
        })
        .await
    }

    async fn tag_resources(
        &self,
        r: Request<pb::TagResourcesRequest>,
    ) -> Answer<pb::TagResourcesResponse> {
        self.handle("TagResources", Access::Write, r, async |c, req| {
            self.core.tag_resources(c, req).await
        })
        .await
    }

    async fn untag_resources(
        &self,
        r: Request<pb::UntagResourcesRequest>,
    ) -> Answer<pb::UntagResourcesResponse> {
        self.handle("UntagResources", Access::Write, r, async |c, req| {
            self.core.untag_resources(c, req).await
        })
        .await
    }

    async fn put_resource(
        &self,
        r: Request<pb::PutResourceRequest>,
    ) -> Answer<pb::PutResourceResponse> {
        self.handle("PutResource", Access::Write, r, async |c, req| {
            self.core.put_resource(c, req).await
        })
        .await
    }

    async fn delete_resource(
        &self,
        r: Request<pb::DeleteResourceRequest>,
    ) -> Answer<pb::DeleteResourceResponse> {
        self.handle("DeleteResource", Access::Write, r, async |c, req| {
            self.core.delete_resource(c, req).await
        })
        .await
    }

    async fn list_project_tags(
        &self,
        r: Request<pb::ListProjectTagsRequest>,
    ) -> Answer<pb::ListProjectTagsResponse> {
        self.handle("ListProjectTags", Access::Read, r, async |c, req| {
            self.core.list_project_tags(c, req).await
        })
        .await
    }

    async fn list_resources(
        &self,
        r: Request<pb::ListResourcesRequest>,
    ) -> Answer<pb::ListResourcesResponse> {
        self.handle("ListResources", Access::Read, r, async |c, req| {
            self.core.list_resources(c, req).await
        })
        .await
    }

    async fn count_resources(
        &self,
        r: Request<pb::CountResourcesRequest>,
    ) -> Answer<pb::CountResourcesResponse> {
        self.handle("CountResources", Access::Read, r, async |c, req| {
            self.core.count_resources(c, req).await
        })
        .await
    }
}
