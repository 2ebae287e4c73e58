//! The use cases of docs/product.md §2.1: who may do what, the live token check, sealing, auditing.

use std::sync::Arc;

use ovice_slack_model::{OrgId, SlackTeamId, SlackUserId, UnixMillis};
use ovice_slack_revocation::{Revocations, RevokeReason};
use ovice_slack_runtime::auth::{Caller, Rpc, Scope};
use ovice_slack_secrets::TokenCipher;
use secrecy::{ExposeSecret, SecretString};
use slack_client::{AuthTest, SlackClient, SlackError};

use crate::{
    domain::{
        AuditAction, AuditEntry, AuditNote, TokenIdentity, Workspace, WorkspaceDomain, WorkspaceStatus,
        check_token_shape, rejection, verify_auth_test,
    },
    error::ConfigError,
    store::{StoredWorkspace, WorkspaceCheck, WorkspaceStore},
};

/// A validated PutSlackWorkspace: the token has the shape of a bot token, the domain is normalised.
pub struct PutWorkspace {
    pub org_id: OrgId,
    pub token: SecretString,
    pub domain: WorkspaceDomain,
}

impl PutWorkspace {
    /// Validates what can be validated without Slack; each problem names its field.
    pub fn new(org_id: OrgId, token: &str, domain: &str) -> Result<Self, Vec<ConfigError>> {
        let domain = WorkspaceDomain::parse(domain).map_err(ConfigError::InvalidDomain);
        let shape = check_token_shape(token).map_err(ConfigError::from);
        match (domain, shape) {
            (Ok(domain), Ok(())) => Ok(Self {
                org_id,
                token: SecretString::from(token.trim().to_owned()),
                domain,
            }),
            (domain, shape) => Err([domain.err(), shape.err()].into_iter().flatten().collect()),
        }
    }
}

/// The bot credentials handed to the project's own services.
pub struct BotCredentials {
    pub workspace: Workspace,
    pub token: SecretString,
}

#[derive(Clone)]
pub struct IntegrationConfig {
    store: Arc<dyn WorkspaceStore>,
    cipher: TokenCipher,
    slack: SlackClient,
    /// Bot tokens dropped here, on their way to `auth.revoke`.
    revocations: Revocations,
}

/// What `auth.test` says of a stored token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TokenHealth {
    Fine,
    /// It works, but not as the settings need (a lost scope, another team).
    Problem(String),
    /// Slack says it will never work again (its code).
    Dead(String),
}

fn identity_of(a: AuthTest) -> TokenIdentity {
    TokenIdentity {
        url: a.url,
        team_id: a.team_id,
        team_name: a.team,
        user_id: a.user_id,
        bot_id: a.bot_id,
        scopes: a.scopes,
    }
}

/// Who the audit log names when the health check marks a token.
const HEALTH_CHECK_ACTOR: &str = "ovice-slack health check";

fn token_context(org_id: &OrgId) -> String {
    format!("workspace:{org_id}")
}

impl IntegrationConfig {
    pub fn new(
        store: Arc<dyn WorkspaceStore>,
        cipher: TokenCipher,
        slack: SlackClient,
        revocations: Revocations,
    ) -> Self {
        Self {
            store,
            cipher,
            slack,
            revocations,
        }
    }

    /// Queues a dropped bot token for `auth.revoke`, unless another org's settings still hold it.
    /// Slack's revoking a bot token does not uninstall the owner's app, but it deactivates that bot
    /// user, which is why a replacement by the same bot user of the same team revokes nothing.
    async fn revoke_unless_held(&self, dropped: &StoredWorkspace, reason: RevokeReason) {
        let org_id = &dropped.workspace.org_id;
        let token = match self.cipher.open(&dropped.token, &token_context(org_id)) {
            Ok(token) => token,
            Err(e) => {
                tracing::warn!(%org_id, error = %e, "a dropped bot token cannot be opened; it is not revoked with Slack");
                return;
            }
        };
        let others = match self.store.workspaces_of_team(&dropped.workspace.team_id).await {
            Ok(others) => others,
            Err(e) => {
                tracing::warn!(%org_id, error = %e, "could not check which orgs hold a dropped bot token; it is not revoked");
                return;
            }
        };
        let held = others.iter().any(|o| {
            let other = &o.workspace.org_id;
            other != org_id
                && self
                    .cipher
                    .open(&o.token, &token_context(other))
                    .is_ok_and(|t| t.expose_secret() == token.expose_secret())
        });
        if held {
            tracing::info!(%org_id, "a dropped bot token is still used by another org; not revoked");
            return;
        }
        self.revocations.enqueue_or_log(org_id, &token, reason).await;
    }

    pub async fn put(&self, caller: &Caller, request: PutWorkspace) -> Result<Workspace, ConfigError> {
        let PutWorkspace {
            org_id,
            token,
            domain,
        } = request;
        let org_id = &org_id;
        let identity = match self.slack.auth_test(&token).await {
            Ok(a) => identity_of(a),
            Err(SlackError::Api { code, .. }) => return Err(rejection(&code).into()),
            Err(e) => return Err(ConfigError::SlackUnavailable(e.to_string())),
        };
        let verified = verify_auth_test(&domain, &identity)?;
        let now = UnixMillis::now();
        let workspace = Workspace {
            org_id: org_id.clone(),
            team_id: verified.team_id,
            team_name: verified.team_name,
            domain: domain.to_string(),
            bot_user_id: verified.bot_user_id,
            scopes: verified.scopes,
            status: WorkspaceStatus::Active,
            status_reason: String::new(),
            updated_at: now,
            updated_by: caller.subject.clone(),
        };
        let sealed = self.cipher.seal(&token, &token_context(org_id))?;
        // The store decides the action from the team the org had, in the same transaction.
        let audit = AuditNote {
            org_id: org_id.clone(),
            actor: caller.subject.clone(),
            detail: format!("team {} ({}.slack.com)", workspace.team_id, workspace.domain),
            occurred_at: now,
        };
        let outcome = self
            .store
            .put(
                &StoredWorkspace {
                    workspace: workspace.clone(),
                    token: sealed,
                },
                &audit,
            )
            .await?;
        let action = AuditAction::of_put(outcome.previous_team_id.as_ref(), &workspace.team_id);
        tracing::info!(%org_id, team_id = %workspace.team_id, action = action.as_str(), "slack workspace saved");
        if let Some(previous) = outcome.previous
            && !(previous.workspace.team_id == workspace.team_id
                && previous.workspace.bot_user_id == workspace.bot_user_id)
        {
            // Another bot (or another team) replaced it: the old bot's token is no longer used here.
            self.revoke_unless_held(&previous, RevokeReason::WorkspaceReplaced)
                .await;
        }
        Ok(workspace)
    }

    pub async fn get(&self, caller: &Caller, org_id: &OrgId) -> Result<Workspace, ConfigError> {
        caller.authorize(Rpc::GetSlackWorkspace, Scope::Org(org_id.as_str()))?;
        self.load(org_id).await.map(|s| s.workspace)
    }

    pub async fn delete(&self, caller: &Caller, org_id: &OrgId) -> Result<bool, ConfigError> {
        caller.authorize(Rpc::DeleteSlackWorkspace, Scope::Org(org_id.as_str()))?;
        let audit = AuditEntry {
            org_id: org_id.clone(),
            actor: caller.subject.clone(),
            action: AuditAction::Delete,
            detail: "settings removed; delivery for the organization stops".into(),
            occurred_at: UnixMillis::now(),
        };
        // Queued before the removal: should the removal fail, the owner asked for it gone anyway.
        if let Some(stored) = self.store.get(org_id).await? {
            self.revoke_unless_held(&stored, RevokeReason::WorkspaceRemoved)
                .await;
        }
        let deleted = self.store.delete(org_id, &audit).await?;
        tracing::info!(%org_id, deleted, "slack workspace delete");
        Ok(deleted)
    }

    pub async fn bot_credentials(
        &self,
        caller: &Caller,
        org_id: &OrgId,
    ) -> Result<BotCredentials, ConfigError> {
        caller.authorize(Rpc::GetBotCredentials, Scope::Org(org_id.as_str()))?;
        let stored = self.load(org_id).await?;
        let token = self.cipher.open(&stored.token, &token_context(org_id))?;
        Ok(BotCredentials {
            workspace: stored.workspace,
            token,
        })
    }

    pub async fn report_token_invalid(
        &self,
        caller: &Caller,
        org_id: &OrgId,
        team_id: Option<&SlackTeamId>,
        reason: &str,
    ) -> Result<Workspace, ConfigError> {
        caller.authorize(Rpc::ReportWorkspaceTokenInvalid, Scope::Org(org_id.as_str()))?;
        let audit = AuditEntry {
            org_id: org_id.clone(),
            actor: caller.subject.clone(),
            action: AuditAction::TokenInvalid,
            detail: format!(
                "Slack answered `{reason}`; delivery stopped until an owner puts a working token"
            ),
            occurred_at: UnixMillis::now(),
        };
        let stored = self
            .store
            .mark_token_invalid(org_id, team_id, reason, &audit)
            .await?;
        let stored = stored.ok_or_else(|| ConfigError::NotConfigured(org_id.to_string()))?;
        tracing::warn!(%org_id, reason, "slack workspace token marked invalid");
        Ok(stored.workspace)
    }

    /// Slack said (through the Connect app's events) that bot tokens in `team_id` are gone: the
    /// workspaces whose bot user is named are marked TOKEN_INVALID at once; after an uninstall, every
    /// other workspace of the team is asked `auth.test` now and marked when Slack refuses its token.
    /// Returns the orgs marked. Acting twice marks nothing more.
    pub async fn report_tokens_revoked(
        &self,
        caller: &Caller,
        team_id: &SlackTeamId,
        bot_user_ids: &[SlackUserId],
        app_uninstalled: bool,
    ) -> Result<Vec<OrgId>, ConfigError> {
        caller.authorize(Rpc::ReportSlackTokensRevoked, Scope::Team)?;
        let mut marked = Vec::new();
        for stored in self.store.workspaces_of_team(team_id).await? {
            let ws = &stored.workspace;
            if ws.status != WorkspaceStatus::Active {
                continue;
            }
            let reason = if bot_user_ids.contains(&ws.bot_user_id) {
                "tokens_revoked".to_owned()
            } else if app_uninstalled {
                match self.check_token(&stored).await? {
                    TokenHealth::Dead(code) => code,
                    TokenHealth::Fine | TokenHealth::Problem(_) => continue,
                }
            } else {
                continue;
            };
            let detail = format!(
                "Slack said the app's bot token is gone (`{reason}`); delivery stopped until an owner puts a working token"
            );
            if self
                .mark_invalid(&stored, &reason, &caller.subject, detail)
                .await?
            {
                marked.push(ws.org_id.clone());
            }
        }
        Ok(marked)
    }

    /// Marks the workspace TOKEN_INVALID (if it still has this team and is ACTIVE) with an audit
    /// entry; says whether it changed.
    async fn mark_invalid(
        &self,
        stored: &StoredWorkspace,
        reason: &str,
        actor: &str,
        detail: String,
    ) -> Result<bool, ConfigError> {
        let ws = &stored.workspace;
        let audit = AuditEntry {
            org_id: ws.org_id.clone(),
            actor: actor.to_owned(),
            action: AuditAction::TokenInvalid,
            detail,
            occurred_at: UnixMillis::now(),
        };
        let changed = self
            .store
            .mark_token_invalid(&ws.org_id, Some(&ws.team_id), reason, &audit)
            .await?
            .is_some_and(|w| {
                w.workspace.status == WorkspaceStatus::TokenInvalid && w.workspace.status_reason == reason
            });
        if changed {
            tracing::warn!(org_id = %ws.org_id, team_id = %ws.team_id, reason, actor, "slack workspace token marked invalid");
        }
        Ok(changed)
    }

    /// The health check found the token dead (`code`).
    pub(crate) async fn invalidate_after_check(
        &self,
        stored: &StoredWorkspace,
        code: &str,
    ) -> Result<bool, ConfigError> {
        let detail = format!(
            "the periodic check (auth.test) was answered `{code}`; delivery stopped until an owner puts a working token"
        );
        self.mark_invalid(stored, code, HEALTH_CHECK_ACTOR, detail).await
    }

    pub(crate) fn store(&self) -> &Arc<dyn WorkspaceStore> {
        &self.store
    }

    /// Asks Slack (`auth.test`) whether the stored token still works for these settings. Slack not
    /// answering is `SlackUnavailable`: nothing is learned.
    pub(crate) async fn check_token(&self, stored: &StoredWorkspace) -> Result<TokenHealth, ConfigError> {
        let ws = &stored.workspace;
        let token = self.cipher.open(&stored.token, &token_context(&ws.org_id))?;
        Ok(match self.slack.auth_test(&token).await {
            Ok(a) => match WorkspaceDomain::parse(&ws.domain) {
                Ok(domain) => match verify_auth_test(&domain, &identity_of(a)) {
                    Ok(v) if v.team_id != ws.team_id => TokenHealth::Problem(format!(
                        "the token now belongs to Slack team {}, not {}: an owner puts the workspace's token again",
                        v.team_id, ws.team_id
                    )),
                    Ok(_) => TokenHealth::Fine,
                    Err(refusal) => TokenHealth::Problem(refusal.to_string()),
                },
                Err(e) => TokenHealth::Problem(e),
            },
            Err(e) if e.token_is_dead() => TokenHealth::Dead(e.code().unwrap_or("token_revoked").to_owned()),
            Err(SlackError::Api { code, .. }) => TokenHealth::Problem(format!("auth.test answered {code}")),
            Err(e) => return Err(ConfigError::SlackUnavailable(e.to_string())),
        })
    }

    /// What the last health check of the org's token found (after the settings last changed).
    pub async fn last_check(&self, workspace: &Workspace) -> Result<Option<WorkspaceCheck>, ConfigError> {
        Ok(self
            .store
            .last_check(&workspace.org_id)
            .await?
            .filter(|c| c.checked_at >= workspace.updated_at))
    }

    pub async fn audit_log(
        &self,
        caller: &Caller,
        org_id: &OrgId,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, ConfigError> {
        caller.authorize(Rpc::ListAuditEvents, Scope::Org(org_id.as_str()))?;
        Ok(self.store.list_audit(org_id, limit).await?)
    }

    async fn load(&self, org_id: &OrgId) -> Result<StoredWorkspace, ConfigError> {
        self.store
            .get(org_id)
            .await?
            .ok_or_else(|| ConfigError::NotConfigured(org_id.to_string()))
    }
}

/// Re-seals every bot token sealed with an older key with the active one (key rotation); a concurrent
/// put wins. Returns how many were re-sealed.
pub async fn reseal_tokens(store: &dyn WorkspaceStore, cipher: &TokenCipher) -> Result<usize, ConfigError> {
    let mut resealed = 0;
    for (org_id, old) in store
        .tokens_sealed_with_other_keys(cipher.active_key_id())
        .await?
    {
        let token = cipher.open(&old, &token_context(&org_id))?;
        let new = cipher.seal(&token, &token_context(&org_id))?;
        if store.replace_token(&org_id, &old, &new).await? {
            resealed += 1;
        }
    }
    Ok(resealed)
}
