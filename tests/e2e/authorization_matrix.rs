//! The authorization matrix (docs/product.md §1 and docs/api.md §Identity): every RPC of every service, called by every kind of
//! caller, against a server whose org has Slack set up. Each RPC's policy is read from the one
//! declaration the services apply (`Rpc::policy`); what each policy lets in is written down here from
//! the product's rules; the few cells where the code answers otherwise are listed in [`DEVIATIONS`]
//! (reported in SECURITY.md, not silently accepted): the test fails when a cell changes either way.
//!
//! A cell asserts the *authorization* outcome: UNAUTHENTICATED, PERMISSION_DENIED, or "allowed" (any
//! other answer, including a business refusal such as NOT_FOUND or FAILED_PRECONDITION, since the
//! call got past the identity checks). The rendered table is kept in SECURITY.md between markers;
//! `OVICE_SLACK_UPDATE_SECURITY_MD=1` rewrites it there.

use std::{collections::BTreeMap, fmt::Write as _, path::PathBuf};

use ovice_slack_proto::v1::{
    BeginSlackConnectRequest, ChangeDirectMessageRequest, ChatMessage, ChatMessageDelete, ChatMessageEdit,
    ChatMessageRead, DeleteChatMessageRequest, DeleteSlackWorkspaceRequest, DisconnectSlackRequest,
    EditChatMessageRequest, EnqueueDirectMessageRequest, GetBotCredentialsRequest, GetDeliveryRequest,
    GetSlackConnectionRequest, GetSlackWorkspaceRequest, ListAuditEventsRequest, ListDeliveriesRequest,
    ListSlackConnectionsRequest, MarkChatMessageReadRequest, PublishChatMessageRequest,
    PutSlackWorkspaceRequest, ReportSlackTokensRevokedRequest, ReportUserTokenInvalidRequest,
    ReportWorkspaceTokenInvalidRequest, ResolveSlackUsersRequest, RetryDeliveryRequest,
    account_link_service_client::AccountLinkServiceClient, change_direct_message_request,
    chat_event_service_client::ChatEventServiceClient, delivery_service_client::DeliveryServiceClient,
    integration_config_service_client::IntegrationConfigServiceClient,
};
use ovice_slack_runtime::{
    auth::{PlatformKeys, Policy, Rpc, SpaceRole},
    test_support::Backend,
};
use secrecy::SecretString;
use slack_emulator::BotTokenSeed;
use tonic::{Code, Status, transport::Channel};

use crate::{
    account_linking::Fixture,
    delivery::{message, person, to},
    support::{Who, tokens::mint},
};

/// The callers, in the order of the table's columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Caller {
    NoToken,
    BadSignature,
    Expired,
    WrongAudience,
    /// `svc_role` service signed with the platform's key: the platform posing as a service.
    ForgedService,
    Visitor,
    Member,
    SpaceAdmin,
    OrgOwner,
    Manager,
    OtherOrgOwner,
    Platform,
    Operator,
    /// ovice-slack's own services (svc_role `service`): what the services send each other, signed with
    /// the service key of a process that runs every target.
    Service,
    /// The gateway's own service token, signed with its key: it may only enqueue (and publish).
    GatewayService,
}

const CALLERS: [Caller; 15] = [
    Caller::NoToken,
    Caller::BadSignature,
    Caller::Expired,
    Caller::WrongAudience,
    Caller::ForgedService,
    Caller::Visitor,
    Caller::Member,
    Caller::SpaceAdmin,
    Caller::OrgOwner,
    Caller::Manager,
    Caller::OtherOrgOwner,
    Caller::Platform,
    Caller::Operator,
    Caller::Service,
    Caller::GatewayService,
];

impl Caller {
    fn column(self) -> &'static str {
        match self {
            Caller::NoToken => "no token",
            Caller::BadSignature => "bad sig",
            Caller::Expired => "expired",
            Caller::WrongAudience => "wrong aud",
            Caller::Visitor => "visitor",
            Caller::Member => "member",
            Caller::SpaceAdmin => "space admin",
            Caller::OrgOwner => "owner",
            Caller::Manager => "manager",
            Caller::OtherOrgOwner => "other org",
            Caller::Platform => "platform",
            Caller::Operator => "operator",
            Caller::Service => "service",
            Caller::GatewayService => "gateway svc",
            Caller::ForgedService => "forged svc",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Caller::NoToken => "no `authorization` header",
            Caller::BadSignature => "an owner's token of org-1 signed with another secret",
            Caller::Expired => "an owner's token of org-1 that expired an hour ago",
            Caller::WrongAudience => "an owner's token of org-1 for the audience `another-service`",
            Caller::Visitor => "org-1 member, `space-1` with `space_role` visitor",
            Caller::Member => "org-1 member, `space-1` with `space_role` member",
            Caller::SpaceAdmin => "org-1 member, `space-1` with `space_role` admin",
            Caller::OrgOwner => "`org_role` owner of org-1 (no space claim)",
            Caller::Manager => "org-1 member with `perms: [integrations.manage]` (no space claim)",
            Caller::OtherOrgOwner => "`org_role` owner of org-2, calling about org-1",
            Caller::Platform => "`svc_role` platform, no org",
            Caller::Operator => "`svc_role` operator, no org",
            Caller::Service => {
                "`svc_role` service, no org, signed with the service key of a process running every target"
            }
            Caller::GatewayService => "`svc_role` service, no org, signed with the gateway's own service key",
            Caller::ForgedService => {
                "`svc_role` service, no org, signed with the platform's key (HS256 secret)"
            }
        }
    }

    fn person(user: &'static str, role: SpaceRole) -> Who {
        Who::Person {
            org: "org-1",
            user,
            email: "nobody@acme.test",
            space: "space-1",
            role,
        }
    }

    /// The bearer token this caller sends, if any.
    fn token(self) -> Option<String> {
        let owner = Who::Owner("org-1").claims();
        Some(match self {
            Caller::NoToken => return None,
            Caller::BadSignature => PlatformKeys::new(
                Some(&SecretString::from("another-secret-another-secret-0123456789")),
                None,
            )
            .unwrap()
            .minter()
            .unwrap()
            .mint(&owner)
            .unwrap(),
            Caller::Expired => mint(&ovice_slack_runtime::auth::Claims {
                exp: owner.exp - 7200,
                ..owner
            }),
            Caller::WrongAudience => mint(&ovice_slack_runtime::auth::Claims {
                aud: "another-service".into(),
                ..owner
            }),
            Caller::Visitor => Self::person("vera", SpaceRole::Visitor).token(),
            Caller::Member => Self::person("max", SpaceRole::Member).token(),
            Caller::SpaceAdmin => Self::person("ada", SpaceRole::Admin).token(),
            Caller::OrgOwner => Who::Owner("org-1").token(),
            Caller::Manager => Who::Manager("org-1").token(),
            Caller::OtherOrgOwner => Who::Owner("org-2").token(),
            Caller::Platform => Who::Platform.token(),
            Caller::Operator => Who::Operator.token(),
            Caller::Service => Who::Service.token(),
            Caller::GatewayService => Who::GatewayService.token(),
            Caller::ForgedService => mint(&Who::Service.claims()),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Unauthenticated,
    Denied,
    Allowed,
    /// Allowed, and the answer hides the org's Slack (GetSlackConnection for a visitor: `visible`
    /// false, nothing else filled in).
    Hidden,
}

impl Outcome {
    fn cell(self) -> &'static str {
        match self {
            Outcome::Unauthenticated => "unauth",
            Outcome::Denied => "deny",
            Outcome::Allowed => "**allow**",
            Outcome::Hidden => "hidden",
        }
    }

    fn from_letter(c: char) -> Outcome {
        match c {
            'A' => Outcome::Allowed,
            'H' => Outcome::Hidden,
            '-' => Outcome::Denied,
            other => panic!("unknown letter {other:?} in the rules table"),
        }
    }
}

/// What each kind of policy means, written down from the rules (docs/product.md §1, docs/api.md)
/// for the authenticated callers (the five with bad or no credentials, or a service token the
/// platform signed, are UNAUTHENTICATED everywhere). Which policy each RPC has is read from the one
/// declaration the services apply, `Rpc::policy`; the test checks every cell over the network.
/// Columns: visitor, member, space admin, owner, manager, other org, platform, operator, service,
/// gateway svc. `A` allowed, `H` allowed but hidden, `-` PERMISSION_DENIED.
fn admitted(policy: Policy) -> &'static str {
    match policy {
        // docs/product.md §1: owners and integrations.manage holders set up, view, replace, remove.
        Policy::IntegrationManager => "---AA-----",
        // ... and operators inspect (read-only; no answer holds a token).
        Policy::ManagerOrOperator => "---AA--A--",
        // Disconnect removes the caller's own link (org-wide, no space involved); the owner and
        // manager tokens are people of org-1 too.
        Policy::Person => "AAAAA-----",
        // docs/product.md §2.2: the item is visible to admins and members of the space, never to
        // visitors; the owner and manager tokens name no space, so they have no settings here.
        Policy::PersonInSpace => "HAA-------",
        Policy::AdminOrMemberOfSpace => "-AA-------",
        // docs/api.md: tokens are read by the services that use them (delivery, and account-links for
        // the bot token), never by the gateway.
        Policy::BotCredentialReader => "--------A-",
        Policy::DeliveryWorker => "--------A-",
        // account-links reports the bot tokens the Connect app's events say are gone.
        Policy::EventReceiver => "--------A-",
        // The gateway enqueues what it filtered.
        Policy::Enqueuer => "--------AA",
        // docs/product.md §1: the platform publishes chat messages.
        Policy::Publisher => "------A-AA",
        // Operators retry deliveries.
        Policy::Operator => "-------A--",
    }
}

/// The RPCs in the table, as the services declare them.
const RPCS: [Rpc; 24] = Rpc::ALL;

/// Cells where the code answers otherwise than the rules, as observed; each is a finding in
/// SECURITY.md ("Findings"). When the code is fixed, the test fails until the entry is removed.
const DEVIATIONS: [(Rpc, Caller, Outcome, &str); 0] = [];

fn spec_outcome(rpc: Rpc, caller: Caller) -> Outcome {
    let authenticated = &CALLERS[5..];
    let Some(i) = authenticated.iter().position(|c| *c == caller) else {
        return Outcome::Unauthenticated;
    };
    Outcome::from_letter(admitted(rpc.policy()).chars().nth(i).unwrap())
}

fn deviation(rpc: Rpc, caller: Caller) -> Option<(Outcome, &'static str)> {
    DEVIATIONS
        .iter()
        .find(|(r, c, _, _)| *r == rpc && *c == caller)
        .map(|(_, _, o, f)| (*o, *f))
}

struct Clients {
    /// The bot token PutSlackWorkspace sends: a fresh one after each delete, which revokes the last.
    bot_token: String,
    config: IntegrationConfigServiceClient<Channel>,
    links: AccountLinkServiceClient<Channel>,
    gateway: ChatEventServiceClient<Channel>,
    deliveries: DeliveryServiceClient<Channel>,
}

fn request<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    if let Some(token) = token {
        r.metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    r
}

/// A direct message from Carol to Alice (not connected here: the message is skipped, not sent).
fn chat_message(id: &str) -> ChatMessage {
    message(id, person("carol"), vec![to("alice")], "matrix")
}

/// Calls `rpc` as `token`; `Ok(visible)` where the answer says whether the Slack item is visible.
async fn call(c: &mut Clients, rpc: Rpc, token: Option<&str>, n: usize) -> Result<Option<bool>, Status> {
    let org = || "org-1".to_owned();
    match rpc {
        Rpc::PutSlackWorkspace => c
            .config
            .put_slack_workspace(request(
                PutSlackWorkspaceRequest {
                    org_id: org(),
                    access_token: c.bot_token.clone(),
                    workspace_domain: "acme".into(),
                    ..Default::default()
                },
                token,
            ))
            .await
            .map(|_| None),
        Rpc::GetSlackWorkspace => c
            .config
            .get_slack_workspace(request(GetSlackWorkspaceRequest { org_id: org() }, token))
            .await
            .map(|_| None),
        Rpc::DeleteSlackWorkspace => c
            .config
            .delete_slack_workspace(request(DeleteSlackWorkspaceRequest { org_id: org() }, token))
            .await
            .map(|_| None),
        Rpc::GetBotCredentials => c
            .config
            .get_bot_credentials(request(GetBotCredentialsRequest { org_id: org() }, token))
            .await
            .map(|_| None),
        Rpc::ReportWorkspaceTokenInvalid => c
            .config
            .report_workspace_token_invalid(request(
                ReportWorkspaceTokenInvalidRequest {
                    org_id: org(),
                    // Another team than the org's: the report is authorized but changes nothing.
                    team_id: "T0NOTOURS".into(),
                    reason: "invalid_auth".into(),
                },
                token,
            ))
            .await
            .map(|_| None),
        Rpc::ReportSlackTokensRevoked => c
            .config
            .report_slack_tokens_revoked(request(
                ReportSlackTokensRevokedRequest {
                    // No org uses this team: the report is authorized but changes nothing.
                    team_id: "T0NOTOURS".into(),
                    bot_user_ids: vec!["U0ACMEBOT".into()],
                    app_uninstalled: true,
                },
                token,
            ))
            .await
            .map(|_| None),
        Rpc::ListAuditEvents => c
            .config
            .list_audit_events(request(
                ListAuditEventsRequest {
                    org_id: org(),
                    page_size: 0,
                },
                token,
            ))
            .await
            .map(|_| None),
        Rpc::GetSlackConnection => c
            .links
            .get_slack_connection(request(
                GetSlackConnectionRequest {
                    org_id: org(),
                    space_id: "space-1".into(),
                },
                token,
            ))
            .await
            .map(|r| {
                let view = r.into_inner();
                if !view.visible {
                    // Hidden means hidden: nothing about the org's Slack leaks.
                    assert!(view.workspace_domain.is_empty() && !view.available, "{view:?}");
                }
                Some(view.visible)
            }),
        Rpc::BeginSlackConnect => c
            .links
            .begin_slack_connect(request(
                BeginSlackConnectRequest {
                    org_id: org(),
                    space_id: "space-1".into(),
                },
                token,
            ))
            .await
            .map(|_| None),
        Rpc::DisconnectSlack => c
            .links
            .disconnect_slack(request(DisconnectSlackRequest { org_id: org() }, token))
            .await
            .map(|_| None),
        Rpc::ListSlackConnections => c
            .links
            .list_slack_connections(request(
                ListSlackConnectionsRequest {
                    org_id: org(),
                    page_size: 0,
                    page_token: String::new(),
                },
                token,
            ))
            .await
            .map(|_| None),
        Rpc::ResolveSlackUsers => c
            .links
            .resolve_slack_users(request(
                ResolveSlackUsersRequest {
                    org_id: org(),
                    user_ids: vec!["alice".into()],
                    ..Default::default()
                },
                token,
            ))
            .await
            .map(|_| None),
        Rpc::ReportUserTokenInvalid => c
            .links
            .report_user_token_invalid(request(
                ReportUserTokenInvalidRequest {
                    org_id: org(),
                    user_id: "nobody".into(),
                    reason: "token_revoked".into(),
                },
                token,
            ))
            .await
            .map(|_| None),
        Rpc::UpdateSlackPreferences => c
            .links
            .update_slack_preferences(request(
                ovice_slack_proto::v1::UpdateSlackPreferencesRequest {
                    org_id: org(),
                    space_id: "space-1".into(),
                    preferences: Some(ovice_slack_proto::v1::SlackPreferences::default()),
                },
                token,
            ))
            .await
            .map(|_| None),
        Rpc::PublishChatMessage => c
            .gateway
            .publish_chat_message(request(
                PublishChatMessageRequest {
                    message: Some(chat_message(&format!("pub-{n}"))),
                    change: None,
                },
                token,
            ))
            .await
            .map(|_| None),
        Rpc::StreamChatMessages => {
            let messages = vec![PublishChatMessageRequest {
                message: Some(chat_message(&format!("stream-{n}"))),
                change: None,
            }];
            let outbound = tonic::codegen::tokio_stream::iter(messages);
            let mut answers = c
                .gateway
                .stream_chat_messages(request(outbound, token))
                .await?
                .into_inner();
            // Past the stream's opening, each message is answered with its own code.
            let first = answers.message().await?.expect("one answer per message");
            match Code::from(first.error_code) {
                Code::Ok => Ok(None),
                code => Err(Status::new(code, first.error_message)),
            }
        }
        Rpc::EnqueueDirectMessage => c
            .deliveries
            .enqueue_direct_message(request(
                EnqueueDirectMessageRequest {
                    message: Some(chat_message(&format!("enq-{n}"))),
                },
                token,
            ))
            .await
            .map(|_| None),
        Rpc::EditChatMessage => c
            .gateway
            .edit_chat_message(request(
                EditChatMessageRequest {
                    edit: Some(ChatMessageEdit {
                        org_id: org(),
                        message_id: "m-unknown".into(),
                        revision: 1,
                        text: "edited".into(),
                    }),
                },
                token,
            ))
            .await
            .map(|_| None),
        Rpc::DeleteChatMessage => c
            .gateway
            .delete_chat_message(request(
                DeleteChatMessageRequest {
                    delete: Some(ChatMessageDelete {
                        org_id: org(),
                        message_id: "m-unknown".into(),
                    }),
                },
                token,
            ))
            .await
            .map(|_| None),
        Rpc::MarkChatMessageRead => c
            .gateway
            .mark_chat_message_read(request(
                MarkChatMessageReadRequest {
                    read: Some(ChatMessageRead {
                        org_id: org(),
                        message_id: "m-unknown".into(),
                        reader_user_id: "bob".into(),
                    }),
                },
                token,
            ))
            .await
            .map(|_| None),
        Rpc::ChangeDirectMessage => c
            .deliveries
            .change_direct_message(request(
                ChangeDirectMessageRequest {
                    change: Some(change_direct_message_request::Change::Delete(ChatMessageDelete {
                        org_id: org(),
                        message_id: "m-unknown".into(),
                    })),
                },
                token,
            ))
            .await
            .map(|_| None),
        Rpc::GetDelivery => c
            .deliveries
            .get_delivery(request(
                GetDeliveryRequest {
                    org_id: org(),
                    message_id: "m-unknown".into(),
                },
                token,
            ))
            .await
            .map(|_| None),
        Rpc::ListDeliveries => c
            .deliveries
            .list_deliveries(request(
                ListDeliveriesRequest {
                    org_id: org(),
                    status: 0,
                    page_size: 0,
                    page_token: String::new(),
                },
                token,
            ))
            .await
            .map(|_| None),
        Rpc::RetryDelivery => c
            .deliveries
            .retry_delivery(request(
                RetryDeliveryRequest {
                    org_id: org(),
                    delivery_id: "0190f0c0-0000-7000-8000-000000000000".into(),
                },
                token,
            ))
            .await
            .map(|_| None),
    }
}

fn classify(result: &Result<Option<bool>, Status>) -> Outcome {
    match result {
        Ok(Some(false)) => Outcome::Hidden,
        Ok(_) => Outcome::Allowed,
        Err(s) if s.code() == Code::Unauthenticated => Outcome::Unauthenticated,
        Err(s) if s.code() == Code::PermissionDenied => Outcome::Denied,
        Err(_) => Outcome::Allowed,
    }
}

/// The markdown table (and its legend and footnotes) kept in SECURITY.md.
fn render(cells: &BTreeMap<(Rpc, Caller), Outcome>) -> String {
    let mut out = String::new();
    out.push_str("| service | RPC |");
    for c in CALLERS {
        let _ = write!(out, " {} |", c.column());
    }
    out.push_str("\n|---|---|");
    for _ in CALLERS {
        out.push_str(":-:|");
    }
    out.push('\n');
    for rpc in RPCS {
        let _ = write!(out, "| {} | {rpc:?} |", rpc.service());
        for caller in CALLERS {
            let observed = cells[&(rpc, caller)];
            match deviation(rpc, caller) {
                Some((_, finding)) => {
                    let spec = spec_outcome(rpc, caller).cell().replace("*", "");
                    let _ = write!(out, " {} ⚠{finding} (rules: {spec}) |", observed.cell());
                }
                None => {
                    let _ = write!(out, " {} |", observed.cell());
                }
            }
        }
        out.push('\n');
    }
    let allowed = cells
        .values()
        .filter(|o| matches!(o, Outcome::Allowed | Outcome::Hidden))
        .count();
    let unauth = cells.values().filter(|o| **o == Outcome::Unauthenticated).count();
    let denied = cells.values().filter(|o| **o == Outcome::Denied).count();
    let _ = write!(
        out,
        "\n{} cells: {allowed} allowed, {denied} PERMISSION_DENIED, {unauth} UNAUTHENTICATED; \
         {} differ from the rules (⚠, see Findings).\n\n",
        cells.len(),
        DEVIATIONS.len()
    );
    out.push_str(
        "`unauth` UNAUTHENTICATED · `deny` PERMISSION_DENIED · `**allow**` past the identity checks (the \
         call may still fail for a business reason, e.g. NOT_FOUND) · `hidden` allowed, and the answer \
         shows nothing of the org's Slack (`visible: false`).\n\nCallers (every token is for org-1 unless \
         said otherwise):\n\n",
    );
    for c in CALLERS {
        let _ = writeln!(out, "- **{}**: {}", c.column(), c.description());
    }
    out
}

const BEGIN: &str = "<!-- authorization-matrix:begin (generated by tests/e2e/authorization_matrix.rs) -->\n";
const END: &str = "<!-- authorization-matrix:end -->";

fn security_md() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../SECURITY.md")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_rpc_answers_every_caller_as_the_spec_says() {
    let f = Fixture::start(Backend::Sqlite).await;
    let channel = f.server.channel().await;
    let mut clients = Clients {
        bot_token: "xoxb-acme-good".into(),
        config: IntegrationConfigServiceClient::new(channel.clone()),
        links: AccountLinkServiceClient::new(channel.clone()),
        gateway: ChatEventServiceClient::new(channel.clone()),
        deliveries: DeliveryServiceClient::new(channel),
    };
    let owner = Who::Owner("org-1").token();

    let mut cells = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut n = 0;
    for rpc in RPCS {
        for caller in CALLERS {
            n += 1;
            let token = caller.token();
            let result = call(&mut clients, rpc, token.as_deref(), n).await;
            if let Err(status) = &result {
                // No answer, of any kind, repeats a credential.
                let text = format!("{status:?}");
                assert!(
                    token.as_deref().is_none_or(|t| !text.contains(t)),
                    "{rpc:?} as {caller:?} echoed the token: {text}"
                );
                assert!(!text.contains("xoxb-"), "{rpc:?} as {caller:?}: {text}");
            }
            let observed = classify(&result);
            if let Err(status) = &result {
                // An "allowed" cell must have run the call, not hit a broken setup.
                assert!(
                    !matches!(status.code(), Code::Internal | Code::Unavailable | Code::Unknown),
                    "{rpc:?} as {caller:?}: {status:?}"
                );
            }
            let wanted = deviation(rpc, caller).map_or_else(|| spec_outcome(rpc, caller), |(o, _)| o);
            if observed != wanted {
                wrong.push(format!(
                    "{rpc:?} as {caller:?}: expected {wanted:?}{}, got {result:?}",
                    if deviation(rpc, caller).is_some() {
                        " (a listed deviation from the rules: fixed? then remove it from DEVIATIONS)"
                    } else {
                        ""
                    }
                ));
            }
            cells.insert((rpc, caller), observed);
            if rpc == Rpc::DeleteSlackWorkspace && observed == Outcome::Allowed {
                // Put the settings back, so the next cells run against a configured org: with a new
                // token of the same bot, as an owner would after the delete revoked the old one.
                clients.bot_token = format!("xoxb-acme-matrix-{n}");
                assert!(
                    f.slack.add_bot_token(
                        "T0ACME",
                        BotTokenSeed {
                            token: clients.bot_token.clone(),
                            scopes: ["users:read", "users:read.email", "chat:write"]
                                .map(String::from)
                                .to_vec(),
                            bot_user_id: "U0ACMEBOT".into(),
                            bot_id: Some("B0ACMEBOT".into()),
                            app_id: Some("A0OVICE".into()),
                            bot_name: Some("ovice".into()),
                        },
                    )
                );
                call(&mut clients, Rpc::PutSlackWorkspace, Some(&owner), 0)
                    .await
                    .unwrap();
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(cells.len(), RPCS.len() * 15);

    let table = render(&cells);
    let path = security_md();
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let (Some(start), Some(end)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!(
            "{} has no markers `{}` … `{END}` for the authorization matrix",
            path.display(),
            BEGIN.trim_end()
        );
    };
    let current = &doc[start + BEGIN.len()..end];
    if current != table {
        if std::env::var_os("OVICE_SLACK_UPDATE_SECURITY_MD").is_some() {
            let updated = format!("{}{BEGIN}{table}{}", &doc[..start], &doc[end..]);
            std::fs::write(&path, updated).unwrap();
        } else {
            panic!(
                "the authorization matrix in SECURITY.md is out of date; rerun with \
                 OVICE_SLACK_UPDATE_SECURITY_MD=1 to rewrite it. The table now reads:\n\n{table}"
            );
        }
    }
    f.stop().await;
}
