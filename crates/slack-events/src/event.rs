//! What Slack posts to the Events endpoint, read only after its signature held
//! (`request_signature`): the one-time `url_verification`, an `event_callback` carrying one event,
//! or `app_rate_limited`. Of the events, the ones that change a link or a workspace are read in
//! full; any other is kept by its type, so it is acknowledged and ignored rather than refused.

use ovice_slack_model::{SlackTeamId, SlackUserId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// SHA-256 (hex) of an email address, trimmed and lowercased: what a link remembers of the address
/// it was matched by, and what a `user_change` is compared with, so no address is stored. It hides
/// an address from a casual reader of the table, not from someone who guesses it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EmailDigest(String);

impl EmailDigest {
    pub fn of(email: &str) -> Self {
        Self(hex::encode(Sha256::digest(
            email.trim().to_lowercase().as_bytes(),
        )))
    }

    /// A digest as stored; an empty one (a link made before digests were kept) is none.
    pub fn from_stored(hex: String) -> Option<Self> {
        (!hex.is_empty()).then_some(Self(hex))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One request's body.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// Slack checks a Request URL: the answer is the challenge, as it came.
    UrlVerification {
        challenge: String,
    },
    Event(Envelope),
    /// Slack held back this app's events for the workspace since `minute` (Unix seconds).
    RateLimited {
        team_id: SlackTeamId,
        minute: i64,
    },
    /// A type this service does not know; acknowledged so that Slack does not retry it.
    Unknown {
        kind: String,
    },
}

/// An `event_callback`: the event and what identifies it.
#[derive(Debug, PartialEq, Eq)]
pub struct Envelope {
    /// Unique across workspaces: what a retried delivery of the same event repeats.
    pub event_id: String,
    pub team_id: SlackTeamId,
    pub api_app_id: String,
    /// When Slack sent it (Unix seconds).
    pub event_time: i64,
    pub event: SlackEvent,
}

/// What an event says, as the inbox stores it (JSON) until a worker has acted on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SlackEvent {
    /// Tokens of the app were revoked: those of these people (`oauth`), and bot users' (`bot`).
    TokensRevoked {
        people: Vec<SlackUserId>,
        bot_users: Vec<SlackUserId>,
    },
    /// The app was removed from the workspace: every token of it there is gone.
    AppUninstalled,
    /// A person's profile changed, or they were deactivated (`deleted`).
    UserChange {
        user: SlackUserId,
        deleted: bool,
        /// The profile's email, digested as soon as it is read; `None` when Slack did not show it.
        email: Option<EmailDigest>,
    },
    Other {
        kind: String,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventBodyError {
    #[error("the body is not the JSON of a Slack event request: {0}")]
    NotJson(String),
    #[error("a Slack {kind} request needs `{field}`")]
    Missing { kind: &'static str, field: &'static str },
}

#[derive(Deserialize)]
struct Wire {
    #[serde(rename = "type")]
    kind: String,
    challenge: Option<String>,
    team_id: Option<String>,
    api_app_id: Option<String>,
    event_id: Option<String>,
    event_time: Option<i64>,
    minute_rate_limited: Option<i64>,
    event: Option<WireEvent>,
}

#[derive(Deserialize)]
struct WireEvent {
    #[serde(rename = "type")]
    kind: String,
    tokens: Option<WireTokens>,
    user: Option<WireUser>,
}

#[derive(Deserialize, Default)]
struct WireTokens {
    #[serde(default)]
    oauth: Vec<String>,
    #[serde(default)]
    bot: Vec<String>,
}

/// `user_change` carries the whole user object.
#[derive(Deserialize)]
struct WireUser {
    id: String,
    #[serde(default)]
    deleted: bool,
    #[serde(default)]
    profile: WireProfile,
}

#[derive(Deserialize, Default)]
struct WireProfile {
    email: Option<String>,
}

impl Incoming {
    pub fn parse(body: &[u8]) -> Result<Self, EventBodyError> {
        let wire: Wire = serde_json::from_slice(body).map_err(|e| EventBodyError::NotJson(e.to_string()))?;
        let need = |kind: &'static str, field: &'static str| EventBodyError::Missing { kind, field };
        Ok(match wire.kind.as_str() {
            "url_verification" => Incoming::UrlVerification {
                challenge: wire.challenge.ok_or(need("url_verification", "challenge"))?,
            },
            "app_rate_limited" => Incoming::RateLimited {
                team_id: SlackTeamId::new(wire.team_id.ok_or(need("app_rate_limited", "team_id"))?),
                minute: wire
                    .minute_rate_limited
                    .ok_or(need("app_rate_limited", "minute_rate_limited"))?,
            },
            "event_callback" => {
                let kind = "event_callback";
                let event = wire.event.ok_or(need(kind, "event"))?;
                Incoming::Event(Envelope {
                    event_id: wire.event_id.ok_or(need(kind, "event_id"))?,
                    team_id: SlackTeamId::new(wire.team_id.ok_or(need(kind, "team_id"))?),
                    api_app_id: wire.api_app_id.unwrap_or_default(),
                    event_time: wire.event_time.unwrap_or_default(),
                    event: SlackEvent::from_wire(event)?,
                })
            }
            _ => Incoming::Unknown { kind: wire.kind },
        })
    }
}

impl SlackEvent {
    /// The event's type as Slack names it (for logs and metrics).
    pub fn kind(&self) -> &str {
        match self {
            SlackEvent::TokensRevoked { .. } => "tokens_revoked",
            SlackEvent::AppUninstalled => "app_uninstalled",
            SlackEvent::UserChange { .. } => "user_change",
            SlackEvent::Other { kind } => kind,
        }
    }

    fn from_wire(event: WireEvent) -> Result<Self, EventBodyError> {
        Ok(match event.kind.as_str() {
            "tokens_revoked" => {
                // Either list may be absent; ids are users' and bot users', never tokens.
                let tokens = event.tokens.unwrap_or_default();
                SlackEvent::TokensRevoked {
                    people: tokens.oauth.into_iter().map(SlackUserId::new).collect(),
                    bot_users: tokens.bot.into_iter().map(SlackUserId::new).collect(),
                }
            }
            "app_uninstalled" => SlackEvent::AppUninstalled,
            "user_change" => {
                let user = event.user.ok_or(EventBodyError::Missing {
                    kind: "user_change",
                    field: "event.user",
                })?;
                SlackEvent::UserChange {
                    user: SlackUserId::new(user.id),
                    deleted: user.deleted,
                    email: user
                        .profile
                        .email
                        .filter(|e| !e.trim().is_empty())
                        .map(|e| EmailDigest::of(&e)),
                }
            }
            _ => SlackEvent::Other { kind: event.kind },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Incoming, EventBodyError> {
        Incoming::parse(json.as_bytes())
    }

    fn event(json: &str) -> Envelope {
        match parse(json) {
            Ok(Incoming::Event(e)) => e,
            other => panic!("not an event: {other:?}"),
        }
    }

    #[test]
    fn url_verification_gives_its_challenge() {
        assert_eq!(
            parse(
                r#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#
            ),
            Ok(Incoming::UrlVerification {
                challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P".into()
            })
        );
        assert_eq!(
            parse(r#"{"type":"url_verification"}"#),
            Err(EventBodyError::Missing {
                kind: "url_verification",
                field: "challenge"
            })
        );
    }

    #[test]
    fn tokens_revoked_names_people_and_bot_users() {
        let e = event(
            r#"{"token":"XXYYZZ","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev1","event_time":1234567890,
                "event":{"type":"tokens_revoked","tokens":{"oauth":["U1","U2"],"bot":["UB"]}}}"#,
        );
        assert_eq!(e.event_id, "Ev1");
        assert_eq!(e.team_id, SlackTeamId::new("T1"));
        assert_eq!(e.event_time, 1_234_567_890);
        assert_eq!(
            e.event,
            SlackEvent::TokensRevoked {
                people: vec![SlackUserId::new("U1"), SlackUserId::new("U2")],
                bot_users: vec![SlackUserId::new("UB")],
            }
        );
        // Either list may be missing.
        let only_bot = event(
            r#"{"type":"event_callback","team_id":"T1","event_id":"Ev2","event":{"type":"tokens_revoked","tokens":{"bot":["UB"]}}}"#,
        );
        assert_eq!(
            only_bot.event,
            SlackEvent::TokensRevoked {
                people: vec![],
                bot_users: vec![SlackUserId::new("UB")]
            }
        );
    }

    #[test]
    fn app_uninstalled_and_user_change() {
        let gone = event(
            r#"{"type":"event_callback","team_id":"T1","event_id":"Ev3","authed_users":["U1"],"event":{"type":"app_uninstalled"}}"#,
        );
        assert_eq!(gone.event, SlackEvent::AppUninstalled);
        let changed = event(
            r#"{"type":"event_callback","team_id":"T1","event_id":"Ev4","event":{"type":"user_change",
                "user":{"id":"U1","team_id":"T1","deleted":false,"is_bot":false,"profile":{"email":"hana@example.com","real_name":"Hana"}}}}"#,
        );
        assert_eq!(
            changed.event,
            SlackEvent::UserChange {
                user: SlackUserId::new("U1"),
                deleted: false,
                email: Some(EmailDigest::of(" Hana@Example.com"))
            }
        );
        let deleted = event(
            r#"{"type":"event_callback","team_id":"T1","event_id":"Ev5","event":{"type":"user_change","user":{"id":"U1","deleted":true,"profile":{}}}}"#,
        );
        assert_eq!(
            deleted.event,
            SlackEvent::UserChange {
                user: SlackUserId::new("U1"),
                deleted: true,
                email: None
            }
        );
    }

    #[test]
    fn what_is_not_ours_is_kept_by_its_type_and_what_is_broken_is_named() {
        let other = event(
            r#"{"type":"event_callback","team_id":"T1","event_id":"Ev6","event":{"type":"message","text":"hi"}}"#,
        );
        assert_eq!(
            other.event,
            SlackEvent::Other {
                kind: "message".into()
            }
        );
        assert_eq!(
            parse(r#"{"type":"ssl_check"}"#),
            Ok(Incoming::Unknown {
                kind: "ssl_check".into()
            })
        );
        assert_eq!(
            parse(
                r#"{"type":"app_rate_limited","team_id":"T1","minute_rate_limited":1518467820,"api_app_id":"A1"}"#
            ),
            Ok(Incoming::RateLimited {
                team_id: SlackTeamId::new("T1"),
                minute: 1_518_467_820
            })
        );
        assert!(matches!(parse("token=abc"), Err(EventBodyError::NotJson(_))));
        assert_eq!(
            parse(r#"{"type":"event_callback","team_id":"T1","event":{"type":"app_uninstalled"}}"#),
            Err(EventBodyError::Missing {
                kind: "event_callback",
                field: "event_id"
            })
        );
    }
}
