//! Many resources at once, as a seeding caller or a paging reader does it: writes in calls of
//! 50 resources (the most one call takes), and a ListResources walk of every page of a filter.

use tonic::transport::Channel;

use super::{TaggingServiceClient, authed, pb};

/// A tag filter on `key` with any of `values` (none: any value).
pub fn key_filter(key: &str, values: &[&str]) -> pb::TagFilter {
    pb::TagFilter {
        key: key.into(),
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    }
}

/// Sets `tags` on the CLUSTER resources `ids`, registering unknown ones, 50 a call.
pub async fn tag_in_calls(
    client: &TaggingServiceClient<Channel>,
    token: &str,
    ids: &[String],
    tags: &[(&str, &str)],
) {
    for chunk in ids.chunks(50) {
        let req = pb::TagResourcesRequest {
            resource_type: "CLUSTER".into(),
            resource_ids: chunk.to_vec(),
            tags: tags
                .iter()
                .map(|(key, value)| pb::Tag {
                    key: (*key).to_owned(),
                    value: (*value).to_owned(),
                })
                .collect(),
            ..Default::default()
        };
        client
            .clone()
            .tag_resources(authed(token, req))
            .await
            .expect("tag");
    }
}

/// Removes the key `key` from the CLUSTER resources `ids`, 50 a call.
pub async fn untag_in_calls(
    client: &TaggingServiceClient<Channel>,
    token: &str,
    ids: &[String],
    key: &str,
) {
    for chunk in ids.chunks(50) {
        let req = pb::UntagResourcesRequest {
            resource_type: "CLUSTER".into(),
            resource_ids: chunk.to_vec(),
            tag_keys: vec![key.to_owned()],
            ..Default::default()
        };
        client
            .clone()
            .untag_resources(authed(token, req))
            .await
            .expect("untag");
    }
}

/// Every resource ListResources answers for the filter of `f`, walking pages of `page_size`;
/// asserts each page holds at most that many.
pub async fn walk_resources(
    client: &TaggingServiceClient<Channel>,
    token: &str,
    f: &pb::CountResourcesRequest,
    page_size: i32,
) -> Vec<pb::Resource> {
    let mut out = Vec::new();
    let mut next_token = String::new();
    let mut pages = 0;
    loop {
        let req = pb::ListResourcesRequest {
            project_id: f.project_id.clone(),
            resource_type: f.resource_type.clone(),
            tags: f.tags.clone(),
            tags_any: f.tags_any.clone(),
            not_tags: f.not_tags.clone(),
            not_tags_any: f.not_tags_any.clone(),
            matches: f.matches.clone(),
            without_any_tag: f.without_any_tag,
            page_size,
            next_token,
            consistency_token: String::new(),
        };
        let page = client
            .clone()
            .list_resources(authed(token, req))
            .await
            .expect("list_resources")
            .into_inner();
        assert!(
            page.resources.len() <= page_size as usize,
            "a page holds at most page_size resources"
        );
        out.extend(page.resources);
        if page.next_token.is_empty() {
            return out;
        }
        pages += 1;
        assert!(pages < 10_000, "paging does not end");
        next_token = page.next_token;
    }
}
