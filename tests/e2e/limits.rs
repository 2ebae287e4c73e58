//! Limits: one organization publishing too fast is told to slow down (RESOURCE_EXHAUSTED with a retry
//! delay) while another is not affected; oversized requests are refused and the server stays well.

use ovice_slack_proto::v1::{
    Disposition, GetSlackWorkspaceRequest, PublishChatMessageRequest,
    chat_event_service_client::ChatEventServiceClient,
};
use ovice_slack_runtime::test_support::Backend;
use tonic::Code;
use tonic_types::StatusExt;

use crate::{
    account_linking::Fixture,
    delivery::{message, person, to},
    support::{Who, tokens::authed},
};

#[tokio::test(flavor = "multi_thread")]
async fn a_noisy_org_is_limited_without_harming_others() {
    let f = Fixture::start_with(
        Backend::Sqlite,
        &["--gateway-org-rate", "2", "--gateway-org-burst", "5"],
    )
    .await;
    let mut gateway = ChatEventServiceClient::new(f.server.channel().await);
    let mut publish = async |org: &str, i: usize| {
        let mut m = message(&format!("{org}-{i}"), person("carol"), vec![to("bob")], "hi");
        m.org_id = org.into();
        gateway
            .publish_chat_message(authed(
                PublishChatMessageRequest {
                    message: Some(m),
                    change: None,
                },
                &Who::Platform,
            ))
            .await
    };
    let mut limited = Vec::new();
    for i in 0..30 {
        if let Err(status) = publish("org-1", i).await {
            limited.push(status);
        }
    }
    assert!(limited.len() >= 20, "only {} of 30 were limited", limited.len());
    for status in &limited {
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert!(status.message().contains("retry"), "{}", status.message());
        assert!(status.get_error_details().retry_info().is_some(), "no RetryInfo");
    }
    // Another org publishing at the same time is not affected.
    for i in 0..5 {
        let answer = publish("org-2", i)
            .await
            .expect("org-2 must not be limited by org-1's traffic");
        assert_eq!(answer.into_inner().disposition, Disposition::Skipped as i32);
    }
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_requests_are_refused_and_the_server_stays_well() {
    let f = Fixture::start(Backend::Sqlite).await;
    let mut gateway = ChatEventServiceClient::new(f.server.channel().await);
    // Over the text limit: a readable field violation.
    let long = message("big-1", person("carol"), vec![to("bob")], &"a".repeat(100_000));
    let err = gateway
        .publish_chat_message(authed(
            PublishChatMessageRequest {
                message: Some(long),
                change: None,
            },
            &Who::Platform,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("text"), "{}", err.message());
    // Over the request size limit (256 KiB): refused before it is decoded.
    let huge = message("big-2", person("carol"), vec![to("bob")], &"a".repeat(400_000));
    let err = gateway
        .publish_chat_message(authed(
            PublishChatMessageRequest {
                message: Some(huge),
                change: None,
            },
            &Who::Platform,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
    // The server still answers normally.
    let mut config =
        ovice_slack_proto::v1::integration_config_service_client::IntegrationConfigServiceClient::new(
            f.server.channel().await,
        );
    let ws = config
        .get_slack_workspace(authed(
            GetSlackWorkspaceRequest {
                org_id: "org-1".into(),
            },
            &Who::Owner("org-1"),
        ))
        .await
        .unwrap();
    assert_eq!(ws.into_inner().team_id, "T0ACME");
    f.stop().await;
}
