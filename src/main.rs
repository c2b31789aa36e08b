use std::process::ExitCode;

use tagging_service::{
    auth::{self, Grant, MasterKey, TokenLife},
    config::{
        self, Command, CredentialCommand, DatabaseArgs, MasterKeyArgs, MasterKeyCommand,
        TokenCommand, rfc3339,
    },
    startup::{Application, shutdown_signal},
    store::{self, Store},
    telemetry::{
        self,
        traces::{self, TraceSettings},
    },
};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = config::parse();
    // Only the server traces its calls.
    let traces = match &cli.command {
        Command::Serve(_) => TraceSettings::read(|name| std::env::var(name).ok()),
        _ => Ok(None),
    };
    let traces = match traces {
        Ok(traces) => traces,
        Err(e) => {
            eprintln!("tagging-service: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init(cli.log_format, traces.is_some());
    let outcome = match traces.map(traces::start).transpose() {
        Ok(_) => run(cli.command).await,
        Err(e) => Err(e),
    };
    traces::shutdown().await;
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tagging-service: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => {
            Application::build(&args)
                .await?
                .run_until_stopped(shutdown_signal())
                .await
        }
        Command::Migrate(db) => {
            open(&db).await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Backup { output, database } => {
            store::backup(&database.database_url, &output).await?;
            eprintln!("backup written to {}", output.display());
            Ok(())
        }
        Command::Token { command } => token(command).await,
        Command::Credential { command } => credential(command).await,
        Command::MasterKey {
            command: MasterKeyCommand::Generate,
        } => {
            println!("{}", MasterKey::generate().to_base64());
            Ok(())
        }
        Command::MasterKey {
            command:
                MasterKeyCommand::Rotate {
                    new_master_key_file,
                    master_key,
                    database,
                },
        } => rotate(&new_master_key_file, &master_key, &database).await,
    }
}

async fn rotate(
    new_key_file: &std::path::Path,
    current: &MasterKeyArgs,
    db: &DatabaseArgs,
) -> anyhow::Result<()> {
    let Some(current) = current.load()? else {
        anyhow::bail!(
            "the current master key is required: set TAGGING_MASTER_KEY or --master-key-file"
        );
    };
    let new = MasterKeyArgs {
        master_key_file: Some(new_key_file.to_owned()),
        master_key: None,
    }
    .load()
    .map_err(|e| anyhow::anyhow!("--new-master-key-file: {e:#}"))?
    .expect("a key file was given");
    let sealed = auth::rotate_master_key(open(db).await?.as_ref(), &current, &new).await?;
    eprintln!(
        "{sealed} access key secrets sealed under the new master key; restart the servers with it"
    );
    Ok(())
}

async fn open(db: &DatabaseArgs) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    store::connect(&db.database_url, &db.pool()).await
}

async fn token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            project,
            read_only,
            system,
            name,
            expires_in,
            database,
        } => {
            let store = open(&database).await?;
            let grant = Grant {
                project_id: project,
                read_only,
                system,
            };
            let life = TokenLife { name, expires_in };
            let (_, token) = auth::create_named_token(store.as_ref(), &grant, &life).await?;
            println!("{token}");
        }
        TokenCommand::Revoke { id, database } => {
            let store = open(&database).await?;
            if !auth::revoke_token(store.as_ref(), &id).await? {
                anyhow::bail!("no live token with id `{id}`");
            }
            eprintln!("revoked");
        }
        TokenCommand::List { database } => {
            let now = auth::unix_now();
            println!("ID\tPROJECT\tGRANT\tSTATE\tCREATED\tEXPIRES\tNAME");
            for t in open(&database).await?.list_tokens().await? {
                let grant = match (t.system, t.read_only) {
                    (true, true) => "system,read-only",
                    (true, false) => "system",
                    (false, true) => "read-only",
                    (false, false) => "read-write",
                };
                let state = match (t.revoked, t.live_at(now)) {
                    (true, _) => "revoked",
                    (false, false) => "expired",
                    (false, true) => "live",
                };
                let expires = t.expires_at.map_or_else(|| "never".to_owned(), rfc3339);
                println!(
                    "{}\t{}\t{grant}\t{state}\t{}\t{expires}\t{}",
                    t.id,
                    t.project_id,
                    rfc3339(t.created_at),
                    t.name
                );
            }
        }
    }
    Ok(())
}

async fn credential(command: CredentialCommand) -> anyhow::Result<()> {
    match command {
        CredentialCommand::Create {
            project,
            read_only,
            master_key,
            database,
        } => {
            let Some(master) = master_key.load()? else {
                anyhow::bail!(
                    "a master key is required to seal the secret: set TAGGING_MASTER_KEY or --master-key-file (`tagging-service master-key generate` makes one)"
                );
            };
            let store = open(&database).await?;
            let grant = Grant {
                project_id: project,
                read_only,
                system: false,
            };
            let (id, secret) = auth::create_access_key(store.as_ref(), &master, &grant).await?;
            println!("{id} {secret}");
        }
        CredentialCommand::Revoke { id, database } => {
            let store = open(&database).await?;
            if !auth::revoke_access_key(store.as_ref(), &id).await? {
                anyhow::bail!("no live access key with id `{id}`");
            }
            eprintln!("revoked");
        }
        CredentialCommand::List { database } => {
            for k in open(&database).await?.list_access_keys().await? {
                let grant = if k.read_only {
                    "read-only"
                } else {
                    "read-write"
                };
                let state = if k.revoked { "revoked" } else { "live" };
                println!(
                    "{}\t{}\t{grant}\t{state}\t{}",
                    k.id, k.project_id, k.created_at
                );
            }
        }
    }
    Ok(())
}
