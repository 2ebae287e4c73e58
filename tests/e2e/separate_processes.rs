//! The Kubernetes form on one machine: each target its own process, reaching its peers by address and
//! talking protobuf over gRPC with service tokens, on one PostgreSQL database.

use ovice_slack_proto::v1::{
    BeginSlackConnectRequest, ConnectionState, GetSlackConnectionRequest, PutSlackWorkspaceRequest,
    account_link_service_client::AccountLinkServiceClient,
    integration_config_service_client::IntegrationConfigServiceClient,
};
use ovice_slack_runtime::test_support::fresh_postgres_database;
use secrecy::ExposeSecret;
use slack_emulator::{Emulator, Seed};

use crate::{
    account_linking::ALICE,
    support::process::channel,
    support::{
        Who,
        consent::{Consent, Decision},
        process::{ServeProcess, command},
        server::{TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_ENCRYPTION_KEYS},
        tokens::{PROCESS_KEYS, TEST_JWT_SECRET, authed},
    },
};

#[tokio::test(flavor = "multi_thread")]
async fn account_links_reaches_integration_config_over_the_network() {
    let slack = Emulator::start(Seed::demo()).await.unwrap();
    let api = slack.api_url().to_string();
    let authorize = slack.authorize_url().to_string();
    // The public callback URL sits behind an ingress in production; here it is only a registered name.
    let redirect = "http://callback.ovice-slack.test/oauth/slack/callback";
    assert!(slack.add_redirect_uri(TEST_CLIENT_ID, redirect));
    let db = fresh_postgres_database().await.unwrap();
    let key_set = PROCESS_KEYS.key_set();
    let links_key = PROCESS_KEYS.key("account-links");
    let common = [
        "--database-url",
        db.expose_secret(),
        "--jwt-secret",
        TEST_JWT_SECRET,
        "--service-keys-file",
        &key_set,
        "--encryption-keys",
        TEST_ENCRYPTION_KEYS,
        "--api-base-url",
        &api,
    ];

    let config_process = ServeProcess::start(&[&["--target", "integration-config"][..], &common].concat());
    let peer = format!("http://{}", config_process.grpc_addr);

    // Without the peer's address the target refuses to start, and says what to set.
    let refused = command(&[&["serve", "--target", "account-links"][..], &common].concat())
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--integration-config-addr"));

    let links_process = ServeProcess::start(
        &[
            &[
                "--target",
                "account-links",
                "--service-key-file",
                &links_key,
                "--integration-config-addr",
                &peer,
                "--authorize-url",
                &authorize,
                "--slack-client-id",
                TEST_CLIENT_ID,
                "--slack-client-secret",
                TEST_CLIENT_SECRET,
                "--oauth-redirect-url",
                redirect,
            ][..],
            &common,
        ]
        .concat(),
    );

    IntegrationConfigServiceClient::new(channel(&config_process.grpc_addr).await)
        .put_slack_workspace(authed(
            PutSlackWorkspaceRequest {
                org_id: "org-1".into(),
                access_token: "xoxb-acme-good".into(),
                workspace_domain: "acme".into(),
                ..Default::default()
            },
            &Who::Owner("org-1"),
        ))
        .await
        .unwrap();

    // Each process serves only its own target.
    let mut links = AccountLinkServiceClient::new(channel(&links_process.grpc_addr).await);
    let mut config_on_links = IntegrationConfigServiceClient::new(channel(&links_process.grpc_addr).await);
    let absent = config_on_links
        .get_slack_workspace(authed(
            ovice_slack_proto::v1::GetSlackWorkspaceRequest {
                org_id: "org-1".into(),
            },
            &Who::Owner("org-1"),
        ))
        .await
        .unwrap_err();
    assert_eq!(absent.code(), tonic::Code::Unimplemented);

    // Connect needs the org's team and bot token: account-links asks integration-config for them.
    let url = links
        .begin_slack_connect(authed(
            BeginSlackConnectRequest {
                org_id: "org-1".into(),
                space_id: "space-1".into(),
            },
            &ALICE,
        ))
        .await
        .unwrap()
        .into_inner()
        .authorize_url;
    assert!(url.contains("team=T0ACME"), "{url}");
    let consent = Consent::new();
    let redirected = consent
        .decide(
            &url,
            Decision::Allow {
                team: "T0ACME",
                user: "U0ALICE",
            },
        )
        .await;
    let callback = url::Url::parse(&format!(
        "http://{}/oauth/slack/callback?{}",
        links_process.http_addr,
        redirected.query().unwrap()
    ))
    .unwrap();
    let page = consent.open(&callback).await;
    assert_eq!(page.outcome, "connected", "{}", page.html);

    let item = links
        .get_slack_connection(authed(
            GetSlackConnectionRequest {
                org_id: "org-1".into(),
                space_id: "space-1".into(),
            },
            &ALICE,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(item.state, ConnectionState::Connected as i32);
    assert_eq!(item.workspace_domain, "acme");

    links_process.stop();
    config_process.stop();
    slack.shutdown().await;
}
