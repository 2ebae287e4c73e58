//! `ovice-slack demo`: the embedded default together with a local Slack (the emulator) in one process,
//! so a newcomer can walk the whole help page with no Slack app: set up the workspace, Connect on the
//! consent page, publish a direct message, and see it on the emulator's page as the recipient would.

use std::net::SocketAddr;

use anyhow::Context;
use ovice_slack_runtime::{data_dir, shutdown, telemetry};
use secrecy::SecretString;
use slack_emulator::{Emulator, Seed};
use url::Url;

use crate::{
    cli::{DemoArgs, ServeArgs},
    serve::{self, Listeners, Resolved},
};

/// The demo seed's Connect app (the operator's distributed app, in the emulator).
const DEMO_CLIENT_ID: &str = "111.222";
const DEMO_CLIENT_SECRET: &str = "emulator-secret";
/// The demo's own database in the data directory, started afresh each time: the emulator keeps its
/// world in memory, so links and tokens from an earlier run would point at nothing.
const DEMO_DATABASE_FILE: &str = "demo.db";

pub async fn main(demo: DemoArgs) -> anyhow::Result<()> {
    ovice_slack_runtime::install_crypto_providers();
    let _telemetry = telemetry::init(&demo.serve.telemetry, "ovice-slack")?;
    let shutdown = shutdown::on_signal();
    anyhow::ensure!(
        demo.serve.target.is_all(),
        "the demo runs every service in one process: leave out --target (OVICE_SLACK_TARGET)"
    );
    anyhow::ensure!(
        demo.serve.database.database_url.is_none() && demo.serve.database.database_url_file.is_none(),
        "the demo keeps its own database ({DEMO_DATABASE_FILE} in the data directory): leave out \
         --database-url (OVICE_SLACK_DATABASE_URL)"
    );
    // Every configuration error before a port is bound, as for `serve`.
    Resolved::from_args(demo_args(
        &demo.serve,
        demo.slack_listen,
        demo.serve.server.http_listen,
    )?)?;

    let slack = Emulator::bind(Seed::demo(), demo.slack_listen)
        .await
        .with_context(|| format!("cannot listen on {} for the local Slack", demo.slack_listen))?;
    tracing::info!(addr = %slack.local_addr(), "local Slack listening");
    let listeners = Listeners::bind(&demo.serve).await?;
    let grpc_addr = listeners.grpc.local_addr()?;
    let http_addr = listeners.http.local_addr()?;
    // The addresses actually bound (a port of 0 picks one), so the Slack URLs and the consent page's
    // redirect point where things really are.
    let args = demo_args(&demo.serve, slack.local_addr(), http_addr)?;
    if let Some(redirect) = &args.slack.oauth_redirect_url {
        slack.add_redirect_uri(DEMO_CLIENT_ID, redirect.as_str());
    }
    // The local Slack sends the Connect app's events (a person removing the app, a changed email)
    // to this process, signed with the demo app's signing secret.
    slack.set_event_url(DEMO_CLIENT_ID, &format!("http://{http_addr}/slack/events"));
    remove_demo_database(&args)?;
    let config = Resolved::from_args(args)?;
    print_banner(&demo, grpc_addr, http_addr, slack.local_addr());
    let result = serve::run_resolved(config, listeners, shutdown).await;
    slack.shutdown().await;
    result
}

/// `serve`'s arguments with every Slack URL pointed at the local Slack and the demo's own database.
fn demo_args(serve: &ServeArgs, slack: SocketAddr, http: SocketAddr) -> anyhow::Result<ServeArgs> {
    let mut args = serve.clone();
    let base = Url::parse(&format!("http://{slack}/"))?;
    args.slack.api_base_url = base.join("api/")?;
    args.slack.authorize_url = base.join("oauth/v2/authorize")?;
    args.slack.slack_client_id = Some(DEMO_CLIENT_ID.to_owned());
    args.slack.slack_client_secret = Some(SecretString::from(DEMO_CLIENT_SECRET));
    args.slack.slack_client_secret_file = None;
    args.slack.slack_signing_secret = Some(SecretString::from(slack_emulator::DEMO_SIGNING_SECRET));
    args.slack.slack_signing_secret_file = None;
    args.slack.oauth_redirect_url = Some(Url::parse(&format!("http://{http}/oauth/slack/callback"))?);
    let db = args.data.data_dir.join(DEMO_DATABASE_FILE);
    args.database.database_url = Some(SecretString::from(format!("sqlite://{}", db.display())));
    Ok(args)
}

fn remove_demo_database(args: &ServeArgs) -> anyhow::Result<()> {
    let dir = &args.data.data_dir;
    data_dir::ensure_dir(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    for suffix in ["", "-wal", "-shm"] {
        let path = dir.join(format!("{DEMO_DATABASE_FILE}{suffix}"));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", path.display())),
        }
    }
    Ok(())
}

fn print_banner(demo: &DemoArgs, grpc: SocketAddr, http: SocketAddr, slack: SocketAddr) {
    let data = demo.serve.data.data_dir.display();
    println!(
        "\
ovice-slack demo: every service and a local Slack in one process; nothing reaches slack.com.
ovice-slack デモ: 全サービスとローカルの Slack を 1 プロセスで起動します (slack.com には接続しません)。

  gRPC, every service      {grpc}         grpcurl -plaintext {grpc} list
  HTTP (callback, events)  http://{http}/
  Slack (the emulator)     http://{slack}/
      open it in a browser to see each person's Slack direct messages
      ブラウザで開くと、各メンバーが Slack で受け取った DM が見られます

  Slack workspace  Acme (acme.slack.com, team T0ACME), bot token xoxb-acme-good
  people           alice@acme.test, bob@acme.test, carol@acme.test
  Connect app      client id {DEMO_CLIENT_ID}, redirect http://{http}/oauth/slack/callback,
                   events http://{http}/slack/events
  data             {data}/{DEMO_DATABASE_FILE} (new at every start), secrets in {data}

Next: README.md, \"Try it: the demo\": set up the org's workspace, connect Alice, send her a DM.
次の手順: README.md の「Try it: the demo」: ワークスペース設定、Alice の連携、DM の送信。
Stop with Ctrl-C. / Ctrl-C で停止します。"
    );
}
