//! Token rotation: an org whose own Slack app rotates tokens (`xoxe.xoxb-…` that expire), and a
//! Connect app that rotates people's user tokens (`xoxe.xoxp-…`), keep delivering across expiries. Two replicas of every target share one PostgreSQL; each expiry is
//! renewed exactly once, by whichever replica hears `token_expired` first, and the other picks the
//! new token up. The emulator refuses expired tokens, spends refresh tokens once and revokes the
//! oldest token of an installation beyond two, so a second renewal would show.

use std::time::Duration;

use ovice_slack_proto::v1::{
    ChatMessageDelete, ChatMessageEdit, ConnectionState, DeleteChatMessageRequest, Disposition,
    EditChatMessageRequest, GetDeliveryRequest, GetSlackConnectionRequest, GetSlackWorkspaceRequest,
    PublishChatMessageRequest, PutSlackWorkspaceRequest,
    account_link_service_client::AccountLinkServiceClient, chat_event_service_client::ChatEventServiceClient,
    delivery_service_client::DeliveryServiceClient,
    integration_config_service_client::IntegrationConfigServiceClient,
};
use ovice_slack_runtime::{auth::SpaceRole, test_support::fresh_postgres_database};
use slack_emulator::{ChangeKind, Emulator, EmulatorHandle, OAuthAppSeed, TokenKind};
use tonic::transport::Channel;

use crate::{
    delivery::{message, person, to},
    delivery_processes::{REDIRECT, common_args, recipient, seed, set_up_org, start, users, wait_delivered},
    support::{Who, process::ServeProcess, process::channel, server::TEST_CLIENT_ID, tokens::authed},
};

/// After one more expiry, an edit of `edited` and a delete of `deleted` (both sent already) reach
/// Slack with the token that posted them (`poster`, `kind`): the change path renews an expired token
/// as a post does, once, and tries again, rather than giving the change up.
async fn edit_and_delete_across_an_expiry(
    slack: &EmulatorHandle,
    process: &ServeProcess,
    gateway: &mut ChatEventServiceClient<Channel>,
    (edited, deleted): (&str, &str),
    (poster, kind): (&str, TokenKind),
) {
    let renewals_before = slack.refreshes().len();
    assert!(slack.expire_rotating_tokens() >= 1);
    let edit = ChatMessageEdit {
        org_id: "org-1".into(),
        message_id: edited.into(),
        revision: 1,
        text: format!("[{edited}] edited after the expiry"),
    };
    let r = gateway
        .edit_chat_message(authed(
            EditChatMessageRequest { edit: Some(edit) },
            &Who::Platform,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.outcome.unwrap().disposition(), Disposition::Accepted);
    let delete = ChatMessageDelete {
        org_id: "org-1".into(),
        message_id: deleted.into(),
    };
    let r = gateway
        .delete_chat_message(authed(
            DeleteChatMessageRequest { delete: Some(delete) },
            &Who::Platform,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.outcome.unwrap().disposition(), Disposition::Accepted);

    let mut deliveries = DeliveryServiceClient::new(channel(&process.grpc_addr).await);
    let mut settled = Vec::new();
    for id in [edited, deleted] {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let d = deliveries
                .get_delivery(authed(
                    GetDeliveryRequest {
                        org_id: "org-1".into(),
                        message_id: id.into(),
                    },
                    &Who::Operator,
                ))
                .await
                .unwrap()
                .into_inner();
            if d.pending_change == 0 {
                assert_eq!(d.change_error, "", "{id}: {d:?}");
                settled.push(d);
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{id} still waits for Slack: {d:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(settled[0].slack_revision, 1, "{:?}", settled[0]);
    assert!(settled[1].removed_from_slack, "{:?}", settled[1]);
    let shown: Vec<_> = slack
        .messages()
        .into_iter()
        .filter(|m| m.ts == settled[0].slack_ts || m.ts == settled[1].slack_ts)
        .collect();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(
        shown[0].text.contains("edited after the expiry"),
        "{}",
        shown[0].text
    );
    let changes: Vec<_> = slack
        .changes()
        .into_iter()
        .filter(|c| c.ts == settled[0].slack_ts || c.ts == settled[1].slack_ts)
        .collect();
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(
        changes.iter().all(|c| c.user == poster && c.token_kind == kind),
        "{changes:?}"
    );
    assert!(changes.iter().any(|c| c.kind == ChangeKind::Deleted));
    assert_eq!(
        slack.refreshes().len(),
        renewals_before + 1,
        "one renewal for the expiry: {:?}",
        slack.refreshes()
    );
}

/// The org's own app, with token rotation turned on.
const OWN_APP: &str = "7000.7001";
const OWN_APP_SECRET: &str = "acme-own-app-secret";
const BOT_SCOPES: [&str; 3] = ["chat:write", "users:read", "users:read.email"];

fn seed_with_own_app() -> slack_emulator::Seed {
    let mut seed = seed();
    seed.oauth_apps.push(OAuthAppSeed {
        client_id: OWN_APP.into(),
        client_secret: OWN_APP_SECRET.into(),
        redirect_uris: vec![],
        app_id: Some("A0ACMEOWN".into()),
        signing_secret: None,
        event_url: None,
        token_rotation: true,
    });
    seed
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotating_bot_token_keeps_delivering_across_three_expiries_with_one_renewal_each() {
    let slack = Emulator::start(seed_with_own_app()).await.unwrap();
    assert!(slack.add_redirect_uri(TEST_CLIENT_ID, REDIRECT));
    let db = fresh_postgres_database().await.unwrap();
    let args = common_args(&db, &slack);
    let processes: Vec<_> = (0..2).map(|_| start(&["--target", "all"], &args, &[])).collect();
    let installed = slack.install_bot(OWN_APP, "T0ACME", &BOT_SCOPES).unwrap();
    assert!(installed.access_token.starts_with("xoxe.xoxb-"));
    let refresh_token = installed.refresh_token.clone().unwrap();

    // A rotating token without what renews it is refused, each missing field named.
    let mut config = IntegrationConfigServiceClient::new(processes[0].channel().await);
    let refused = config
        .put_slack_workspace(authed(
            PutSlackWorkspaceRequest {
                org_id: "org-1".into(),
                access_token: installed.access_token.clone(),
                workspace_domain: "acme".into(),
                ..Default::default()
            },
            &Who::Owner("org-1"),
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    for field in ["refresh_token", "client_id", "client_secret"] {
        assert!(refused.message().contains(field), "{}", refused.message());
    }
    assert!(!refused.message().contains(&installed.access_token));
    assert!(slack.refreshes().is_empty());

    // With them it is renewed at once (proving the credentials), and the renewed token is stored.
    let put = config
        .put_slack_workspace(authed(
            PutSlackWorkspaceRequest {
                org_id: "org-1".into(),
                access_token: installed.access_token.clone(),
                workspace_domain: "acme".into(),
                refresh_token: refresh_token.clone(),
                client_id: OWN_APP.into(),
                client_secret: OWN_APP_SECRET.into(),
                ..Default::default()
            },
            &Who::Owner("org-1"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(put.token_expires_at.is_some());
    assert_eq!(slack.refreshes().len(), 1);
    set_up_org(&processes[0], &users(), false).await;

    let mut gateways = Vec::new();
    for p in &processes {
        gateways.push(ChatEventServiceClient::new(channel(&p.grpc_addr).await));
    }
    for round in 1..=3 {
        assert!(slack.expire_rotating_tokens() >= 1);
        // Bot DMs (carol is not connected) through both replicas at once.
        let ids: Vec<String> = (0..8).map(|k| format!("r{round}m{k}")).collect();
        for (k, id) in ids.iter().enumerate() {
            let m = message(
                id,
                person("carol"),
                vec![to(&recipient(k))],
                &format!("[{id}] hi"),
            );
            let r = gateways[k % 2]
                .publish_chat_message(authed(
                    PublishChatMessageRequest {
                        message: Some(m),
                        change: None,
                    },
                    &Who::Platform,
                ))
                .await
                .unwrap();
            assert_eq!(r.get_ref().disposition, Disposition::Accepted as i32, "{id}");
        }
        let counts = wait_delivered(&slack, &ids, Duration::from_secs(30)).await;
        assert!(counts.values().all(|c| *c == 1), "round {round}: {counts:?}");
        let renewals = slack.refreshes();
        assert_eq!(
            renewals.len(),
            1 + round,
            "round {round}: one renewal per expiry: {renewals:?}"
        );
        assert!(renewals.iter().all(|r| r.token_kind == TokenKind::Bot));
    }
    // Each expiry was met by posts (several, on both replicas), and answered by one renewal.
    let expired_calls = slack
        .calls()
        .iter()
        .filter(|c| c.error.as_deref() == Some("token_expired"))
        .count();
    assert!(expired_calls >= 3, "{expired_calls}");
    // Nothing was revoked along the way: no call was answered token_revoked, and the org is ACTIVE.
    assert!(
        slack
            .calls()
            .iter()
            .all(|c| c.error.as_deref() != Some("token_revoked")),
        "a second renewal revoked a token in use"
    );
    let ws = config
        .get_slack_workspace(authed(
            GetSlackWorkspaceRequest {
                org_id: "org-1".into(),
            },
            &Who::Owner("org-1"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ws.status, ovice_slack_proto::v1::WorkspaceStatus::Active as i32);
    assert!(ws.status_reason.is_empty());
    edit_and_delete_across_an_expiry(
        &slack,
        &processes[0],
        &mut gateways[0],
        ("r3m0", "r3m1"),
        ("U0ACMEOWNBOT", TokenKind::Bot),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotating_bot_token_is_renewed_ahead_of_its_expiry_and_a_refused_renewal_stops_the_org() {
    let slack = Emulator::start(seed_with_own_app()).await.unwrap();
    assert!(slack.add_redirect_uri(TEST_CLIENT_ID, REDIRECT));
    // Four-second tokens: renewed half-way, so no call ever meets an expired one.
    slack.set_token_lifetime(Duration::from_secs(4));
    let db = fresh_postgres_database().await.unwrap();
    let args = common_args(&db, &slack);
    let process = start(&["--target", "all", "--token-refresh-poll", "0.2"], &args, &[]);
    let installed = slack.install_bot(OWN_APP, "T0ACME", &BOT_SCOPES).unwrap();
    let mut config = IntegrationConfigServiceClient::new(process.channel().await);
    config
        .put_slack_workspace(authed(
            PutSlackWorkspaceRequest {
                org_id: "org-1".into(),
                access_token: installed.access_token.clone(),
                workspace_domain: "acme".into(),
                refresh_token: installed.refresh_token.clone().unwrap(),
                client_id: OWN_APP.into(),
                client_secret: OWN_APP_SECRET.into(),
                ..Default::default()
            },
            &Who::Owner("org-1"),
        ))
        .await
        .unwrap();
    set_up_org(&process, &users(), false).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while slack.refreshes().len() < 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "renewals: {:?}",
            slack.refreshes()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut gateway = ChatEventServiceClient::new(channel(&process.grpc_addr).await);
    let m = message("ahead", person("carol"), vec![to("bob")], "[ahead] hi");
    gateway
        .publish_chat_message(authed(
            PublishChatMessageRequest {
                message: Some(m),
                change: None,
            },
            &Who::Platform,
        ))
        .await
        .unwrap();
    wait_delivered(&slack, &["ahead".to_owned()], Duration::from_secs(20)).await;
    assert!(
        slack
            .calls()
            .iter()
            .all(|c| c.error.as_deref() != Some("token_expired")),
        "a call met an expired token"
    );

    // The app is uninstalled behind ovice-slack's back: the next renewal is refused and the org
    // becomes TOKEN_INVALID with Slack's reason, before any message needs the token.
    slack.uninstall_app(OWN_APP, "T0ACME").await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let ws = config
            .get_slack_workspace(authed(
                GetSlackWorkspaceRequest {
                    org_id: "org-1".into(),
                },
                &Who::Owner("org-1"),
            ))
            .await
            .unwrap()
            .into_inner();
        if ws.status == ovice_slack_proto::v1::WorkspaceStatus::TokenInvalid as i32 {
            assert_eq!(ws.status_reason, "invalid_refresh_token");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still {ws:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotating_user_token_keeps_posting_as_the_sender_across_three_expiries_with_one_renewal_each() {
    let mut seed = seed();
    for app in seed
        .oauth_apps
        .iter_mut()
        .filter(|a| a.client_id == TEST_CLIENT_ID)
    {
        app.token_rotation = true;
    }
    let slack = Emulator::start(seed).await.unwrap();
    assert!(slack.add_redirect_uri(TEST_CLIENT_ID, REDIRECT));
    let db = fresh_postgres_database().await.unwrap();
    let args = common_args(&db, &slack);
    let processes: Vec<_> = (0..2).map(|_| start(&["--target", "all"], &args, &[])).collect();
    set_up_org(&processes[0], &users(), true).await;
    assert!(slack.refreshes().is_empty());

    let mut gateways = Vec::new();
    for p in &processes {
        gateways.push(ChatEventServiceClient::new(channel(&p.grpc_addr).await));
    }
    for round in 1..=3 {
        assert!(slack.expire_rotating_tokens() >= 1);
        // Alice (connected, so posted as her) writes to eight people through both replicas at once.
        let ids: Vec<String> = (0..8).map(|k| format!("u{round}m{k}")).collect();
        for (k, id) in ids.iter().enumerate() {
            let m = message(
                id,
                person("alice"),
                vec![to(&recipient(k))],
                &format!("[{id}] hi"),
            );
            let r = gateways[k % 2]
                .publish_chat_message(authed(
                    PublishChatMessageRequest {
                        message: Some(m),
                        change: None,
                    },
                    &Who::Platform,
                ))
                .await
                .unwrap();
            assert_eq!(r.get_ref().disposition, Disposition::Accepted as i32, "{id}");
        }
        let counts = wait_delivered(&slack, &ids, Duration::from_secs(30)).await;
        assert!(counts.values().all(|c| *c == 1), "round {round}: {counts:?}");
        for m in slack
            .messages()
            .iter()
            .filter(|m| ids.iter().any(|id| m.text.contains(&format!("[{id}]"))))
        {
            assert_eq!(
                (m.token_kind, m.user.as_str()),
                (TokenKind::User, "U0ALICE"),
                "posted as alice: {m:?}"
            );
        }
        let renewals = slack.refreshes();
        assert_eq!(
            renewals.len(),
            round,
            "round {round}: one renewal per expiry: {renewals:?}"
        );
        assert!(
            renewals
                .iter()
                .all(|r| r.token_kind == TokenKind::User && r.user_id == "U0ALICE")
        );
    }
    let expired_calls = slack
        .calls()
        .iter()
        .filter(|c| c.error.as_deref() == Some("token_expired"))
        .count();
    assert!(expired_calls >= 3, "{expired_calls}");
    assert!(
        slack
            .calls()
            .iter()
            .all(|c| c.error.as_deref() != Some("token_revoked")),
        "a second renewal revoked a token in use"
    );
    edit_and_delete_across_an_expiry(
        &slack,
        &processes[1],
        &mut gateways[1],
        ("u3m0", "u3m1"),
        ("U0ALICE", TokenKind::User),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotating_user_token_is_renewed_ahead_of_expiry_and_a_refused_renewal_asks_to_connect_again() {
    let mut seed = seed();
    for app in seed
        .oauth_apps
        .iter_mut()
        .filter(|a| a.client_id == TEST_CLIENT_ID)
    {
        app.token_rotation = true;
    }
    let connect_app = seed
        .oauth_apps
        .iter()
        .find(|a| a.client_id == TEST_CLIENT_ID)
        .unwrap()
        .clone();
    let slack = Emulator::start(seed).await.unwrap();
    assert!(slack.add_redirect_uri(TEST_CLIENT_ID, REDIRECT));
    // Four-second tokens: renewed half-way, so no post ever meets an expired one.
    slack.set_token_lifetime(Duration::from_secs(4));
    let db = fresh_postgres_database().await.unwrap();
    let args = common_args(&db, &slack);
    let process = start(&["--target", "all", "--token-refresh-poll", "0.2"], &args, &[]);
    set_up_org(&process, &users(), true).await;
    let alice_renewals = || {
        slack
            .refreshes()
            .iter()
            .filter(|r| r.token_kind == TokenKind::User && r.user_id == "U0ALICE")
            .count()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while alice_renewals() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "renewals: {:?}",
            slack.refreshes()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut gateway = ChatEventServiceClient::new(channel(&process.grpc_addr).await);
    let m = message("ahead", person("alice"), vec![to("bob")], "[ahead] hi");
    gateway
        .publish_chat_message(authed(
            PublishChatMessageRequest {
                message: Some(m),
                change: None,
            },
            &Who::Platform,
        ))
        .await
        .unwrap();
    wait_delivered(&slack, &["ahead".to_owned()], Duration::from_secs(20)).await;
    let posted = slack
        .messages()
        .into_iter()
        .find(|m| m.text.contains("[ahead]"))
        .unwrap();
    assert_eq!(
        (posted.token_kind, posted.user.as_str()),
        (TokenKind::User, "U0ALICE")
    );
    assert!(
        slack
            .calls()
            .iter()
            .all(|c| c.error.as_deref() != Some("token_expired")),
        "a call met an expired token"
    );

    // The Connect app's client secret changes in Slack and not here: the renewal is refused, and that
    // is the operator's to fix, so Alice stays connected.
    slack.add_app(&OAuthAppSeed {
        client_secret: "rotated-by-slack-admin".into(),
        ..connect_app.clone()
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !slack
        .calls()
        .iter()
        .any(|c| c.method == "oauth.v2.access" && c.error.as_deref() == Some("bad_client_secret"))
    {
        assert!(tokio::time::Instant::now() < deadline, "no renewal was tried");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let alice = Who::Person {
        org: "org-1",
        user: "alice",
        email: "alice@acme.test",
        space: "space-1",
        role: SpaceRole::Member,
    };
    let mut links = AccountLinkServiceClient::new(process.channel().await);
    let connection = |links: &mut AccountLinkServiceClient<_>| {
        let request = authed(
            GetSlackConnectionRequest {
                org_id: "org-1".into(),
                space_id: "space-1".into(),
            },
            &alice,
        );
        let mut links = links.clone();
        async move { links.get_slack_connection(request).await.unwrap().into_inner() }
    };
    assert_eq!(
        connection(&mut links).await.state,
        ConnectionState::Connected as i32
    );
    // The secret is put back and the token expires (the worker leaves it alone for a minute after a
    // failure): Alice's next message meets `token_expired`, which renews it at once.
    slack.add_app(&connect_app);
    slack.expire_rotating_tokens();
    let m = message("after-fix", person("alice"), vec![to("bob")], "[after-fix] hi");
    gateway
        .publish_chat_message(authed(
            PublishChatMessageRequest {
                message: Some(m),
                change: None,
            },
            &Who::Platform,
        ))
        .await
        .unwrap();
    wait_delivered(&slack, &["after-fix".to_owned()], Duration::from_secs(20)).await;
    let posted = slack
        .messages()
        .into_iter()
        .find(|m| m.text.contains("[after-fix]"))
        .unwrap();
    assert_eq!(
        (posted.token_kind, posted.user.as_str()),
        (TokenKind::User, "U0ALICE")
    );
    assert!(
        slack
            .calls()
            .iter()
            .any(|c| c.error.as_deref() == Some("token_expired")),
        "the post did not meet the expired token"
    );

    // Alice removes the app's access in Slack: her next renewal is refused, and her connection
    // asks her to connect again, with Slack's reason.
    slack
        .revoke_user_access(TEST_CLIENT_ID, "T0ACME", "U0ALICE")
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let c = connection(&mut links).await;
        if c.state == ConnectionState::NeedsReconnect as i32 {
            assert_eq!(c.state_reason, "invalid_refresh_token");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still {c:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
