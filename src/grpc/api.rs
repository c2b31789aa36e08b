use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::{
    auth::{Authenticator, presented_token},
    domain::Principal,
    proto::pb::{self, tagging_service_server::TaggingService},
    service::TaggingCore,
};

/// `tagging.v1.TaggingService`: authenticates each call, then hands it to the core.
pub struct TaggingApi {
    core: Arc<TaggingCore>,
    auth: Arc<Authenticator>,
}

impl TaggingApi {
    pub fn new(core: Arc<TaggingCore>, auth: Arc<Authenticator>) -> Self {
        Self { core, auth }
    }

    async fn caller<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        let meta = request.metadata();
        let header = |name| meta.get(name).and_then(|v| v.to_str().ok());
        let token = presented_token(header("authorization"), header("x-auth-token"));
        Ok(self.auth.authenticate(token).await?)
    }
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl TaggingService for TaggingApi {
    async fn list_tag_resources(
        &self,
        r: Request<pb::ListTagResourcesRequest>,
    ) -> Answer<pb::ListTagResourcesResponse> {
        let caller = self.caller(&r).await?;
        Ok(Response::new(
            self.core
                .list_tag_resources(&caller, r.into_inner())
                .await?,
        ))
    }

    async fn list_resource_tags(
        &self,
        r: Request<pb::ListResourceTagsRequest>,
    ) -> Answer<pb::ListResourceTagsResponse> {
        let caller = self.caller(&r).await?;
        Ok(Response::new(
            self.core
                .list_resource_tags(&caller, r.into_inner())
                .await?,
        ))
    }

    async fn tag_resources(
        &self,
        r: Request<pb::TagResourcesRequest>,
    ) -> Answer<pb::TagResourcesResponse> {
        let caller = self.caller(&r).await?;
        Ok(Response::new(
            self.core.tag_resources(&caller, r.into_inner()).await?,
        ))
    }

    async fn untag_resources(
        &self,
        r: Request<pb::UntagResourcesRequest>,
    ) -> Answer<pb::UntagResourcesResponse> {
        let caller = self.caller(&r).await?;
        Ok(Response::new(
            self.core.untag_resources(&caller, r.into_inner()).await?,
        ))
    }

    async fn put_resource(
        &self,
        r: Request<pb::PutResourceRequest>,
    ) -> Answer<pb::PutResourceResponse> {
        let caller = self.caller(&r).await?;
        Ok(Response::new(
            self.core.put_resource(&caller, r.into_inner()).await?,
        ))
    }

    async fn delete_resource(
        &self,
        r: Request<pb::DeleteResourceRequest>,
    ) -> Answer<pb::DeleteResourceResponse> {
        let caller = self.caller(&r).await?;
        Ok(Response::new(
            self.core.delete_resource(&caller, r.into_inner()).await?,
        ))
    }

    async fn list_project_tags(
        &self,
        r: Request<pb::ListProjectTagsRequest>,
    ) -> Answer<pb::ListProjectTagsResponse> {
        let caller = self.caller(&r).await?;
        Ok(Response::new(
            self.core.list_project_tags(&caller, r.into_inner()).await?,
        ))
    }

    async fn list_resources(
        &self,
        r: Request<pb::ListResourcesRequest>,
    ) -> Answer<pb::ListResourcesResponse> {
        let caller = self.caller(&r).await?;
        Ok(Response::new(
            self.core.list_resources(&caller, r.into_inner()).await?,
        ))
    }

    async fn count_resources(
        &self,
        r: Request<pb::CountResourcesRequest>,
    ) -> Answer<pb::CountResourcesResponse> {
        let caller = self.caller(&r).await?;
        Ok(Response::new(
            self.core.count_resources(&caller, r.into_inner()).await?,
        ))
    }
}
