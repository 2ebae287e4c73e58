//! docs/product.md §2.2 without a browser: the consent page is posted over HTTP like a browser without JavaScript
//! would. Every refusal leaves nothing linked.

use ovice_slack_proto::v1::{
    BeginSlackConnectRequest, ConnectionState, DisconnectSlackRequest, GetSlackConnectionRequest,
    ListSlackConnectionsRequest, PutSlackWorkspaceRequest, ReportUserTokenInvalidRequest,
    ResolveSlackUsersRequest, ResolvedSlackUser, account_link_service_client::AccountLinkServiceClient,
    integration_config_service_client::IntegrationConfigServiceClient,
};
use std::time::Duration;

use ovice_slack_runtime::{
    auth::SpaceRole,
    db::Database,
    test_support::{Backend, eventually},
};
use reqwest::StatusCode;
use rstest::rstest;
use slack_emulator::{Emulator, EmulatorHandle, Fault, FaultKind, Seed};
use tonic::{Code, transport::Channel};

use crate::support::{
    SlackUrls, TestServer, Who,
    consent::{CallbackPage, Consent, Decision, with_param},
    tokens::{authed, authed_in},
};

pub const ALICE: Who = Who::Person {
    org: "org-1",
    user: "alice",
    email: "alice@acme.test",
    space: "space-1",
    role: SpaceRole::Member,
};
pub const BOB: Who = Who::Person {
    org: "org-1",
    user: "bob",
    email: "bob@acme.test",
    space: "space-1",
    role: SpaceRole::Admin,
};

/// Org-1's Slack settings, as its owner reads them.
pub async fn org_workspace(
    config: &mut IntegrationConfigServiceClient<Channel>,
) -> ovice_slack_proto::v1::SlackWorkspace {
    config
        .get_slack_workspace(authed(
            ovice_slack_proto::v1::GetSlackWorkspaceRequest {
                org_id: "org-1".into(),
            },
            &Who::Owner("org-1"),
        ))
        .await
        .unwrap()
        .into_inner()
}

/// A running server whose org-1 has the demo Acme workspace set up, and its callback registered.
pub struct Fixture {
    pub slack: EmulatorHandle,
    pub server: TestServer,
    pub links: AccountLinkServiceClient<Channel>,
    pub config: IntegrationConfigServiceClient<Channel>,
}

impl Fixture {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, &[]).await
    }

    /// Like [`Fixture::start`], with extra `serve` flags.
    pub async fn start_with(backend: Backend, extra: &[&str]) -> Self {
        let slack = Emulator::start(Seed::demo()).await.unwrap();
        let server = TestServer::start_with(backend, &SlackUrls::of(&slack), extra).await;
        server.register_callback(&slack);
        server.register_events(&slack);
        let channel = server.channel().await;
        let mut config = IntegrationConfigServiceClient::new(channel.clone());
        config
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
        Self {
            slack,
            server,
            links: AccountLinkServiceClient::new(channel),
            config,
        }
    }

    pub async fn begin(&mut self, who: &Who) -> String {
        let space = match who {
            Who::Person { space, .. } => space.to_string(),
            _ => unreachable!(),
        };
        self.links
            .begin_slack_connect(authed(
                BeginSlackConnectRequest {
                    org_id: "org-1".into(),
                    space_id: space,
                },
                who,
            ))
            .await
            .unwrap()
            .into_inner()
            .authorize_url
    }

    pub async fn state_of(&mut self, who: &Who) -> ConnectionState {
        let space = match who {
            Who::Person { space, .. } => space.to_string(),
            _ => unreachable!(),
        };
        let c = self
            .links
            .get_slack_connection(authed(
                GetSlackConnectionRequest {
                    org_id: "org-1".into(),
                    space_id: space,
                },
                who,
            ))
            .await
            .unwrap()
            .into_inner();
        ConnectionState::try_from(c.state).unwrap()
    }

    pub async fn linked_users(&mut self) -> Vec<String> {
        self.links
            .list_slack_connections(authed(
                ListSlackConnectionsRequest {
                    org_id: "org-1".into(),
                    page_size: 0,
                    page_token: String::new(),
                },
                &Who::Owner("org-1"),
            ))
            .await
            .unwrap()
            .into_inner()
            .connections
            .into_iter()
            .map(|c| c.user_id)
            .collect()
    }

    /// The owner replaces Acme with the demo's other workspace, Globex (another Slack team).
    pub async fn switch_to_globex(&mut self) {
        self.config
            .put_slack_workspace(authed(
                PutSlackWorkspaceRequest {
                    org_id: "org-1".into(),
                    access_token: "xoxb-globex-good".into(),
                    workspace_domain: "globex".into(),
                    ..Default::default()
                },
                &Who::Owner("org-1"),
            ))
            .await
            .unwrap();
    }

    pub async fn stop(self) {
        self.server.stop().await;
        self.slack.shutdown().await;
    }
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn connect_links_the_person_whose_email_matches(#[case] backend: Backend) {
    let mut f = Fixture::start(backend).await;
    let url = f.begin(&ALICE).await;
    let parsed = url::Url::parse(&url).unwrap();
    let q: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
    assert_eq!(q["team"], "T0ACME");
    assert_eq!(q["user_scope"], "chat:write,im:write,users:read,users:read.email");
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["state"].len() >= 32, "state must be unguessable");

    let consent = Consent::new();
    let callback = consent
        .decide(
            &url,
            Decision::Allow {
                team: "T0ACME",
                user: "U0ALICE",
            },
        )
        .await;
    let page = consent.open(&callback).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(
        page.message,
        "Connected as @alice in acme.slack.com to your ovice account alice@acme.test — you can close this window."
    );
    assert!(!page.html.contains("xoxp-"), "a token reached the page");
    assert_eq!(f.state_of(&ALICE).await, ConnectionState::Connected);
    assert_eq!(f.linked_users().await, ["alice"]);

    // The delivery service resolves the link, with the user token; operators and people may not.
    let resolve = || ResolveSlackUsersRequest {
        org_id: "org-1".into(),
        user_ids: vec!["alice".into(), "nobody".into()],
        include_user_tokens: true,
        ..Default::default()
    };
    let users = f
        .links
        .resolve_slack_users(authed(resolve(), &Who::Service))
        .await
        .unwrap()
        .into_inner()
        .users;
    assert_eq!(users[0].slack_user_id, "U0ALICE");
    assert!(users[0].user_access_token.starts_with("xoxp-"));
    assert_eq!(users[1].state, ConnectionState::NotConnected as i32);
    // Without asking for tokens (the accept path), none is decrypted or sent; with the team the
    // caller knows, links of any other team are not connected.
    for (team_id, include_user_tokens, state) in [
        ("", false, ConnectionState::Connected),
        ("T0ACME", false, ConnectionState::Connected),
        ("T0GLOBEX", true, ConnectionState::NotConnected),
    ] {
        let request = ResolveSlackUsersRequest {
            team_id: team_id.into(),
            include_user_tokens,
            ..resolve()
        };
        let users = f
            .links
            .resolve_slack_users(authed(request, &Who::Service))
            .await
            .unwrap()
            .into_inner()
            .users;
        assert_eq!(users[0].state, state as i32, "team {team_id:?}");
        assert!(users[0].user_access_token.is_empty(), "team {team_id:?}");
    }
    for who in [Who::Operator, ALICE, Who::Owner("org-1")] {
        let denied = f
            .links
            .resolve_slack_users(authed(resolve(), &who))
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "{who:?}");
    }

    // Slack later rejects her token: the item says to reconnect, and no token is handed out.
    f.links
        .report_user_token_invalid(authed(
            ReportUserTokenInvalidRequest {
                org_id: "org-1".into(),
                user_id: "alice".into(),
                reason: "token_revoked".into(),
            },
            &Who::Service,
        ))
        .await
        .unwrap();
    assert_eq!(f.state_of(&ALICE).await, ConnectionState::NeedsReconnect);
    let users = f
        .links
        .resolve_slack_users(authed(resolve(), &Who::Service))
        .await
        .unwrap()
        .into_inner()
        .users;
    assert!(users[0].user_access_token.is_empty());

    // The stored user token is never plaintext.
    assert_user_token_sealed(&f.server).await;

    // Disconnect removes the link for the whole org.
    let out = f
        .links
        .disconnect_slack(authed(
            DisconnectSlackRequest {
                org_id: "org-1".into(),
            },
            &ALICE,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(out.disconnected);
    assert_eq!(f.state_of(&ALICE).await, ConnectionState::NotConnected);
    f.stop().await;
}

async fn assert_user_token_sealed(server: &TestServer) {
    let db = server.database().await;
    let rows: Vec<(Vec<u8>,)> = match &db {
        Database::Sqlite(p) => sqlx::query_as("SELECT token_ciphertext FROM slack_links")
            .fetch_all(p)
            .await
            .unwrap(),
        Database::Postgres(p) => sqlx::query_as("SELECT token_ciphertext FROM slack_links")
            .fetch_all(p)
            .await
            .unwrap(),
    };
    assert_eq!(rows.len(), 1);
    assert!(!String::from_utf8_lossy(&rows[0].0).contains("xoxp-"));
    db.close().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn visitors_do_not_see_the_item_and_cannot_connect(#[case] backend: Backend) {
    let mut f = Fixture::start(backend).await;
    let visitor = Who::Person {
        org: "org-1",
        user: "val",
        email: "val@guest.test",
        space: "space-1",
        role: SpaceRole::Visitor,
    };
    let item = f
        .links
        .get_slack_connection(authed(
            GetSlackConnectionRequest {
                org_id: "org-1".into(),
                space_id: "space-1".into(),
            },
            &visitor,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!item.visible);
    assert!(
        item.workspace_domain.is_empty(),
        "a visitor learns nothing of the org's Slack"
    );
    let refused = f
        .links
        .begin_slack_connect(authed(
            BeginSlackConnectRequest {
                org_id: "org-1".into(),
                space_id: "space-1".into(),
            },
            &visitor,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(refused.message().contains("visitors"), "{}", refused.message());

    // A member sees it; another org's person and a token for another space are refused.
    let item = f
        .links
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
    assert!(item.visible && item.available);
    assert_eq!(item.workspace_domain, "acme");
    let elsewhere = Who::Person {
        org: "org-2",
        user: "x",
        email: "x@y.test",
        space: "space-1",
        role: SpaceRole::Member,
    };
    let denied = f
        .links
        .get_slack_connection(authed(
            GetSlackConnectionRequest {
                org_id: "org-1".into(),
                space_id: "space-1".into(),
            },
            &elsewhere,
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let other_space = f
        .links
        .begin_slack_connect(authed(
            BeginSlackConnectRequest {
                org_id: "org-1".into(),
                space_id: "space-9".into(),
            },
            &ALICE,
        ))
        .await
        .unwrap_err();
    assert_eq!(other_space.code(), Code::PermissionDenied);
    assert!(f.linked_users().await.is_empty());
    f.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn forged_reused_and_expired_states_link_nothing(#[case] backend: Backend) {
    let mut f = Fixture::start(backend).await;
    let consent = Consent::new();
    let url = f.begin(&ALICE).await;
    let callback = consent
        .decide(
            &url,
            Decision::Allow {
                team: "T0ACME",
                user: "U0ALICE",
            },
        )
        .await;

    let forged = consent
        .open(&with_param(&callback, "state", "forged-state-value"))
        .await;
    assert_eq!(
        (forged.status, forged.outcome.as_str()),
        (StatusCode::BAD_REQUEST, "unknown_state")
    );
    let missing = consent
        .open(
            &url::Url::parse(&format!(
                "http://{}/oauth/slack/callback?code=x",
                f.server.http_addr
            ))
            .unwrap(),
        )
        .await;
    assert_eq!(
        (missing.status, missing.outcome.as_str()),
        (StatusCode::BAD_REQUEST, "missing_state")
    );

    // The state is spent by its first use (here a cancel); the real code then comes too late.
    let cancel = consent
        .open(&with_param(
            &with_param(&callback, "error", "access_denied"),
            "code",
            "",
        ))
        .await;
    assert_eq!(
        (cancel.status, cancel.outcome.as_str()),
        (StatusCode::OK, "cancelled")
    );
    let reused = consent.open(&callback).await;
    assert_eq!(
        (reused.status, reused.outcome.as_str()),
        (StatusCode::CONFLICT, "state_used")
    );
    assert!(reused.message.contains("already"), "{}", reused.message);

    // An expired flow: the row says it expired before the person came back.
    let url = f.begin(&ALICE).await;
    let callback = consent
        .decide(
            &url,
            Decision::Allow {
                team: "T0ACME",
                user: "U0ALICE",
            },
        )
        .await;
    let db = f.server.database().await;
    match &db {
        Database::Sqlite(p) => sqlx::query("UPDATE slack_connect_states SET expires_at = 1")
            .execute(p)
            .await
            .map(|_| ()),
        Database::Postgres(p) => sqlx::query("UPDATE slack_connect_states SET expires_at = 1")
            .execute(p)
            .await
            .map(|_| ()),
    }
    .unwrap();
    db.close().await;
    let expired = consent.open(&callback).await;
    assert_eq!(
        (expired.status, expired.outcome.as_str()),
        (StatusCode::GONE, "state_expired")
    );

    assert_eq!(f.state_of(&ALICE).await, ConnectionState::NotConnected);
    assert!(f.linked_users().await.is_empty());
    f.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn wrong_people_and_workspaces_link_nothing(#[case] backend: Backend) {
    let mut f = Fixture::start(backend).await;
    let consent = Consent::new();

    // Another workspace picked in the drop-down.
    let url = f.begin(&ALICE).await;
    let cb = consent
        .decide(
            &url,
            Decision::Allow {
                team: "T0GLOBEX",
                user: "U0GALICE",
            },
        )
        .await;
    let page = consent.open(&cb).await;
    assert_eq!(
        (page.status, page.outcome.as_str()),
        (StatusCode::FORBIDDEN, "wrong_workspace")
    );
    assert!(page.message.contains("acme.slack.com"), "{}", page.message);

    // Alice's ovice email belongs to U0ALICE, but Bob clicked Allow.
    let url = f.begin(&ALICE).await;
    let cb = consent
        .decide(
            &url,
            Decision::Allow {
                team: "T0ACME",
                user: "U0BOB",
            },
        )
        .await;
    let page = consent.open(&cb).await;
    assert_eq!(
        (page.status, page.outcome.as_str()),
        (StatusCode::FORBIDDEN, "email_mismatch")
    );

    // Bob's Connect link completed by Alice (a state from another user): her Slack account is not Bob's.
    let url = f.begin(&BOB).await;
    let cb = consent
        .decide(
            &url,
            Decision::Allow {
                team: "T0ACME",
                user: "U0ALICE",
            },
        )
        .await;
    let page = consent.open(&cb).await;
    assert_eq!(
        (page.status, page.outcome.as_str()),
        (StatusCode::FORBIDDEN, "email_mismatch")
    );

    // An ovice email with no Slack account in the workspace.
    let erin = Who::member("erin", "erin@acme.test", "space-1");
    let url = f.begin(&erin).await;
    let cb = consent
        .decide(
            &url,
            Decision::Allow {
                team: "T0ACME",
                user: "U0CAROL",
            },
        )
        .await;
    let page = consent.open(&cb).await;
    assert_eq!(
        (page.status, page.outcome.as_str()),
        (StatusCode::NOT_FOUND, "no_slack_account")
    );
    assert_eq!(
        page.message,
        "No Slack account with the email erin@acme.test exists in acme.slack.com."
    );

    assert!(f.linked_users().await.is_empty());
    assert_eq!(f.state_of(&ALICE).await, ConnectionState::NotConnected);
    assert_eq!(f.state_of(&BOB).await, ConnectionState::NotConnected);
    f.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_differing_redirect_uri_or_slack_down_links_nothing(#[case] backend: Backend) {
    let mut f = Fixture::start(backend).await;
    let consent = Consent::new();

    // The code was issued for another (registered) redirect URI: Slack refuses our exchange.
    let other = format!("http://{}/elsewhere", f.server.http_addr);
    assert!(f.slack.add_redirect_uri("111.222", &other));
    let url = f.begin(&ALICE).await;
    let tampered = with_param(&url::Url::parse(&url).unwrap(), "redirect_uri", &other);
    let cb = consent
        .decide(
            tampered.as_str(),
            Decision::Allow {
                team: "T0ACME",
                user: "U0ALICE",
            },
        )
        .await;
    assert!(cb.as_str().starts_with(&other));
    let ours = url::Url::parse(&format!(
        "http://{}/oauth/slack/callback?{}",
        f.server.http_addr,
        cb.query().unwrap()
    ))
    .unwrap();
    let page = consent.open(&ours).await;
    assert_eq!(
        (page.status, page.outcome.as_str()),
        (StatusCode::BAD_REQUEST, "slack_error")
    );
    assert!(page.message.contains("bad_redirect_uri"), "{}", page.message);

    // The authorize URL altered to ask for a bot scope instead of the person's: Slack grants no
    // user token, so there is nobody to link.
    let url = url::Url::parse(&f.begin(&ALICE).await).unwrap();
    let no_user_scope = with_param(&with_param(&url, "user_scope", ""), "scope", "chat:write");
    let cb = consent
        .decide(
            no_user_scope.as_str(),
            Decision::Allow {
                team: "T0ACME",
                user: "U0ALICE",
            },
        )
        .await;
    let page = consent.open(&cb).await;
    assert_eq!(
        (page.status, page.outcome.as_str()),
        (StatusCode::FORBIDDEN, "no_user_grant")
    );
    assert!(
        page.message.contains("no access to your own Slack account"),
        "{}",
        page.message
    );

    // Slack is down during the exchange.
    let url = f.begin(&ALICE).await;
    let cb = consent
        .decide(
            &url,
            Decision::Allow {
                team: "T0ACME",
                user: "U0ALICE",
            },
        )
        .await;
    f.slack
        .inject_fault(Fault::next(FaultKind::HttpStatus { status: 503 }).on("oauth.v2.access"));
    let page = consent.open(&cb).await;
    assert_eq!(
        (page.status, page.outcome.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "slack_unavailable")
    );

    assert!(f.linked_users().await.is_empty());
    f.stop().await;
}

#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn replacing_the_workspace_with_another_team_invalidates_links(#[case] backend: Backend) {
    let mut f = Fixture::start(backend).await;
    let consent = Consent::new();
    let url = f.begin(&ALICE).await;
    let cb = consent
        .decide(
            &url,
            Decision::Allow {
                team: "T0ACME",
                user: "U0ALICE",
            },
        )
        .await;
    assert_eq!(consent.open(&cb).await.status, StatusCode::OK);
    assert_eq!(f.state_of(&ALICE).await, ConnectionState::Connected);

    f.switch_to_globex().await;
    assert_eq!(f.state_of(&ALICE).await, ConnectionState::NotConnected);
    assert!(f.linked_users().await.is_empty());
    let alice = resolved(&mut f, "alice").await;
    assert_eq!(alice.state, ConnectionState::NotConnected as i32);
    assert!(alice.user_access_token.is_empty());
    f.stop().await;
}

/// A member of org-1 in space-1 with this email.
fn member(user: &'static str, email: &'static str) -> Who {
    Who::Person {
        org: "org-1",
        user,
        email,
        space: "space-1",
        role: SpaceRole::Member,
    }
}

/// Connect, with the person clicking Allow as `slack_user` of `team`.
/// `who` starts Connect and `slack_user` of `team` clicks Allow: the page the callback shows.
async fn consent_page(f: &mut Fixture, who: &Who, team: &str, slack_user: &str) -> CallbackPage {
    let consent = Consent::new();
    let url = f.begin(who).await;
    let callback = consent
        .decide(
            &url,
            Decision::Allow {
                team,
                user: slack_user,
            },
        )
        .await;
    consent.open(&callback).await
}

async fn connect_as(f: &mut Fixture, who: &Who, team: &str, slack_user: &str) {
    let page = consent_page(f, who, team, slack_user).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
}

/// Regression: links of a replaced workspace used to be dropped after the SQL `LIMIT`, so a page
/// holding only stale links came back empty, without a next page, and ended the listing early.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn listing_walks_every_current_link_after_the_workspace_changed(#[case] backend: Backend) {
    let mut f = Fixture::start(backend).await;
    for (user, email, slack_user) in [
        ("alice", "alice@acme.test", "U0ALICE"),
        ("bob", "bob@acme.test", "U0BOB"),
        ("carol", "carol@acme.test", "U0CAROL"),
    ] {
        connect_as(&mut f, &member(user, email), "T0ACME", slack_user).await;
    }
    // The org moves to Globex: the Acme links mean nothing there. Alice and Zed connect again;
    // Bob's and Carol's links stay behind, from the old team, between them in user-id order.
    f.switch_to_globex().await;
    connect_as(
        &mut f,
        &member("alice", "alice@acme.test"),
        "T0GLOBEX",
        "U0GALICE",
    )
    .await;
    connect_as(&mut f, &member("zed", "zed@globex.test"), "T0GLOBEX", "U0GZED").await;

    let mut seen = Vec::new();
    let mut page_token = String::new();
    for _ in 0..10 {
        let page = f
            .links
            .list_slack_connections(authed(
                ListSlackConnectionsRequest {
                    org_id: "org-1".into(),
                    page_size: 1,
                    page_token: page_token.clone(),
                },
                &Who::Owner("org-1"),
            ))
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.connections.into_iter().map(|c| (c.user_id, c.slack_user_id)));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(
        seen,
        [
            ("alice".to_owned(), "U0GALICE".to_owned()),
            ("zed".to_owned(), "U0GZED".to_owned())
        ]
    );
    f.stop().await;
}

/// One person clicking Connect a thousand times: the first 20 a minute start a flow, the rest get
/// RESOURCE_EXHAUSTED with a RetryInfo, and only the newest 5 flows stay stored; the newest still
/// links, an older one reads "not valid".
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn connect_starts_are_limited_per_person_and_the_table_stays_bounded(#[case] backend: Backend) {
    use tonic_types::StatusExt;
    let mut f = Fixture::start(backend).await;
    let space = match ALICE {
        Who::Person { space, .. } => space.to_string(),
        _ => unreachable!(),
    };
    let mut started = Vec::new();
    let mut limited = 0;
    for _ in 0..1_000 {
        let call = f
            .links
            .begin_slack_connect(authed(
                BeginSlackConnectRequest {
                    org_id: "org-1".into(),
                    space_id: space.clone(),
                },
                &ALICE,
            ))
            .await;
        match call {
            Ok(r) => started.push(r.into_inner().authorize_url),
            Err(s) => {
                assert_eq!(s.code(), Code::ResourceExhausted, "{s:?}");
                assert!(s.get_details_retry_info().is_some(), "{s:?}");
                limited += 1;
            }
        }
    }
    assert_eq!((started.len(), limited), (20, 980));
    // Bob is not slowed down by Alice.
    f.begin(&BOB).await;
    let db = f.server.database().await;
    let count = "SELECT COUNT(*) FROM slack_connect_states WHERE user_id = 'alice'";
    let (stored,): (i64,) = match &db {
        Database::Sqlite(p) => sqlx::query_as(count).fetch_one(p).await,
        Database::Postgres(p) => sqlx::query_as(count).fetch_one(p).await,
    }
    .unwrap();
    db.close().await;
    assert_eq!(stored, 5);
    let consent = Consent::new();
    let allow = || Decision::Allow {
        team: "T0ACME",
        user: "U0ALICE",
    };
    let oldest = consent.decide(&started[0], allow()).await;
    let refused = consent.open(&oldest).await;
    assert_eq!(
        (refused.status, refused.outcome.as_str()),
        (StatusCode::BAD_REQUEST, "unknown_state")
    );
    let newest = consent.decide(&started[19], allow()).await;
    assert_eq!(consent.open(&newest).await.outcome, "connected");
    assert_eq!(f.state_of(&ALICE).await, ConnectionState::Connected);
    f.stop().await;
}

/// A Slack account belongs to one ovice account of the org: a second ovice account with the same
/// email (made by someone who could not prove the address, or a duplicate) is refused with its page,
/// and an unverified email cannot even start.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn a_second_ovice_account_cannot_take_a_connected_slack_account(#[case] backend: Backend) {
    let mut f = Fixture::start(backend).await;
    connect_as(&mut f, &ALICE, "T0ACME", "U0ALICE").await;

    // Unverified: refused before any flow is stored.
    let mut unverified = Who::member("alice-2", "alice@acme.test", "space-1").claims();
    for verified in [Some(false), None] {
        unverified.email_verified = verified;
        let mut request = tonic::Request::new(BeginSlackConnectRequest {
            org_id: "org-1".into(),
            space_id: "space-1".into(),
        });
        let bearer = format!("Bearer {}", crate::support::tokens::mint(&unverified));
        request
            .metadata_mut()
            .insert("authorization", bearer.parse().unwrap());
        let err = f.links.begin_slack_connect(request).await.unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{verified:?}");
        assert!(err.message().contains("not verified"), "{}", err.message());
    }

    // Verified, with the same email: Slack says the email is Alice's, and Alice's it stays.
    let second = Who::member("alice-2", "alice@acme.test", "space-1");
    let page = consent_page(&mut f, &second, "T0ACME", "U0ALICE").await;
    assert_eq!(
        (page.status, page.outcome.as_str()),
        (StatusCode::CONFLICT, "slack_account_taken"),
        "{}",
        page.html
    );
    assert_eq!(
        page.message,
        "@alice in acme.slack.com is already connected to another ovice account of your organization, so it was not connected to this one."
    );
    assert_eq!(f.linked_users().await, ["alice"]);
    assert_eq!(f.state_of(&second).await, ConnectionState::NotConnected);
    // Alice herself can connect again (a relink of the same Slack account).
    connect_as(&mut f, &ALICE, "T0ACME", "U0ALICE").await;
    assert_eq!(f.state_of(&ALICE).await, ConnectionState::Connected);
    f.stop().await;
}

/// `user` of org-1 as delivery resolves them, with their token.
async fn resolved(f: &mut Fixture, user: &str) -> ResolvedSlackUser {
    f.links
        .resolve_slack_users(authed(
            ResolveSlackUsersRequest {
                org_id: "org-1".into(),
                user_ids: vec![user.into()],
                include_user_tokens: true,
                ..Default::default()
            },
            &Who::Service,
        ))
        .await
        .unwrap()
        .into_inner()
        .users
        .remove(0)
}

/// A connected person's user token, as delivery would get it.
async fn user_token_of(f: &mut Fixture, user: &str) -> String {
    let token = resolved(f, user).await.user_access_token;
    assert!(token.starts_with("xoxp-"), "{user} has no token");
    token
}

/// The `auth.revoke` calls the emulator has answered, as (status, error).
fn revokes(f: &Fixture) -> Vec<(u16, Option<String>)> {
    f.slack
        .calls()
        .into_iter()
        .filter(|c| c.method == "auth.revoke")
        .map(|c| (c.status, c.error))
        .collect()
}

async fn revoked_at_slack(f: &Fixture, token: &str) {
    eventually(
        "the token is revoked at Slack",
        Duration::from_secs(10),
        async || f.slack.is_token_revoked(token).then_some(()),
    )
    .await;
}

/// Tokens the service drops are revoked with Slack (auth.revoke, recorded by the emulator) and no
/// longer work there: a refused consent's token, the old team's user token after a relink, the old
/// bot token when the owner replaces the workspace, and the token of a Disconnect. A token another
/// link still holds (Slack hands a user the same token again) is never revoked.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn dropped_tokens_are_revoked_with_slack_and_held_ones_are_not(#[case] backend: Backend) {
    let mut f = Fixture::start(backend).await;
    connect_as(&mut f, &ALICE, "T0ACME", "U0ALICE").await;
    let alice_acme = user_token_of(&mut f, "alice").await;

    // Alice connects again: Slack hands back the same token, which is kept, not revoked.
    connect_as(&mut f, &ALICE, "T0ACME", "U0ALICE").await;
    assert_eq!(user_token_of(&mut f, "alice").await, alice_acme);
    // A second ovice account with Alice's email consents as Alice: refused, and the token it was
    // granted is Alice's own, still held by her link: not revoked either.
    let second = Who::member("alice-2", "alice@acme.test", "space-1");
    let page = consent_page(&mut f, &second, "T0ACME", "U0ALICE").await;
    assert_eq!(page.outcome, "slack_account_taken");
    // Bob consents as Carol: refused (the email is Bob's), and the token granted to Carol is revoked.
    let page = consent_page(&mut f, &member("bob", "bob@acme.test"), "T0ACME", "U0CAROL").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.html);
    eventually(
        "the refused consent's token is revoked",
        Duration::from_secs(10),
        async || (!revokes(&f).is_empty()).then_some(()),
    )
    .await;
    assert_eq!(revokes(&f), [(200, None)], "only the refused consent's token");
    assert!(!f.slack.is_token_revoked(&alice_acme));

    // The owner moves the org to Globex: Acme's bot token is revoked. Alice connects there; her Acme
    // token, replaced, is revoked too.
    f.switch_to_globex().await;
    revoked_at_slack(&f, "xoxb-acme-good").await;
    connect_as(&mut f, &ALICE, "T0GLOBEX", "U0GALICE").await;
    revoked_at_slack(&f, &alice_acme).await;
    let alice_globex = user_token_of(&mut f, "alice").await;

    // Disconnect: the Globex token is revoked, and Slack refuses it from then on.
    f.links
        .disconnect_slack(authed(
            DisconnectSlackRequest {
                org_id: "org-1".into(),
            },
            &ALICE,
        ))
        .await
        .unwrap();
    revoked_at_slack(&f, &alice_globex).await;
    let slack = slack_client::SlackClient::new(slack_client::SlackClientConfig {
        api_base_url: f.slack.api_url(),
        timeout: Duration::from_secs(5),
    })
    .unwrap();
    let refused = slack
        .auth_test(&secrecy::SecretString::from(alice_globex))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("token_revoked"));
    assert_eq!(revokes(&f).len(), 4, "{:?}", revokes(&f));
    // The metrics count the same: three user tokens and one bot token revoked, none given up.
    let scraped = reqwest::get(format!("http://{}/metrics", f.server.http_addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let count = |labels: &[&str]| {
        crate::delivery_processes::metric(&scraped, "ovice_slack_token_revocations", labels)
    };
    assert_eq!(
        count(&[r#"kind="user""#, r#"outcome="revoked""#]),
        3.0,
        "{scraped}"
    );
    assert_eq!(
        count(&[r#"kind="bot""#, r#"outcome="revoked""#]),
        1.0,
        "{scraped}"
    );
    assert_eq!(count(&[r#"outcome="gave_up""#]), 0.0, "{scraped}");
    f.stop().await;
}

/// The page Connect ends on speaks the language of the person's ovice (the token's `locale`), else
/// the browser's `Accept-Language`, else English; and the language becomes the automatic one of
/// their Slack messages.
#[rstest]
#[case::sqlite(Backend::Sqlite)]
#[case::postgres(Backend::Postgres)]
#[tokio::test]
async fn the_connect_pages_answer_in_the_persons_language(#[case] backend: Backend) {
    let mut f = Fixture::start(backend).await;
    let begin = |who: &Who, locale: Option<&str>| {
        let request = BeginSlackConnectRequest {
            org_id: "org-1".into(),
            space_id: "space-1".into(),
        };
        match locale {
            Some(l) => authed_in(request, who, l),
            None => authed(request, who),
        }
    };
    let consent = Consent::new();
    let allow = Decision::Allow {
        team: "T0ACME",
        user: "U0ALICE",
    };
    // `locale: ja` (even with an English browser): Japanese.
    let url = f
        .links
        .begin_slack_connect(begin(&ALICE, Some("ja-JP")))
        .await
        .unwrap()
        .into_inner()
        .authorize_url;
    let page = consent
        .open_with(&consent.decide(&url, allow).await, Some("en-US,en"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("<html lang=\"ja\">"), "{}", page.html);
    assert_eq!(
        page.message,
        "acme.slack.com の @alice として、ovice アカウント alice@acme.test と連携しました。このウィンドウは閉じてかまいません。"
    );
    assert!(
        page.html.contains("<h1 id=\"title\">Slack と連携しました</h1>"),
        "{}",
        page.html
    );
    let shown = f
        .links
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
    let prefs = shown.preferences.unwrap();
    assert_eq!(
        (prefs.language.as_str(), prefs.effective_language.as_str()),
        ("", "ja")
    );

    // No locale claim: the browser decides; a used link answers in it too.
    let bob_consent = Consent::new();
    let url = f
        .links
        .begin_slack_connect(begin(&BOB, None))
        .await
        .unwrap()
        .into_inner()
        .authorize_url;
    let callback = bob_consent
        .decide(
            &url,
            Decision::Allow {
                team: "T0ACME",
                user: "U0BOB",
            },
        )
        .await;
    let page = bob_consent
        .open_with(&callback, Some("fr, ja;q=0.8, en;q=0.5"))
        .await;
    assert!(page.html.contains("<html lang=\"ja\">"), "{}", page.html);
    let again = bob_consent.open_with(&callback, Some("en-GB")).await;
    assert_eq!(again.outcome, "state_used");
    assert!(again.html.contains("<html lang=\"en\">"), "{}", again.html);
    assert_eq!(
        again.message,
        "Each Connect link works once, and this one has been used already."
    );
    // Neither: English.
    let unknown = bob_consent
        .open_with(&with_param(&callback, "state", "nonsense"), None)
        .await;
    assert_eq!(unknown.outcome, "unknown_state");
    assert!(unknown.html.contains("<html lang=\"en\">"), "{}", unknown.html);
}
