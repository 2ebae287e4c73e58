//! The member's side of the help page in a real browser: Personal Integration Settings → Connect opens
//! Slack's consent page, the person picks the workspace at the top right and clicks Allow (or Cancel),
//! and the callback page says what happened. Then Disconnect.

use fantoccini::{Client, Locator};
use ovice_slack_proto::v1::{ConnectionState, DisconnectSlackRequest};
use ovice_slack_runtime::test_support::Backend;
use rstest::rstest;

use crate::{
    account_linking::{ALICE, Fixture},
    support::{Who, browser::Browser, tokens::authed},
};

/// On Slack's page: check the preselected workspace, pick who is signed in, click a button; returns the
/// callback page's message.
async fn consent_in_browser(client: &Client, url: &str, user: &str, button: &str) -> String {
    client.goto(url).await.unwrap();
    let team = client.find(Locator::Css("header #team")).await.unwrap();
    assert_eq!(
        team.prop("value").await.unwrap().as_deref(),
        Some("T0ACME"),
        "the org's workspace is preselected"
    );
    client
        .find(Locator::Css("#user"))
        .await
        .unwrap()
        .select_by_value(user)
        .await
        .unwrap();
    client
        .find(Locator::Id(button))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("main[data-outcome]"))
        .await
        .unwrap();
    client
        .find(Locator::Id("message"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn member_connects_in_a_browser_and_it_applies_in_every_space(#[case] backend: Backend) {
    let mut f = Fixture::start(backend).await;
    let browser = Browser::start().await;
    let client = &browser.client;

    // Allow: connected, and the page says so.
    let url = f.begin(&ALICE).await;
    let message = consent_in_browser(client, &url, "U0ALICE", "allow").await;
    assert_eq!(
        message,
        "Connected as @alice in acme.slack.com to your ovice account alice@acme.test — you can close this window."
    );
    if let Ok(dir) = std::env::var("OVICE_SLACK_SCREENSHOT_DIR") {
        std::fs::write(format!("{dir}/connected.png"), client.screenshot().await.unwrap()).unwrap();
    }

    // Connected once, it applies in the org's other spaces.
    let in_space_2 = Who::member("alice", "alice@acme.test", "space-2");
    assert_eq!(f.state_of(&in_space_2).await, ConnectionState::Connected);
    assert_eq!(f.state_of(&ALICE).await, ConnectionState::Connected);

    // Disconnect: not connected anywhere.
    f.links
        .disconnect_slack(authed(
            DisconnectSlackRequest {
                org_id: "org-1".into(),
            },
            &in_space_2,
        ))
        .await
        .unwrap();
    assert_eq!(f.state_of(&ALICE).await, ConnectionState::NotConnected);
    assert_eq!(f.state_of(&in_space_2).await, ConnectionState::NotConnected);

    // Cancel on Slack's page.
    let url = f.begin(&ALICE).await;
    let message = consent_in_browser(client, &url, "U0ALICE", "cancel").await;
    assert!(message.contains("You cancelled"), "{message}");
    assert_eq!(f.state_of(&ALICE).await, ConnectionState::NotConnected);

    // An ovice email with no Slack account.
    let erin = Who::member("erin", "erin@acme.test", "space-1");
    let url = f.begin(&erin).await;
    let message = consent_in_browser(client, &url, "U0CAROL", "allow").await;
    assert_eq!(
        message,
        "No Slack account with the email erin@acme.test exists in acme.slack.com."
    );
    assert_eq!(f.state_of(&erin).await, ConnectionState::NotConnected);

    assert!(f.linked_users().await.is_empty());
    browser.close().await;
    f.stop().await;
}
