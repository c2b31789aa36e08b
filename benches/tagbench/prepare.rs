//! Everything the load phases need, made from the seeded data: the gRPC frames h2load sends (one
//! zero byte, a 4-byte big-endian length, the protobuf bytes), the REST paths wrk asks for, the
//! service's own statements for each call (for pgbench and the SQLite run), and their plans.

use std::{fmt::Write as _, fs, path::PathBuf};

use anyhow::Context;
use clap::Parser;
use prost::Message;
use tagging_service::{
    config::{Cli, Command},
    domain::{KeyFilter, ResourceFilter, Scope, TagRowQuery, Visibility},
    proto::pb,
    store::{
        lookup,
        plan::{self, Positives},
        sql::{self, Matching},
    },
};

use crate::{
    dataset::{self, PROJECT, RESOURCE_TYPE},
    db::{Db, Shape},
    seed::{authed, client},
};

pub const PAGE: i32 = 100;

#[derive(clap::Args)]
pub struct PrepareArgs {
    #[arg(long)]
    url: String,
    #[arg(long, env = "BENCH_TOKEN")]
    token: String,
    #[arg(long)]
    db_url: String,
    /// The page the deep-page phases ask for (the last one when there are fewer).
    #[arg(long, default_value_t = 1000)]
    deep_page: u32,
    #[arg(long)]
    out: PathBuf,
    /// Where the plans go, as `<backend>-<shape>.txt`.
    #[arg(long)]
    explain_dir: PathBuf,
}

/// The gRPC length-prefixed message of `m`, uncompressed.
pub fn frame(m: &impl Message) -> Vec<u8> {
    let body = m.encode_to_vec();
    let len = u32::try_from(body.len()).expect("small message");
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(0);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&body);
    out
}

pub fn list_request(
    ids: Vec<String>,
    tags: Vec<pb::Tag>,
    next_token: String,
) -> pb::ListTagResourcesRequest {
    pb::ListTagResourcesRequest {
        project_id: String::new(),
        resource_type: RESOURCE_TYPE.into(),
        resource_ids: ids,
        tags,
        page_size: PAGE,
        next_token,
        consistency_token: String::new(),
    }
}

/// The visibility of an ordinary (non-system) caller under the default options, reading with a
/// token the server remembers: the statement also confirms the token live, as every read after
/// the token's first call does.
fn visibility(token_id: &str) -> anyhow::Result<Visibility> {
    match Cli::parse_from(["tagging-service", "serve"]).command {
        Command::Serve(args) => Ok(Visibility {
            hidden_prefixes: args.rules()?.reserved_prefixes,
            while_live: Some(token_id.to_owned()),
            at_least: None,
        }),
        _ => anyhow::bail!("`serve` parses as serve"),
    }
}

/// A page deep into a filter: the page number reached, its request token, and the last row
/// (resource id, key) of the page before it, which is the store's cursor.
pub struct Deep {
    pub page: u32,
    pub token: String,
    after: Option<(String, String)>,
    pub rows: usize,
}

/// Pages of this many rows skip ahead while ten or more pages of `PAGE` remain to skip. A page token
/// holds the cursor after the last row sent, whatever the page size that sent it, so ten times
/// fewer calls reach the same page: the walk stays short where a filter costs seconds per call
/// (issue 17's stale statistics).
const STRIDE: i32 = PAGE * 10;

/// Walks the filter `tags` to page `deep_page` of `PAGE` rows (the last page when there are fewer).
pub async fn walk(
    url: &str,
    bearer: &str,
    deep_page: u32,
    tags: &[pb::Tag],
) -> anyhow::Result<Deep> {
    let mut client = client(url).await?;
    let call = |token: String, page_size: i32| pb::ListTagResourcesRequest {
        page_size,
        ..list_request(Vec::new(), tags.to_vec(), token)
    };
    let (page_rows, stride_rows) = (
        u64::from(PAGE.unsigned_abs()),
        u64::from(STRIDE.unsigned_abs()),
    );
    let skip = u64::from(deep_page.saturating_sub(1)) * page_rows;
    let (mut skipped, mut token, mut after) = (0, String::new(), None);
    while skipped < skip {
        let size = if skip - skipped >= stride_rows {
            STRIDE
        } else {
            PAGE
        };
        let answer = client
            .list_tag_resources(authed(call(token.clone(), size), bearer)?)
            .await?
            .into_inner();
        if answer.next_token.is_empty() {
            break;
        }
        let last = answer
            .tag_resources
            .last()
            .context("a full page has rows")?;
        after = Some((last.resource_id.clone(), last.tag_key.clone()));
        skipped += answer.tag_resources.len() as u64;
        token = answer.next_token;
    }
    let rows = client
        .list_tag_resources(authed(call(token.clone(), PAGE), bearer)?)
        .await?
        .into_inner()
        .tag_resources
        .len();
    Ok(Deep {
        page: u32::try_from(skipped / page_rows + 1)?,
        token,
        after,
        rows,
    })
}

pub async fn run(args: PrepareArgs) -> anyhow::Result<()> {
    let db = Db::open(&args.db_url, 2).await?;
    let lookup = lookup(&args.db_url);
    let backend = match db {
        Db::Postgres(_) => "postgres",
        Db::Sqlite(_) => "sqlite",
    };
    let scope = Scope {
        project_id: PROJECT.into(),
        resource_type: RESOURCE_TYPE.into(),
    };
    let token_id = args
        .token
        .split('_')
        .nth(1)
        .context("a token is tgs_<id>_<secret>")?;
    let vis = visibility(token_id)?;
    let limit = u32::try_from(PAGE + 1).expect("small");
    let mut shapes = Vec::new();
    let mut frames: Vec<(String, Vec<u8>)> = vec![(
        "health".into(),
        frame(&tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        }),
    )];
    let mut env = String::new();

    let one = dataset::one_id();
    shapes.push(Shape::new(
        "list_resource_tags",
        &sql::resource_tags(&scope, "resource_id", &one, &vis),
    ));
    frames.push((
        "list_resource_tags".into(),
        frame(&pb::ListResourceTagsRequest {
            project_id: String::new(),
            resource_type: RESOURCE_TYPE.into(),
            resource_id: one.clone(),
            resource_id_type: 0,
            consistency_token: String::new(),
        }),
    ));
    writeln!(env, "SMN_PATH='/v2/{PROJECT}/{RESOURCE_TYPE}/{one}/tags'")?;

    let ids = dataset::some_ids();
    let by_ids = TagRowQuery {
        resource_ids: ids.clone(),
        tags: Vec::new(),
    };
    shapes.push(Shape::new(
        "by_ids",
        &sql::named_tag_rows(&scope, &by_ids, &vis, None, limit),
    ));
    frames.push((
        "by_ids".into(),
        frame(&list_request(ids.clone(), Vec::new(), String::new())),
    ));
    let ack_query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("resource_type", RESOURCE_TYPE)
        .append_pair("resource_ids", &serde_json::to_string(&ids)?)
        .append_pair("page_size", &PAGE.to_string())
        .finish();
    writeln!(env, "ACK_PATH='/tags?{ack_query}'")?;

    for n in [1, 2] {
        let tags = dataset::filter(n);
        let filter = ResourceFilter {
            all: tags
                .iter()
                .map(|t| KeyFilter {
                    key: t.key.clone(),
                    values: vec![t.value.clone()],
                })
                .collect(),
            ..ResourceFilter::default()
        };
        // The counts statement the store runs first, then the statement of the plan they choose.
        let positives = Positives::of(&filter);
        let counts = db
            .counts(&sql::filter_counts(&scope, positives.counted(), &vis))
            .await?;
        let m = Matching {
            scope: &scope,
            filter: &filter,
            plan: plan::choose(positives, None, Some(&counts)),
            visibility: &vis,
        };
        let first = format!("tag{n}_p1");
        shapes.push(Shape::new(&first, &sql::tag_rows(&m, None, limit, lookup)));
        frames.push((
            first,
            frame(&list_request(Vec::new(), tags.clone(), String::new())),
        ));

        let deep = walk(&args.url, &args.token, args.deep_page, &tags).await?;
        let after = match &deep.after {
            Some((id, key)) => Some((
                db.resource_pk(PROJECT, RESOURCE_TYPE, id).await?,
                key.as_str(),
            )),
            None => None,
        };
        let name = format!("tag{n}_deep");
        shapes.push(Shape::new(&name, &sql::tag_rows(&m, after, limit, lookup)));
        frames.push((
            name,
            frame(&list_request(Vec::new(), tags, deep.token.clone())),
        ));
        writeln!(
            env,
            "DEEP_PAGE_TAG{n}={}\nDEEP_ROWS_TAG{n}={}",
            deep.page, deep.rows
        )?;
    }

    for dir in ["frames", "sql"] {
        fs::create_dir_all(args.out.join(dir))?;
    }
    fs::create_dir_all(&args.explain_dir)?;
    for (name, bytes) in &frames {
        fs::write(args.out.join("frames").join(format!("{name}.bin")), bytes)?;
    }
    for shape in &shapes {
        fs::write(
            args.out.join("sql").join(format!("{}.sql", shape.name)),
            format!("{};\n", shape.pgbench_text()),
        )?;
        fs::write(
            args.out.join("sql").join(format!("{}.vars", shape.name)),
            pgbench_vars(shape, "p"),
        )?;
        let plan = db
            .explain(shape)
            .await
            .with_context(|| format!("explaining {}", shape.name))?;
        fs::write(
            args.explain_dir
                .join(format!("{backend}-{}.txt", shape.name)),
            plan,
        )?;
    }
    fs::write(
        args.out.join("shapes.json"),
        serde_json::to_vec_pretty(&shapes)?,
    )?;
    fs::write(args.out.join("paths.env"), &env)?;
    print!("{env}");
    Ok(())
}

/// `-D` arguments for pgbench, one `name=value` a line.
fn pgbench_vars(shape: &Shape, prefix: &str) -> String {
    shape
        .args
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            crate::db::Value::Int(n) => format!("{prefix}{}={n}\n", i + 1),
            crate::db::Value::Text(s) => format!("{prefix}{}={s}\n", i + 1),
        })
        .collect()
}
