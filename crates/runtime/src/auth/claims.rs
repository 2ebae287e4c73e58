use ovice_slack_model::SpaceRole;
use serde::{Deserialize, Serialize};

/// The organization role of a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum OrgRole {
    Owner,
    Member,
}

/// The role of a non-human caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SvcRole {
    /// The ovice platform: publishes chat messages.
    Platform,
    /// Another ovice-slack service.
    Service,
    /// A person operating the system with grpcurl.
    Operator,
}

/// The claims of an ovice JWT (docs/api.md §Identity). Unknown role values make the token invalid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the platform verified that the person owns `email` (OpenID Connect's claim). Connect
    /// matches a Slack account by email, so it requires `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_role: Option<OrgRole>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub perms: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_role: Option<SpaceRole>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub svc_role: Option<SvcRole>,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not valid before this time (seconds since the epoch), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub aud: String,
    /// The language of the person's ovice, a BCP 47 tag (`ja`, `en-US`). It chooses the language of
    /// the pages Connect ends on and the automatic language of their Slack messages; a language
    /// ovice-slack does not speak counts as absent (English).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}
