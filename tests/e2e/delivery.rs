//! docs/product.md §2.3 through the gateway, row by row of the help page's table: who is connected decides how a
//! direct message reaches Slack; everything else is skipped with a reason; nothing is sent twice.

use std::time::Duration;

use ovice_slack_proto::v1::{
    ChatMessage, Delivery, DeliveryMode, DeliveryStatus, Disposition, GetDeliveryRequest,
    GetSlackWorkspaceRequest, GroupKind, GroupMention, Mention, PublishChatMessageRequest,
    PublishChatMessageResponse, Sender, SkipReason, SpaceRole, WorkspaceStatus,
    chat_event_service_client::ChatEventServiceClient, delivery_service_client::DeliveryServiceClient,
    mention::Target,
};
use ovice_slack_runtime::test_support::Backend;
use rstest::rstest;
use slack_emulator::{Fault, FaultKind, TokenKind};
use tonic::transport::Channel;

use crate::{
    account_linking::{ALICE, BOB, Fixture},
    support::{
        Who,
        consent::{Consent, Decision},
        tokens::authed,
    },
};

/// An org with Slack set up, Alice and Bob connected, Carol not.
pub struct Office {
    pub f: Fixture,
    pub gateway: ChatEventServiceClient<Channel>,
    pub deliveries: DeliveryServiceClient<Channel>,
}

pub fn person(user: &str) -> Sender {
    Sender {
        user_id: user.into(),
        display_name: capitalized(user),
        role: SpaceRole::Member as i32,
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

pub fn to(user: &str) -> Mention {
    Mention {
        target: Some(Target::UserId(user.into())),
    }
}

pub fn group(kind: GroupKind) -> Mention {
    Mention {
        target: Some(Target::Group(GroupMention {
            kind: kind as i32,
            group_id: "g1".into(),
        })),
    }
}

pub fn message(id: &str, sender: Sender, mentions: Vec<Mention>, text: &str) -> ChatMessage {
    ChatMessage {
        org_id: "org-1".into(),
        space_id: "space-1".into(),
        space_name: "Tokyo Office".into(),
        message_id: id.into(),
        sent_at: Some(prost_types::Timestamp {
            seconds: 1_790_000_000,
            nanos: 0,
        }),
        sender: Some(sender),
        text: text.into(),
        mentions,
        link_url: format!("https://app.ovice.example/space-1/chat/{id}"),
    }
}

impl Office {
    pub async fn start(backend: Backend) -> Self {
        let mut f = Fixture::start(backend).await;
        connect(&mut f, &ALICE, "U0ALICE").await;
        connect(&mut f, &BOB, "U0BOB").await;
        let channel = f.server.channel().await;
        Self {
            f,
            gateway: ChatEventServiceClient::new(channel.clone()),
            deliveries: DeliveryServiceClient::new(channel),
        }
    }

    pub async fn publish(&mut self, m: ChatMessage) -> PublishChatMessageResponse {
        self.gateway
            .publish_chat_message(authed(
                PublishChatMessageRequest {
                    message: Some(m),
                    change: None,
                },
                &Who::Platform,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    pub async fn delivery(&mut self, message_id: &str) -> Delivery {
        self.deliveries
            .get_delivery(authed(
                GetDeliveryRequest {
                    org_id: "org-1".into(),
                    message_id: message_id.into(),
                },
                &Who::Operator,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    /// Waits until the delivery is no longer PENDING (bounded: a stuck delivery fails the test).
    pub async fn settled(&mut self, message_id: &str) -> Delivery {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let d = self.delivery(message_id).await;
            if d.status != DeliveryStatus::Pending as i32 {
                return d;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "delivery of {message_id} still pending: {d:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(self) {
        self.f.stop().await;
    }
}

pub async fn connect(f: &mut Fixture, who: &Who, slack_user: &str) {
    let consent = Consent::new();
    let url = f.begin(who).await;
    let callback = consent
        .decide(
            &url,
            Decision::Allow {
                team: "T0ACME",
                user: slack_user,
            },
        )
        .await;
    let page = consent.open(&callback).await;
    assert_eq!(page.outcome, "connected", "{}", page.html);
}

fn accepted(r: &PublishChatMessageResponse) {
    assert_eq!(r.disposition, Disposition::Accepted as i32, "{r:?}");
    assert!(!r.delivery_id.is_empty());
}

fn skipped(r: &PublishChatMessageResponse, reason: SkipReason) {
    assert_eq!(
        (r.disposition, r.skip_reason),
        (Disposition::Skipped as i32, reason as i32),
        "{r:?}"
    );
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn each_row_of_the_help_page(#[case] backend: Backend) {
    let mut o = Office::start(backend).await;

    // Sender connected: posted as the sender into the DM between the two.
    accepted(
        &o.publish(message("m1", person("alice"), vec![to("bob")], "Lunch at noon?"))
            .await,
    );
    let d = o.settled("m1").await;
    assert_eq!(
        (d.status, d.mode),
        (DeliveryStatus::Sent as i32, DeliveryMode::AsSender as i32),
        "{d:?}"
    );
    let sent = o.f.slack.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].token_kind, sent[0].user.as_str()),
        (TokenKind::User, "U0ALICE")
    );
    assert_eq!(
        (sent[0].channel.as_str(), sent[0].ts.as_str()),
        (d.slack_channel_id.as_str(), d.slack_ts.as_str())
    );
    assert!(sent[0].text.contains("Lunch at noon?"), "{}", sent[0].text);
    assert!(sent[0].text.contains("Tokyo Office"), "{}", sent[0].text);
    // The link back is the blocks' button.
    let blocks = serde_json::to_string(&sent[0].blocks).unwrap_or_default();
    assert!(
        blocks.contains("\"url\":\"https://app.ovice.example/space-1/chat/m1\""),
        "{blocks}"
    );

    // Sender not connected: the app's bot DMs the recipient.
    accepted(
        &o.publish(message("m2", person("carol"), vec![to("bob")], "Are you in?"))
            .await,
    );
    let d = o.settled("m2").await;
    assert_eq!(
        (d.status, d.mode),
        (DeliveryStatus::Sent as i32, DeliveryMode::BotDm as i32),
        "{d:?}"
    );
    let bot = &o.f.slack.messages()[1];
    assert!(bot.is_bot && bot.token_kind == TokenKind::Bot);
    assert!(bot.text.contains("Carol"), "{}", bot.text);

    // A visitor: a bot DM too, marked as a visitor.
    let visitor = Sender {
        user_id: "guest-7".into(),
        display_name: "Vera".into(),
        role: SpaceRole::Visitor as i32,
    };
    accepted(
        &o.publish(message("m3", visitor, vec![to("bob")], "Hello from the lobby"))
            .await,
    );
    let d = o.settled("m3").await;
    assert_eq!(d.mode, DeliveryMode::BotDm as i32);
    let text = &o.f.slack.messages()[2].text;
    assert!(text.contains("Vera") && text.contains("visitor"), "{text}");

    // Not direct messages: nothing is sent.
    for (id, mentions) in [
        ("m4", vec![group(GroupKind::All)]),
        ("m5", vec![group(GroupKind::Here)]),
        ("m6", vec![group(GroupKind::Group)]),
        ("m7", vec![to("bob"), to("carol")]),
        ("m8", vec![to("bob"), group(GroupKind::Here)]),
    ] {
        skipped(
            &o.publish(message(id, person("alice"), mentions, "hi all")).await,
            SkipReason::NotDirect,
        );
    }
    skipped(
        &o.publish(message("m9", person("alice"), vec![to("alice")], "note to self"))
            .await,
        SkipReason::SelfMention,
    );
    // The recipient has not connected Slack.
    skipped(
        &o.publish(message("m10", person("alice"), vec![to("carol")], "ping"))
            .await,
        SkipReason::RecipientNotConnected,
    );
    // Another org has no Slack settings at all.
    let mut elsewhere = message("m11", person("alice"), vec![to("bob")], "hi");
    elsewhere.org_id = "org-9".into();
    skipped(&o.publish(elsewhere).await, SkipReason::WorkspaceNotConfigured);

    assert_eq!(
        o.f.slack.messages().len(),
        3,
        "skipped messages must not reach Slack"
    );
    o.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn slack_control_sequences_arrive_as_literal_text(#[case] backend: Backend) {
    let mut o = Office::start(backend).await;
    let text = "<!channel> <!here> <@U0CAROL> fish & chips";
    let mut m = message("m1", person("carol"), vec![to("bob")], text);
    m.sender.as_mut().unwrap().display_name = "<!everyone> Mallory".into();
    accepted(&o.publish(m).await);
    assert_eq!(o.settled("m1").await.status, DeliveryStatus::Sent as i32);
    let sent = &o.f.slack.messages()[0].text;
    assert!(
        sent.contains("&lt;!channel&gt; &lt;!here&gt; &lt;@U0CAROL&gt; fish &amp; chips"),
        "{sent}"
    );
    assert!(sent.contains("&lt;!everyone&gt; Mallory"), "{sent}");
    for control in ["<!channel>", "<!here>", "<@U0CAROL>", "<!everyone>"] {
        assert!(!sent.contains(control), "{control} survived in {sent}");
    }
    o.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn publishing_twice_sends_once(#[case] backend: Backend) {
    let mut o = Office::start(backend).await;
    let first = o
        .publish(message("m1", person("alice"), vec![to("bob")], "once"))
        .await;
    accepted(&first);
    let again = o
        .publish(message("m1", person("alice"), vec![to("bob")], "once"))
        .await;
    assert_eq!(
        (again.disposition, again.delivery_id.as_str()),
        (Disposition::Duplicate as i32, first.delivery_id.as_str())
    );

    // The same message published concurrently by several publishers.
    let publishes = (0..12).map(|_| {
        let mut gateway = o.gateway.clone();
        tokio::spawn(async move {
            gateway
                .publish_chat_message(authed(
                    PublishChatMessageRequest {
                        message: Some(message("m2", person("carol"), vec![to("bob")], "race")),
                        change: None,
                    },
                    &Who::Platform,
                ))
                .await
                .unwrap()
                .into_inner()
        })
    });
    let mut answers = Vec::new();
    for p in publishes {
        answers.push(p.await.unwrap());
    }
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.disposition == Disposition::Accepted as i32)
            .count(),
        1
    );
    assert!(answers.iter().all(|a| a.delivery_id == answers[0].delivery_id));
    o.settled("m1").await;
    o.settled("m2").await;
    let texts: Vec<_> = o.f.slack.messages().into_iter().map(|m| m.text).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    o.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_bot_token_stops_the_org_without_a_retry_storm(#[case] backend: Backend) {
    let mut o = Office::start(backend).await;
    assert!(o.f.slack.revoke_token("xoxb-acme-good"));
    // Slack is slow to answer the first post, so the other four are pending when it says the token is
    // revoked: every pending delivery of the org then ends FAILED with that reason.
    o.f.slack
        .inject_fault(Fault::next(FaultKind::Delay { millis: 500 }).on("chat.postMessage"));
    for i in 1..=5 {
        accepted(
            &o.publish(message(
                &format!("m{i}"),
                person("carol"),
                vec![to("bob")],
                "are you there?",
            ))
            .await,
        );
    }
    for i in 1..=5 {
        let d = o.settled(&format!("m{i}")).await;
        assert_eq!(d.status, DeliveryStatus::Failed as i32, "{d:?}");
        assert!(d.last_error.contains("token_revoked"), "{}", d.last_error);
    }

    let ws =
        o.f.config
            .get_slack_workspace(authed(
                GetSlackWorkspaceRequest {
                    org_id: "org-1".into(),
                },
                &Who::Owner("org-1"),
            ))
            .await
            .unwrap()
            .into_inner();
    assert_eq!(ws.status, WorkspaceStatus::TokenInvalid as i32);
    assert_eq!(ws.status_reason, "token_revoked");
    // Later messages are skipped with the reason, and Slack is not asked again and again.
    skipped(
        &o.publish(message("m6", person("carol"), vec![to("bob")], "hello?"))
            .await,
        SkipReason::WorkspaceTokenInvalid,
    );
    let posts =
        o.f.slack
            .calls()
            .iter()
            .filter(|c| c.method == "chat.postMessage")
            .count();
    assert!(posts <= 2, "{posts} chat.postMessage calls with a revoked token");
    assert!(o.f.slack.messages().is_empty());
    o.stop().await;
}
