//! docs/product.md §2.1, as an organization owner sets up the org's Slack workspace.

use ovice_slack_proto::v1::{
    DeleteSlackWorkspaceRequest, GetBotCredentialsRequest, GetSlackWorkspaceRequest, ListAuditEventsRequest,
    PutSlackWorkspaceRequest, WorkspaceStatus,
    integration_config_service_client::IntegrationConfigServiceClient,
};
use ovice_slack_runtime::{db::Database, test_support::Backend};
use rstest::rstest;
use slack_emulator::{Emulator, Seed};
use tonic::{Code, transport::Channel};
use tonic_types::StatusExt;

use crate::support::{SlackUrls, TestServer, Who, tokens::authed};

fn put(org: &str, token: &str, domain: &str) -> PutSlackWorkspaceRequest {
    PutSlackWorkspaceRequest {
        org_id: org.into(),
        access_token: token.into(),
        workspace_domain: domain.into(),
        ..Default::default()
    }
}

async fn client(server: &TestServer) -> IntegrationConfigServiceClient<Channel> {
    IntegrationConfigServiceClient::new(server.channel().await)
}

fn violation_fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn owner_sets_up_and_reads_back_the_workspace(#[case] backend: Backend) {
    let slack = Emulator::start(Seed::demo()).await.unwrap();
    let server = TestServer::start(backend, &SlackUrls::of(&slack)).await;
    let mut c = client(&server).await;

    let saved = c
        .put_slack_workspace(authed(
            put("org-1", "xoxb-acme-good", "https://Acme.slack.com/"),
            &Who::Owner("org-1"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(saved.team_id, "T0ACME");
    assert_eq!(saved.workspace_domain, "acme");
    assert_eq!(saved.status, WorkspaceStatus::Active as i32);
    assert_eq!(saved.updated_by, "owner-of-org-1");
    for scope in ["users:read", "users:read.email", "chat:write"] {
        assert!(
            saved.scopes.iter().any(|s| s == scope),
            "{scope} missing from {:?}",
            saved.scopes
        );
    }

    let read = c
        .get_slack_workspace(authed(
            GetSlackWorkspaceRequest {
                org_id: "org-1".into(),
            },
            &Who::Owner("org-1"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read, saved);
    // A holder of integrations.manage may read (and manage) it too.
    let by_manager = c
        .get_slack_workspace(authed(
            GetSlackWorkspaceRequest {
                org_id: "org-1".into(),
            },
            &Who::Manager("org-1"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_manager.team_id, "T0ACME");

    // The audit log names who did what, never the token.
    let audit = c
        .list_audit_events(authed(
            ListAuditEventsRequest {
                org_id: "org-1".into(),
                page_size: 0,
            },
            &Who::Owner("org-1"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(audit.events.len(), 1);
    assert_eq!(audit.events[0].action, "workspace.create");
    assert_eq!(audit.events[0].actor, "owner-of-org-1");
    assert!(!format!("{audit:?}").contains("xoxb"));

    // Only the project's services get the token back.
    let creds = c
        .get_bot_credentials(authed(
            GetBotCredentialsRequest {
                org_id: "org-1".into(),
            },
            &Who::Service,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(creds.access_token, "xoxb-acme-good");
    for who in [Who::Owner("org-1"), Who::Operator] {
        let denied = c
            .get_bot_credentials(authed(
                GetBotCredentialsRequest {
                    org_id: "org-1".into(),
                },
                &who,
            ))
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "{who:?}");
    }
    server.stop().await;
    slack.shutdown().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn members_and_other_orgs_are_refused(#[case] backend: Backend) {
    let slack = Emulator::start(Seed::demo()).await.unwrap();
    let server = TestServer::start(backend, &SlackUrls::of(&slack)).await;
    let mut c = client(&server).await;

    let member = c
        .put_slack_workspace(authed(
            put("org-1", "xoxb-acme-good", "acme"),
            &Who::Member("org-1"),
        ))
        .await
        .unwrap_err();
    assert_eq!(member.code(), Code::PermissionDenied);
    assert!(
        member.message().contains("organization owner"),
        "{}",
        member.message()
    );

    let stranger = c
        .put_slack_workspace(authed(
            put("org-1", "xoxb-acme-good", "acme"),
            &Who::Owner("org-2"),
        ))
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), Code::PermissionDenied);
    assert!(stranger.message().contains("org-2"), "{}", stranger.message());

    let no_token = c
        .put_slack_workspace(put("org-1", "xoxb-acme-good", "acme"))
        .await
        .unwrap_err();
    assert_eq!(no_token.code(), Code::Unauthenticated);
    let mut forged = tonic::Request::new(put("org-1", "xoxb-acme-good", "acme"));
    forged
        .metadata_mut()
        .insert("authorization", "Bearer not-a-jwt".parse().unwrap());
    assert_eq!(
        c.put_slack_workspace(forged).await.unwrap_err().code(),
        Code::Unauthenticated
    );

    // Nothing was stored by any of them.
    let get = c
        .get_slack_workspace(authed(
            GetSlackWorkspaceRequest {
                org_id: "org-1".into(),
            },
            &Who::Owner("org-1"),
        ))
        .await
        .unwrap_err();
    assert_eq!(get.code(), Code::NotFound);
    assert!(
        slack.calls().is_empty(),
        "no Slack call may be made for a refused caller"
    );
    server.stop().await;
    slack.shutdown().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn each_bad_token_or_domain_gets_its_own_readable_error(#[case] backend: Backend) {
    let slack = Emulator::start(Seed::demo()).await.unwrap();
    let server = TestServer::start(backend, &SlackUrls::of(&slack)).await;
    let mut c = client(&server).await;
    let owner = Who::Owner("org-1");

    let lacking = c
        .put_slack_workspace(authed(put("org-1", "xoxb-acme-noemail", "acme"), &owner))
        .await
        .unwrap_err();
    assert_eq!(lacking.code(), Code::InvalidArgument);
    assert!(
        lacking
            .message()
            .contains("the token lacks scopes: users:read.email"),
        "{}",
        lacking.message()
    );
    assert_eq!(
        lacking.get_details_localized_message().unwrap().message,
        "The bot token lacks the scopes users:read.email: add them under Bot Token Scopes and \
         reinstall the app."
    );
    assert_eq!(violation_fields(&lacking), ["access_token"]);

    let wrong_domain = c
        .put_slack_workspace(authed(put("org-1", "xoxb-acme-good", "globex"), &owner))
        .await
        .unwrap_err();
    assert_eq!(wrong_domain.code(), Code::InvalidArgument);
    assert!(
        wrong_domain
            .message()
            .contains("acme.slack.com, not globex.slack.com"),
        "{}",
        wrong_domain.message()
    );

    let malformed = c
        .put_slack_workspace(authed(
            put("org-1", "xoxp-user-token", "acme.slack.com/messages"),
            &owner,
        ))
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), Code::InvalidArgument);
    assert_eq!(violation_fields(&malformed), ["workspace_domain", "access_token"]);
    // What the owner reads: a LocalizedMessage in the language of their ovice (English by default),
    // every refused field in one text, never the token.
    let told = malformed.get_details_localized_message().unwrap();
    assert_eq!(told.locale, "en");
    assert_eq!(
        told.message,
        "The workspace domain is not valid: enter only the \"acme\" part of acme.slack.com. \
         This is not a Bot User OAuth Token: it starts with \"xoxb-\" (copy it from OAuth & \
         Permissions → Bot User OAuth Token, not the user token)."
    );
    let in_japanese = c
        .put_slack_workspace(crate::support::tokens::authed_in(
            put("org-1", "xoxp-user-token", "acme.slack.com/messages"),
            &owner,
            "ja",
        ))
        .await
        .unwrap_err();
    assert_eq!(
        in_japanese.message(),
        malformed.message(),
        "operators read English"
    );
    let told = in_japanese.get_details_localized_message().unwrap();
    assert_eq!(told.locale, "ja");
    assert!(
        told.message
            .starts_with("ワークスペースのドメインが正しくありません。")
            && told
                .message
                .contains("これは Bot User OAuth Token ではありません。")
            && !told.message.contains("xoxp-user-token"),
        "{told:?}"
    );

    let unknown = c
        .put_slack_workspace(authed(put("org-1", "xoxb-no-such-token", "acme"), &owner))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::InvalidArgument);
    assert!(
        unknown.message().contains("invalid_auth"),
        "{}",
        unknown.message()
    );

    assert!(slack.revoke_token("xoxb-acme-good"));
    let revoked = c
        .put_slack_workspace(authed(put("org-1", "xoxb-acme-good", "acme"), &owner))
        .await
        .unwrap_err();
    assert_eq!(revoked.code(), Code::InvalidArgument);
    assert!(
        revoked.message().contains("token_revoked"),
        "{}",
        revoked.message()
    );
    assert_eq!(
        revoked.get_details_localized_message().unwrap().message,
        "Slack refused the bot token (token_revoked): the app was uninstalled or the token \
         revoked: reinstall the app and copy the new token."
    );

    for status in [&lacking, &wrong_domain, &malformed, &unknown, &revoked] {
        for token in [
            "xoxb-acme-good",
            "xoxb-acme-noemail",
            "xoxb-no-such-token",
            "xoxp-user-token",
        ] {
            assert!(
                !status.message().contains(token),
                "token echoed: {}",
                status.message()
            );
        }
    }
    let get = c
        .get_slack_workspace(authed(
            GetSlackWorkspaceRequest {
                org_id: "org-1".into(),
            },
            &owner,
        ))
        .await;
    assert_eq!(
        get.unwrap_err().code(),
        Code::NotFound,
        "a refused token must not be stored"
    );
    server.stop().await;
    slack.shutdown().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn slack_unreachable_is_unavailable_and_stores_nothing(#[case] backend: Backend) {
    let slack = Emulator::start(Seed::demo()).await.unwrap();
    let urls = SlackUrls::of(&slack);
    slack.shutdown().await;
    let server = TestServer::start(backend, &urls).await;
    let mut c = client(&server).await;
    let owner = Who::Owner("org-1");
    let down = c
        .put_slack_workspace(authed(put("org-1", "xoxb-acme-good", "acme"), &owner))
        .await
        .unwrap_err();
    assert_eq!(down.code(), Code::Unavailable);
    assert!(
        down.message().contains("Slack could not be reached"),
        "{}",
        down.message()
    );
    let get = c
        .get_slack_workspace(authed(
            GetSlackWorkspaceRequest {
                org_id: "org-1".into(),
            },
            &owner,
        ))
        .await;
    assert_eq!(get.unwrap_err().code(), Code::NotFound);
    server.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn replacing_and_removing_are_audited_and_the_token_is_never_plaintext(#[case] backend: Backend) {
    let slack = Emulator::start(Seed::demo()).await.unwrap();
    let server = TestServer::start(backend, &SlackUrls::of(&slack)).await;
    let mut c = client(&server).await;
    let owner = Who::Owner("org-1");
    c.put_slack_workspace(authed(put("org-1", "xoxb-acme-good", "acme"), &owner))
        .await
        .unwrap();
    let replaced = c
        .put_slack_workspace(authed(
            put("org-1", "xoxb-globex-good", "globex"),
            &Who::Manager("org-1"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replaced.team_id, "T0GLOBEX");

    assert_no_plaintext_token(&server, &["xoxb-acme-good", "xoxb-globex-good"]).await;

    let deleted = c
        .delete_slack_workspace(authed(
            DeleteSlackWorkspaceRequest {
                org_id: "org-1".into(),
            },
            &owner,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(deleted.deleted);
    let again = c
        .delete_slack_workspace(authed(
            DeleteSlackWorkspaceRequest {
                org_id: "org-1".into(),
            },
            &owner,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!again.deleted);
    let audit = c
        .list_audit_events(authed(
            ListAuditEventsRequest {
                org_id: "org-1".into(),
                page_size: 10,
            },
            &owner,
        ))
        .await
        .unwrap()
        .into_inner();
    let actions: Vec<_> = audit
        .events
        .iter()
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("workspace.delete", "owner-of-org-1"),
            ("workspace.replace_team", "manager-of-org-1"),
            ("workspace.create", "owner-of-org-1"),
        ]
    );
    server.stop().await;
    slack.shutdown().await;
}

/// Reads everything stored: the SQLite file (and its WAL) byte for byte, or every PostgreSQL row as text.
async fn assert_no_plaintext_token(server: &TestServer, tokens: &[&str]) {
    match server.database().await {
        Database::Sqlite(pool) => {
            pool.close().await;
            let path = secrecy::ExposeSecret::expose_secret(&server.database_url)
                .trim_start_matches("sqlite://")
                .to_owned();
            for file in [path.clone(), format!("{path}-wal")] {
                let bytes = std::fs::read(&file).unwrap_or_default();
                for t in tokens {
                    assert!(!contains(&bytes, t.as_bytes()), "{t} readable in {file}");
                }
            }
        }
        Database::Postgres(pool) => {
            let rows: Vec<(String,)> = sqlx::query_as("SELECT row_to_json(w)::text FROM slack_workspaces w")
                .fetch_all(&pool)
                .await
                .unwrap();
            assert!(!rows.is_empty());
            let audit: Vec<(String,)> =
                sqlx::query_as("SELECT row_to_json(a)::text FROM slack_workspace_audit a")
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            for (row,) in rows.iter().chain(&audit) {
                for t in tokens {
                    assert!(!row.contains(t), "{t} readable in {row}");
                }
            }
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
