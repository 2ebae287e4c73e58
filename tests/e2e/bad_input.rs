//! Bad input against the running services (docs/api.md: INVALID_ARGUMENT with field violations): property
//! tests over every request with a field to validate, bytes that are not protobuf or not UTF-8, and
//! arbitrary OAuth callback queries. Nothing panics, nothing is written, the server keeps serving.
//! The pure validation functions have their own, faster property tests next to the code.

use std::{sync::Arc, time::Duration};

use ovice_slack_proto::v1::{
    BeginSlackConnectRequest, ChatMessage, EnqueueDirectMessageRequest, GetDeliveryRequest,
    GetSlackConnectionRequest, GetSlackWorkspaceRequest, GroupMention, ListAuditEventsRequest,
    ListDeliveriesRequest, ListSlackConnectionsRequest, Mention, PublishChatMessageRequest,
    PutSlackWorkspaceRequest, ReportUserTokenInvalidRequest, ReportWorkspaceTokenInvalidRequest,
    ResolveSlackUsersRequest, RetryDeliveryRequest, Sender,
    account_link_service_client::AccountLinkServiceClient, chat_event_service_client::ChatEventServiceClient,
    delivery_service_client::DeliveryServiceClient,
    integration_config_service_client::IntegrationConfigServiceClient, mention::Target,
};
use ovice_slack_runtime::test_support::Backend;
use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, TestRunner},
};
use prost::bytes::{Buf, BufMut};
use tonic::{
    Code, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    codegen::http::{self, uri::PathAndQuery},
    transport::Channel,
};
use tonic_types::StatusExt;

use crate::{
    account_linking::{ALICE, Fixture},
    delivery::{message, person, to},
    support::{Who, tokens::authed},
};

/// A value that fails validation: empty, blank, or longer than any id may be.
fn bad_id() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[ \t\n]{1,4}",
        (129usize..400).prop_map(|n| "i".repeat(n)),
    ]
}

/// Anything at all, including control characters and markup.
fn anything() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,30}",
        Just("<script>x</script>&".to_owned())
    ]
}

fn enum_value() -> impl Strategy<Value = i32> {
    prop_oneof![Just(0), 6..i32::MAX, i32::MIN..0]
}

/// One bad request, for the service that must refuse it.
#[derive(Clone, Debug)]
enum BadRequest {
    PutWorkspace(PutSlackWorkspaceRequest),
    Publish(ChatMessage),
    Enqueue(ChatMessage),
    Resolve(ResolveSlackUsersRequest),
    ListConnections(ListSlackConnectionsRequest),
    Connection(GetSlackConnectionRequest),
    BeginConnect(BeginSlackConnectRequest),
    ReportWorkspace(ReportWorkspaceTokenInvalidRequest),
    ReportUser(ReportUserTokenInvalidRequest),
    ListDeliveries(ListDeliveriesRequest),
    GetDelivery(GetDeliveryRequest),
    RetryDelivery(RetryDeliveryRequest),
    ListAudit(ListAuditEventsRequest),
}

/// One way to break a chat message.
#[derive(Clone, Debug)]
enum Break {
    OrgId(String),
    MessageId(String),
    SpaceId(String),
    SpaceName(usize),
    Text(usize),
    NoSender,
    SenderRole(i32),
    ManyMentions(usize),
    EmptyMention,
    GroupKind(i32),
    MentionedUser(String),
    Link(String),
}

impl Break {
    fn apply(&self, m: &mut ChatMessage) {
        match self.clone() {
            Break::OrgId(v) => m.org_id = v,
            Break::MessageId(v) => m.message_id = v,
            Break::SpaceId(v) => m.space_id = v,
            Break::SpaceName(n) => m.space_name = "s".repeat(n),
            Break::Text(n) => m.text = "t".repeat(n),
            Break::NoSender => m.sender = None,
            Break::SenderRole(r) => {
                if let Some(s) = m.sender.as_mut() {
                    s.role = r;
                }
            }
            // A huge mention list.
            Break::ManyMentions(n) => m.mentions = (0..n).map(|i| to(&format!("u{i}"))).collect(),
            Break::EmptyMention => m.mentions.push(Mention { target: None }),
            Break::GroupKind(kind) => m.mentions.push(Mention {
                target: Some(Target::Group(GroupMention {
                    kind,
                    group_id: "g".into(),
                })),
            }),
            Break::MentionedUser(v) => m.mentions = vec![to(&v)],
            Break::Link(v) => m.link_url = v,
        }
    }
}

/// A chat message with at least one bad field; the others arbitrary.
fn bad_message() -> impl Strategy<Value = ChatMessage> {
    let breakage = prop_oneof![
        bad_id().prop_map(Break::OrgId),
        bad_id().prop_map(Break::MessageId),
        bad_id().prop_map(Break::SpaceId),
        (257usize..600).prop_map(Break::SpaceName),
        (40_001usize..41_000).prop_map(Break::Text),
        Just(Break::NoSender),
        enum_value().prop_map(Break::SenderRole),
        (101usize..400).prop_map(Break::ManyMentions),
        Just(Break::EmptyMention),
        enum_value().prop_map(Break::GroupKind),
        bad_id().prop_map(Break::MentionedUser),
        prop_oneof![
            "javascript:[a-z]{1,5}",
            "https://u:p@o\\.example/",
            "https://o\\.example/a b",
            "/relative"
        ]
        .prop_map(Break::Link),
    ];
    (
        "[a-z0-9]{1,12}",
        anything(),
        anything(),
        prop::collection::vec(breakage, 1..3),
    )
        .prop_map(|(id, text, name, breaks)| {
            let mut m = message(
                &format!("bad-{id}"),
                Sender {
                    display_name: name,
                    ..person("carol")
                },
                vec![to("alice")],
                &text,
            );
            for b in &breaks {
                b.apply(&mut m);
            }
            m
        })
}

fn bad_request() -> impl Strategy<Value = BadRequest> {
    let org = || prop_oneof![Just("org-1".to_owned()), bad_id()];
    prop_oneof![
        // A domain with a path, a port, a query, credentials or another host; or a token that is not
        // a bot token. The other field is arbitrary.
        (
            prop_oneof![
                "acme(/[a-z]{1,5}|:[0-9]{1,5}|\\?x=1|\\.example\\.com)",
                "https://[a-z]{1,3}@acme\\.slack\\.com/",
                "acme\\.slack\\.com(:443|/messages)",
                bad_id(),
                "-[a-z]{1,5}",
                "[a-z]{22,30}",
            ],
            prop_oneof![
                Just("xoxb-acme-good".to_owned()),
                "xox[pa]-[a-z0-9]{5,20}",
                anything()
            ],
        )
            .prop_map(
                |(domain, token)| BadRequest::PutWorkspace(PutSlackWorkspaceRequest {
                    org_id: "org-1".into(),
                    access_token: token,
                    workspace_domain: domain,
                    ..Default::default()
                })
            ),
        (bad_id(), anything()).prop_map(|(d, t)| BadRequest::PutWorkspace(PutSlackWorkspaceRequest {
            org_id: "org-1".into(),
            access_token: t,
            workspace_domain: d,
            ..Default::default()
        })),
        bad_message().prop_map(BadRequest::Publish),
        bad_message().prop_map(BadRequest::Enqueue),
        prop_oneof![
            Just(vec![]),
            (101usize..300).prop_map(|n| (0..n).map(|i| format!("u{i}")).collect()),
            prop::collection::vec(bad_id(), 1..4),
        ]
        .prop_map(|user_ids| BadRequest::Resolve(ResolveSlackUsersRequest {
            org_id: "org-1".into(),
            user_ids,
            ..Default::default()
        })),
        prop_oneof![
            (1001..i32::MAX).prop_map(|n| (n, String::new())),
            (i32::MIN..0).prop_map(|n| (n, String::new())),
            "[!-~]{1,20}"
                .prop_filter("not base64url", |t| t
                    .contains(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_'))
                .prop_map(|t| (0, t)),
        ]
        .prop_map(|(page_size, page_token)| BadRequest::ListConnections(
            ListSlackConnectionsRequest {
                org_id: "org-1".into(),
                page_size,
                page_token,
            }
        )),
        (org(), bad_id()).prop_map(
            |(org_id, space_id)| BadRequest::Connection(GetSlackConnectionRequest { org_id, space_id })
        ),
        (org(), bad_id()).prop_map(
            |(org_id, space_id)| BadRequest::BeginConnect(BeginSlackConnectRequest { org_id, space_id })
        ),
        (bad_id(), anything()).prop_map(|(reason, team_id)| BadRequest::ReportWorkspace(
            ReportWorkspaceTokenInvalidRequest {
                org_id: "org-1".into(),
                team_id,
                reason,
            }
        )),
        (bad_id(), anything()).prop_map(|(user_id, reason)| BadRequest::ReportUser(
            ReportUserTokenInvalidRequest {
                org_id: "org-1".into(),
                user_id,
                reason: if reason.trim().is_empty() {
                    "r".into()
                } else {
                    reason.chars().take(100).collect()
                },
            }
        )),
        prop_oneof![
            enum_value()
                .prop_filter("unknown", |s| *s != 0)
                .prop_map(|s| (s, 0, String::new())),
            (501..i32::MAX).prop_map(|n| (0, n, String::new())),
            (i32::MIN..0).prop_map(|n| (0, n, String::new())),
            "[!-~]{1,40}".prop_map(|t| (0, 0, t)),
        ]
        .prop_map(|(status, page_size, page_token)| BadRequest::ListDeliveries(
            ListDeliveriesRequest {
                org_id: "org-1".into(),
                status,
                page_size,
                page_token,
            }
        )),
        bad_id().prop_map(|message_id| BadRequest::GetDelivery(GetDeliveryRequest {
            org_id: "org-1".into(),
            message_id
        })),
        bad_id().prop_map(|delivery_id| BadRequest::RetryDelivery(RetryDeliveryRequest {
            org_id: "org-1".into(),
            delivery_id
        })),
        prop_oneof![(501..i32::MAX), (i32::MIN..0)].prop_map(|page_size| BadRequest::ListAudit(
            ListAuditEventsRequest {
                org_id: "org-1".into(),
                page_size
            }
        )),
    ]
}

#[derive(Clone)]
struct Clients {
    config: IntegrationConfigServiceClient<Channel>,
    links: AccountLinkServiceClient<Channel>,
    gateway: ChatEventServiceClient<Channel>,
    deliveries: DeliveryServiceClient<Channel>,
}

impl Clients {
    fn new(channel: Channel) -> Self {
        Self {
            config: IntegrationConfigServiceClient::new(channel.clone()),
            links: AccountLinkServiceClient::new(channel.clone()),
            gateway: ChatEventServiceClient::new(channel.clone()),
            deliveries: DeliveryServiceClient::new(channel),
        }
    }

    /// Sends the request as a caller allowed to make it, so only validation can refuse it.
    async fn send(&self, r: BadRequest) -> Result<(), Status> {
        let mut c = self.clone();
        let owner = Who::Owner("org-1");
        let service = Who::Service;
        match r {
            BadRequest::PutWorkspace(m) => c.config.put_slack_workspace(authed(m, &owner)).await.map(drop),
            BadRequest::Publish(m) => c
                .gateway
                .publish_chat_message(authed(
                    PublishChatMessageRequest {
                        message: Some(m),
                        change: None,
                    },
                    &Who::Platform,
                ))
                .await
                .map(drop),
            BadRequest::Enqueue(m) => c
                .deliveries
                .enqueue_direct_message(authed(EnqueueDirectMessageRequest { message: Some(m) }, &service))
                .await
                .map(drop),
            BadRequest::Resolve(m) => c.links.resolve_slack_users(authed(m, &service)).await.map(drop),
            BadRequest::ListConnections(m) => {
                c.links.list_slack_connections(authed(m, &owner)).await.map(drop)
            }
            BadRequest::Connection(m) => c.links.get_slack_connection(authed(m, &ALICE)).await.map(drop),
            BadRequest::BeginConnect(m) => c.links.begin_slack_connect(authed(m, &ALICE)).await.map(drop),
            BadRequest::ReportWorkspace(m) => c
                .config
                .report_workspace_token_invalid(authed(m, &service))
                .await
                .map(drop),
            BadRequest::ReportUser(m) => c
                .links
                .report_user_token_invalid(authed(m, &service))
                .await
                .map(drop),
            BadRequest::ListDeliveries(m) => c
                .deliveries
                .list_deliveries(authed(m, &Who::Operator))
                .await
                .map(drop),
            BadRequest::GetDelivery(m) => c
                .deliveries
                .get_delivery(authed(m, &Who::Operator))
                .await
                .map(drop),
            BadRequest::RetryDelivery(m) => c
                .deliveries
                .retry_delivery(authed(m, &Who::Operator))
                .await
                .map(drop),
            BadRequest::ListAudit(m) => c.config.list_audit_events(authed(m, &owner)).await.map(drop),
        }
    }

    /// What a bad request must not change: the settings, the audit log, links and deliveries.
    async fn snapshot(&self) -> String {
        let mut c = self.clone();
        let owner = Who::Owner("org-1");
        let ws = c
            .config
            .get_slack_workspace(authed(
                GetSlackWorkspaceRequest {
                    org_id: "org-1".into(),
                },
                &owner,
            ))
            .await
            .unwrap()
            .into_inner();
        let audit = c
            .config
            .list_audit_events(authed(
                ListAuditEventsRequest {
                    org_id: "org-1".into(),
                    page_size: 500,
                },
                &owner,
            ))
            .await
            .unwrap()
            .into_inner()
            .events
            .len();
        let links = c
            .links
            .list_slack_connections(authed(
                ListSlackConnectionsRequest {
                    org_id: "org-1".into(),
                    page_size: 0,
                    page_token: String::new(),
                },
                &owner,
            ))
            .await
            .unwrap()
            .into_inner()
            .connections;
        let deliveries = c
            .deliveries
            .list_deliveries(authed(
                ListDeliveriesRequest {
                    org_id: "org-1".into(),
                    status: 0,
                    page_size: 500,
                    page_token: String::new(),
                },
                &Who::Operator,
            ))
            .await
            .unwrap()
            .into_inner()
            .deliveries
            .len();
        format!("{ws:?} audit={audit} links={links:?} deliveries={deliveries}")
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn bad_requests_get_invalid_argument_naming_the_field_and_change_nothing() {
    let rt = runtime();
    let f = rt.block_on(Fixture::start(Backend::Sqlite));
    let clients = rt.block_on(async { Clients::new(f.server.channel().await) });
    let before = rt.block_on(clients.snapshot());
    let mut runner = runner(400);
    let result = runner.run(&bad_request(), |r| {
        let text = match &r {
            BadRequest::Publish(m) | BadRequest::Enqueue(m) => Some(m.text.clone()),
            _ => None,
        };
        let status = rt
            .block_on(clients.send(r.clone()))
            .expect_err("a bad request was accepted");
        prop_assert_eq!(status.code(), Code::InvalidArgument, "{:?} -> {:?}", r, status);
        let violations = status
            .get_error_details()
            .bad_request()
            .map(|b| b.field_violations.len())
            .unwrap_or_default();
        prop_assert!(violations > 0, "no field violations: {status:?}");
        if let Some(text) = text.filter(|t| t.len() > 12) {
            prop_assert!(
                !status.message().contains(&text),
                "the message text came back in {status:?}"
            );
        }
        prop_assert!(!status.message().contains("xoxb-acme-good"), "{status:?}");
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let after = rt.block_on(clients.snapshot());
    assert_eq!(before, after, "a refused request changed what is stored");
    rt.block_on(f.stop());
}

/// Sends a request body as raw bytes: what a client with a broken encoder would send.
#[derive(Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        Ok(Some(bytes.to_vec()))
    }
}

/// A length-delimited protobuf field.
fn field(number: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![(number << 3) | 2];
    let mut len = bytes.len();
    loop {
        let b = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    }
    out.extend_from_slice(bytes);
    out
}

async fn raw_call(
    channel: &Channel,
    path: &'static str,
    body: Vec<u8>,
    who: &Who,
) -> Result<Vec<u8>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.unwrap();
    grpc.unary(authed(body, who), PathAndQuery::from_static(path), RawCodec)
        .await
        .map(tonic::Response::into_inner)
}

/// docs/api.md asks for INVALID_ARGUMENT on bad input. Bytes that are not valid protobuf (or strings that
/// are not UTF-8) are refused by the protobuf decoder before validation runs, and tonic-prost answers
/// those with INTERNAL (as gRPC's status code guide says for unparsable requests). Finding F2 in
/// SECURITY.md; when it is fixed, change this to INVALID_ARGUMENT only.
const UNDECODABLE: [Code; 2] = [Code::InvalidArgument, Code::Internal];

#[tokio::test(flavor = "multi_thread")]
async fn bytes_that_are_not_protobuf_or_not_utf8_are_refused_and_change_nothing() {
    let f = Fixture::start(Backend::Sqlite).await;
    let channel = f.server.channel().await;
    let clients = Clients::new(channel.clone());
    let before = clients.snapshot().await;

    let not_utf8: &[u8] = b"ac\xffme\xc3\x28";
    let cases: Vec<(&'static str, Vec<u8>, Who)> = vec![
        (
            "/ovice.slack.v1.IntegrationConfigService/PutSlackWorkspace",
            [
                field(1, b"org-1"),
                field(2, b"xoxb-acme-good"),
                field(3, not_utf8),
            ]
            .concat(),
            Who::Owner("org-1"),
        ),
        (
            "/ovice.slack.v1.IntegrationConfigService/GetSlackWorkspace",
            field(1, not_utf8),
            Who::Owner("org-1"),
        ),
        (
            "/ovice.slack.v1.AccountLinkService/GetSlackConnection",
            [field(1, b"org-1"), field(2, not_utf8)].concat(),
            ALICE,
        ),
        (
            "/ovice.slack.v1.AccountLinkService/ResolveSlackUsers",
            [field(1, b"org-1"), field(2, b"alice"), field(2, not_utf8)].concat(),
            Who::Service,
        ),
        (
            "/ovice.slack.v1.ChatEventService/PublishChatMessage",
            // message { org_id, message_id, text: not UTF-8 }
            field(
                1,
                &[field(1, b"org-1"), field(4, b"utf8-m1"), field(7, not_utf8)].concat(),
            ),
            Who::Platform,
        ),
        (
            "/ovice.slack.v1.DeliveryService/EnqueueDirectMessage",
            field(
                1,
                &[field(1, b"org-1"), field(4, b"utf8-m2"), field(3, not_utf8)].concat(),
            ),
            Who::Service,
        ),
        // Not protobuf at all: a field header promising more bytes than follow, a bad wire type.
        (
            "/ovice.slack.v1.ChatEventService/PublishChatMessage",
            vec![0x0a, 0xff, 0xff, 0x01, 0x00],
            Who::Platform,
        ),
        (
            "/ovice.slack.v1.DeliveryService/ListDeliveries",
            vec![0x0f, 0x01],
            Who::Operator,
        ),
    ];
    for (path, body, who) in cases {
        let status = raw_call(&channel, path, body, &who).await.unwrap_err();
        eprintln!("{path}: {:?} {}", status.code(), status.message());
        assert!(UNDECODABLE.contains(&status.code()), "{path}: {status:?}");
    }

    // Arbitrary bytes on every method: an answer, never a dropped connection or a panic.
    let methods = [
        (
            "/ovice.slack.v1.IntegrationConfigService/PutSlackWorkspace",
            Who::Owner("org-1"),
        ),
        ("/ovice.slack.v1.AccountLinkService/BeginSlackConnect", ALICE),
        (
            "/ovice.slack.v1.AccountLinkService/ResolveSlackUsers",
            Who::Service,
        ),
        (
            "/ovice.slack.v1.ChatEventService/PublishChatMessage",
            Who::Platform,
        ),
        (
            "/ovice.slack.v1.DeliveryService/EnqueueDirectMessage",
            Who::Service,
        ),
        ("/ovice.slack.v1.DeliveryService/RetryDelivery", Who::Operator),
    ];
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    let mut runner = runner(300);
    let values = (0..methods.len(), prop::collection::vec(any::<u8>(), 0..200));
    for _ in 0..300 {
        let (m, body) = values.new_tree(&mut runner).unwrap().current();
        let (path, who) = &methods[m];
        let code = match raw_call(&channel, path, body, who).await {
            Ok(_) => Code::Ok,
            Err(s) => s.code(),
        };
        assert!(
            !matches!(code, Code::Unknown | Code::Unavailable | Code::Cancelled),
            "{path}: {code:?}"
        );
        *seen.entry(format!("{code:?}")).or_default() += 1;
    }
    eprintln!("arbitrary bytes, 300 calls: {seen:?}");
    assert_eq!(
        before,
        clients.snapshot().await,
        "undecodable requests changed what is stored"
    );
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_authorization_header_that_is_not_text_is_unauthenticated() {
    let f = Fixture::start(Backend::Sqlite).await;
    let mut config = IntegrationConfigServiceClient::new(f.server.channel().await);
    for value in [
        &b"Bearer \xff\xfe"[..],
        b"Bearer \x80abc.def.ghi",
        b"Basic b3duZXI6cHc=",
        b"Bearer",
        b"Bearer    ",
    ] {
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", http::HeaderValue::from_bytes(value).unwrap());
        let mut request = tonic::Request::new(GetSlackWorkspaceRequest {
            org_id: "org-1".into(),
        });
        *request.metadata_mut() = tonic::metadata::MetadataMap::from_headers(headers);
        let status = config.get_slack_workspace(request).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{value:?}: {status:?}");
    }
    f.stop().await;
}

/// Query strings Slack would never send: arbitrary, with duplicate keys, broken percent-escapes,
/// markup, and sometimes a real, unspent `state`.
fn callback_query() -> impl Strategy<Value = (bool, Vec<(String, String)>, String)> {
    let key = prop_oneof![
        Just("code".to_owned()),
        Just("state".to_owned()),
        Just("error".to_owned()),
        "[a-z_]{1,6}",
    ];
    let value = prop_oneof![
        any::<String>(),
        "[ -~]{0,40}",
        Just("<img src=x onerror=alert(1)>\"'&".to_owned()),
        Just("access_denied".to_owned()),
        Just("%ZZ%ff%00%".to_owned()),
        (300usize..700).prop_map(|n| "s".repeat(n)),
    ];
    (
        any::<bool>(),
        prop::collection::vec((key, value), 0..5),
        prop_oneof![Just(String::new()), "[&=%+;#]{1,6}", "%[0-9a-fA-FzZ]{0,2}"],
    )
}

#[test]
fn any_callback_query_gets_a_page_and_links_nobody() {
    let rt = runtime();
    // Hundreds of fresh Connect flows by one person: far past the default per-person limit.
    let f = rt.block_on(Fixture::start_with(
        Backend::Sqlite,
        &["--connect-starts-per-minute", "100000"],
    ));
    let clients = rt.block_on(async { Clients::new(f.server.channel().await) });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let base = format!("http://{}/oauth/slack/callback", f.server.http_addr);
    let outcomes = Arc::new(std::sync::Mutex::new(
        std::collections::BTreeMap::<String, usize>::new(),
    ));
    let mut runner = runner(200);
    let result = runner.run(&callback_query(), |(fresh_state, pairs, raw_tail)| {
        rt.block_on(async {
            let mut pairs = pairs;
            if fresh_state {
                // A state this service issued and nobody used: the deeper checks run.
                let mut links = clients.links.clone();
                let url = links
                    .begin_slack_connect(authed(
                        BeginSlackConnectRequest {
                            org_id: "org-1".into(),
                            space_id: "space-1".into(),
                        },
                        &ALICE,
                    ))
                    .await
                    .unwrap()
                    .into_inner()
                    .authorize_url;
                let state = url::Url::parse(&url)
                    .unwrap()
                    .query_pairs()
                    .find(|(k, _)| k == "state")
                    .unwrap()
                    .1
                    .into_owned();
                pairs.push(("state".into(), state));
            }
            let mut url = url::Url::parse(&base).unwrap();
            url.query_pairs_mut().extend_pairs(&pairs);
            let query = format!("{}{raw_tail}", url.query().unwrap_or_default());
            let response = http.get(format!("{base}?{query}")).send().await.unwrap();
            let status = response.status();
            let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
            let html = response.text().await.unwrap();
            prop_assert!(
                content_type.starts_with("text/html"),
                "{status} {content_type} for {query}"
            );
            prop_assert!(status != 500, "{query} -> {html}");
            let outcome = html
                .split("data-outcome=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap_or("none")
                .to_owned();
            prop_assert_ne!(outcome.as_str(), "connected");
            prop_assert_ne!(outcome.as_str(), "none", "not our page: {}", html);
            // Whatever came in the query is shown as text, never as markup.
            prop_assert!(!html.contains("<img"), "{html}");
            *outcomes.lock().unwrap().entry(outcome).or_default() += 1;
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!("callback outcomes: {:?}", outcomes.lock().unwrap());
    let links = rt.block_on(clients.snapshot());
    assert!(links.contains("links=[]"), "{links}");
    rt.block_on(f.stop());
}
