//! `migrate`: runs every service's migrations once (e.g. a Kubernetes Job before a rollout).

use ovice_slack_runtime::db::Database;

use crate::{cli::MigrateArgs, secrets};

pub async fn main(args: MigrateArgs) -> anyhow::Result<()> {
    let url = secrets::database_url(&args.database, &args.data, true)?;
    let db = Database::connect(&url, 2).await?;
    integration_config::store::open(&db).await?;
    account_links::store::open(&db).await?;
    delivery::store::open(&db).await?;
    ovice_slack_revocation::store::open(&db).await?;
    ovice_slack_events::store::open(&db).await?;
    println!("migrations applied ({})", db.backend_name());
    db.close().await;
    Ok(())
}

/// `reseal-tokens`: every stored Slack token sealed with the active key.
pub async fn reseal(args: crate::cli::ResealArgs) -> anyhow::Result<()> {
    let url = secrets::database_url(&args.database, &args.data, true)?;
    let cipher = secrets::token_cipher(&args.encryption, &args.data, true)?;
    let db = Database::connect(&url, 2).await?;
    let bots = integration_config::reseal_tokens(&db, &cipher).await?;
    let users = account_links::reseal_tokens(&db, &cipher).await?;
    println!(
        "re-sealed {bots} bot token(s) and {users} user token(s) with key `{}`",
        cipher.active_key_id()
    );
    db.close().await;
    Ok(())
}
