//! The gRPC face: proto <-> domain conversion (validation happens here, once) and Status mapping.

use ovice_slack_model::{
    OrgId, SlackTeamId, SlackUserId,
    validation::{FieldViolations, required},
};
use ovice_slack_proto::v1::{
    AuditEvent, BotCredentials as ProtoBotCredentials, DeleteSlackWorkspaceRequest,
    DeleteSlackWorkspaceResponse, GetBotCredentialsRequest, GetSlackWorkspaceRequest, ListAuditEventsRequest,
    ListAuditEventsResponse, PutSlackWorkspaceRequest, ReportSlackTokensRevokedRequest,
    ReportSlackTokensRevokedResponse, ReportWorkspaceTokenInvalidRequest, SlackWorkspace,
    WorkspaceStatus as ProtoStatus, integration_config_service_server::IntegrationConfigService,
};
use ovice_slack_runtime::auth::{Rpc, Scope, caller_of};
use secrecy::ExposeSecret;
use tonic::{Request, Response, Status};

use crate::{
    app::{AppCredentials, IntegrationConfig, PutWorkspace},
    domain::{Workspace, WorkspaceStatus},
    error::{ConfigError, for_owner},
};

const MAX_ID: usize = 128;
/// More bot users than one `tokens_revoked` could name for a team's few apps.
const MAX_BOT_USERS: usize = 100;

pub struct IntegrationConfigGrpc {
    app: IntegrationConfig,
}

impl IntegrationConfigGrpc {
    pub fn new(app: IntegrationConfig) -> Self {
        Self { app }
    }
}

fn org_id(org_id: &str) -> Result<OrgId, Status> {
    let mut v = FieldViolations::new();
    let org = OrgId::new(required(&mut v, "org_id", org_id, MAX_ID));
    v.into_result().map(|()| org)
}

fn to_proto(w: Workspace) -> SlackWorkspace {
    SlackWorkspace {
        org_id: w.org_id.into(),
        team_id: w.team_id.into(),
        team_name: w.team_name,
        workspace_domain: w.domain,
        bot_user_id: w.bot_user_id.into(),
        scopes: w.scopes,
        status: proto_status(w.status).into(),
        updated_at: Some(w.updated_at.to_proto()),
        updated_by: w.updated_by,
        status_reason: w.status_reason,
        checked_at: None,
        check_problem: String::new(),
        token_expires_at: w.token_expires_at.map(|t| t.to_proto()),
        events_enabled: w.events_enabled,
    }
}

fn proto_status(s: WorkspaceStatus) -> ProtoStatus {
    match s {
        WorkspaceStatus::Active => ProtoStatus::Active,
        WorkspaceStatus::TokenInvalid => ProtoStatus::TokenInvalid,
    }
}

/// A put refused before Slack is asked: the status (every wrong field named) and the refusals the
/// owner reads, in their language, beside it.
pub struct PutRefused {
    status: Status,
    refusals: Vec<ConfigError>,
}

impl From<Status> for PutRefused {
    fn from(status: Status) -> Self {
        Self {
            status,
            refusals: Vec::new(),
        }
    }
}

impl PutRefused {
    fn into_owner_status(self, language: Option<ovice_slack_i18n::Language>) -> Status {
        for_owner(self.status, &self.refusals, language)
    }
}

impl TryFrom<&PutSlackWorkspaceRequest> for PutWorkspace {
    type Error = PutRefused;

    fn try_from(r: &PutSlackWorkspaceRequest) -> Result<Self, PutRefused> {
        let mut v = FieldViolations::new();
        let org = OrgId::new(required(&mut v, "org_id", &r.org_id, MAX_ID));
        let rotation = AppCredentials {
            refresh_token: &r.refresh_token,
            client_id: &r.client_id,
            client_secret: &r.client_secret,
            signing_secret: &r.signing_secret,
        };
        match PutWorkspace::new(org, &r.access_token, &r.workspace_domain, rotation) {
            Ok(put) if v.is_empty() => Ok(put),
            Ok(_) => Err(v.into_status().into()),
            Err(mut errors) => {
                // Not a field's problem: that alone is the answer.
                if let Some(i) = errors.iter().position(|e| e.field_violation().is_none()) {
                    return Err(Status::from(errors.swap_remove(i)).into());
                }
                for (field, problem) in errors.iter().filter_map(ConfigError::field_violation) {
                    v.add(field, problem);
                }
                Err(PutRefused {
                    status: v.into_status(),
                    refusals: errors,
                })
            }
        }
    }
}

#[tonic::async_trait]
impl IntegrationConfigService for IntegrationConfigGrpc {
    async fn put_slack_workspace(
        &self,
        request: Request<PutSlackWorkspaceRequest>,
    ) -> Result<Response<SlackWorkspace>, Status> {
        let caller = caller_of(&request)?;
        let language = caller.language;
        // Authorization before validation, so a stranger learns nothing from the error messages
        // (the request carries a token). The app does not check again.
        caller
            .authorize(
                Rpc::PutSlackWorkspace,
                Scope::Org(request.get_ref().org_id.trim()),
            )
            .map_err(|d| ConfigError::from(d).into_owner_status(language))?;
        let put = PutWorkspace::try_from(request.get_ref()).map_err(|r| r.into_owner_status(language))?;
        let ws = self
            .app
            .put(&caller, put)
            .await
            .map_err(|e| e.into_owner_status(language))?;
        Ok(Response::new(to_proto(ws)))
    }

    async fn get_slack_workspace(
        &self,
        request: Request<GetSlackWorkspaceRequest>,
    ) -> Result<Response<SlackWorkspace>, Status> {
        let caller = caller_of(&request)?;
        let language = caller.language;
        let org = org_id(&request.get_ref().org_id).map_err(|s| for_owner(s, &[], language))?;
        let ws = self
            .app
            .get(&caller, &org)
            .await
            .map_err(|e| e.into_owner_status(language))?;
        let check = self
            .app
            .last_check(&ws)
            .await
            .map_err(|e| e.into_owner_status(language))?;
        let mut answer = to_proto(ws);
        if let Some(check) = check {
            answer.checked_at = Some(check.checked_at.to_proto());
            answer.check_problem = check.problem;
        }
        Ok(Response::new(answer))
    }

    async fn delete_slack_workspace(
        &self,
        request: Request<DeleteSlackWorkspaceRequest>,
    ) -> Result<Response<DeleteSlackWorkspaceResponse>, Status> {
        let caller = caller_of(&request)?;
        let language = caller.language;
        let org = org_id(&request.get_ref().org_id).map_err(|s| for_owner(s, &[], language))?;
        let deleted = self
            .app
            .delete(&caller, &org)
            .await
            .map_err(|e| e.into_owner_status(language))?;
        Ok(Response::new(DeleteSlackWorkspaceResponse { deleted }))
    }

    async fn get_bot_credentials(
        &self,
        request: Request<GetBotCredentialsRequest>,
    ) -> Result<Response<ProtoBotCredentials>, Status> {
        let caller = caller_of(&request)?;
        let org = org_id(&request.get_ref().org_id)?;
        let creds = self.app.bot_credentials(&caller, &org).await?;
        Ok(Response::new(ProtoBotCredentials {
            org_id: creds.workspace.org_id.into(),
            team_id: creds.workspace.team_id.into(),
            workspace_domain: creds.workspace.domain,
            bot_user_id: creds.workspace.bot_user_id.into(),
            access_token: creds.token.expose_secret().to_owned(),
            status: proto_status(creds.workspace.status).into(),
        }))
    }

    async fn report_workspace_token_invalid(
        &self,
        request: Request<ReportWorkspaceTokenInvalidRequest>,
    ) -> Result<Response<SlackWorkspace>, Status> {
        let caller = caller_of(&request)?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let org = OrgId::new(required(&mut v, "org_id", &r.org_id, MAX_ID));
        let reason = required(&mut v, "reason", &r.reason, MAX_ID);
        if r.team_id.len() > MAX_ID {
            v.add("team_id", format!("is longer than {MAX_ID} bytes"));
        }
        v.into_result()?;
        // An empty team means "whichever team the org has".
        let team = Some(r.team_id.trim())
            .filter(|t| !t.is_empty())
            .map(SlackTeamId::new);
        let ws = self
            .app
            .report_token_invalid(&caller, &org, team.as_ref(), &reason)
            .await?;
        Ok(Response::new(to_proto(ws)))
    }

    async fn report_slack_tokens_revoked(
        &self,
        request: Request<ReportSlackTokensRevokedRequest>,
    ) -> Result<Response<ReportSlackTokensRevokedResponse>, Status> {
        let caller = caller_of(&request)?;
        let r = request.get_ref();
        let mut v = FieldViolations::new();
        let team = SlackTeamId::new(required(&mut v, "team_id", &r.team_id, MAX_ID));
        if r.bot_user_ids.len() > MAX_BOT_USERS {
            v.add(
                "bot_user_ids",
                format!("lists more than {MAX_BOT_USERS} bot users"),
            );
        }
        if r.bot_user_ids
            .iter()
            .any(|b| b.trim().is_empty() || b.len() > MAX_ID)
        {
            v.add(
                "bot_user_ids",
                format!("holds an empty id or one longer than {MAX_ID} bytes"),
            );
        }
        v.into_result()?;
        let bots: Vec<SlackUserId> = r
            .bot_user_ids
            .iter()
            .map(|b| SlackUserId::new(b.trim()))
            .collect();
        let marked = self
            .app
            .report_tokens_revoked(&caller, &team, &bots, r.app_uninstalled)
            .await?;
        Ok(Response::new(ReportSlackTokensRevokedResponse {
            invalidated_org_ids: marked.into_iter().map(String::from).collect(),
        }))
    }

    async fn list_audit_events(
        &self,
        request: Request<ListAuditEventsRequest>,
    ) -> Result<Response<ListAuditEventsResponse>, Status> {
        let caller = caller_of(&request)?;
        let r = request.get_ref();
        let org = org_id(&r.org_id)?;
        let limit = match r.page_size {
            0 => 50,
            n @ 1..=500 => i64::from(n),
            _ => {
                return Err(ovice_slack_model::validation::invalid_field(
                    "page_size",
                    "must be between 0 and 500",
                ));
            }
        };
        let events = self.app.audit_log(&caller, &org, limit).await?;
        Ok(Response::new(ListAuditEventsResponse {
            events: events
                .into_iter()
                .map(|e| AuditEvent {
                    actor: e.actor,
                    action: e.action.as_str().to_owned(),
                    occurred_at: Some(e.occurred_at.to_proto()),
                    detail: e.detail,
                })
                .collect(),
        }))
    }
}
