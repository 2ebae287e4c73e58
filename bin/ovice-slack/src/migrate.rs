//! `migrate`: runs every service's migrations once (e.g. a Kubernetes Job before a rollout).

use ovice_slack_runtime::db::Database;

use crate::{cli::MigrateArgs, secrets};

pub async fn main(args: MigrateArgs) -> anyhow::Result<()> {
    let url = secrets::database_url(&args.database, &args.data, true)?;
    let db = Database::connect(&url, 2).await?;
    integration_config::store::open(&db).await?;
    account_links::store::open(&db).await?;
    delivery::store::open(&db).await?;
    println!("migrations applied ({})", db.backend_name());
    db.close().await;
    Ok(())
}
