//! `ovice-slack-bench backlog`: does ingest slow down when the outbox holds a backlog? The same
//! closed-loop ingest, first on an (almost) empty outbox, then after `pending` due deliveries were
//! added straight into the `deliveries` table (what an all-hands burst leaves behind while Slack's
//! limits pace it out), with the delivery workers running as always.

use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use crate::{
    load::closed_loop,
    office::{self, ServeConfig, Tokens, person},
    process::connections,
    slack::{self, SlackProcess},
};

const INSERT: &str = "INSERT INTO deliveries (delivery_id, org_id, message_id, space_id, space_name, \
     sender_user_id, sender_name, sender_role, recipient_user_id, text, link_url, sent_at, status, \
     next_attempt_at, created_at, updated_at) VALUES ($1, 'org-1', $2, 'space-1', 'Tokyo Office', \
     'host0001', 'Hana Host', 'member', $3, $4, $5, $6, 'pending', $6, $6, $6)";

async fn add_backlog(url: &SecretString, pending: usize, recipients: usize) -> anyhow::Result<()> {
    let db = ovice_slack_runtime::db::Database::connect(url, 1).await?;
    let now = chrono::Utc::now().timestamp_millis();
    macro_rules! fill {
        ($pool:expr) => {{
            let mut tx = $pool.begin().await?;
            for i in 0..pending {
                let id = format!("backlog-{i:07}");
                sqlx::query(INSERT)
                    .bind(uuid::Uuid::now_v7().to_string())
                    .bind(&id)
                    .bind(person(i % recipients))
                    .bind(format!("[{id}] a message of the burst"))
                    .bind(format!("https://app.ovice.example/space-1/chat/{id}"))
                    .bind(now + i as i64)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }};
    }
    match &db {
        ovice_slack_runtime::db::Database::Sqlite(pool) => fill!(pool),
        ovice_slack_runtime::db::Database::Postgres(pool) => fill!(pool),
    }
    db.close().await;
    Ok(())
}

pub struct Experiment {
    pub postgres: bool,
    pub pending: usize,
    pub recipients: usize,
    pub concurrency: usize,
    pub connections: usize,
    pub measure: Duration,
}

pub async fn run(bin: &std::path::Path, e: Experiment) -> anyhow::Result<()> {
    let work = std::env::temp_dir().join(format!("ovice-slack-backlog-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work)?;
    let result = run_in(bin, &e, &work).await;
    let _ = std::fs::remove_dir_all(&work);
    result
}

async fn run_in(bin: &std::path::Path, e: &Experiment, work: &std::path::Path) -> anyhow::Result<()> {
    let slack = SlackProcess::start(&slack::binary_beside(bin), &office::seed(e.recipients), work).await?;
    let tokens = Tokens::new()?;
    let url = if e.postgres {
        ovice_slack_runtime::test_support::fresh_postgres_database().await?
    } else {
        SecretString::from(format!("sqlite://{}/ovice-slack.db", work.display()))
    };
    let config = ServeConfig {
        bin: bin.to_owned(),
        dir: work.to_owned(),
        database_url: url.expose_secret().to_owned(),
        extra: Vec::new(),
    };
    let mut runs = Vec::new();
    for (round, label) in ["empty outbox", "with backlog"].into_iter().enumerate() {
        if round == 1 {
            add_backlog(&url, e.pending, e.recipients)
                .await
                .context("adding the backlog")?;
        }
        let server = office::start_server(&config, &slack, &format!("backlog-{round}")).await?;
        if round == 0 {
            office::set_up_org(&server, &slack, &tokens, 0..e.recipients, 16).await?;
        }
        let channels = connections(server.process.grpc, e.connections).await?;
        let call = office::publish_caller(channels, tokens.platform()?, format!("r{round}"), e.recipients);
        let m = closed_loop(call, e.concurrency, Duration::from_secs(1), e.measure).await;
        println!(
            "{label:>13}: {:.0} ACCEPTED/s, p50 {:.1} ms, p99 {:.1} ms, per second {:?}, errors {:?}",
            m.rate(),
            m.ms(0.5),
            m.ms(0.99),
            m.per_second,
            m.errors
        );
        runs.push(m.rate());
        server.process.kill();
    }
    if let [empty, backlog] = runs[..] {
        println!(
            "{} pending deliveries cost {:.0} % of the ingest rate ({})",
            e.pending,
            (1.0 - backlog / empty) * 100.0,
            if e.postgres { "PostgreSQL" } else { "SQLite" }
        );
    }
    slack.stop().await;
    Ok(())
}
