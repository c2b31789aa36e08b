//! The calls of issue 17, tag filters at every selectivity, for `bench/filters.sh`: gRPC frames
//! (ListTagResources, ListResources, CountResources, ListProjectTags) with the method each goes
//! to, and SMN REST requests. Unlike `prepare`, no SQL and no plans: the statements behind these
//! calls are the store's to choose (and about to change), while the calls are the API's, so the
//! same files measure the code before and after.

use std::{fs, path::PathBuf};

use tagging_service::proto::pb;

use crate::{
    dataset::{PROJECT, RARE, RESOURCE_TYPE},
    prepare::{PAGE, frame, list_request, walk},
};

const SERVICE: &str = "/tagging.v1.TaggingService";

#[derive(clap::Args)]
pub struct FiltersArgs {
    /// The server, e.g. http://127.0.0.1:50051.
    #[arg(long)]
    url: String,
    /// A token of the project the deep page is walked in.
    #[arg(long, env = "BENCH_TOKEN")]
    token: String,
    /// The page of the dense filter the deep-page call asks for (the last one when there are fewer).
    #[arg(long, default_value_t = 1000)]
    deep_page: u32,
    /// Writes `frames/<name>.bin` and `.method`, `rest/<name>.path` and, for a POST, `.json`.
    #[arg(long)]
    out: PathBuf,
}

fn tag(key: &str, value: &str) -> pb::Tag {
    pb::Tag {
        key: key.into(),
        value: value.into(),
    }
}

fn filter(key: &str, values: &[&str]) -> pb::TagFilter {
    pb::TagFilter {
        key: key.into(),
        values: values.iter().map(|v| (*v).into()).collect(),
    }
}

/// The fields ListResources and CountResources share.
#[derive(Default)]
struct Filter {
    tags: Vec<pb::TagFilter>,
    tags_any: Vec<pb::TagFilter>,
    not_tags: Vec<pb::TagFilter>,
    not_tags_any: Vec<pb::TagFilter>,
}

impl Filter {
    fn list(self) -> pb::ListResourcesRequest {
        pb::ListResourcesRequest {
            resource_type: RESOURCE_TYPE.into(),
            tags: self.tags,
            tags_any: self.tags_any,
            not_tags: self.not_tags,
            not_tags_any: self.not_tags_any,
            page_size: PAGE,
            ..Default::default()
        }
    }

    fn count(self) -> pb::CountResourcesRequest {
        pb::CountResourcesRequest {
            resource_type: RESOURCE_TYPE.into(),
            tags: self.tags,
            tags_any: self.tags_any,
            not_tags: self.not_tags,
            not_tags_any: self.not_tags_any,
            ..Default::default()
        }
    }
}

pub async fn run(args: FiltersArgs) -> anyhow::Result<()> {
    let (rare, prod) = (tag(RARE.0, RARE.1), tag("env", "prod"));
    let first_page = |tags: Vec<pb::Tag>| frame(&list_request(Vec::new(), tags, String::new()));
    let deep = walk(
        &args.url,
        &args.token,
        args.deep_page,
        std::slice::from_ref(&prod),
    )
    .await?;
    let rare_yes = || filter(RARE.0, &[RARE.1]);
    let (list_tags, list, count) = ("ListTagResources", "ListResources", "CountResources");
    let grpc = [
        ("ltr_env_p1", list_tags, first_page(vec![prod.clone()])),
        (
            "ltr_env_deep",
            list_tags,
            frame(&list_request(Vec::new(), vec![prod.clone()], deep.token)),
        ),
        ("ltr_rare", list_tags, first_page(vec![rare.clone()])),
        // An empty value is the key with any value.
        ("ltr_rare_key", list_tags, first_page(vec![tag(RARE.0, "")])),
        (
            "ltr_nosuch",
            list_tags,
            first_page(vec![tag("env", "nosuch")]),
        ),
        ("ltr_env_rare", list_tags, first_page(vec![prod, rare])),
        // A key every resource carries: its pages come from the key's set.
        ("ltr_env_key", list_tags, first_page(vec![tag("env", "")])),
        (
            "lr_rare",
            list,
            frame(
                &Filter {
                    tags: vec![rare_yes()],
                    ..Filter::default()
                }
                .list(),
            ),
        ),
        // No values is the key with any value.
        (
            "lr_rare_key",
            list,
            frame(
                &Filter {
                    tags: vec![filter(RARE.0, &[])],
                    ..Filter::default()
                }
                .list(),
            ),
        ),
        // Two of a key's values, half the resources: the key's values' sets.
        (
            "lr_env_values",
            list,
            frame(
                &Filter {
                    tags: vec![filter("env", &["prod", "test"])],
                    ..Filter::default()
                }
                .list(),
            ),
        ),
        (
            "lr_any",
            list,
            frame(
                &Filter {
                    tags_any: vec![rare_yes(), filter("env", &["nosuch"])],
                    ..Filter::default()
                }
                .list(),
            ),
        ),
        (
            "lr_env_not_web",
            list,
            frame(
                &Filter {
                    tags: vec![filter("env", &["prod"])],
                    not_tags_any: vec![filter("tier", &["web"])],
                    ..Filter::default()
                }
                .list(),
            ),
        ),
        (
            "lr_not_env",
            list,
            frame(
                &Filter {
                    not_tags: vec![filter("env", &["prod"])],
                    ..Filter::default()
                }
                .list(),
            ),
        ),
        (
            "count_rare_key",
            count,
            frame(
                &Filter {
                    tags: vec![filter(RARE.0, &[])],
                    ..Filter::default()
                }
                .count(),
            ),
        ),
        (
            "count_env",
            count,
            frame(
                &Filter {
                    tags: vec![filter("env", &["prod"])],
                    ..Filter::default()
                }
                .count(),
            ),
        ),
        // Two dense filters: 1 in 8 matches, the count cannot be read from the counts.
        (
            "count_env_tier",
            count,
            frame(
                &Filter {
                    tags: vec![filter("env", &["prod"]), filter("tier", &["web"])],
                    ..Filter::default()
                }
                .count(),
            ),
        ),
        (
            "project_tags",
            "ListProjectTags",
            frame(&pb::ListProjectTagsRequest {
                resource_type: RESOURCE_TYPE.into(),
                page_size: PAGE,
                ..Default::default()
            }),
        ),
    ];
    let frames = args.out.join("frames");
    fs::create_dir_all(&frames)?;
    for (name, method, bytes) in grpc {
        fs::write(frames.join(format!("{name}.bin")), bytes)?;
        fs::write(
            frames.join(format!("{name}.method")),
            format!("{SERVICE}/{method}"),
        )?;
    }

    let rest = args.out.join("rest");
    fs::create_dir_all(&rest)?;
    // SMN's project tags: every key at once, the service walking its pages.
    fs::write(
        rest.join("smn_project_tags.path"),
        format!("/v2/{PROJECT}/{RESOURCE_TYPE}/tags"),
    )?;
    // SMN's filter: a page and the total count.
    fs::write(
        rest.join("smn_filter_rare.path"),
        format!("/v2/{PROJECT}/{RESOURCE_TYPE}/resource_instances/action"),
    )?;
    let body = serde_json::json!({
        "action": "filter",
        "tags": [{ "key": RARE.0, "values": [RARE.1] }],
        "limit": PAGE.to_string(),
        "offset": "0",
    });
    fs::write(rest.join("smn_filter_rare.json"), body.to_string())?;
    // The same with two dense filters, whose total_count is counted.
    fs::write(
        rest.join("smn_filter_env_tier.path"),
        format!("/v2/{PROJECT}/{RESOURCE_TYPE}/resource_instances/action"),
    )?;
    let body = serde_json::json!({
        "action": "filter",
        "tags": [{ "key": "env", "values": ["prod"] }, { "key": "tier", "values": ["web"] }],
        "limit": PAGE.to_string(),
        "offset": "0",
    });
    fs::write(rest.join("smn_filter_env_tier.json"), body.to_string())?;

    println!(
        "FILTER_DEEP_PAGE={}\nFILTER_DEEP_ROWS={}",
        deep.page, deep.rows
    );
    Ok(())
}
