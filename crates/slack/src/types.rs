//! Typed requests and answers of the Web API methods the client offers.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::blocks::Block;

/// `auth.test`: who a token is, plus the scopes Slack reported in `X-OAuth-Scopes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthTest {
    /// `https://<domain>.slack.com/`
    pub url: String,
    pub team: String,
    pub team_id: String,
    pub user: String,
    pub user_id: String,
    /// Present for bot tokens only.
    pub bot_id: Option<String>,
    pub scopes: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AuthTestBody {
    pub url: String,
    pub team: String,
    pub team_id: String,
    #[serde(default)]
    pub user: String,
    pub user_id: String,
    #[serde(default)]
    pub bot_id: Option<String>,
}

/// `auth.revoke`'s answer.
#[derive(Deserialize)]
pub(crate) struct AuthRevokeBody {
    #[serde(default)]
    pub revoked: bool,
}

/// A Slack user as `users.info` and `users.lookupByEmail` return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackUser {
    pub id: String,
    pub team_id: String,
    pub name: String,
    pub real_name: Option<String>,
    pub deleted: bool,
    pub is_bot: bool,
    /// `profile.email`; only present when the token has `users:read.email`.
    pub email: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct UserEnvelope {
    pub user: UserBody,
}

#[derive(Debug, Deserialize)]
pub(crate) struct UserBody {
    id: String,
    #[serde(default)]
    team_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    real_name: Option<String>,
    #[serde(default)]
    deleted: bool,
    #[serde(default)]
    is_bot: bool,
    #[serde(default)]
    profile: Option<ProfileBody>,
}

#[derive(Debug, Default, Deserialize)]
struct ProfileBody {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    real_name: Option<String>,
}

impl From<UserBody> for SlackUser {
    fn from(u: UserBody) -> Self {
        let profile = u.profile.unwrap_or_default();
        SlackUser {
            id: u.id,
            team_id: u.team_id,
            name: u.name,
            real_name: u.real_name.or(profile.real_name).filter(|n| !n.is_empty()),
            deleted: u.deleted,
            is_bot: u.is_bot,
            email: profile.email.filter(|e| !e.is_empty()),
        }
    }
}

/// `oauth.v2.access` arguments. Debug redacts the secret, the code and the verifier.
#[derive(Debug, Clone)]
pub struct OAuthAccessRequest {
    pub client_id: String,
    pub client_secret: SecretString,
    pub code: SecretString,
    /// Must equal the redirect_uri of the authorize request.
    pub redirect_uri: String,
    /// The PKCE verifier, when the authorize request carried a code_challenge.
    pub code_verifier: Option<SecretString>,
}

/// The result of a (user-scope) install: who clicked Allow, in which workspace, and their token.
#[derive(Debug, Clone)]
pub struct OAuthV2Access {
    pub app_id: Option<String>,
    pub team_id: String,
    pub team_name: String,
    pub authed_user_id: String,
    pub authed_user_scopes: Vec<String>,
    /// `authed_user.access_token` (`xoxp-…`, or `xoxe.xoxp-…` when the app rotates tokens) when
    /// user scopes were granted.
    pub authed_user_token: Option<SecretString>,
    /// Present when the app rotates tokens: the user token expires and is renewed with this.
    pub authed_user_rotation: Option<Rotation>,
}

/// How an expiring (rotating) token is renewed: its single-use refresh token (`xoxe-1-…`) and how
/// long the access token lives from the moment Slack answered.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub refresh_token: SecretString,
    pub expires_in: std::time::Duration,
}

impl Rotation {
    /// Both fields, or neither: half a rotation is a protocol error the caller names.
    pub(crate) fn from_parts(
        refresh_token: Option<SecretString>,
        expires_in: Option<u64>,
    ) -> Result<Option<Rotation>, &'static str> {
        match (refresh_token, expires_in) {
            (Some(refresh_token), Some(secs)) => Ok(Some(Rotation {
                refresh_token,
                expires_in: std::time::Duration::from_secs(secs),
            })),
            (None, None) => Ok(None),
            (Some(_), None) => Err("a refresh_token without expires_in"),
            (None, Some(_)) => Err("expires_in without a refresh_token"),
        }
    }
}

/// `oauth.v2.access` with `grant_type=refresh_token`: the new access token and the next refresh
/// token (the one used is spent).
#[derive(Debug, Clone)]
pub struct RefreshedToken {
    pub access_token: SecretString,
    pub rotation: Rotation,
    /// `bot` or `user`.
    pub token_type: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RefreshBody {
    pub access_token: SecretString,
    #[serde(default)]
    pub refresh_token: Option<SecretString>,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub token_type: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct OAuthBody {
    #[serde(default)]
    pub app_id: Option<String>,
    pub authed_user: AuthedUserBody,
    #[serde(default)]
    pub team: Option<TeamBody>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AuthedUserBody {
    pub id: String,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub access_token: Option<SecretString>,
    #[serde(default)]
    pub refresh_token: Option<SecretString>,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct TeamBody {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct OpenBody {
    pub channel: ChannelBody,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChannelBody {
    pub id: String,
}

/// `chat.postMessage` arguments (sent as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostMessage {
    /// A conversation id (`D…`), or a user id for a bot's DM with that user.
    pub channel: String,
    /// mrkdwn text, already escaped by the caller: with blocks, what notifications and clients
    /// that cannot show blocks read.
    pub text: String,
    /// The message as Slack shows it (omitted when empty: then `text` is the message).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Block>,
    pub unfurl_links: bool,
    pub unfurl_media: bool,
}

/// `chat.update`'s arguments: the message (where it landed) and its new mrkdwn text.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateMessage {
    /// The conversation id the post answered (`D…`; a user id is refused).
    pub channel: String,
    pub ts: String,
    /// mrkdwn text, already escaped by the caller (the notification text when there are blocks).
    pub text: String,
    /// The new blocks; sent even when empty, so an update never keeps blocks of the old text.
    pub blocks: Vec<Block>,
}

/// Where a message landed: keep both to edit or delete it later.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PostedMessage {
    pub channel: String,
    pub ts: String,
}

/// Splits Slack's comma-separated scope lists (`X-OAuth-Scopes`, `authed_user.scope`).
pub(crate) fn split_scopes(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
