//! The gRPC face: validation of requests (once, here), proto <-> domain conversion, Status mapping.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ovice_slack_model::{
    ConnectionState, OrgId, SlackTeamId, UnixMillis, UserId,
    validation::{FieldViolations, invalid_field, required},
};
use ovice_slack_proto::v1::{
    self as pb, BeginSlackConnectRequest, BeginSlackConnectResponse, DisconnectSlackRequest,
    DisconnectSlackResponse, GetSlackConnectionRequest, ListSlackConnectionsRequest,
    ListSlackConnectionsResponse, ReportUserTokenInvalidRequest, ReportUserTokenInvalidResponse,
    ResolveSlackUsersRequest, ResolveSlackUsersResponse, ResolvedSlackUser, SlackConnection,
    SlackConnectionEntry, UpdateSlackPreferencesRequest, account_link_service_server::AccountLinkService,
};
use ovice_slack_runtime::auth::{Caller, caller_of};
use secrecy::ExposeSecret;
use tonic::{Request, Response, Status};

use crate::app::AccountLinks;
use crate::domain::link_event::reconnect_text;
use crate::domain::{LinkState, SlackPreferences};
use crate::error::{LinkError, for_person};

const MAX_ID: usize = 128;
const MAX_RESOLVE: usize = 100;

pub struct AccountLinksGrpc {
    app: AccountLinks,
}

impl AccountLinksGrpc {
    pub fn new(app: AccountLinks) -> Self {
        Self { app }
    }
}

/// How a person's call reports errors: in their language (the token's `locale`) as well.
fn errors_for(
    caller: &Caller,
) -> (
    impl Fn(Status) -> Status + Copy,
    impl Fn(LinkError) -> Status + Copy,
) {
    let language = caller.language;
    (
        move |s: Status| for_person(s, language),
        move |e: LinkError| e.into_person_status(language),
    )
}

fn proto_state(s: ConnectionState) -> i32 {
    match s {
        ConnectionState::NotConnected => pb::ConnectionState::NotConnected,
        ConnectionState::Connected => pb::ConnectionState::Connected,
        ConnectionState::NeedsReconnect => pb::ConnectionState::NeedsReconnect,
    }
    .into()
}

fn org_and_space(org_id: &str, space_id: &str) -> Result<(OrgId, String), Status> {
    let mut v = FieldViolations::new();
    let org = OrgId::new(required(&mut v, "org_id", org_id, MAX_ID));
    let space = required(&mut v, "space_id", space_id, MAX_ID);
    v.into_result().map(|()| (org, space))
}

fn org(org_id: &str) -> Result<OrgId, Status> {
    let mut v = FieldViolations::new();
    let org = OrgId::new(required(&mut v, "org_id", org_id, MAX_ID));
    v.into_result().map(|()| org)
}

#[tonic::async_trait]
impl AccountLinkService for AccountLinksGrpc {
    async fn get_slack_connection(
        &self,
        request: Request<GetSlackConnectionRequest>,
    ) -> Result<Response<SlackConnection>, Status> {
        let caller = caller_of(&request)?;
        let (person, link) = errors_for(&caller);
        let (org, space) =
            org_and_space(&request.get_ref().org_id, &request.get_ref().space_id).map_err(person)?;
        let view = self.app.connection(&caller, &org, &space).await.map_err(link)?;
        Ok(Response::new(SlackConnection {
            visible: view.visible,
            available: view.available,
            state: proto_state(view.state),
            slack_user_id: view.slack_user_id.into(),
            slack_user_name: view.slack_user_name,
            workspace_domain: view.workspace_domain,
            connected_at: view.connected_at.map(UnixMillis::to_proto),
            state_message: if view.state == ConnectionState::NeedsReconnect {
                reconnect_text(&view.state_reason).plain(caller.language.unwrap_or_default())
            } else {
                String::new()
            },
            state_reason: view.state_reason,
            preferences: view.visible.then(|| view.preferences.to_proto()),
        }))
    }

    async fn update_slack_preferences(
        &self,
        request: Request<UpdateSlackPreferencesRequest>,
    ) -> Result<Response<pb::SlackPreferences>, Status> {
        let caller = caller_of(&request)?;
        let (person, link) = errors_for(&caller);
        let r = request.get_ref();
        let (org, space) = org_and_space(&r.org_id, &r.space_id).map_err(person)?;
        let Some(wanted) = r.preferences.as_ref() else {
            return Err(person(invalid_field("preferences", "is required")));
        };
        let preferences =
            SlackPreferences::from_request(wanted, UnixMillis::now()).map_err(|v| person(v.into_status()))?;
        let stored = self
            .app
            .update_preferences(&caller, &org, &space, preferences)
            .await
            .map_err(link)?;
        Ok(Response::new(stored.to_proto()))
    }

    async fn begin_slack_connect(
        &self,
        request: Request<BeginSlackConnectRequest>,
    ) -> Result<Response<BeginSlackConnectResponse>, Status> {
        let caller = caller_of(&request)?;
        let (person, link) = errors_for(&caller);
        let (org, space) =
            org_and_space(&request.get_ref().org_id, &request.get_ref().space_id).map_err(person)?;
        let (url, expires_at) = self
            .app
            .begin_connect(&caller, &org, &space)
            .await
            .map_err(link)?;
        Ok(Response::new(BeginSlackConnectResponse {
            authorize_url: url.to_string(),
            expires_at: Some(expires_at.to_proto()),
        }))
    }

    async fn disconnect_slack(
        &self,
        request: Request<DisconnectSlackRequest>,
    ) -> Result<Response<DisconnectSlackResponse>, Status> {
        let caller = caller_of(&request)?;
        let (person, link) = errors_for(&caller);
        let org = org(&request.get_ref().org_id).map_err(person)?;
        let disconnected = self.app.disconnect(&caller, &org).await.map_err(link)?;
        Ok(Response::new(DisconnectSlackResponse { disconnected }))
    }

    async fn list_slack_connections(
        &self,
        request: Request<ListSlackConnectionsRequest>,
    ) -> Result<Response<ListSlackConnectionsResponse>, Status> {
        let caller = caller_of(&request)?;
        let r = request.get_ref();
        let org = org(&r.org_id)?;
        let limit = match r.page_size {
            0 => 100,
            n @ 1..=1000 => i64::from(n),
            _ => return Err(invalid_field("page_size", "must be between 0 and 1000")),
        };
        let after = if r.page_token.is_empty() {
            None
        } else {
            let user = URL_SAFE_NO_PAD
                .decode(&r.page_token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| invalid_field("page_token", "is not a token this service issued"))?;
            Some(UserId::new(user))
        };
        let links = self.app.list(&caller, &org, after.as_ref(), limit).await?;
        let next_page_token = match links.last() {
            Some(last) if links.len() as i64 == limit => URL_SAFE_NO_PAD.encode(last.user_id.as_str()),
            _ => String::new(),
        };
        Ok(Response::new(ListSlackConnectionsResponse {
            connections: links
                .into_iter()
                .map(|l| SlackConnectionEntry {
                    user_id: l.user_id.into(),
                    slack_user_id: l.slack_user_id.into(),
                    slack_user_name: l.slack_user_name,
                    state: proto_state(l.state.into()),
                    connected_at: Some(l.connected_at.to_proto()),
                    state_reason: match l.state {
                        LinkState::NeedsReconnect => l.state_reason,
                        LinkState::Connected => String::new(),
                    },
                })
                .collect(),
            next_page_token,
        }))
    }

    async fn resolve_slack_users(
        &self,
        request: Request<ResolveSlackUsersRequest>,
    ) -> Result<Response<ResolveSlackUsersResponse>, Status> {
        let caller = caller_of(&request)?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let org = OrgId::new(required(&mut v, "org_id", &r.org_id, MAX_ID));
        if r.user_ids.is_empty() || r.user_ids.len() > MAX_RESOLVE {
            v.add("user_ids", format!("must name 1 to {MAX_RESOLVE} users"));
        }
        for (i, id) in r.user_ids.iter().enumerate() {
            if id.trim().is_empty() || id.len() > MAX_ID {
                v.add(format!("user_ids[{i}]"), format!("must be 1 to {MAX_ID} bytes"));
            }
        }
        let team_id = r.team_id.trim();
        if team_id.len() > MAX_ID {
            v.add("team_id", format!("is longer than {MAX_ID} bytes"));
        }
        v.into_result()?;
        let team_id = (!team_id.is_empty()).then(|| SlackTeamId::new(team_id));
        let user_ids: Vec<UserId> = r.user_ids.iter().map(|id| UserId::new(id.as_str())).collect();
        let users = self
            .app
            .resolve(&caller, &org, team_id.as_ref(), &user_ids, r.include_user_tokens)
            .await?;
        Ok(Response::new(ResolveSlackUsersResponse {
            users: users
                .into_iter()
                .map(|u| ResolvedSlackUser {
                    user_id: u.user_id.into(),
                    state: proto_state(u.state),
                    slack_user_id: u.slack_user_id.into(),
                    user_access_token: u
                        .user_token
                        .map(|t| t.expose_secret().to_owned())
                        .unwrap_or_default(),
                    slack_team_id: u.slack_team_id.into(),
                    hold_unread_seconds: i32::try_from(u.preferences.hold_seconds()).unwrap_or(i32::MAX),
                    preferences: Some(u.preferences.to_proto()),
                })
                .collect(),
        }))
    }

    async fn report_user_token_invalid(
        &self,
        request: Request<ReportUserTokenInvalidRequest>,
    ) -> Result<Response<ReportUserTokenInvalidResponse>, Status> {
        let caller = caller_of(&request)?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let org = OrgId::new(required(&mut v, "org_id", &r.org_id, MAX_ID));
        let user = UserId::new(required(&mut v, "user_id", &r.user_id, MAX_ID));
        let reason = required(&mut v, "reason", &r.reason, MAX_ID);
        v.into_result()?;
        let marked = self
            .app
            .report_user_token_invalid(&caller, &org, &user, &reason)
            .await?;
        Ok(Response::new(ReportUserTokenInvalidResponse { marked }))
    }
}
