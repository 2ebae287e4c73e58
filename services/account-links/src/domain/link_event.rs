//! What Slack telling us about a person does to their link (docs/product.md §2.2, "When Slack tells
//! us"): plain rules, applied by the Connect app's event handler.

use ovice_slack_events::EmailDigest;

use super::{Link, LinkState};

/// The reasons a link shows (GetSlackConnection, ListSlackConnections) after an event.
pub const REASON_TOKENS_REVOKED: &str = "tokens_revoked";
pub const REASON_APP_UNINSTALLED: &str = "app_uninstalled";
pub const REASON_EMAIL_CHANGED: &str = "slack_email_changed";

/// What the person reads about a link that needs connecting again, by its reason: what Slack told
/// us, or the error code Slack refused the token with (`token_revoked`, `token_expired`, …).
pub fn reconnect_text(reason: &str) -> ovice_slack_i18n::Text {
    use ovice_slack_i18n::Text;
    match reason {
        REASON_APP_UNINSTALLED => Text::ReconnectAppUninstalled,
        REASON_EMAIL_CHANGED => Text::ReconnectEmailChanged,
        _ => Text::ReconnectAccessEnded,
    }
}

/// What to do to one link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkChange {
    /// Slack took the token: NEEDS_RECONNECT with the reason, and the token forgotten.
    DropToken { reason: &'static str },
    /// The token still works, but the link no longer holds: NEEDS_RECONNECT with the reason.
    NeedsReconnect { reason: &'static str },
    /// The Slack account is gone (deactivated): the link is removed.
    Remove,
}

/// `user_change` for the link's Slack user: deactivated → removed; an email Slack shows that is not
/// the one the link was matched by → NEEDS_RECONNECT. Nothing when the email is hidden (Slack shows
/// it only with `users:read.email`) or when the link predates the digest.
pub fn on_user_change(link: &Link, deleted: bool, email: Option<&EmailDigest>) -> Option<LinkChange> {
    if deleted {
        return Some(LinkChange::Remove);
    }
    let (Some(now), Some(matched)) = (email, link.email_digest.as_ref()) else {
        return None;
    };
    (now != matched && link.state == LinkState::Connected).then_some(LinkChange::NeedsReconnect {
        reason: REASON_EMAIL_CHANGED,
    })
}

#[cfg(test)]
mod tests {
    use ovice_slack_model::UnixMillis;

    use super::*;

    fn link(email: Option<&str>, state: LinkState) -> Link {
        Link {
            org_id: "o1".into(),
            user_id: "u1".into(),
            slack_team_id: "T1".into(),
            slack_user_id: "U1".into(),
            slack_user_name: "hana".into(),
            scopes: vec![],
            token: None,
            email_digest: email.map(EmailDigest::of),
            state,
            state_reason: String::new(),
            connected_at: UnixMillis::from_millis(1),
            updated_at: UnixMillis::from_millis(1),
            rotation: None,
        }
    }

    #[test]
    fn a_deactivated_account_removes_the_link() {
        let l = link(Some("hana@x.test"), LinkState::Connected);
        assert_eq!(on_user_change(&l, true, None), Some(LinkChange::Remove));
        let l = link(None, LinkState::NeedsReconnect);
        assert_eq!(on_user_change(&l, true, None), Some(LinkChange::Remove));
    }

    #[test]
    fn only_an_email_that_is_not_the_matched_one_needs_a_reconnect() {
        let l = link(Some("hana@x.test"), LinkState::Connected);
        let same = EmailDigest::of(" HANA@x.test ");
        assert_eq!(on_user_change(&l, false, Some(&same)), None);
        let other = EmailDigest::of("hana@y.test");
        assert_eq!(
            on_user_change(&l, false, Some(&other)),
            Some(LinkChange::NeedsReconnect {
                reason: REASON_EMAIL_CHANGED
            })
        );
        // Hidden email, a link without a digest, or one already waiting for a reconnect: nothing.
        assert_eq!(on_user_change(&l, false, None), None);
        assert_eq!(
            on_user_change(&link(None, LinkState::Connected), false, Some(&other)),
            None
        );
        assert_eq!(
            on_user_change(
                &link(Some("hana@x.test"), LinkState::NeedsReconnect),
                false,
                Some(&other)
            ),
            None
        );
    }
}
