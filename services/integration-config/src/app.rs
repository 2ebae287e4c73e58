//! The use cases of docs/product.md §2.1: who may do what, the live token check, sealing, auditing.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use opentelemetry::{KeyValue, metrics::Counter};

use ovice_slack_model::{
    OrgId, SlackTeamId, SlackUserId, UnixMillis,
    token_renewal::{self, RenewWhy, Renewal},
};
use ovice_slack_revocation::{Revocations, RevokeReason};
use ovice_slack_runtime::auth::{Caller, Rpc, Scope};
use ovice_slack_runtime::token_renewal::{RenewalSubject, renew_one_at_a_time};
use ovice_slack_secrets::TokenCipher;
use secrecy::{ExposeSecret, SecretString};
use slack_client::{AuthTest, SlackClient, SlackError};

use crate::{
    domain::{
        AuditAction, AuditEntry, AuditNote, RotationRefusal, TokenIdentity, Workspace, WorkspaceDomain,
        WorkspaceStatus, advice_for, check_rotation_fields, check_signing_secret, check_token_shape,
        is_rotating, rejection, verify_auth_test,
    },
    error::ConfigError,
    store::{StoredRotation, StoredWorkspace, WorkspaceCheck, WorkspaceStore},
};

/// A validated PutSlackWorkspace: the token has the shape of a bot token, the domain is normalised,
/// and a rotating token comes with what renews it.
pub struct PutWorkspace {
    pub org_id: OrgId,
    pub token: SecretString,
    pub domain: WorkspaceDomain,
    pub rotation: Option<RotationCredentials>,
    /// The owner's app's signing secret, when its Request URL is this org's events endpoint.
    pub signing_secret: Option<SecretString>,
}

/// What renews a rotating bot token.
pub struct RotationCredentials {
    pub refresh_token: SecretString,
    pub client_id: String,
    pub client_secret: SecretString,
}

/// What a put carries of the owner's app besides the token, as received: what renews a rotating
/// token (all empty for a token that does not expire), and the signing secret of its events.
#[derive(Default)]
pub struct AppCredentials<'a> {
    pub refresh_token: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    /// Empty when the app's events do not come to ovice-slack.
    pub signing_secret: &'a str,
}

impl PutWorkspace {
    /// Validates what can be validated without Slack; each problem names its field.
    pub fn new(
        org_id: OrgId,
        token: &str,
        domain: &str,
        app: AppCredentials<'_>,
    ) -> Result<Self, Vec<ConfigError>> {
        let rotation = &app;
        let domain = WorkspaceDomain::parse(domain).map_err(ConfigError::InvalidDomain);
        let shape = check_token_shape(token).map_err(ConfigError::from);
        let rotating = is_rotating(token);
        let mut errors: Vec<ConfigError> = check_rotation_fields(
            rotating,
            rotation.refresh_token,
            rotation.client_id,
            rotation.client_secret,
        )
        .into_iter()
        .map(|(field, refusal)| ConfigError::InvalidRotation { field, refusal })
        .collect();
        let signing_secret = app.signing_secret.trim();
        if !signing_secret.is_empty()
            && let Err(refusal) = check_signing_secret(signing_secret)
        {
            errors.push(ConfigError::InvalidSigningSecret(refusal));
        }
        match (domain, shape) {
            (Ok(domain), Ok(())) if errors.is_empty() => Ok(Self {
                org_id,
                token: SecretString::from(token.trim().to_owned()),
                domain,
                rotation: rotating.then(|| RotationCredentials {
                    refresh_token: SecretString::from(rotation.refresh_token.trim().to_owned()),
                    client_id: rotation.client_id.trim().to_owned(),
                    client_secret: SecretString::from(rotation.client_secret.trim().to_owned()),
                }),
                signing_secret: (!signing_secret.is_empty())
                    .then(|| SecretString::from(signing_secret.to_owned())),
            }),
            (domain, shape) => {
                errors.splice(0..0, [domain.err(), shape.err()].into_iter().flatten());
                Err(errors)
            }
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
    /// How long before its expiry a rotating token is renewed.
    refresh_margin: Duration,
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
/// Who the audit log names when the org's own app's events mark a token.
const OWN_APP_EVENTS_ACTOR: &str = "Slack (the org's app's events)";
/// Who the audit log names when renewing a rotating token fails for good.
const TOKEN_RENEWAL_ACTOR: &str = "ovice-slack token renewal";

/// Renewals of rotating bot tokens by outcome.
fn renewals() -> &'static Counter<u64> {
    static COUNTER: OnceLock<Counter<u64>> = OnceLock::new();
    COUNTER.get_or_init(|| {
        ovice_slack_runtime::metrics::meter()
            .u64_counter("ovice_slack_token_renewals")
            .with_description("Renewals of rotating Slack tokens, by outcome (renewed, refused, failed)")
            .build()
    })
}

fn token_context(org_id: &OrgId) -> String {
    format!("workspace:{org_id}")
}

fn refresh_token_context(org_id: &OrgId) -> String {
    format!("workspace-refresh/v1:{org_id}")
}

fn signing_context(org_id: &OrgId) -> String {
    format!("workspace-signing/v1:{org_id}")
}

fn client_secret_context(org_id: &OrgId) -> String {
    format!("workspace-client-secret/v1:{org_id}")
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
            refresh_margin: token_renewal::DEFAULT_MARGIN,
        }
    }

    /// Renews rotating tokens this long before they expire (never later than half their life).
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
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
            rotation,
            signing_secret,
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
            token_expires_at: None,
            events_enabled: signing_secret.is_some(),
        };
        let signing_secret = match &signing_secret {
            Some(secret) => Some(self.cipher.seal(secret, &signing_context(org_id))?),
            None => None,
        };
        // A rotating token is renewed at once: Slack does not say how long a pasted one has left,
        // and the renewal proves the refresh token and the app's credentials before they are kept
        // (the owner's copy of the refresh token is spent; from now on ovice-slack holds the only one).
        let (token, rotation) = match rotation {
            Some(r) => {
                let (renewed, stored) = self.first_renewal(org_id, &workspace, r).await?;
                (renewed, Some(stored))
            }
            None => (token, None),
        };
        let mut workspace = workspace;
        workspace.token_expires_at = rotation.as_ref().map(|r| r.expires_at);
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
                    rotation,
                    signing_secret,
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

    /// Renews a pasted rotating token before it is stored; Slack's refusal names the field to fix.
    async fn first_renewal(
        &self,
        org_id: &OrgId,
        workspace: &Workspace,
        r: RotationCredentials,
    ) -> Result<(SecretString, StoredRotation), ConfigError> {
        let refused = |field: &'static str, code: &str| ConfigError::InvalidRotation {
            field,
            refusal: RotationRefusal::RejectedBySlack {
                code: code.to_owned(),
                advice: advice_for(code),
            },
        };
        let renewed = match self
            .slack
            .refresh_within_grace(&r.client_id, &r.client_secret, &r.refresh_token)
            .await
        {
            Ok(renewed) => renewed,
            Err(SlackError::Api { code, .. }) => {
                let field = match code.as_str() {
                    "invalid_client_id" => "client_id",
                    "bad_client_secret" => "client_secret",
                    _ => "refresh_token",
                };
                return Err(refused(field, &code));
            }
            Err(e) => return Err(ConfigError::SlackUnavailable(e.to_string())),
        };
        if renewed.token_type != "bot" {
            return Err(refused("refresh_token", "not_a_bot_refresh_token"));
        }
        let now = UnixMillis::now();
        let stored = StoredRotation {
            client_secret: self
                .cipher
                .seal(&r.client_secret, &client_secret_context(org_id))?,
            refresh_token: self
                .cipher
                .seal(&renewed.rotation.refresh_token, &refresh_token_context(org_id))?,
            client_id: r.client_id,
            expires_at: token_renewal::expires_at(now, renewed.rotation.expires_in),
            refresh_at: token_renewal::renew_at(now, renewed.rotation.expires_in, self.refresh_margin),
        };
        tracing::info!(%org_id, team_id = %workspace.team_id, "rotating bot token renewed before it is stored");
        Ok((renewed.access_token, stored))
    }

    /// Renews the org's rotating bot token, by one replica at a time. `Expired`: a call was answered
    /// `token_expired`; the token is renewed unless another replica already did (then the new one
    /// is simply used). A refresh Slack refuses for good makes the workspace TOKEN_INVALID.
    pub(crate) async fn renew(&self, org_id: &OrgId, why: RenewWhy) -> Result<Renewal, ConfigError> {
        let subject = BotTokenRenewal {
            app: self.clone(),
            org_id: org_id.clone(),
        };
        renew_one_at_a_time(subject, why).await
    }

    /// The renewal, under this replica's claim.
    async fn renew_claimed(&self, org_id: &OrgId, why: RenewWhy) -> Result<Renewal, ConfigError> {
        // Read again under the claim: another replica may have renewed in between.
        let stored = self.load(org_id).await?;
        let Some(rot) = stored.rotation.clone() else {
            return Ok(Renewal::NotRotating);
        };
        let now = UnixMillis::now();
        match why {
            RenewWhy::Due if rot.refresh_at > now => return Ok(Renewal::Current),
            RenewWhy::Expired if rot.expires_at > now => {
                // Slack's clock and ours may differ: ask Slack whether the stored token works.
                match self.check_token(&stored).await? {
                    TokenHealth::Fine | TokenHealth::Problem(_) => return Ok(Renewal::Current),
                    TokenHealth::Dead(code) if code != "token_expired" => {
                        let detail = format!(
                            "Slack answered `{code}`; delivery stopped until an owner puts a working token"
                        );
                        self.mark_invalid(&stored, &code, HEALTH_CHECK_ACTOR, detail)
                            .await?;
                        return Ok(Renewal::Refused(code));
                    }
                    TokenHealth::Dead(_) => {}
                }
            }
            _ => {}
        }
        let secret = self
            .cipher
            .open(&rot.client_secret, &client_secret_context(org_id))?;
        let refresh = self
            .cipher
            .open(&rot.refresh_token, &refresh_token_context(org_id))?;
        let renewed = match self
            .slack
            .refresh_within_grace(&rot.client_id, &secret, &refresh)
            .await
        {
            Ok(renewed) if renewed.token_type == "bot" => renewed,
            Ok(other) => {
                tracing::error!(%org_id, token_type = %other.token_type, "a bot token renewal answered another kind of token; nothing stored");
                return Err(ConfigError::SlackUnavailable(
                    "Slack renewed another kind of token".into(),
                ));
            }
            Err(SlackError::Api { code, .. }) => {
                let detail = format!(
                    "renewing the rotating bot token was refused (`{code}`): {}; delivery stopped until an owner puts a working token",
                    advice_for(&code).plain(ovice_slack_i18n::Language::English)
                );
                renewals().add(1, &[KeyValue::new("outcome", "refused")]);
                self.mark_invalid(&stored, &code, TOKEN_RENEWAL_ACTOR, detail)
                    .await?;
                return Ok(Renewal::Refused(code));
            }
            Err(e) => return Err(ConfigError::SlackUnavailable(e.to_string())),
        };
        // The spent refresh token is useless now: store the new pair before anything else.
        let now = UnixMillis::now();
        let token = self.cipher.seal(&renewed.access_token, &token_context(org_id))?;
        let next = StoredRotation {
            refresh_token: self
                .cipher
                .seal(&renewed.rotation.refresh_token, &refresh_token_context(org_id))?,
            expires_at: token_renewal::expires_at(now, renewed.rotation.expires_in),
            refresh_at: token_renewal::renew_at(now, renewed.rotation.expires_in, self.refresh_margin),
            ..rot.clone()
        };
        if self
            .store
            .store_refreshed(org_id, &rot.refresh_token, &token, &next)
            .await?
        {
            tracing::info!(%org_id, ?why, expires_at = next.expires_at.as_millis(), "rotating bot token renewed");
            renewals().add(1, &[KeyValue::new("outcome", "renewed")]);
            Ok(Renewal::Renewed)
        } else {
            // An owner put other settings meanwhile; theirs win.
            tracing::info!(%org_id, "a renewed bot token was not stored: the settings changed meanwhile");
            Ok(Renewal::Current)
        }
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
        if reason == token_renewal::EXPIRED {
            // A rotating token is renewed (once, whichever replica reports first) instead of being
            // given up; the reporter reads the credentials again and retries.
            match self.renew(org_id, RenewWhy::Expired).await? {
                Renewal::NotRotating => {}
                Renewal::Current | Renewal::Renewed | Renewal::Refused(_) | Renewal::Busy => {
                    return self.load(org_id).await.map(|s| s.workspace);
                }
            }
        }
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

    /// The org's own app's signing secret, when its events come here.
    pub async fn signing_secret(&self, org_id: &OrgId) -> Result<Option<SecretString>, ConfigError> {
        let Some(stored) = self.store.get(org_id).await? else {
            return Ok(None);
        };
        match &stored.signing_secret {
            Some(sealed) => Ok(Some(self.cipher.open(sealed, &signing_context(org_id))?)),
            None => Ok(None),
        }
    }

    /// Slack said (through the org's own app's events) that the app's bot token in `team_id` is gone:
    /// the org becomes TOKEN_INVALID if it still uses that team (and, for `tokens_revoked`, that bot
    /// user). An event received before the settings were last saved is about a token put since
    /// replaced, so it changes nothing. Says whether it changed.
    pub(crate) async fn own_app_token_gone(
        &self,
        org_id: &OrgId,
        team_id: &SlackTeamId,
        bot_users: Option<&[SlackUserId]>,
        reason: &str,
        received_at: UnixMillis,
    ) -> Result<bool, ConfigError> {
        let Some(stored) = self.store.get(org_id).await? else {
            return Ok(false);
        };
        let ws = &stored.workspace;
        if ws.team_id != *team_id
            || bot_users.is_some_and(|bots| !bots.contains(&ws.bot_user_id))
            || received_at < ws.updated_at
        {
            return Ok(false);
        }
        let detail = format!(
            "the org's Slack app said its bot token is gone (`{reason}`); delivery stopped until an owner puts a working token"
        );
        self.mark_invalid(&stored, reason, OWN_APP_EVENTS_ACTOR, detail)
            .await
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

/// The org's rotating bot token, as `renew_one_at_a_time` renews it.
#[derive(Clone)]
struct BotTokenRenewal {
    app: IntegrationConfig,
    org_id: OrgId,
}

impl RenewalSubject for BotTokenRenewal {
    type Error = ConfigError;

    async fn precheck(&self, why: RenewWhy) -> Result<Option<Renewal>, ConfigError> {
        let stored = self.app.load(&self.org_id).await?;
        let Some(rot) = &stored.rotation else {
            return Ok(Some(Renewal::NotRotating));
        };
        if stored.workspace.status != WorkspaceStatus::Active
            || (why == RenewWhy::Due && rot.refresh_at > UnixMillis::now())
        {
            return Ok(Some(Renewal::Current));
        }
        Ok(None)
    }

    async fn claim(&self, now: UnixMillis, until: UnixMillis) -> Result<bool, ConfigError> {
        Ok(self.app.store.claim_refresh(&self.org_id, now, until).await?)
    }

    async fn release(&self, until: UnixMillis) -> Result<(), ConfigError> {
        Ok(self.app.store.release_refresh(&self.org_id, until).await?)
    }

    async fn renew_claimed(&self, why: RenewWhy) -> Result<Renewal, ConfigError> {
        self.app.renew_claimed(&self.org_id, why).await
    }

    fn unavailable(&self, detail: String) -> ConfigError {
        ConfigError::SlackUnavailable(format!("renewing the bot token: {detail}"))
    }
}

/// Re-seals every bot token, refresh token, client secret and signing secret sealed with an older key
/// with the active one (key rotation); a concurrent put wins. Returns how many were re-sealed.
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
    // A rotating token's refresh token and the app's client secret (the refresh token is re-sealed
    // at each renewal anyway, but an old key may be retired before the next one).
    for (org_id, old_refresh, old_secret) in store
        .rotation_secrets_sealed_with_other_keys(cipher.active_key_id())
        .await?
    {
        let (refresh_ctx, secret_ctx) = (refresh_token_context(&org_id), client_secret_context(&org_id));
        let refresh = cipher.seal(&cipher.open(&old_refresh, &refresh_ctx)?, &refresh_ctx)?;
        let secret = cipher.seal(&cipher.open(&old_secret, &secret_ctx)?, &secret_ctx)?;
        if store
            .replace_rotation_secrets(&org_id, &old_refresh, &refresh, &secret)
            .await?
        {
            resealed += 1;
        }
    }
    // The org's own app's signing secret.
    for (org_id, old) in store
        .signing_secrets_sealed_with_other_keys(cipher.active_key_id())
        .await?
    {
        let ctx = signing_context(&org_id);
        let new = cipher.seal(&cipher.open(&old, &ctx)?, &ctx)?;
        if store.replace_signing_secret(&org_id, &old, &new).await? {
            resealed += 1;
        }
    }
    Ok(resealed)
}
