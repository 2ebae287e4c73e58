//! The microservices overlay on one machine: four processes, one per target, configured the way the
//! Kubernetes manifests configure them (the same environment variables, secrets as mounted files,
//! mutual TLS between them with certificates in cert-manager's layout), on PostgreSQL; the delivery
//! scenario passes through the gateway.

use std::time::Duration;

use ovice_slack_proto::v1::{
    DeliveryMode, DeliveryStatus, Disposition, GetBotCredentialsRequest, GetDeliveryRequest,
    GetSlackWorkspaceRequest, PublishChatMessageRequest, ResolveSlackUsersRequest,
    account_link_service_client::AccountLinkServiceClient, chat_event_service_client::ChatEventServiceClient,
    delivery_service_client::DeliveryServiceClient,
    integration_config_service_client::IntegrationConfigServiceClient,
};
use ovice_slack_runtime::{
    auth::{Claims, ServiceKey},
    test_support::fresh_postgres_database,
};
use secrecy::{ExposeSecret, SecretString};
use slack_emulator::{Emulator, TokenKind};
use tonic::Code;

use crate::{
    delivery::{message, person, to},
    delivery_processes::{REDIRECT, seed, set_up_org, users},
    support::process::command,
    support::{
        Who,
        process::ServeProcess,
        server::{TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_ENCRYPTION_KEYS},
        tls::{RecordingRelay, TestCa, lazy_channel},
        tokens::{TEST_JWT_SECRET, authed},
    },
};

#[tokio::test(flavor = "multi_thread")]
async fn four_processes_on_postgres_deliver_through_the_gateway() {
    let slack = Emulator::start(seed()).await.unwrap();
    assert!(slack.add_redirect_uri(TEST_CLIENT_ID, REDIRECT));
    let db = fresh_postgres_database().await.unwrap();

    // The Secrets, mounted as files like deploy/kubernetes mounts them: each process is given only
    // the files its Deployment mounts (scripts/check-deploy.sh checks the manifests say the same).
    let secrets = tempfile::tempdir().unwrap();
    let file = |name: &str, value: &str| {
        let path = secrets.path().join(name);
        std::fs::write(&path, value).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let jwt = file("jwt-secret", TEST_JWT_SECRET);
    // Each Deployment's own service key, and the key set every Deployment gets, made the way
    // docs/operations.md tells operators to make them. integration-config calls no one: no key.
    let key_set = secrets.path().join("service-keys.json");
    let service_key = |target: &str| {
        let key = secrets.path().join(format!("{target}.pem"));
        let made = command(&[
            "service-key",
            "--target",
            target,
            "--key",
            key.to_str().unwrap(),
            "--key-set",
            key_set.to_str().unwrap(),
        ])
        .output()
        .unwrap();
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
        let kid = String::from_utf8(made.stdout).unwrap();
        assert!(kid.starts_with(&format!("{target}:")), "{kid}");
        key.to_str().unwrap().to_owned()
    };
    let links_key = service_key("account-links");
    let delivery_key = service_key("delivery");
    let gateway_key = service_key("gateway");
    let key_set = key_set.to_str().unwrap().to_owned();
    let keys = file("encryption-keys", TEST_ENCRYPTION_KEYS);
    let client_secret = file("slack-client-secret", TEST_CLIENT_SECRET);
    let database = file("database-url", db.expose_secret());
    // Each workload's certificate Secret, issued by one CA (cert-manager's CA Issuer in the overlay),
    // and one for the platform, which calls integration-config and account-links too.
    let ca = TestCa::new("ovice-slack test CA");
    let cert = |name: &str| ca.issue(secrets.path(), name);
    let platform = cert("platform");
    let api = slack.api_url().to_string();
    let authorize = slack.authorize_url().to_string();
    // The ConfigMap `ovice-slack-config` plus each Deployment's own variables.
    let config: Vec<(&str, &str)> = vec![
        ("OVICE_SLACK_API_BASE_URL", &api),
        ("OVICE_SLACK_AUTHORIZE_URL", &authorize),
        ("OVICE_SLACK_OAUTH_REDIRECT_URL", REDIRECT),
        ("OVICE_SLACK_CLIENT_ID", TEST_CLIENT_ID),
        ("OVICE_SLACK_JWT_SECRET_FILE", &jwt),
        ("OVICE_SLACK_SHUTDOWN_GRACE", "20"),
    ];
    let with = |extra: Vec<(&'static str, String)>| -> Vec<(String, String)> {
        config
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain(extra.into_iter().map(|(k, v)| (k.to_owned(), v)))
            .collect()
    };
    let start = |target: &str, env: Vec<(String, String)>| {
        let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let tls = cert(target).env();
        env.extend(tls.iter().map(|(k, v)| (*k, v.as_str())));
        ServeProcess::start_with_env(&["--target", target], &env).with_client_tls(platform.client())
    };

    let config_svc = start(
        "integration-config",
        with(vec![
            ("OVICE_SLACK_DATABASE_URL_FILE", database.clone()),
            ("OVICE_SLACK_ENCRYPTION_KEYS_FILE", keys.clone()),
            ("OVICE_SLACK_SERVICE_KEYS_FILE", key_set.clone()),
        ]),
    );
    // Peers are reached through relays that keep every byte: what an observer of the pod network sees.
    let config_relay = RecordingRelay::start(&config_svc.grpc_addr).await;
    let config_addr = format!("https://{}", config_relay.addr);
    let links = start(
        "account-links",
        with(vec![
            ("OVICE_SLACK_DATABASE_URL_FILE", database.clone()),
            ("OVICE_SLACK_INTEGRATION_CONFIG_ADDR", config_addr.clone()),
            ("OVICE_SLACK_ENCRYPTION_KEYS_FILE", keys.clone()),
            ("OVICE_SLACK_CLIENT_SECRET_FILE", client_secret.clone()),
            ("OVICE_SLACK_SERVICE_KEY_FILE", links_key),
            ("OVICE_SLACK_SERVICE_KEYS_FILE", key_set.clone()),
        ]),
    );
    let links_relay = RecordingRelay::start(&links.grpc_addr).await;
    let links_addr = format!("https://{}", links_relay.addr);
    let delivery = start(
        "delivery",
        with(vec![
            ("OVICE_SLACK_DATABASE_URL_FILE", database.clone()),
            ("OVICE_SLACK_INTEGRATION_CONFIG_ADDR", config_addr.clone()),
            ("OVICE_SLACK_ACCOUNT_LINKS_ADDR", links_addr.clone()),
            ("OVICE_SLACK_SERVICE_KEY_FILE", delivery_key.clone()),
            ("OVICE_SLACK_SERVICE_KEYS_FILE", key_set.clone()),
        ]),
    );
    let gateway = start(
        "gateway",
        with(vec![
            (
                "OVICE_SLACK_DELIVERY_ADDR",
                format!("https://{}", delivery.grpc_addr),
            ),
            ("OVICE_SLACK_SERVICE_KEY_FILE", gateway_key.clone()),
            // The platform-facing port: server TLS, the platform needs no client certificate.
            ("OVICE_SLACK_TLS_CLIENT_AUTH", "optional".into()),
        ]),
    )
    .with_client_tls(platform.client_without_certificate());

    // Settings through integration-config, links through account-links' callback.
    set_up_org_split(&config_svc, &links).await;

    let mut publisher = ChatEventServiceClient::new(gateway.channel().await);
    for (id, sender) in [("m1", "alice"), ("m2", "carol")] {
        let m = message(id, person(sender), vec![to("bob")], &format!("[{id}] hello"));
        let r = publisher
            .publish_chat_message(authed(
                PublishChatMessageRequest {
                    message: Some(m),
                    change: None,
                },
                &Who::Platform,
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.disposition, Disposition::Accepted as i32, "{r:?}");
    }
    let mut deliveries = DeliveryServiceClient::new(delivery.channel().await);
    let mut settled = Vec::new();
    for id in ["m1", "m2"] {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
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
            if d.status != DeliveryStatus::Pending as i32 {
                settled.push(d);
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{id} still pending");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(
        (settled[0].status, settled[0].mode),
        (DeliveryStatus::Sent as i32, DeliveryMode::AsSender as i32)
    );
    assert_eq!(
        (settled[1].status, settled[1].mode),
        (DeliveryStatus::Sent as i32, DeliveryMode::BotDm as i32)
    );
    let sent = slack.messages();
    assert_eq!(
        sent.iter().map(|m| m.token_kind).collect::<Vec<_>>(),
        [TokenKind::User, TokenKind::Bot]
    );

    // No one but delivery (and account-links, for the bot token) reads a token: not the platform,
    // whatever it signs, and not the gateway with its own key.
    let forged = crate::support::tokens::mint(&Who::Service.claims());
    let gateway_token = ServiceKey::from_pem(
        "gateway".parse().unwrap(),
        &SecretString::from(std::fs::read_to_string(&gateway_key).unwrap()),
    )
    .unwrap()
    .mint(&Claims {
        sub: "ovice-slack/gateway".into(),
        ..Who::Service.claims()
    })
    .unwrap();
    for (token, code) in [
        (&forged, Code::Unauthenticated),
        (&gateway_token, Code::PermissionDenied),
    ] {
        let err = IntegrationConfigServiceClient::new(config_svc.channel().await)
            .get_bot_credentials(bearer(
                GetBotCredentialsRequest {
                    org_id: "org-1".into(),
                },
                token,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), code, "{}", err.message());
        let err = AccountLinkServiceClient::new(links.channel().await)
            .resolve_slack_users(bearer(
                ResolveSlackUsersRequest {
                    org_id: "org-1".into(),
                    user_ids: vec!["alice".into()],
                    ..Default::default()
                },
                token,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), code, "{}", err.message());
    }

    // The bot and user tokens crossed the relays only inside TLS.
    for (peer, relay) in [
        ("integration-config", &config_relay),
        ("account-links", &links_relay),
    ] {
        let seen = relay.seen();
        assert!(
            seen.len() > 1_000,
            "{peer}: the peer calls went through the relay"
        );
        for clear in [&b"xoxb-"[..], b"xoxp-"] {
            assert!(
                !seen.windows(clear.len()).any(|w| w == clear),
                "{peer}: `{}` crossed the network in clear",
                String::from_utf8_lossy(clear)
            );
        }
    }

    // Without a certificate signed by the CA, integration-config cannot be called at all, whatever the
    // token; the platform's certificate can.
    let stranger = TestCa::new("another CA").issue(secrets.path(), "stranger");
    let trusting_stranger =
        platform
            .client_without_certificate()
            .identity(tonic::transport::Identity::from_pem(
                std::fs::read(&stranger.cert).unwrap(),
                std::fs::read(&stranger.key).unwrap(),
            ));
    let owner_get = || {
        authed(
            GetSlackWorkspaceRequest {
                org_id: "org-1".into(),
            },
            &Who::Owner("org-1"),
        )
    };
    for (who, tls) in [
        ("a plaintext client", None),
        (
            "a client without a certificate",
            Some(platform.client_without_certificate()),
        ),
        ("a certificate of another CA", Some(trusting_stranger)),
    ] {
        let refused = IntegrationConfigServiceClient::new(lazy_channel(&config_svc.grpc_addr, tls))
            .get_slack_workspace(owner_get())
            .await;
        let err = refused.expect_err(who);
        assert!(
            matches!(
                err.code(),
                Code::Unavailable | Code::Unknown | Code::Internal | Code::Cancelled
            ),
            "{who}: {err:?}"
        );
    }
    IntegrationConfigServiceClient::new(config_svc.channel().await)
        .get_slack_workspace(owner_get())
        .await
        .unwrap();
    // The gateway's port takes server TLS without a client certificate, but not plaintext.
    let plaintext = ChatEventServiceClient::new(lazy_channel(&gateway.grpc_addr, None))
        .publish_chat_message(authed(
            PublishChatMessageRequest {
                message: Some(message("m3", person("alice"), vec![to("bob")], "plain")),
                change: None,
            },
            &Who::Platform,
        ))
        .await;
    assert!(plaintext.is_err(), "{plaintext:?}");

    for process in [gateway, delivery, links, config_svc] {
        process.stop();
    }
    slack.shutdown().await;
}

fn bearer<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let value = format!("Bearer {token}").parse().unwrap();
    request.metadata_mut().insert("authorization", value);
    request
}

/// The org's settings go to integration-config, the people connect through account-links.
async fn set_up_org_split(config_svc: &ServeProcess, links: &ServeProcess) {
    crate::delivery_processes::put_workspace(config_svc).await;
    set_up_org(links, &users()[..2], false).await;
}
