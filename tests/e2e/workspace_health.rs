//! The periodic health check (docs/product.md §2.1): a bot token revoked in Slack, with no event and
//! no message, is found by `auth.test` and the org becomes TOKEN_INVALID; a healthy one shows when it
//! was last checked.

use std::time::Duration;

use ovice_slack_proto::v1::{ListAuditEventsRequest, WorkspaceStatus};
use ovice_slack_runtime::test_support::{Backend, eventually};
use rstest::rstest;

use crate::{
    account_linking::{Fixture, org_workspace},
    support::{Who, tokens::authed},
};

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test(flavor = "multi_thread")]
async fn the_health_check_flips_a_revoked_org_to_token_invalid_with_no_message_sent(
    #[case] backend: Backend,
) {
    let mut f = Fixture::start_with(
        backend,
        &[
            "--workspace-check-interval",
            "1",
            "--workspace-check-pace",
            "0.05",
        ],
    )
    .await;
    let patience = Duration::from_secs(10);
    let mut config = f.config.clone();
    let healthy = eventually("the first check has run", patience, async || {
        let ws = org_workspace(&mut config).await;
        ws.checked_at.is_some().then_some(ws)
    })
    .await;
    assert_eq!(
        (healthy.status, healthy.check_problem.as_str()),
        (WorkspaceStatus::Active as i32, "")
    );

    assert!(f.slack.revoke_token("xoxb-acme-good"));
    let revoked = eventually("the org is TOKEN_INVALID", patience, async || {
        let ws = org_workspace(&mut config).await;
        (ws.status == WorkspaceStatus::TokenInvalid as i32).then_some(ws)
    })
    .await;
    assert_eq!(revoked.status_reason, "token_revoked");
    assert_eq!(org_workspace(&mut f.config).await.check_problem, "token_revoked");
    assert!(f.slack.messages().is_empty());
    let methods: std::collections::BTreeSet<String> = f.slack.calls().into_iter().map(|c| c.method).collect();
    assert_eq!(
        methods,
        ["auth.test".to_string()].into(),
        "only auth.test reached Slack"
    );
    let audit = f
        .config
        .list_audit_events(authed(
            ListAuditEventsRequest {
                org_id: "org-1".into(),
                page_size: 0,
            },
            &Who::Owner("org-1"),
        ))
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(audit[0].action, "workspace.token_invalid", "{audit:?}");
    assert_eq!(audit[0].actor, "ovice-slack health check");
    // Once TOKEN_INVALID, the org is no longer checked: no more auth.test after the mark.
    let checks = f.slack.calls().len();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(f.slack.calls().len(), checks, "an invalid org was checked again");
    f.stop().await;
}
