//! The use cases of docs/product.md §2.2: the Slack item of Personal Integration Settings, Connect (begin and the
//! callback's four checks), Disconnect, and the lookups the delivery service makes.

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    state::keyed::DefaultKeyedStateStore,
};

use ovice_slack_events::EmailDigest;
use ovice_slack_model::{
    BotCredentials, ConnectionState, Language, OrgId, ResolvedUser, SlackTeamId, SlackUserId, SpaceRole,
    UnixMillis, UserId,
    token_renewal::{self, RenewWhy, Renewal},
};
use ovice_slack_revocation::{Revocations, RevokeReason};
use ovice_slack_runtime::{
    auth::{Caller, Rpc, Scope},
    peer_clients::IntegrationConfigPeer,
    token_renewal::{RenewalSubject, renew_one_at_a_time},
};
use ovice_slack_secrets::{SealedToken, TokenCipher};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use slack_client::{
    OAuthAccessRequest, OAuthV2Access, SlackClient, SlackError,
    oauth::{AuthorizeParams, Pkce, random_state},
};
use url::Url;

use crate::{
    domain::connect::EmailOwner,
    domain::{
        CONNECT_TTL, ConnectRefusal, Consent, DEFAULT_CONNECT_STARTS_PER_MINUTE, Link, LinkRotation,
        LinkState, MAX_PENDING_CONNECTS_PER_PERSON, PendingConnect, SlackPreferences, USER_SCOPES,
        check_consent, item_visible, legacy_token_context, refresh_context, token_context,
    },
    error::LinkError,
    store::{LinkStore, PutLink},
};

/// The operator's distributed Slack app (docs/product.md §2.2).
#[derive(Clone, Debug)]
pub struct ConnectConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    pub redirect_url: Url,
    pub authorize_url: Url,
    /// Connect flows one person may start per minute.
    pub starts_per_minute: NonZeroU32,
}

/// What the Slack item shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectionView {
    pub visible: bool,
    pub available: bool,
    pub state: ConnectionState,
    pub slack_user_id: SlackUserId,
    pub slack_user_name: String,
    pub workspace_domain: String,
    pub connected_at: Option<UnixMillis>,
    /// Why the state is NEEDS_RECONNECT; empty otherwise.
    pub state_reason: String,
    /// The person's preferences (defaults when never set).
    pub preferences: SlackPreferences,
}

/// A stored link's state, as the other services and the Slack item see it.
impl From<LinkState> for ConnectionState {
    fn from(s: LinkState) -> Self {
        match s {
            LinkState::Connected => ConnectionState::Connected,
            LinkState::NeedsReconnect => ConnectionState::NeedsReconnect,
        }
    }
}

/// The callback's query parameters, as Slack sends them.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

/// How the callback ended: linked, refused for a reason the person can act on, or broken on our side.
pub enum CallbackOutcome {
    Connected {
        slack_user_name: String,
        domain: String,
        /// The ovice account the Slack account was linked to (its email), so the person sees which.
        ovice_account: String,
    },
    Refused(ConnectRefusal),
    SlackUnavailable,
    Failed,
}

type PersonLimiter = RateLimiter<(OrgId, UserId), DefaultKeyedStateStore<(OrgId, UserId)>, DefaultClock>;

#[derive(Clone)]
pub struct AccountLinks {
    store: Arc<dyn LinkStore>,
    cipher: TokenCipher,
    slack: SlackClient,
    workspaces: IntegrationConfigPeer,
    connect: Option<ConnectConfig>,
    /// Connect starts per person, in this process.
    starts: Arc<PersonLimiter>,
    /// User tokens dropped here, on their way to `auth.revoke`.
    revocations: Revocations,
    /// How long before its expiry a rotating user token is renewed.
    refresh_margin: Duration,
}

/// Slack's refusals of a renewal that are about the Connect app's credentials, not the person's token.
const OPERATOR_CODES: &[&str] = &["invalid_client_id", "bad_client_secret"];

/// A person's rotating user token, as `renew_one_at_a_time` renews it.
#[derive(Clone)]
struct UserTokenRenewal {
    app: AccountLinks,
    org_id: OrgId,
    user_id: UserId,
}

impl RenewalSubject for UserTokenRenewal {
    type Error = LinkError;

    async fn precheck(&self, why: RenewWhy) -> Result<Option<Renewal>, LinkError> {
        let Some(link) = self.app.store.get_link(&self.org_id, &self.user_id).await? else {
            return Ok(Some(Renewal::Current));
        };
        let Some(rot) = &link.rotation else {
            return Ok(Some(Renewal::NotRotating));
        };
        if link.state != LinkState::Connected
            || link.token.is_none()
            || (why == RenewWhy::Due && rot.refresh_at > UnixMillis::now())
        {
            return Ok(Some(Renewal::Current));
        }
        Ok(None)
    }

    async fn claim(&self, now: UnixMillis, until: UnixMillis) -> Result<bool, LinkError> {
        Ok(self
            .app
            .store
            .claim_refresh(&self.org_id, &self.user_id, now, until)
            .await?)
    }

    async fn release(&self, until: UnixMillis) -> Result<(), LinkError> {
        Ok(self
            .app
            .store
            .release_refresh(&self.org_id, &self.user_id, until)
            .await?)
    }

    async fn renew_claimed(&self, why: RenewWhy) -> Result<Renewal, LinkError> {
        self.app.renew_claimed(&self.org_id, &self.user_id, why).await
    }

    fn unavailable(&self, detail: String) -> LinkError {
        LinkError::SlackUnavailable(detail)
    }
}

/// Renewals of rotating user tokens by outcome.
fn renewals() -> &'static opentelemetry::metrics::Counter<u64> {
    static COUNTER: std::sync::OnceLock<opentelemetry::metrics::Counter<u64>> = std::sync::OnceLock::new();
    COUNTER.get_or_init(|| {
        ovice_slack_runtime::metrics::meter()
            .u64_counter("ovice_slack_user_token_renewals")
            .with_description(
                "Renewals of rotating Slack user tokens, by outcome (renewed, refused, credentials_refused)",
            )
            .build()
    })
}

/// What the callback's query says Slack answered, fit for a log line and a page: at most 64
/// characters, control characters (newlines among them) replaced.
fn slack_said(value: &str) -> String {
    value
        .chars()
        .take(64)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

fn state_hash(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

/// The caller's role in `space_id`, when their token is for that space.
fn role_in(caller: &Caller, space_id: &str) -> Option<SpaceRole> {
    caller
        .space_role
        .filter(|_| caller.space.as_deref() == Some(space_id))
}

impl AccountLinks {
    pub fn new(
        store: Arc<dyn LinkStore>,
        cipher: TokenCipher,
        slack: SlackClient,
        workspaces: IntegrationConfigPeer,
        connect: Option<ConnectConfig>,
        revocations: Revocations,
    ) -> Self {
        let per_minute = connect
            .as_ref()
            .map_or(DEFAULT_CONNECT_STARTS_PER_MINUTE, |c| c.starts_per_minute);
        Self {
            store,
            cipher,
            slack,
            workspaces,
            connect,
            starts: Arc::new(RateLimiter::dashmap(Quota::per_minute(per_minute))),
            revocations,
            refresh_margin: token_renewal::DEFAULT_MARGIN,
        }
    }

    /// Renews rotating user tokens this long before they expire (never later than half their life).
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    pub(crate) fn store(&self) -> &Arc<dyn LinkStore> {
        &self.store
    }

    /// Renews a person's rotating user token, by one replica at a time (the same rule as the bot
    /// token's). `Expired`: a post was answered `token_expired`; renewed unless another replica
    /// already did. A renewal Slack refuses for good makes the link NEEDS_RECONNECT with its code.
    pub(crate) async fn renew(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        why: RenewWhy,
    ) -> Result<Renewal, LinkError> {
        let subject = UserTokenRenewal {
            app: self.clone(),
            org_id: org_id.clone(),
            user_id: user_id.clone(),
        };
        renew_one_at_a_time(subject, why).await
    }

    async fn renew_claimed(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        why: RenewWhy,
    ) -> Result<Renewal, LinkError> {
        // Read again under the claim: another replica may have renewed in between.
        let Some(link) = self.store.get_link(org_id, user_id).await? else {
            return Ok(Renewal::Current);
        };
        let (Some(rot), Some(sealed)) = (link.rotation.clone(), link.token.clone()) else {
            return Ok(Renewal::NotRotating);
        };
        let Some(connect) = &self.connect else {
            return Ok(Renewal::NotRotating);
        };
        let now = UnixMillis::now();
        match why {
            RenewWhy::Due if rot.refresh_at > now => return Ok(Renewal::Current),
            RenewWhy::Expired if rot.expires_at > now => {
                // Slack's clock and ours may differ: ask Slack whether the stored token works.
                let (token, _) = open_link_token(&self.cipher, &sealed, org_id, user_id)?;
                match self.slack.auth_test(&token).await {
                    Ok(_) => return Ok(Renewal::Current),
                    Err(e) if e.code() == Some(token_renewal::EXPIRED) => {}
                    Err(e) if e.token_is_dead() => {
                        let code = e.code().unwrap_or(token_renewal::EXPIRED).to_owned();
                        self.store
                            .mark_needs_reconnect(org_id, user_id, &code, now)
                            .await?;
                        return Ok(Renewal::Refused(code));
                    }
                    Err(e) => return Err(LinkError::SlackUnavailable(e.to_string())),
                }
            }
            _ => {}
        }
        let refresh = self
            .cipher
            .open(&rot.refresh_token, &refresh_context(org_id, user_id))?;
        let renewed = match self
            .slack
            .refresh_within_grace(&connect.client_id, &connect.client_secret, &refresh)
            .await
        {
            Ok(renewed) if renewed.token_type == "user" => renewed,
            Ok(other) => {
                tracing::error!(%org_id, %user_id, token_type = %other.token_type, "a user token renewal answered another kind of token; nothing stored");
                return Err(LinkError::SlackUnavailable(
                    "Slack renewed another kind of token".into(),
                ));
            }
            // The Connect app's own credentials: the operator's to fix, not the person's.
            Err(SlackError::Api { code, .. }) if OPERATOR_CODES.contains(&code.as_str()) => {
                renewals().add(
                    1,
                    &[opentelemetry::KeyValue::new("outcome", "credentials_refused")],
                );
                return Err(LinkError::ConnectCredentialsRefused(code));
            }
            Err(SlackError::Api { code, .. }) => {
                tracing::warn!(%org_id, %user_id, code = %code, "Slack refused to renew a user token; the person connects again");
                self.store
                    .mark_needs_reconnect(org_id, user_id, &code, now)
                    .await?;
                renewals().add(1, &[opentelemetry::KeyValue::new("outcome", "refused")]);
                return Ok(Renewal::Refused(code));
            }
            Err(e) => return Err(LinkError::SlackUnavailable(e.to_string())),
        };
        let now = UnixMillis::now();
        let token = self
            .cipher
            .seal(&renewed.access_token, &token_context(org_id, user_id))?;
        let next = LinkRotation {
            refresh_token: self
                .cipher
                .seal(&renewed.rotation.refresh_token, &refresh_context(org_id, user_id))?,
            expires_at: token_renewal::expires_at(now, renewed.rotation.expires_in),
            refresh_at: token_renewal::renew_at(now, renewed.rotation.expires_in, self.refresh_margin),
        };
        if self
            .store
            .store_refreshed(org_id, user_id, &rot.refresh_token, &token, &next)
            .await?
        {
            tracing::info!(%org_id, %user_id, ?why, "rotating user token renewed");
            renewals().add(1, &[opentelemetry::KeyValue::new("outcome", "renewed")]);
            Ok(Renewal::Renewed)
        } else {
            tracing::info!(%org_id, %user_id, "a renewed user token was not stored: the link changed meanwhile");
            Ok(Renewal::Current)
        }
    }

    /// The caller's current link, ignoring one made in a team the org no longer uses.
    async fn current_link(
        &self,
        org_id: &OrgId,
        user_id: &UserId,
        ws: &BotCredentials,
    ) -> Result<Option<Link>, LinkError> {
        Ok(self
            .store
            .get_link(org_id, user_id)
            .await?
            .filter(|l| l.is_current(&ws.team_id)))
    }

    pub async fn connection(
        &self,
        caller: &Caller,
        org_id: &OrgId,
        space_id: &str,
    ) -> Result<ConnectionView, LinkError> {
        caller.authorize(
            Rpc::GetSlackConnection,
            Scope::Space {
                org_id: org_id.as_str(),
                space_id,
            },
        )?;
        let Some(ws) = self.workspaces.bot_credentials(org_id).await? else {
            return Ok(ConnectionView::default());
        };
        let visible = item_visible(true, role_in(caller, space_id));
        if !visible {
            // Visitors learn nothing about the org's Slack, not even that it exists.
            return Ok(ConnectionView::default());
        }
        let me = UserId::new(caller.subject.as_str());
        let preferences = self
            .store
            .get_preferences(org_id, std::slice::from_ref(&me))
            .await?
            .into_iter()
            .next()
            .map(|(_, p)| p)
            .unwrap_or_default();
        let mut view = ConnectionView {
            visible,
            available: ws.active && self.connect.is_some(),
            workspace_domain: ws.workspace_domain.clone(),
            preferences,
            ..ConnectionView::default()
        };
        if let Some(link) = self.current_link(org_id, &me, &ws).await? {
            view.state = link.state.into();
            view.slack_user_id = link.slack_user_id;
            view.slack_user_name = link.slack_user_name;
            view.connected_at = Some(link.connected_at);
            if link.state == LinkState::NeedsReconnect {
                view.state_reason = link.state_reason;
            }
        }
        Ok(view)
    }

    /// Sets the caller's own preferences for the org (admins and members of the space, never
    /// visitors: they cannot connect either).
    pub async fn update_preferences(
        &self,
        caller: &Caller,
        org_id: &OrgId,
        space_id: &str,
        preferences: SlackPreferences,
    ) -> Result<SlackPreferences, LinkError> {
        caller.authorize(
            Rpc::UpdateSlackPreferences,
            Scope::Space {
                org_id: org_id.as_str(),
                space_id,
            },
        )?;
        let me = UserId::new(caller.subject.as_str());
        self.store
            .put_preferences(org_id, &me, &preferences, UnixMillis::now())
            .await?;
        tracing::info!(
            %org_id,
            user_id = %me,
            hold_unread_secs = preferences.hold_seconds(),
            paused = preferences.paused.is_some(),
            quiet_hours = preferences.quiet_hours.is_some(),
            language = preferences.language.map_or("automatic", |l| l.tag()),
            "slack preferences saved"
        );
        // As stored: with the automatic language learned at Connect.
        let stored = self
            .store
            .get_preferences(org_id, std::slice::from_ref(&me))
            .await?
            .into_iter()
            .next()
            .map_or(preferences, |(_, p)| p);
        Ok(stored)
    }

    /// Starts Connect: a single-use state and a PKCE pair, valid for 10 minutes.
    pub async fn begin_connect(
        &self,
        caller: &Caller,
        org_id: &OrgId,
        space_id: &str,
    ) -> Result<(Url, UnixMillis), LinkError> {
        caller.authorize(
            Rpc::BeginSlackConnect,
            Scope::Space {
                org_id: org_id.as_str(),
                space_id,
            },
        )?;
        let email = caller
            .email
            .clone()
            .filter(|e| !e.trim().is_empty())
            .ok_or(LinkError::NoEmail)?;
        if !caller.email_verified {
            return Err(LinkError::EmailNotVerified);
        }
        let config = self.connect.as_ref().ok_or(LinkError::ConnectNotConfigured)?;
        let person = (org_id.clone(), UserId::new(caller.subject.as_str()));
        if self.starts.len() > 10_000 {
            // People who have not clicked for a minute are forgotten, so memory stays bounded.
            self.starts.retain_recent();
        }
        if let Err(not_until) = self.starts.check_key(&person) {
            let retry_after = not_until
                .wait_time_from(self.starts.clock().now())
                .max(Duration::from_secs(1));
            tracing::info!(%org_id, user_id = %caller.subject, "connect start rate reached");
            return Err(LinkError::TooManyConnects {
                per_minute: config.starts_per_minute.get(),
                retry_after,
            });
        }
        let ws = self
            .workspaces
            .bot_credentials(org_id)
            .await?
            .ok_or_else(|| LinkError::NotConfigured(org_id.to_string()))?;
        if !ws.active {
            return Err(LinkError::WorkspaceTokenInvalid(org_id.to_string()));
        }
        let state = random_state();
        let pkce = Pkce::generate();
        let now = UnixMillis::now();
        if let Some(language) = caller.language {
            // The language of the person's ovice: their Slack messages' until they choose one.
            self.store
                .put_automatic_language(org_id, &person.1, language, now)
                .await?;
        }
        let hash = state_hash(&state);
        let pending = PendingConnect {
            verifier: self.cipher.seal(&pkce.verifier, &format!("connect:{hash}"))?,
            state_hash: hash,
            org_id: org_id.clone(),
            user_id: UserId::new(caller.subject.as_str()),
            email,
            space_id: space_id.to_owned(),
            team_id: ws.team_id.clone(),
            created_at: now,
            expires_at: now.plus(CONNECT_TTL),
            used: false,
            language: caller.language,
        };
        self.store.insert_pending(&pending).await?;
        // Only the newest few windows of a person stay usable; the table cannot grow with clicks.
        if let Err(e) = self
            .store
            .keep_newest_pending(org_id, &pending.user_id, MAX_PENDING_CONNECTS_PER_PERSON)
            .await
        {
            tracing::warn!(error = %e, "could not drop a person's older Connect flows");
        }
        // Old flows are of no use to anyone; sweeping them here keeps the table small without a timer.
        if let Err(e) = self.store.purge_pending(now.minus(CONNECT_TTL)).await {
            // The flow just stored is fine; the sweep runs again at the next Connect.
            tracing::warn!(error = %e, "could not remove expired Connect flows");
        }
        let url = AuthorizeParams {
            client_id: config.client_id.clone(),
            scopes: vec![],
            user_scopes: USER_SCOPES.iter().map(|s| s.to_string()).collect(),
            redirect_uri: config.redirect_url.to_string(),
            state,
            team: Some(ws.team_id.into()),
            code_challenge: Some(pkce.challenge),
        }
        .to_url(&config.authorize_url);
        tracing::info!(%org_id, user_id = %caller.subject, "slack connect started");
        Ok((url, pending.expires_at))
    }

    /// The callback: check 1 (state), the exchange, then checks 2–4, and the link.
    /// The language of the person's ovice when they began the Connect this callback ends (`None`
    /// when the state is missing or unknown, or their token carried no language).
    pub async fn language_of_connect(&self, query: &CallbackQuery) -> Option<Language> {
        let state = query
            .state
            .as_deref()
            .filter(|s| !s.is_empty() && s.len() <= 256)?;
        match self.store.find_pending(&state_hash(state)).await {
            Ok(pending) => pending.and_then(|p| p.language),
            Err(e) => {
                tracing::warn!(error = %e, "reading the connect's language failed; the page follows the browser");
                None
            }
        }
    }

    pub async fn complete_connect(&self, query: CallbackQuery) -> CallbackOutcome {
        match self.try_complete(query).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::error!(error = %e, "slack connect callback failed");
                match e {
                    LinkError::PeerUnavailable(_) => CallbackOutcome::SlackUnavailable,
                    _ => CallbackOutcome::Failed,
                }
            }
        }
    }

    async fn try_complete(&self, query: CallbackQuery) -> Result<CallbackOutcome, LinkError> {
        use CallbackOutcome::Refused;
        let Some(config) = self.connect.as_ref() else {
            return Err(LinkError::ConnectNotConfigured);
        };
        let Some(state) = query.state.filter(|s| !s.is_empty() && s.len() <= 256) else {
            return Ok(Refused(ConnectRefusal::MissingState));
        };
        let hash = state_hash(&state);
        let now = UnixMillis::now();
        let Some(pending) = self.store.find_pending(&hash).await? else {
            return Ok(Refused(ConnectRefusal::UnknownState));
        };
        if pending.used {
            return Ok(Refused(ConnectRefusal::StateUsed));
        }
        if pending.expires_at <= now {
            return Ok(Refused(ConnectRefusal::StateExpired));
        }
        if !self.store.spend_pending(&hash, now).await? {
            return Ok(Refused(ConnectRefusal::StateUsed));
        }
        let (org_id, user_id) = (&pending.org_id, &pending.user_id);
        if let Some(error) = query.error {
            // Anyone can put anything in the query: shown and logged only short and on one line.
            let error = slack_said(&error);
            tracing::info!(%org_id, %user_id, error = %error, "slack connect not completed");
            return Ok(Refused(if error == "access_denied" {
                ConnectRefusal::Cancelled
            } else {
                ConnectRefusal::SlackDenied(error)
            }));
        }
        let Some(code) = query.code.filter(|c| !c.is_empty() && c.len() <= 512) else {
            // Neither a code nor an error: the address was cut, like one without its state.
            return Ok(Refused(ConnectRefusal::MissingState));
        };
        let verifier = self.cipher.open(&pending.verifier, &format!("connect:{hash}"))?;
        let exchange = self
            .slack
            .oauth_v2_access(&OAuthAccessRequest {
                client_id: config.client_id.clone(),
                client_secret: config.client_secret.clone(),
                code: SecretString::from(code),
                redirect_uri: config.redirect_url.to_string(),
                code_verifier: Some(verifier),
            })
            .await;
        let access = match exchange {
            Ok(a) => a,
            Err(SlackError::Api { code, .. }) => {
                tracing::warn!(%org_id, %user_id, code = %code, "oauth.v2.access refused");
                return Ok(Refused(ConnectRefusal::SlackDenied(code)));
            }
            Err(e) => {
                tracing::warn!(%org_id, %user_id, error = %e, "oauth.v2.access failed");
                return Ok(CallbackOutcome::SlackUnavailable);
            }
        };
        let Some(user_token) = access.authed_user_token.clone() else {
            tracing::warn!(%org_id, %user_id, "oauth.v2.access granted no user token");
            return Ok(Refused(ConnectRefusal::NoUserGrant));
        };
        let grantee = (
            SlackTeamId::from(access.team_id.clone()),
            SlackUserId::from(access.authed_user_id.clone()),
        );
        let outcome = self.keep_granted(&pending, access, &user_token, now).await;
        if !matches!(outcome, Ok(CallbackOutcome::Connected { .. })) {
            // Slack granted a token that is not kept: it must not stay alive at Slack, unless it is
            // the one another link already holds (Slack gives a user the same token again).
            let dropped = Dropped {
                org_id,
                token: &user_token,
                team_id: &grantee.0,
                slack_user_id: &grantee.1,
                except: None,
            };
            self.revoke_unless_held(dropped, RevokeReason::ConsentRefused)
                .await;
        }
        outcome
    }

    /// Checks 2–4 on a consent Slack granted, then the link (replacing, and revoking, an earlier one).
    async fn keep_granted(
        &self,
        pending: &PendingConnect,
        access: OAuthV2Access,
        user_token: &SecretString,
        now: UnixMillis,
    ) -> Result<CallbackOutcome, LinkError> {
        use CallbackOutcome::Refused;
        let (org_id, user_id) = (&pending.org_id, &pending.user_id);
        let Some(ws) = self.workspaces.bot_credentials(org_id).await? else {
            return Ok(Refused(ConnectRefusal::WorkspaceGone));
        };
        let mut consent = Consent {
            chosen_team_id: access.team_id.clone(),
            chosen_team_name: access.team_name.clone(),
            authed_user_id: access.authed_user_id.clone(),
            email_owner: None,
        };
        // Check 2 first: a consent for another team must not cost a lookup in ours.
        if ws.team_id == consent.chosen_team_id.as_str() {
            match self
                .slack
                .users_lookup_by_email(&ws.bot_token, &pending.email)
                .await
            {
                Ok(u) if !u.deleted => {
                    consent.email_owner = Some(EmailOwner {
                        user_id: u.id,
                        name: u.name,
                    })
                }
                Ok(_) => {}
                Err(SlackError::Api { code, .. }) if code == "users_not_found" => {}
                Err(SlackError::Api { code, .. }) => {
                    tracing::warn!(%org_id, code = %code, "users.lookupByEmail refused");
                    return Ok(Refused(ConnectRefusal::SlackDenied(code)));
                }
                Err(e) => {
                    tracing::warn!(%org_id, error = %e, "users.lookupByEmail failed");
                    return Ok(CallbackOutcome::SlackUnavailable);
                }
            }
        }
        let owner = match check_consent(
            ws.team_id.as_str(),
            &ws.workspace_domain,
            &pending.email,
            &consent,
        ) {
            Ok(owner) => owner,
            Err(refusal) => {
                tracing::info!(%org_id, %user_id, refusal = %refusal, "slack connect refused");
                return Ok(Refused(refusal));
            }
        };
        let link = Link {
            org_id: org_id.clone(),
            user_id: user_id.clone(),
            slack_team_id: ws.team_id.clone(),
            slack_user_id: owner.user_id.into(),
            slack_user_name: owner.name.clone(),
            scopes: access.authed_user_scopes,
            token: Some(self.cipher.seal(user_token, &token_context(org_id, user_id))?),
            email_digest: Some(EmailDigest::of(&pending.email)),
            state: LinkState::Connected,
            state_reason: String::new(),
            connected_at: now,
            updated_at: now,
            rotation: match &access.authed_user_rotation {
                Some(r) => Some(LinkRotation {
                    refresh_token: self
                        .cipher
                        .seal(&r.refresh_token, &refresh_context(org_id, user_id))?,
                    expires_at: token_renewal::expires_at(now, r.expires_in),
                    refresh_at: token_renewal::renew_at(now, r.expires_in, self.refresh_margin),
                }),
                None => None,
            },
        };
        let previous = self.store.get_link(org_id, user_id).await?;
        if self.store.put_link(&link).await? == PutLink::SlackUserTaken {
            tracing::info!(%org_id, %user_id, slack_user_id = %link.slack_user_id, "slack account linked to another ovice user");
            return Ok(Refused(ConnectRefusal::SlackAccountTaken {
                slack_user_name: owner.name,
                domain: ws.workspace_domain,
            }));
        }
        tracing::info!(%org_id, %user_id, slack_user_id = %link.slack_user_id, "slack account connected");
        if let Some(previous) = previous
            && let Some(old) = self.dropped_token(&previous)
            && old.expose_secret() != user_token.expose_secret()
        {
            let dropped = Dropped {
                org_id,
                token: &old,
                team_id: &previous.slack_team_id,
                slack_user_id: &previous.slack_user_id,
                except: None,
            };
            self.revoke_unless_held(dropped, RevokeReason::Relinked).await;
        }
        Ok(CallbackOutcome::Connected {
            slack_user_name: owner.name,
            domain: ws.workspace_domain,
            ovice_account: pending.email.clone(),
        })
    }

    /// Queues `dropped.token` for `auth.revoke` unless a link (other than the caller's own, being
    /// removed) still holds it. When the links cannot be read, nothing is revoked: a token left alive
    /// is the lesser harm than someone's working link broken.
    async fn revoke_unless_held(&self, dropped: Dropped<'_>, reason: RevokeReason) {
        let org_id = dropped.org_id;
        let links = match self
            .store
            .links_of_slack_user(dropped.team_id, dropped.slack_user_id)
            .await
        {
            Ok(links) => links,
            Err(e) => {
                tracing::warn!(%org_id, error = %e, reason = reason.as_str(), "could not check who else holds a dropped slack token; it is not revoked");
                return;
            }
        };
        let held = links.iter().any(|l| {
            let own = &l.org_id == org_id && Some(&l.user_id) == dropped.except;
            !own && l.token.as_ref().is_some_and(|sealed| {
                open_link_token(&self.cipher, sealed, &l.org_id, &l.user_id)
                    .is_ok_and(|(t, _)| t.expose_secret() == dropped.token.expose_secret())
            })
        });
        if held {
            tracing::info!(%org_id, reason = reason.as_str(), "a dropped slack token is still held by another link; not revoked");
            return;
        }
        self.revocations
            .enqueue_or_log(org_id, dropped.token, reason)
            .await;
    }

    /// The token of a link being dropped, for revocation; `None` when Slack already took it, or
    /// (logged) when it cannot be opened.
    fn dropped_token(&self, link: &Link) -> Option<SecretString> {
        let sealed = link.token.as_ref()?;
        match open_link_token(&self.cipher, sealed, &link.org_id, &link.user_id) {
            Ok((token, _)) => Some(token),
            Err(e) => {
                tracing::warn!(org_id = %link.org_id, user_id = %link.user_id, error = %e, "a dropped link's token cannot be opened; it is not revoked with Slack");
                None
            }
        }
    }

    /// Removes the caller's link. Its token is queued for revocation first: should the removal then
    /// fail, the person asked for it gone anyway, and a retry finds nothing left to revoke.
    pub async fn disconnect(&self, caller: &Caller, org_id: &OrgId) -> Result<bool, LinkError> {
        caller.authorize(Rpc::DisconnectSlack, Scope::Org(org_id.as_str()))?;
        let user_id = UserId::new(caller.subject.as_str());
        if let Some(link) = self.store.get_link(org_id, &user_id).await?
            && let Some(token) = self.dropped_token(&link)
        {
            let dropped = Dropped {
                org_id,
                token: &token,
                team_id: &link.slack_team_id,
                slack_user_id: &link.slack_user_id,
                except: Some(&user_id),
            };
            self.revoke_unless_held(dropped, RevokeReason::Disconnected).await;
        }
        let removed = self.store.delete_link(org_id, &user_id).await?;
        tracing::info!(%org_id, user_id = %caller.subject, removed, "slack disconnect");
        Ok(removed)
    }

    /// The org's current links (owners, integrations.manage holders, operators).
    pub async fn list(
        &self,
        caller: &Caller,
        org_id: &OrgId,
        after: Option<&UserId>,
        limit: i64,
    ) -> Result<Vec<Link>, LinkError> {
        caller.authorize(Rpc::ListSlackConnections, Scope::Org(org_id.as_str()))?;
        let Some(ws) = self.workspaces.bot_credentials(org_id).await? else {
            return Ok(vec![]);
        };
        Ok(self.store.list_links(org_id, &ws.team_id, after, limit).await?)
    }

    /// Resolves ovice users for the delivery service in one query: links of the org's current team
    /// only (`team_id` when the caller knows it, else asked of IntegrationConfigService), and user
    /// tokens decrypted only for CONNECTED links and only `with_tokens`.
    pub async fn resolve(
        &self,
        caller: &Caller,
        org_id: &OrgId,
        team_id: Option<&SlackTeamId>,
        user_ids: &[UserId],
        with_tokens: bool,
    ) -> Result<Vec<ResolvedUser>, LinkError> {
        caller.authorize(Rpc::ResolveSlackUsers, Scope::Org(org_id.as_str()))?;
        let team = match team_id {
            Some(team) => Some(team.clone()),
            None => self.workspaces.bot_credentials(org_id).await?.map(|w| w.team_id),
        };
        let Some(team) = team else {
            return Ok(user_ids.iter().map(ResolvedUser::not_connected).collect());
        };
        let links = self.store.get_links(org_id, user_ids).await?;
        let preferences = self.store.get_preferences(org_id, user_ids).await?;
        let preferences_of = |user_id: &UserId| {
            preferences
                .iter()
                .find(|(u, _)| u == user_id)
                .map(|(_, p)| p.clone())
                .unwrap_or_default()
        };
        let mut users = Vec::with_capacity(user_ids.len());
        for user_id in user_ids {
            let link = links
                .iter()
                .find(|l| &l.user_id == user_id && l.is_current(&team));
            users.push(match link {
                None => ResolvedUser::not_connected(user_id),
                Some(link) => {
                    let user_token = match (link.state, &link.token) {
                        (LinkState::Connected, Some(sealed)) if with_tokens => {
                            Some(open_link_token(&self.cipher, sealed, org_id, user_id)?.0)
                        }
                        _ => None,
                    };
                    ResolvedUser {
                        user_id: user_id.clone(),
                        state: link.state.into(),
                        slack_user_id: link.slack_user_id.clone(),
                        slack_team_id: link.slack_team_id.clone(),
                        user_token,
                        preferences: preferences_of(user_id),
                    }
                }
            });
        }
        Ok(users)
    }

    pub async fn report_user_token_invalid(
        &self,
        caller: &Caller,
        org_id: &OrgId,
        user_id: &UserId,
        reason: &str,
    ) -> Result<bool, LinkError> {
        caller.authorize(Rpc::ReportUserTokenInvalid, Scope::Org(org_id.as_str()))?;
        if reason == token_renewal::EXPIRED {
            // A rotating token is renewed (once, whichever replica reports first); the reporter
            // reads the person again and posts once more.
            match self.renew(org_id, user_id, RenewWhy::Expired).await? {
                Renewal::NotRotating => {}
                Renewal::Refused(_) => return Ok(true),
                Renewal::Current | Renewal::Renewed | Renewal::Busy => return Ok(false),
            }
        }
        let marked = self
            .store
            .mark_needs_reconnect(org_id, user_id, reason, UnixMillis::now())
            .await?;
        if marked {
            tracing::warn!(%org_id, %user_id, reason, "slack connection needs reconnect");
        }
        Ok(marked)
    }
}

/// A user token this service no longer keeps, and whose it was.
struct Dropped<'a> {
    org_id: &'a OrgId,
    token: &'a SecretString,
    team_id: &'a SlackTeamId,
    slack_user_id: &'a SlackUserId,
    /// The link being removed, which holds the token until then and does not count as keeping it.
    except: Option<&'a UserId>,
}

/// Opens a link's token: sealed with its row's context, or (sealed before that context existed) with
/// the legacy one where that is unambiguous. Says whether it was the legacy one.
fn open_link_token(
    cipher: &TokenCipher,
    sealed: &SealedToken,
    org_id: &OrgId,
    user_id: &UserId,
) -> Result<(SecretString, bool), LinkError> {
    match cipher.open(sealed, &token_context(org_id, user_id)) {
        Ok(token) => Ok((token, false)),
        Err(e) => match legacy_token_context(org_id, user_id) {
            Some(legacy) => Ok((cipher.open(sealed, &legacy).map_err(|_| e)?, true)),
            None => Err(e.into()),
        },
    }
}

/// Re-seals every user token sealed with an older key, or with the legacy context, with the active
/// key and the row's context (key rotation, and the 2026-12 context change); a reconnect meanwhile
/// wins. Returns how many were re-sealed.
pub async fn reseal_tokens(store: &dyn LinkStore, cipher: &TokenCipher) -> Result<usize, LinkError> {
    let mut resealed = 0;
    for (org_id, user_id, old) in store.sealed_tokens().await? {
        let (token, legacy) = open_link_token(cipher, &old, &org_id, &user_id)?;
        if !legacy && old.key_id == cipher.active_key_id() {
            continue;
        }
        let new = cipher.seal(&token, &token_context(&org_id, &user_id))?;
        if store.replace_token(&org_id, &user_id, &old, &new).await? {
            resealed += 1;
        }
    }
    // A rotating token's refresh token: re-sealed at each renewal anyway, but an old key may be
    // retired before the next one.
    for (org_id, user_id, old) in store.sealed_refresh_tokens().await? {
        if old.key_id == cipher.active_key_id() {
            continue;
        }
        let context = refresh_context(&org_id, &user_id);
        let new = cipher.seal(&cipher.open(&old, &context)?, &context)?;
        if store.replace_refresh_token(&org_id, &user_id, &old, &new).await? {
            resealed += 1;
        }
    }
    Ok(resealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token sealed with the legacy context (before 2026-12) still opens where that context is
    /// unambiguous, and `reseal-tokens` moves it to the row's context; the rest are left alone.
    #[tokio::test]
    async fn legacy_sealed_tokens_open_and_are_resealed() {
        use ovice_slack_runtime::test_support::{Backend, fresh_database};
        use ovice_slack_secrets::KeyRing;
        use secrecy::ExposeSecret;

        let (db, _guard) = fresh_database(Backend::Sqlite).await.unwrap();
        let store = crate::store::open(&db).await.unwrap();
        let cipher = TokenCipher::new(KeyRing::parse(&KeyRing::generate_entry("k1")).unwrap());
        let (org, user) = (OrgId::new("org-1"), UserId::new("alice"));
        let token = SecretString::from("xoxp-alice");
        let legacy = cipher.seal(&token, "link:org-1:alice").unwrap();
        let link = |user: &str, sealed: SealedToken| Link {
            org_id: org.clone(),
            user_id: UserId::new(user),
            slack_team_id: "T1".into(),
            slack_user_id: format!("U-{user}").into(),
            slack_user_name: user.into(),
            scopes: vec![],
            token: Some(sealed),
            email_digest: None,
            state: LinkState::Connected,
            state_reason: String::new(),
            connected_at: UnixMillis::from_millis(1),
            updated_at: UnixMillis::from_millis(1),
            rotation: None,
        };
        store.put_link(&link("alice", legacy.clone())).await.unwrap();
        let current = cipher
            .seal(&token, &token_context(&org, &UserId::new("bob")))
            .unwrap();
        store.put_link(&link("bob", current)).await.unwrap();
        let (opened, was_legacy) = open_link_token(&cipher, &legacy, &org, &user).unwrap();
        assert_eq!((opened.expose_secret(), was_legacy), ("xoxp-alice", true));
        assert_eq!(reseal_tokens(store.as_ref(), &cipher).await.unwrap(), 1);
        let stored = store.get_link(&org, &user).await.unwrap().unwrap().token.unwrap();
        assert_eq!(
            cipher
                .open(&stored, &token_context(&org, &user))
                .unwrap()
                .expose_secret(),
            "xoxp-alice"
        );
        assert_eq!(reseal_tokens(store.as_ref(), &cipher).await.unwrap(), 0);
        // A legacy ciphertext of a row whose ids hold `:` does not open (it could be another row's).
        let ambiguous = cipher.seal(&token, "link:a:b:c").unwrap();
        assert!(open_link_token(&cipher, &ambiguous, &OrgId::new("a:b"), &UserId::new("c")).is_err());
    }

    #[test]
    fn what_slack_said_is_one_short_line() {
        assert_eq!(slack_said("access_denied"), "access_denied");
        let forged = format!(
            "invalid_scope\n2026-12-03T00:00:00Z INFO forged log line{}",
            "x".repeat(500)
        );
        let said = slack_said(&forged);
        assert_eq!(said.chars().count(), 64);
        assert!(
            !said.contains('\n') && said.starts_with("invalid_scope\u{fffd}2026"),
            "{said}"
        );
    }
}
