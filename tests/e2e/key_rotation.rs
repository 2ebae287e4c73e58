//! Rotating the token encryption key end to end: add a new key first, re-seal every stored token
//! with `ovice-slack reseal-tokens`, retire the old key — and the org's bot token and the members'
//! user tokens keep working throughout.

use ovice_slack_proto::v1::{
    GetBotCredentialsRequest, ResolveSlackUsersRequest,
    account_link_service_client::AccountLinkServiceClient,
    integration_config_service_client::IntegrationConfigServiceClient,
};
use ovice_slack_runtime::db::Database;
use secrecy::SecretString;
use slack_emulator::Emulator;

use crate::{
    delivery_processes::{REDIRECT, seed, set_up_org, users},
    support::process::channel,
    support::{
        Who,
        process::{ServeProcess, command},
        server::{TEST_CLIENT_ID, TEST_CLIENT_SECRET},
        tokens::{PROCESS_KEYS, TEST_JWT_SECRET, authed},
    },
};

const OLD: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const NEW: &str = "k2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

fn serve(db: &str, keys: &str, slack: &slack_emulator::EmulatorHandle) -> ServeProcess {
    ServeProcess::start(&[
        "--database-url",
        db,
        "--jwt-secret",
        TEST_JWT_SECRET,
        "--service-keys-file",
        &PROCESS_KEYS.key_set(),
        "--encryption-keys",
        keys,
        "--api-base-url",
        slack.api_url().as_str(),
        "--authorize-url",
        slack.authorize_url().as_str(),
        "--slack-client-id",
        TEST_CLIENT_ID,
        "--slack-client-secret",
        TEST_CLIENT_SECRET,
        "--oauth-redirect-url",
        REDIRECT,
    ])
}

/// The tokens the project's services read: the bot token and Alice's user token.
async fn tokens(process: &ServeProcess) -> (String, String) {
    let bot = IntegrationConfigServiceClient::new(channel(&process.grpc_addr).await)
        .get_bot_credentials(authed(
            GetBotCredentialsRequest {
                org_id: "org-1".into(),
            },
            &Who::Service,
        ))
        .await
        .unwrap()
        .into_inner()
        .access_token;
    let user = AccountLinkServiceClient::new(channel(&process.grpc_addr).await)
        .resolve_slack_users(authed(
            ResolveSlackUsersRequest {
                org_id: "org-1".into(),
                user_ids: vec!["alice".into()],
                include_user_tokens: true,
                ..Default::default()
            },
            &Who::Service,
        ))
        .await
        .unwrap()
        .into_inner()
        .users
        .remove(0)
        .user_access_token;
    (bot, user)
}

async fn key_ids(db: &str) -> Vec<String> {
    let Database::Sqlite(pool) = Database::connect(&SecretString::from(db.to_owned()), 1)
        .await
        .unwrap()
    else {
        unreachable!()
    };
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT token_key_id FROM slack_workspaces UNION ALL SELECT token_key_id FROM slack_links",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows.into_iter().map(|r| r.0).collect()
}

fn reseal(db: &str, keys: &str) -> String {
    let out = command(&["reseal-tokens", "--database-url", db, "--encryption-keys", keys])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn add_a_key_reseal_and_retire_the_old_one() {
    let slack = Emulator::start(seed()).await.unwrap();
    assert!(slack.add_redirect_uri(TEST_CLIENT_ID, REDIRECT));
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/ovice-slack.db", dir.path().display());

    let process = serve(&db, OLD, &slack);
    set_up_org(&process, &users()[..1], true).await;
    let before = tokens(&process).await;
    assert_eq!(before.0, "xoxb-acme-good");
    assert!(before.1.starts_with("xoxp-"));
    process.stop();
    assert_eq!(key_ids(&db).await, ["k1", "k1"]);

    // Step 1: the new key goes first; old tokens still open with the old key.
    let rotated = format!("{NEW},{OLD}");
    let process = serve(&db, &rotated, &slack);
    assert_eq!(tokens(&process).await, before);
    // Step 2: re-seal while serving.
    assert_eq!(
        reseal(&db, &rotated).trim(),
        "re-sealed 1 bot token(s) and 1 user token(s) with key `k2`"
    );
    assert_eq!(key_ids(&db).await, ["k2", "k2"]);
    assert_eq!(tokens(&process).await, before);
    process.stop();
    assert!(reseal(&db, &rotated).starts_with("re-sealed 0 bot token(s) and 0 user token(s)"));

    // Step 3: the old key is retired; everything still opens.
    let process = serve(&db, NEW, &slack);
    assert_eq!(tokens(&process).await, before);
    process.stop();

    // And a process that only knows the retired key cannot read them (it says so, without the token).
    let process = serve(&db, OLD, &slack);
    let err = IntegrationConfigServiceClient::new(channel(&process.grpc_addr).await)
        .get_bot_credentials(authed(
            GetBotCredentialsRequest {
                org_id: "org-1".into(),
            },
            &Who::Service,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Internal);
    assert!(!err.message().contains("xoxb"), "{}", err.message());
    process.stop();
    slack.shutdown().await;
}
