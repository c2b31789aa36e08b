//! A Rust client of the tagging service, on the types this crate generates from `proto/`
//! (`tagging_service::proto::pb`). It tags resources, reads one resource's tags, lists resources by
//! a tag filter and removes a tag, and checks every answer it reads back.
//!
//! ```bash
//! TAGGING_ENDPOINT=http://127.0.0.1:50051 TAGGING_TOKEN=$TOKEN cargo run --example client
//! ```
//!
//! The token is one of `tagging-service token create --project P` (read-write). The resources are
//! clusters `rs-1` and `rs-2` of the token's project; the run may be repeated.

use std::collections::BTreeMap;

use tagging_service::proto::pb::{
    ListResourceTagsRequest, ListResourcesRequest, Tag, TagFilter, TagResourcesRequest,
    UntagResourcesRequest, tagging_service_client::TaggingServiceClient,
};
use tonic::{
    Request,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::Channel,
};

/// The catalogue's type, and the qualified name the service answers with (the default catalogue).
const TYPE: &str = "CLUSTER";
const QUALIFIED_TYPE: &str = "ALIYUN::CS::CLUSTER";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint =
        std::env::var("TAGGING_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:50051".to_owned());
    let token = format!("Bearer {}", std::env::var("TAGGING_TOKEN")?).parse()?;
    let channel = Channel::from_shared(endpoint)?.connect().await?;
    // Every call carries the token; the project is the token's, so no request names one.
    let mut client = TaggingServiceClient::with_interceptor(channel, BearerToken(token));

    // Tag two clusters, then move one of them to another environment (a tag is overwritten).
    client
        .tag_resources(TagResourcesRequest {
            resource_type: TYPE.into(),
            resource_ids: vec!["rs-1".into(), "rs-2".into()],
            tags: vec![tag("env", "dev"), tag("example", "rust")],
            ..Default::default()
        })
        .await?;
    client
        .tag_resources(TagResourcesRequest {
            resource_type: TYPE.into(),
            resource_ids: vec!["rs-2".into()],
            tags: vec![tag("env", "prod")],
            ..Default::default()
        })
        .await?;
    println!("tagged rs-1 and rs-2");

    // One resource's tags.
    let tags = resource_tags(&mut client, "rs-1").await?;
    assert_eq!(tags, pairs(&[("env", "dev"), ("example", "rust")]), "rs-1");
    println!("rs-1 has {tags:?}");

    // Resources by tag filter: every entry must match, and within an entry any of its values.
    let found = client
        .list_resources(ListResourcesRequest {
            resource_type: TYPE.into(),
            tags: vec![filter("example", &["rust"]), filter("env", &["prod"])],
            ..Default::default()
        })
        .await?
        .into_inner();
    let ids: Vec<&str> = found
        .resources
        .iter()
        .map(|r| r.resource_id.as_str())
        .collect();
    assert_eq!(ids, ["rs-2"], "example=rust and env=prod");
    let rs2 = &found.resources[0];
    assert_eq!(rs2.resource_type, QUALIFIED_TYPE);
    let rs2_tags: BTreeMap<String, String> = rs2
        .tags
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    assert_eq!(rs2_tags, pairs(&[("env", "prod"), ("example", "rust")]));
    assert!(found.next_token.is_empty(), "one page");
    println!("example=rust and env=prod: {ids:?}");

    // Remove a tag; the other stays.
    client
        .untag_resources(UntagResourcesRequest {
            resource_type: TYPE.into(),
            resource_ids: vec!["rs-1".into()],
            tag_keys: vec!["env".into()],
            ..Default::default()
        })
        .await?;
    let tags = resource_tags(&mut client, "rs-1").await?;
    assert_eq!(
        tags,
        pairs(&[("example", "rust")]),
        "rs-1 after untagging env"
    );
    println!("untagged env from rs-1, which now has {tags:?}");

    println!("rust example: OK");
    Ok(())
}

type Client = TaggingServiceClient<InterceptedService<Channel, BearerToken>>;

/// Adds `authorization: Bearer TOKEN` to every call.
#[derive(Clone)]
struct BearerToken(MetadataValue<Ascii>);

impl Interceptor for BearerToken {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, tonic::Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

/// The tags of one resource, by key.
async fn resource_tags(
    client: &mut Client,
    id: &str,
) -> Result<BTreeMap<String, String>, tonic::Status> {
    let answer = client
        .list_resource_tags(ListResourceTagsRequest {
            resource_type: TYPE.into(),
            resource_id: id.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    Ok(answer.tags.into_iter().map(|t| (t.key, t.value)).collect())
}

fn tag(key: &str, value: &str) -> Tag {
    Tag {
        key: key.into(),
        value: value.into(),
    }
}

fn filter(key: &str, values: &[&str]) -> TagFilter {
    TagFilter {
        key: key.into(),
        values: values.iter().map(|v| (*v).into()).collect(),
    }
}

fn pairs(items: &[(&str, &str)]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
