//! The plans of issue 17's filter shapes on a seeded database, as the store makes them: the counts
//! statement's answer, the plan `store::plan` chooses from it, the statement `store::sql` builds
//! for it (in the backend's form, see `sql::Lookup`), and the database's plan of that statement (on PostgreSQL
//! executed, custom and generic, with the service's planner settings), into
//! `<explain-dir>/<backend>-filter_<shape>.txt`. With the filter postings on (the default), the
//! count and the two negations are answered from sets of resources instead: their statements
//! here are what `--filter-postings-mb 0` runs, and the statements that read and update the sets
//! are in `<backend>-postings_<what>.txt`.

use std::path::PathBuf;

use tagging_service::{
    domain::{KeyFilter, ResourceFilter, Scope, Visibility},
    store::{
        lookup,
        plan::{self, Positives},
        postings::Term,
        sql::{self, Matching, Sql},
    },
};

use crate::{
    dataset::{PROJECT, RESOURCE_TYPE},
    db::{Db, Shape},
};

#[derive(clap::Args)]
pub struct ExplainArgs {
    #[arg(long)]
    db_url: String,
    #[arg(long)]
    explain_dir: PathBuf,
}

/// Which statement of a filtered read.
#[derive(Clone, Copy)]
enum Read {
    TagRows,
    Resources,
    Count,
}

fn kf(key: &str, values: &[&str]) -> KeyFilter {
    KeyFilter {
        key: key.into(),
        values: values.iter().map(|v| (*v).into()).collect(),
    }
}

fn shapes() -> Vec<(&'static str, Read, ResourceFilter)> {
    let all = |filters| ResourceFilter {
        all: filters,
        ..ResourceFilter::default()
    };
    vec![
        ("ltr_rare", Read::TagRows, all(vec![kf("rare", &["yes"])])),
        ("ltr_rare_key", Read::TagRows, all(vec![kf("rare", &[])])),
        (
            "ltr_env_rare",
            Read::TagRows,
            all(vec![kf("env", &["prod"]), kf("rare", &["yes"])]),
        ),
        ("ltr_env", Read::TagRows, all(vec![kf("env", &["prod"])])),
        ("lr_rare_key", Read::Resources, all(vec![kf("rare", &[])])),
        (
            "lr_any",
            Read::Resources,
            ResourceFilter {
                any: vec![kf("rare", &["yes"]), kf("env", &["nosuch"])],
                ..ResourceFilter::default()
            },
        ),
        (
            "lr_env_not_web",
            Read::Resources,
            ResourceFilter {
                all: vec![kf("env", &["prod"])],
                not_any: vec![kf("tier", &["web"])],
                ..ResourceFilter::default()
            },
        ),
        (
            "lr_not_env",
            Read::Resources,
            ResourceFilter {
                not_all: vec![kf("env", &["prod"])],
                ..ResourceFilter::default()
            },
        ),
        (
            "count_env_tier",
            Read::Count,
            all(vec![kf("env", &["prod"]), kf("tier", &["web"])]),
        ),
    ]
}

pub async fn run(args: ExplainArgs) -> anyhow::Result<()> {
    let db = Db::open(&args.db_url, 2).await?;
    let backend = if args.db_url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    };
    let lookup = lookup(&args.db_url);
    let scope = Scope {
        project_id: PROJECT.into(),
        resource_type: RESOURCE_TYPE.into(),
    };
    let vis = Visibility {
        hidden_prefixes: vec!["acs:".into(), "aliyun".into(), "_sys_".into()],
        while_live: None,
        at_least: None,
    };
    for (name, read, filter) in shapes() {
        let positives = Positives::of(&filter);
        let counts = db
            .counts(&sql::filter_counts(&scope, positives.counted(), &vis))
            .await?;
        let mut chosen = plan::choose(positives, None, Some(&counts));
        if let Read::Count = read {
            chosen = plan::for_count(chosen, positives, Some(&counts));
        }
        let m = Matching {
            scope: &scope,
            filter: &filter,
            plan: chosen,
            visibility: &vis,
        };
        let statement: Sql<'_> = match read {
            Read::TagRows => sql::tag_rows(&m, None, 101, lookup),
            Read::Resources => sql::resources(&m, None, 100, lookup),
            Read::Count => sql::count_resources(&m),
        };
        let name = format!("filter_{name}");
        // The settings the store runs a merging count under, on PostgreSQL.
        let settings =
            (backend == "postgres" && !chosen.joined.is_empty()).then_some(sql::MERGE_SETTINGS);
        let plan_text = db
            .explain_with(&Shape::new(&name, &statement), settings)
            .await?;
        let text = format!("-- counts: {counts:?}\n-- plan chosen: {chosen:?}\n{plan_text}");
        std::fs::write(args.explain_dir.join(format!("{backend}-{name}.txt")), text)?;
    }
    postings(&db, backend, &scope, &args.explain_dir).await
}

/// The statements of the filter postings: a set read whole (a pair, the scope's resources), the
/// log replayed since a set's revision, and a page's resources by internal id.
async fn postings(
    db: &Db,
    backend: &str,
    scope: &Scope,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    let prod = Term::Pair("env".into(), "prod".into());
    let pks: Vec<i64> = (1..=100).map(|i| i * 8).collect();
    let statements = [
        ("set_env_prod", sql::posting_set(scope, &prod)),
        ("set_resources", sql::posting_set(scope, &Term::Resources)),
        ("replay", sql::posting_replay(scope, (0, 10), 50_001)),
        ("by_pk", sql::resources_by_pk(scope, &pks, lookup(backend))),
    ];
    for (name, statement) in statements {
        let name = format!("postings_{name}");
        let plan = db.explain(&Shape::new(&name, &statement)).await?;
        std::fs::write(dir.join(format!("{backend}-{name}.txt")), plan)?;
    }
    Ok(())
}
