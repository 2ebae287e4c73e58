//! When an expiring (rotating) Slack token is renewed. Slack's rotating tokens live 12 hours; like
//! Slack's own SDKs, ovice-slack renews one a margin (2 hours by default) before it expires, and never
//! later than half-way through a shorter life, so a short-lived token is not renewed over and over.
//! Both token owners (the org's bot token, a person's user token) follow this one rule.

use std::time::Duration;

use crate::UnixMillis;

/// How long before its expiry a token is renewed by default (Slack's SDKs use the same).
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(2 * 3600);

/// How long one replica holds a token's renewal: longer than the whole renewal can take (an
/// `auth.test`, then the refresh tried again within Slack's grace for a spent refresh token).
pub const LEASE: Duration = Duration::from_secs(30);

/// How long a renewal worker leaves a token alone after its renewal failed (Slack or the database did
/// not answer, or nothing can renew it here), so tokens that keep failing do not crowd out the rest.
/// A call that meets the expired token meanwhile still renews it at once.
pub const POSTPONE_FAILED: Duration = Duration::from_secs(60);

/// How long a renewal asked for by a sender waits for another replica's to finish.
pub const WAIT_FOR_OTHER: Duration = Duration::from_secs(10);

/// Why a token is renewed now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RenewWhy {
    /// Its renewal time came (a renewal worker).
    Due,
    /// A call with it was answered `token_expired`: renewed unless another replica already did.
    Expired,
}

/// What a renewal did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Renewal {
    /// The token does not rotate.
    NotRotating,
    /// Nothing to do: it is not due, it already works, or its owner is not in use.
    Current,
    /// Slack issued a new token, stored.
    Renewed,
    /// Slack refused the renewal for good (its code): the token's owner is marked for people to act.
    Refused(String),
    /// Another replica holds the renewal (a worker skips it).
    Busy,
}

/// The code of a token whose life is over.
pub const EXPIRED: &str = "token_expired";

/// When a token that lives `expires_in` from `issued_at` is renewed.
pub fn renew_at(issued_at: UnixMillis, expires_in: Duration, margin: Duration) -> UnixMillis {
    let ahead = margin.min(expires_in / 2);
    issued_at.plus(expires_in.saturating_sub(ahead))
}

/// When it expires.
pub fn expires_at(issued_at: UnixMillis, expires_in: Duration) -> UnixMillis {
    issued_at.plus(expires_in)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn a_twelve_hour_token_is_renewed_two_hours_early() {
        let t = UnixMillis::from_millis(1_000);
        assert_eq!(renew_at(t, 12 * HOUR, 2 * HOUR), t.plus(10 * HOUR));
        assert_eq!(expires_at(t, 12 * HOUR), t.plus(12 * HOUR));
    }

    #[test]
    fn a_short_lived_token_is_renewed_half_way() {
        let t = UnixMillis::from_millis(1_000);
        assert_eq!(
            renew_at(t, Duration::from_secs(4), 2 * HOUR),
            t.plus(Duration::from_secs(2))
        );
    }
}
