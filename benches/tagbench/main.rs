//! The benchmark's helper, driven by `bench/run.sh`: seeds a dataset through the service's own
//! bulk path, writes the request bodies h2load sends (gRPC frames of the real prost types) and the
//! service's own SQL for pgbench, records query plans, and measures SQLite's own rate; and the
//! requests of the tag-filter phases (`bench/filters.sh`).

mod dataset;
mod db;
mod explain;
mod filters;
mod prepare;
mod seed;
mod watch;

use clap::{Parser, Subcommand};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Tags `--resources` resources with `--tags-per-resource` tags each, through `TagResources`.
    Seed(seed::SeedArgs),
    /// Writes frames, REST paths, SQL scripts and query plans for the measured calls into `--out`.
    Prepare(prepare::PrepareArgs),
    /// Writes the frames and REST requests of the tag-filter calls of issue 17 into `--out`.
    Filters(filters::FiltersArgs),
    /// Runs each prepared statement on the database alone (the SQLite analogue of pgbench).
    Dbbench(db::DbbenchArgs),
    /// Writes the plans of the tag-filter shapes, as the store chooses and builds them.
    Explain(explain::ExplainArgs),
    /// Times writes from their call to a watcher receiving them (issue 14).
    WatchLatency(watch::LatencyArgs),
    /// Opens many watchers and reads the server's memory and CPU, idle and fanning out.
    Watchers(watch::WatchersArgs),
    /// Prints the service's PostgreSQL planner settings as `PGOPTIONS`, for pgbench.
    PlannerOptions,
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; a run without a subcommand (plain `cargo bench`) does nothing.
    let argv: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    if argv.len() < 2 {
        eprintln!("tagbench: run through bench/run.sh");
        return Ok(());
    }
    let cli = Cli::parse_from(argv);
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        match cli.command {
            Command::Seed(args) => seed::run(args).await,
            Command::Prepare(args) => prepare::run(args).await,
            Command::Filters(args) => filters::run(args).await,
            Command::Dbbench(args) => db::dbbench(args).await,
            Command::Explain(args) => explain::run(args).await,
            Command::WatchLatency(args) => watch::latency(args).await,
            Command::Watchers(args) => watch::watchers(args).await,
            Command::PlannerOptions => {
                let options: Vec<String> = tagging_service::store::PLANNER_SETTINGS
                    .iter()
                    .map(|(name, value)| format!("-c {name}={value}"))
                    .collect();
                println!("{}", options.join(" "));
                Ok(())
            }
        }
    })
}
