//! What a failed Slack call means for a delivery: one table, the class of the failure × whose token
//! made the call → what happens. The sender (`sender.rs`) carries the action out; nothing else
//! decides.
//!
//! | class                          | the bot's token                        | the sender's token                       |
//! |--------------------------------|----------------------------------------|------------------------------------------|
//! | rate limited (HTTP 429)        | wait `Retry-After`, no attempt counted | same                                     |
//! | transient (5xx, timeout, reset)| retry with backoff                     | same, still as the sender                |
//! | token expired (`token_expired`)| renew it (rotation), post once more    | renew it, post as the sender once more   |
//! | token refused                  | workspace TOKEN_INVALID, org stops     | sender NEEDS_RECONNECT, bot DM now       |
//! | scope missing                  | fail: an owner adds the scope          | sender NEEDS_RECONNECT (to grant it), bot DM now |
//! | app or workspace setting       | fail: an owner changes the setting     | bot DM now                               |
//! | recipient unreachable          | fail this delivery                     | bot DM now                               |
//! | anything else Slack refuses    | fail this delivery                     | bot DM now                               |

use std::time::Duration;

use slack_client::SlackError;

/// Whose token made the failed call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenOwner {
    /// The org's app bot (a bot DM).
    Bot,
    /// The person who wrote the message (posting as them).
    Sender,
}

/// The kind of failure, from Slack's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailureClass {
    /// HTTP 429 with Slack's `Retry-After`.
    RateLimited(Duration),
    /// Slack could not be reached, answered 5xx, timed out, reset the connection, said
    /// `internal_error`/`fatal_error`/`ratelimited`, or sent something that is not Slack's JSON.
    Transient,
    /// The token's life is over (`token_expired`): a rotating token is renewed.
    TokenExpired,
    /// The token itself is refused (revoked, its user deactivated, not a token).
    TokenRefused(String),
    /// The token works but lacks a scope (`needed` names it when Slack says).
    ScopeMissing { needed: Option<String> },
    /// The app or the workspace is set up to refuse this (the app's Messages tab is off, an admin
    /// policy).
    Setting(String),
    /// The person addressed cannot receive it (unknown, deactivated, no DM possible).
    RecipientUnreachable(String),
    /// Anything else Slack refuses: this request can never succeed as sent.
    Refused(String),
}

/// What happens to the delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailureAction {
    /// Wait this long without counting an attempt, and close the rate-limit lane as long.
    Wait(Duration),
    /// Try again with backoff; the attempt counts.
    RetryLater,
    /// Flag the sender NEEDS_RECONNECT with `reason` (shown to them), then send the bot DM now.
    ReconnectSenderThenBot { reason: String },
    /// Posting as the sender cannot work for this message: send the bot DM now.
    FallBackToBot,
    /// The workspace's bot token expired: its owner service renews it (or, when it does not rotate or
    /// Slack refuses the renewal, marks it TOKEN_INVALID); then the post is tried once more with the
    /// credentials read afresh.
    RenewWorkspaceToken,
    /// The sender's user token expired: account-links renews it (or, when it does not rotate or Slack
    /// refuses the renewal, marks the sender NEEDS_RECONNECT); then the post is tried once more as
    /// the sender, or the bot DM goes.
    RenewSenderToken,
    /// The workspace's bot token is refused: mark it TOKEN_INVALID with `reason`; the org's
    /// deliveries stop until an owner puts a working token.
    InvalidateWorkspace { reason: String },
    /// FAILED with `reason`, which tells an owner what to change before retrying; the workspace
    /// stays ACTIVE (other deliveries may still work, and nothing here is the token's fault).
    FailForOwner { reason: String },
    /// FAILED with `reason`.
    Fail { reason: String },
}

/// The code of a token whose life is over.
pub use ovice_slack_model::token_renewal::EXPIRED;

/// Codes that mean the token itself is refused.
const TOKEN_REFUSED: &[&str] = &[
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "account_inactive",
    "invalid_token",
    "not_allowed_token_type",
    "team_access_not_granted",
    "org_login_required",
];

/// Codes that mean the app or the workspace is set to refuse the call.
const SETTING: &[&str] = &[
    "messages_tab_disabled",
    "no_permission",
    "ekm_access_denied",
    "restricted_action",
    "access_denied",
];

/// Codes about the person or conversation addressed.
const RECIPIENT_UNREACHABLE: &[&str] = &[
    "users_not_found",
    "user_not_found",
    "user_disabled",
    "cannot_dm_bot",
    "user_not_visible",
    // conversations.open: a person of another organization the sender shares no channel with.
    "invalid_user_combination",
    "channel_not_found",
    "is_archived",
    "not_in_channel",
];

impl FailureClass {
    pub fn of(error: &SlackError) -> Self {
        match error {
            SlackError::RateLimited { retry_after, .. } => FailureClass::RateLimited(*retry_after),
            // A malformed answer comes from something between us and Slack (a proxy, an outage
            // page): Slack itself answers every API error as JSON. Retries are bounded.
            SlackError::Unavailable { .. } | SlackError::Protocol { .. } => FailureClass::Transient,
            SlackError::Config(detail) => FailureClass::Refused(detail.clone()),
            SlackError::Api { code, needed, .. } => {
                let code = code.as_str();
                if code == "missing_scope" {
                    FailureClass::ScopeMissing {
                        needed: needed.clone(),
                    }
                } else if code == EXPIRED {
                    FailureClass::TokenExpired
                } else if TOKEN_REFUSED.contains(&code) {
                    FailureClass::TokenRefused(code.to_owned())
                } else if SETTING.contains(&code) || code.starts_with("restricted_action") {
                    // `restricted_action_read_only_channel` and its siblings are the same kind.
                    FailureClass::Setting(code.to_owned())
                } else if RECIPIENT_UNREACHABLE.contains(&code) {
                    FailureClass::RecipientUnreachable(code.to_owned())
                } else {
                    FailureClass::Refused(code.to_owned())
                }
            }
        }
    }
}

/// The table.
pub fn on_slack_failure(error: &SlackError, owner: TokenOwner) -> FailureAction {
    use FailureClass as C;
    use TokenOwner::{Bot, Sender};
    match (FailureClass::of(error), owner) {
        (C::RateLimited(wait), _) => FailureAction::Wait(wait),
        (C::Transient, _) => FailureAction::RetryLater,
        (C::TokenExpired, Bot) => FailureAction::RenewWorkspaceToken,
        (C::TokenExpired, Sender) => FailureAction::RenewSenderToken,
        (C::TokenRefused(code), Bot) => FailureAction::InvalidateWorkspace { reason: code },
        (C::TokenRefused(code), Sender) => FailureAction::ReconnectSenderThenBot { reason: code },
        (C::ScopeMissing { needed }, Bot) => FailureAction::FailForOwner {
            reason: format!(
                "the Slack app lacks the scope {}: an owner adds it to the app's bot scopes, reinstalls the app to the workspace, then retries this delivery",
                scope_list(needed.as_deref())
            ),
        },
        (C::ScopeMissing { needed }, Sender) => FailureAction::ReconnectSenderThenBot {
            reason: format!(
                "missing_scope: connect Slack again to grant {}",
                scope_list(needed.as_deref())
            ),
        },
        (C::Setting(code), Bot) => FailureAction::FailForOwner {
            reason: setting_advice(&code),
        },
        (C::Setting(_) | C::RecipientUnreachable(_) | C::Refused(_), Sender) => FailureAction::FallBackToBot,
        (C::RecipientUnreachable(_) | C::Refused(_), Bot) => FailureAction::Fail {
            reason: error.to_string(),
        },
    }
}

/// The scopes named in a `missing_scope` answer; posting needs `chat:write` when Slack names none.
fn scope_list(needed: Option<&str>) -> String {
    needed
        .filter(|n| !n.is_empty())
        .unwrap_or("chat:write")
        .to_owned()
}

fn setting_advice(code: &str) -> String {
    match code {
        "messages_tab_disabled" => "the Slack app's Messages tab is turned off (messages_tab_disabled): an owner turns on App Home → Messages Tab in the app's settings, then retries this delivery".to_owned(),
        _ => format!(
            "the Slack workspace does not let the app post this message ({code}): a Slack admin allows the app to post, then an operator retries this delivery"
        ),
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use TokenOwner::{Bot, Sender};

    fn api(code: &str) -> SlackError {
        SlackError::Api {
            method: "chat.postMessage",
            code: code.into(),
            needed: None,
            provided: None,
        }
    }

    fn server_error() -> SlackError {
        // What the client makes of an HTTP 5xx, a timeout or a reset (crates/slack tests each).
        SlackError::Unavailable {
            method: "chat.postMessage",
            detail: "HTTP 503".into(),
            maybe_applied: true,
        }
    }

    fn timeout() -> SlackError {
        SlackError::Unavailable {
            method: "chat.postMessage",
            detail: "operation timed out".into(),
            maybe_applied: true,
        }
    }

    fn reconnect(reason: &str) -> FailureAction {
        FailureAction::ReconnectSenderThenBot {
            reason: reason.into(),
        }
    }

    fn invalidate(reason: &str) -> FailureAction {
        FailureAction::InvalidateWorkspace {
            reason: reason.into(),
        }
    }

    #[rstest]
    #[case::token_revoked_bot(api("token_revoked"), Bot, invalidate("token_revoked"))]
    #[case::token_revoked_sender(api("token_revoked"), Sender, reconnect("token_revoked"))]
    #[case::account_inactive_bot(api("account_inactive"), Bot, invalidate("account_inactive"))]
    #[case::account_inactive_sender(api("account_inactive"), Sender, reconnect("account_inactive"))]
    #[case::invalid_auth_bot(api("invalid_auth"), Bot, invalidate("invalid_auth"))]
    #[case::invalid_auth_sender(api("invalid_auth"), Sender, reconnect("invalid_auth"))]
    #[case::token_expired_sender(api("token_expired"), Sender, FailureAction::RenewSenderToken)]
    #[case::token_expired_bot(api("token_expired"), Bot, FailureAction::RenewWorkspaceToken)]
    #[case::user_not_found_sender(api("user_not_found"), Sender, FailureAction::FallBackToBot)]
    #[case::channel_not_found_sender(api("channel_not_found"), Sender, FailureAction::FallBackToBot)]
    #[case::messages_tab_disabled_sender(api("messages_tab_disabled"), Sender, FailureAction::FallBackToBot)]
    #[case::unknown_code_sender(api("something_new"), Sender, FailureAction::FallBackToBot)]
    #[case::msg_too_long_sender(api("msg_too_long"), Sender, FailureAction::FallBackToBot)]
    #[case::ratelimited_code_bot(server_error_named("ratelimited"), Bot, FailureAction::RetryLater)]
    #[case::ratelimited_code_sender(server_error_named("ratelimited"), Sender, FailureAction::RetryLater)]
    #[case::server_error_bot(server_error(), Bot, FailureAction::RetryLater)]
    #[case::server_error_sender(server_error(), Sender, FailureAction::RetryLater)]
    #[case::timeout_bot(timeout(), Bot, FailureAction::RetryLater)]
    #[case::timeout_sender(timeout(), Sender, FailureAction::RetryLater)]
    #[case::malformed_answer_bot(
        SlackError::Protocol { method: "chat.postMessage", detail: "not JSON".into() },
        Bot,
        FailureAction::RetryLater
    )]
    fn each_row(#[case] error: SlackError, #[case] owner: TokenOwner, #[case] expected: FailureAction) {
        assert_eq!(
            on_slack_failure(&error, owner),
            expected,
            "{error} with the {owner:?} token"
        );
    }

    /// The people Slack will not let this DM reach: that delivery fails, with Slack's code in the
    /// reason; the workspace stays ACTIVE. As the sender, the bot DM is tried instead.
    #[rstest]
    fn a_recipient_slack_will_not_reach_fails_that_delivery_only(
        #[values(
            "user_not_visible",
            "invalid_user_combination",
            "user_disabled",
            "channel_not_found"
        )]
        code: &str,
    ) {
        let FailureAction::Fail { reason } = on_slack_failure(&api(code), Bot) else {
            panic!("{code} with the bot's token must fail that delivery only");
        };
        assert!(reason.contains(code), "{reason}");
        assert_eq!(on_slack_failure(&api(code), Sender), FailureAction::FallBackToBot);
    }

    /// What a workspace or app setting refuses: FAILED with what an owner or Slack admin changes.
    #[rstest]
    fn a_setting_that_refuses_the_post_tells_the_owner(
        #[values(
            "messages_tab_disabled",
            "restricted_action",
            "restricted_action_read_only_channel",
            "ekm_access_denied"
        )]
        code: &str,
    ) {
        let FailureAction::FailForOwner { reason } = on_slack_failure(&api(code), Bot) else {
            panic!("{code} with the bot's token is the owner's to fix");
        };
        assert!(reason.contains(code), "{reason}");
        assert_eq!(on_slack_failure(&api(code), Sender), FailureAction::FallBackToBot);
    }

    /// Tokens Slack will not take for this workspace or this call.
    #[rstest]
    fn a_token_slack_will_not_take_stops_the_org_or_the_sender(
        #[values("team_access_not_granted", "not_allowed_token_type")] code: &str,
    ) {
        assert_eq!(on_slack_failure(&api(code), Bot), invalidate(code));
        assert_eq!(on_slack_failure(&api(code), Sender), reconnect(code));
    }

    /// `ratelimited` in an `ok:false` body is transient; the client reports it as unavailable.
    fn server_error_named(code: &str) -> SlackError {
        SlackError::Unavailable {
            method: "chat.postMessage",
            detail: code.into(),
            maybe_applied: false,
        }
    }

    #[rstest]
    #[case::bot(Bot)]
    #[case::sender(Sender)]
    fn a_429_waits_as_long_as_slack_asks_without_counting(#[case] owner: TokenOwner) {
        let limited = SlackError::RateLimited {
            method: "chat.postMessage",
            retry_after: Duration::from_secs(30),
        };
        assert_eq!(
            on_slack_failure(&limited, owner),
            FailureAction::Wait(Duration::from_secs(30))
        );
    }

    #[test]
    fn a_missing_scope_on_the_bot_tells_an_owner_what_to_add_and_keeps_the_workspace() {
        let error = SlackError::Api {
            method: "chat.postMessage",
            code: "missing_scope".into(),
            needed: Some("chat:write".into()),
            provided: Some("users:read".into()),
        };
        let FailureAction::FailForOwner { reason } = on_slack_failure(&error, Bot) else {
            panic!("missing_scope must not invalidate the workspace");
        };
        assert!(
            reason.contains("chat:write") && reason.contains("reinstalls"),
            "{reason}"
        );
        // Without `needed`, the scope posting needs is named.
        let FailureAction::FailForOwner { reason } = on_slack_failure(&api("missing_scope"), Bot) else {
            panic!("missing_scope must not invalidate the workspace");
        };
        assert!(reason.contains("chat:write"), "{reason}");
    }

    #[test]
    fn a_missing_scope_on_the_senders_token_asks_them_to_connect_again() {
        let error = SlackError::Api {
            method: "conversations.open",
            code: "missing_scope".into(),
            needed: Some("im:write".into()),
            provided: None,
        };
        assert_eq!(
            on_slack_failure(&error, Sender),
            reconnect("missing_scope: connect Slack again to grant im:write")
        );
    }

    #[test]
    fn a_disabled_messages_tab_on_the_bot_tells_an_owner_where_to_turn_it_on() {
        let FailureAction::FailForOwner { reason } = on_slack_failure(&api("messages_tab_disabled"), Bot)
        else {
            panic!("messages_tab_disabled is the app's setting, not the token's fault");
        };
        assert!(reason.contains("Messages Tab"), "{reason}");
    }

    #[rstest]
    #[case::user_not_found("user_not_found")]
    #[case::channel_not_found("channel_not_found")]
    #[case::unknown_code("something_new")]
    fn a_bot_dm_slack_refuses_fails_that_delivery_only(#[case] code: &str) {
        let FailureAction::Fail { reason } = on_slack_failure(&api(code), Bot) else {
            panic!("{code} must fail the delivery");
        };
        assert!(reason.contains(code), "{reason}");
    }

    #[test]
    fn a_setting_of_the_workspace_fails_with_advice_for_an_admin() {
        let FailureAction::FailForOwner { reason } = on_slack_failure(&api("ekm_access_denied"), Bot) else {
            panic!("an admin policy is not the token's fault");
        };
        assert!(
            reason.contains("ekm_access_denied") && reason.contains("admin"),
            "{reason}"
        );
    }
}
