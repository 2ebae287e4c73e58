//! The gRPC API: validation, skips, who may call what.

use ovice_slack_proto::v1::{self as pb, DeliveryStatus as St};
use ovice_slack_runtime::{
    auth::{OrgRole, SvcRole},
    test_support::Backend,
};
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::*;

fn violations(status: &tonic::Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn every_field_is_validated_and_named() {
    let h = Harness::idle(Backend::Sqlite, fast_config()).await;
    let err = h
        .service()
        .enqueue_direct_message(pb::EnqueueDirectMessageRequest { message: None })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), violations(&err)),
        (Code::InvalidArgument, vec!["message".to_owned()])
    );

    let mut m = message("m1", "alice", &["bob"], "hi");
    m.space_id = String::new();
    m.message_id = "x".repeat(129);
    m.text = "t".repeat(40_001);
    m.link_url = "javascript:alert(1)".into();
    m.sent_at = Some(prost_types::Timestamp {
        seconds: 0,
        nanos: -5,
    });
    m.sender.as_mut().unwrap().role = 0;
    m.mentions.push(pb::Mention { target: None });
    m.mentions.push(pb::Mention {
        target: Some(pb::mention::Target::Group(pb::GroupMention {
            kind: 99,
            group_id: String::new(),
        })),
    });
    m.mentions.push(pb::Mention {
        target: Some(pb::mention::Target::Group(pb::GroupMention {
            kind: pb::GroupKind::Group.into(),
            group_id: String::new(),
        })),
    });
    let err = h.enqueue(m).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        violations(&err),
        vec![
            "message.space_id",
            "message.message_id",
            "message.sent_at",
            "message.sender.role",
            "message.text",
            "message.mentions[1]",
            "message.mentions[2].group.kind",
            "message.mentions[3].group.group_id",
            "message.link_url",
        ]
    );
    let mut m = message("m1", "alice", &[], "hi");
    m.sender = None;
    m.mentions = (0..101)
        .map(|i| pb::Mention {
            target: Some(pb::mention::Target::UserId(format!("u{i}"))),
        })
        .collect();
    let err = h.enqueue(m).await.unwrap_err();
    assert_eq!(violations(&err), vec!["message.sender", "message.mentions"]);
}

#[tokio::test]
async fn only_services_may_enqueue() {
    let h = Harness::idle(Backend::Sqlite, fast_config()).await;
    let m = || pb::EnqueueDirectMessageRequest {
        message: Some(message("m1", "alice", &["bob"], "hi")),
    };
    let err = h.as_caller(None).enqueue_direct_message(m()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let owner = claims("u1", Some(ORG), Some(OrgRole::Owner), &[], None);
    let err = h
        .as_caller(Some(owner))
        .enqueue_direct_message(m())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = h.operator().enqueue_direct_message(m()).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let other_org = claims("platform", Some("org-other"), None, &[], Some(SvcRole::Platform));
    let err = h
        .as_caller(Some(other_org))
        .enqueue_direct_message(m())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // The platform publishes through the gateway (and its per-org limits), never straight here.
    let platform = claims("platform", None, None, &[], Some(SvcRole::Platform));
    let err = h
        .as_caller(Some(platform))
        .enqueue_direct_message(m())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // A service token signed with the platform's secret is no service's: refused before any policy.
    let forged = claims("ovice-slack/gateway", None, None, &[], Some(SvcRole::Service));
    let err = h
        .as_caller(Some(forged))
        .enqueue_direct_message(m())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert!(
        err.message().contains("platform's key cannot"),
        "{}",
        err.message()
    );
    let ok = h.service().enqueue_direct_message(m()).await.unwrap();
    assert_eq!(ok.into_inner().disposition(), pb::Disposition::Skipped);
}

#[tokio::test]
async fn messages_that_are_not_forwarded_are_skipped_with_the_reason() {
    let h = Harness::idle(Backend::Sqlite, fast_config()).await;
    h.link("bob", "U0BOB", false).await;
    let skip = |r: pb::EnqueueDirectMessageResponse| (r.disposition(), r.skip_reason(), r.delivery_id);
    let group = {
        let mut m = message("g", "alice", &["bob"], "hi all");
        m.mentions.push(pb::Mention {
            target: Some(pb::mention::Target::Group(pb::GroupMention {
                kind: pb::GroupKind::Here.into(),
                group_id: String::new(),
            })),
        });
        m
    };
    let cases = [
        (group, pb::SkipReason::NotDirect),
        (
            message("two", "alice", &["bob", "carol"], "x"),
            pb::SkipReason::NotDirect,
        ),
        (
            message("self", "alice", &["alice"], "x"),
            pb::SkipReason::SelfMention,
        ),
        (
            message("carol", "alice", &["carol"], "x"),
            pb::SkipReason::RecipientNotConnected,
        ),
    ];
    for (m, reason) in cases {
        let r = h.enqueue(m).await.unwrap();
        assert_eq!(skip(r), (pb::Disposition::Skipped, reason, String::new()));
    }
    let mut elsewhere = message("o", "alice", &["bob"], "x");
    elsewhere.org_id = "org-without-slack".into();
    let r = h.enqueue(elsewhere).await.unwrap();
    assert_eq!(r.skip_reason(), pb::SkipReason::WorkspaceNotConfigured);
    // Skipped messages are not stored.
    assert!(h.stored("carol").await.is_none());
}

#[tokio::test]
async fn with_the_directory_down_messages_are_still_accepted() {
    let h = Harness::idle(Backend::Sqlite, fast_config()).await;
    h.directory.set_unavailable(true);
    let r = h.enqueue(message("m1", "alice", &["bob"], "hi")).await.unwrap();
    assert_eq!(r.disposition(), pb::Disposition::Accepted);
    assert!(h.stored("m1").await.is_some());
}

#[tokio::test]
async fn owners_and_operators_inspect_only_operators_retry() {
    let h = Harness::idle(Backend::Sqlite, fast_config()).await;
    h.link("bob", "U0BOB", false).await;
    h.link("carol", "U0CAROL", false).await;
    let first = h.accepted(message("m1", "alice", &["bob"], "hi")).await;
    let second = h.accepted(message("m2", "alice", &["carol"], "hi")).await;
    let get = || pb::GetDeliveryRequest {
        org_id: ORG.into(),
        message_id: "m1".into(),
    };
    let owner = claims("u1", Some(ORG), Some(OrgRole::Owner), &[], None);
    let manager = claims(
        "u2",
        Some(ORG),
        Some(OrgRole::Member),
        &["integrations.manage"],
        None,
    );
    let member = claims("u3", Some(ORG), Some(OrgRole::Member), &[], None);
    let stranger = claims("u4", Some("org-other"), Some(OrgRole::Owner), &[], None);
    for who in [owner.clone(), manager] {
        let d = h
            .as_caller(Some(who))
            .get_delivery(get())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (d.delivery_id.as_str(), d.status()),
            (first.as_str(), St::Pending)
        );
        assert_eq!(
            (d.sender_user_id.as_str(), d.recipient_user_id.as_str()),
            ("alice", "bob")
        );
        assert!(d.next_attempt_at.is_some());
    }
    for who in [member, stranger] {
        let err = h.as_caller(Some(who)).get_delivery(get()).await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
    }
    let missing = h
        .operator()
        .get_delivery(pb::GetDeliveryRequest {
            org_id: ORG.into(),
            message_id: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    // Pages, newest first.
    let list = |token: String| pb::ListDeliveriesRequest {
        org_id: ORG.into(),
        status: 0,
        page_size: 1,
        page_token: token,
    };
    let page1 = h
        .operator()
        .list_deliveries(list(String::new()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page1.deliveries[0].delivery_id, second);
    let page2 = h
        .as_caller(Some(owner.clone()))
        .list_deliveries(list(page1.next_page_token.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page2.deliveries[0].delivery_id, first);
    assert!(page2.next_page_token.is_empty());
    let bad = h
        .operator()
        .list_deliveries(list("garbage".into()))
        .await
        .unwrap_err();
    assert_eq!(violations(&bad), vec!["page_token"]);
    let filtered = h
        .operator()
        .list_deliveries(pb::ListDeliveriesRequest {
            org_id: ORG.into(),
            status: St::Sent.into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(filtered.deliveries.is_empty());

    // Retry: operators only, and only FAILED or DEAD.
    let retry = |id: &str| pb::RetryDeliveryRequest {
        org_id: ORG.into(),
        delivery_id: id.into(),
    };
    let err = h
        .as_caller(Some(owner))
        .retry_delivery(retry(&first))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = h.operator().retry_delivery(retry(&first)).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("PENDING"), "{}", err.message());
    let err = h.operator().retry_delivery(retry("nope")).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}
