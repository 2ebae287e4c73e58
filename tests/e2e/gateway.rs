//! The gateway in front of an in-process DeliveryService (SQLite), the way `serve --target all`
//! wires them: generated clients over the server objects, service identity on the inner hop. The
//! gateway forwards what the platform published; DeliveryService validates it, once.

use std::{sync::Arc, time::Duration};

use delivery::{DeliveryConfig, DeliveryWorkersHandle, Deps, StaticDirectory};
use futures::StreamExt;
use gateway::{GatewayConfig, GatewayDeps};
use ovice_slack_proto::v1::{
    self as pb, Disposition, PublishChatMessageRequest, SkipReason,
    chat_event_service_client::ChatEventServiceClient,
};
use ovice_slack_runtime::{
    auth::{AuthInterceptor, Claims, OrgRole, SvcRole},
    peer::{self, GrpcChannel},
    test_support::{Backend, Bearer, TempDirGuard, TestKeys, eventually, fresh_database},
};
use slack_client::{SlackClient, SlackClientConfig};
use slack_emulator::{Emulator, EmulatorHandle, Seed};
use tokio_util::sync::CancellationToken;
use tonic::{Code, service::interceptor::InterceptedService};
use tonic_types::StatusExt;

const ORG: &str = "org-acme";
const AUDIENCE: &str = "ovice-slack";

type Client = ChatEventServiceClient<InterceptedService<GrpcChannel, Bearer>>;

struct Harness {
    slack: EmulatorHandle,
    keys: TestKeys,
    auth: AuthInterceptor,
    delivery: delivery::Server,
    gateway: gateway::Server,
    workers: Option<DeliveryWorkersHandle>,
    _guard: Option<TempDirGuard>,
}

impl Harness {
    async fn start(config: GatewayConfig, run_workers: bool) -> Self {
        ovice_slack_runtime::install_crypto_providers();
        let slack = Emulator::start(Seed::demo()).await.unwrap();
        let directory = Arc::new(StaticDirectory::new());
        directory.set_workspace(ORG, "T0ACME", "xoxb-acme-good");
        directory.link_user(ORG, "bob", "U0BOB", "T0ACME", None);
        let (db, guard) = fresh_database(Backend::Sqlite).await.unwrap();
        let keys = TestKeys::new("a-test-secret-of-at-least-32-bytes!!", AUDIENCE, &["gateway"]).unwrap();
        let auth = AuthInterceptor::new(Arc::new(keys.verifier()));
        let deps = Deps {
            db,
            slack: SlackClient::new(SlackClientConfig {
                api_base_url: slack.api_url(),
                timeout: Duration::from_secs(5),
            })
            .unwrap(),
            directory,
            config: DeliveryConfig {
                poll_interval: Duration::from_millis(100),
                ..DeliveryConfig::default()
            },
            clock: delivery::Clock::system(),
        };
        let (delivery, workers) = delivery::start(deps, auth.clone(), 1 << 20).await.unwrap();
        let workers = run_workers.then(|| workers.spawn(CancellationToken::new()));
        let tokens = keys.service_tokens("gateway").unwrap();
        let channel = peer::with_identity(peer::in_process(delivery.clone()), tokens);
        let gateway = gateway::server(
            GatewayDeps {
                delivery: channel,
                config,
            },
            auth.clone(),
            1 << 20,
        );
        Self {
            slack,
            keys,
            auth,
            delivery,
            gateway,
            workers,
            _guard: guard,
        }
    }

    fn client(&self, claims: Option<Claims>) -> Client {
        let bearer = claims.map_or_else(Bearer::none, |c| {
            Bearer::token(&self.keys.platform_token(&c).unwrap()).unwrap()
        });
        ChatEventServiceClient::with_interceptor(peer::in_process(self.gateway.clone()), bearer)
    }

    /// A client with the gateway's own service token.
    fn service_client(&self) -> Client {
        let token = self
            .keys
            .service("gateway")
            .unwrap()
            .mint(&claims("ovice-slack/gateway", None, None, Some(SvcRole::Service)))
            .unwrap();
        ChatEventServiceClient::with_interceptor(
            peer::in_process(self.gateway.clone()),
            Bearer::token(&token).unwrap(),
        )
    }

    fn platform(&self) -> Client {
        self.client(Some(claims(
            "ovice-platform",
            None,
            None,
            Some(SvcRole::Platform),
        )))
    }
}

fn claims(sub: &str, org: Option<&str>, role: Option<OrgRole>, svc: Option<SvcRole>) -> Claims {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    Claims {
        sub: sub.into(),
        org: org.map(str::to_owned),
        email: None,
        email_verified: None,
        org_role: role,
        perms: vec![],
        space: None,
        space_role: None,
        svc_role: svc,
        exp: now + 600,
        iat: Some(now),
        nbf: None,
        aud: AUDIENCE.into(),
        locale: None,
    }
}

fn publish(org: &str, id: &str, mentions: &[&str]) -> PublishChatMessageRequest {
    PublishChatMessageRequest {
        message: Some(pb::ChatMessage {
            org_id: org.into(),
            space_id: "space-1".into(),
            space_name: "Lobby".into(),
            message_id: id.into(),
            sent_at: None,
            sender: Some(pb::Sender {
                user_id: "alice".into(),
                display_name: "Alice".into(),
                role: pb::SpaceRole::Member.into(),
            }),
            text: format!("text of {id}"),
            mentions: mentions
                .iter()
                .map(|m| pb::Mention {
                    target: Some(pb::mention::Target::UserId((*m).into())),
                })
                .collect(),
            link_url: String::new(),
        }),
        change: None,
    }
}

#[tokio::test]
async fn a_published_direct_message_is_accepted_and_reaches_slack() {
    let h = Harness::start(GatewayConfig::default(), true).await;
    let r = h
        .platform()
        .publish_chat_message(publish(ORG, "m1", &["bob"]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (r.message_id.as_str(), r.disposition()),
        ("m1", Disposition::Accepted)
    );
    assert!(!r.delivery_id.is_empty());
    eventually("the message reaches Slack", Duration::from_secs(10), async || {
        (!h.slack.messages().is_empty()).then_some(())
    })
    .await;
    assert!(h.slack.messages()[0].text.contains("text of m1"));
    h.workers.unwrap().stop().await;
}

#[tokio::test]
async fn duplicates_and_skips_are_answered_as_delivery_decided() {
    let h = Harness::start(GatewayConfig::default(), false).await;
    let mut client = h.platform();
    let first = client
        .publish_chat_message(publish(ORG, "m1", &["bob"]))
        .await
        .unwrap()
        .into_inner();
    let again = client
        .publish_chat_message(publish(ORG, "m1", &["bob"]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.disposition(), Disposition::Duplicate);
    assert_eq!(again.delivery_id, first.delivery_id);
    let two = client
        .publish_chat_message(publish(ORG, "m2", &["bob", "carol"]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            two.message_id.as_str(),
            two.disposition(),
            two.skip_reason(),
            two.delivery_id.as_str()
        ),
        ("m2", Disposition::Skipped, SkipReason::NotDirect, "")
    );
    let unconnected = client
        .publish_chat_message(publish(ORG, "m3", &["carol"]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unconnected.skip_reason(), SkipReason::RecipientNotConnected);
}

#[tokio::test]
async fn invalid_messages_are_refused_with_the_fields_named() {
    let h = Harness::start(GatewayConfig::default(), false).await;
    let mut bad = publish(ORG, "", &["bob"]);
    bad.message.as_mut().unwrap().link_url = "ftp://x".into();
    let err = h.platform().publish_chat_message(bad).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields: Vec<String> = err
        .get_error_details()
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect();
    assert_eq!(fields, vec!["message.message_id", "message.link_url"]);
}

#[tokio::test]
async fn only_the_platform_and_services_may_publish() {
    let h = Harness::start(GatewayConfig::default(), false).await;
    let err = h
        .client(None)
        .publish_chat_message(publish(ORG, "m1", &["bob"]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    for who in [
        claims("u1", Some(ORG), Some(OrgRole::Owner), None),
        claims("ops", None, None, Some(SvcRole::Operator)),
        claims("platform", Some("org-other"), None, Some(SvcRole::Platform)),
    ] {
        let err = h
            .client(Some(who))
            .publish_chat_message(publish(ORG, "m1", &["bob"]))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
    }
    let owner = claims("u1", Some(ORG), Some(OrgRole::Owner), None);
    let err = h
        .client(Some(owner))
        .stream_chat_messages(futures::stream::iter(vec![publish(ORG, "m1", &["bob"])]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        h.service_client()
            .publish_chat_message(publish(ORG, "m1", &["bob"]))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn each_org_has_its_own_publish_limit() {
    let config = GatewayConfig {
        org_rate: 1.try_into().unwrap(),
        org_burst: 2.try_into().unwrap(),
        ..GatewayConfig::default()
    };
    let h = Harness::start(config, false).await;
    let mut client = h.platform();
    for i in 0..2 {
        client
            .publish_chat_message(publish(ORG, &format!("m{i}"), &["bob"]))
            .await
            .unwrap();
    }
    let err = client
        .publish_chat_message(publish(ORG, "m2", &["bob"]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert!(err.message().contains("org-acme"), "{}", err.message());
    let retry = err.get_error_details().retry_info().unwrap().retry_delay.unwrap();
    assert!(
        retry > Duration::ZERO && retry <= Duration::from_secs(1),
        "{retry:?}"
    );
    // Another org is not held back.
    assert!(
        client
            .publish_chat_message(publish("org-other", "m2", &["bob"]))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn delivery_errors_keep_their_code_and_an_unreachable_delivery_is_unavailable() {
    let h = Harness::start(GatewayConfig::default(), false).await;
    // A gateway whose inner hop carries no identity: DeliveryService refuses it.
    let anonymous = gateway::server(
        GatewayDeps {
            delivery: peer::in_process(h.delivery.clone()),
            config: GatewayConfig::default(),
        },
        h.auth.clone(),
        1 << 20,
    );
    let token = h
        .keys
        .platform_token(&claims("p", None, None, Some(SvcRole::Platform)))
        .unwrap();
    let bearer = Bearer::token(&token).unwrap();
    let err = ChatEventServiceClient::with_interceptor(peer::in_process(anonymous), bearer.clone())
        .publish_chat_message(publish(ORG, "m1", &["bob"]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    let unreachable = gateway::server(
        GatewayDeps {
            delivery: peer::remote("http://127.0.0.1:1", Duration::from_secs(2), None).unwrap(),
            config: GatewayConfig::default(),
        },
        h.auth.clone(),
        1 << 20,
    );
    let err = ChatEventServiceClient::with_interceptor(peer::in_process(unreachable), bearer)
        .publish_chat_message(publish(ORG, "m1", &["bob"]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
}

#[tokio::test]
async fn a_stream_answers_every_message_in_order_and_survives_rejections() {
    let config = GatewayConfig {
        stream_concurrency: 8,
        ..GatewayConfig::default()
    };
    let h = Harness::start(config, false).await;
    let mut requests = vec![];
    for i in 0..40 {
        let id = format!("m{i:02}");
        requests.push(match i {
            7 => publish(ORG, &id, &["bob", "carol"]),
            13 => {
                let mut bad = publish(ORG, &id, &["bob"]);
                bad.message.as_mut().unwrap().space_id = String::new();
                bad
            }
            21 => publish(ORG, "m00", &["bob"]), // a repeat of the first
            _ => publish(ORG, &id, &["bob"]),
        });
    }
    let answers: Vec<_> = h
        .platform()
        .stream_chat_messages(futures::stream::iter(requests))
        .await
        .unwrap()
        .into_inner()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(answers.len(), 40);
    for (i, a) in answers.iter().enumerate() {
        let expected_id = if i == 21 {
            "m00".to_owned()
        } else {
            format!("m{i:02}")
        };
        assert_eq!(a.message_id, expected_id, "answer {i} out of order");
        match i {
            7 => assert_eq!(a.skip_reason(), SkipReason::NotDirect),
            13 => {
                assert_eq!(a.error_code, Code::InvalidArgument as i32);
                assert!(
                    a.error_message.contains("message.space_id"),
                    "{}",
                    a.error_message
                );
            }
            21 => {
                assert_eq!(a.disposition(), Disposition::Duplicate);
                assert_eq!(a.delivery_id, answers[0].delivery_id);
            }
            _ => assert_eq!((a.disposition(), a.error_code), (Disposition::Accepted, 0)),
        }
    }
}
