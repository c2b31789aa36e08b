use std::process::ExitCode;

use tagging_service::{
    auth::{self, Grant, MasterKey},
    config::{self, Command, CredentialCommand, DatabaseArgs, MasterKeyCommand, TokenCommand},
    startup::{Application, shutdown_signal},
    store::{self, Store},
    telemetry,
};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = config::parse();
    telemetry::init(cli.log_format);
    match run(cli.command).await {
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
        Command::Token { command } => token(command).await,
        Command::Credential { command } => credential(command).await,
        Command::MasterKey {
            command: MasterKeyCommand::Generate,
        } => {
            println!("{}", MasterKey::generate().to_base64());
            Ok(())
        }
    }
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
            database,
        } => {
            let store = open(&database).await?;
            let grant = Grant {
                project_id: project,
                read_only,
                system,
            };
            let (_, token) = auth::create_token(store.as_ref(), &grant).await?;
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
            for t in open(&database).await?.list_tokens().await? {
                let grant = match (t.system, t.read_only) {
                    (true, true) => "system,read-only",
                    (true, false) => "system",
                    (false, true) => "read-only",
                    (false, false) => "read-write",
                };
                let state = if t.revoked { "revoked" } else { "live" };
                println!(
                    "{}\t{}\t{grant}\t{state}\t{}",
                    t.id, t.project_id, t.created_at
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
