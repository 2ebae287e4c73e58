//! Slack's signature on the requests it sends us (Events API): `v0=` and the hex HMAC-SHA256, keyed
//! with the app's signing secret, of `v0:{X-Slack-Request-Timestamp}:{raw body}`. A request is
//! believed only when that matches, compared in constant time, and its timestamp is within five
//! minutes of our clock, so a captured request cannot be played again later. Nothing of the body is
//! read before both hold.

use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// How far a request's timestamp may be from our clock, either way (Slack's own advice).
pub const MAX_SKEW: Duration = Duration::from_secs(5 * 60);

/// What Slack puts before the hex digest, and before the timestamp in what it signs.
const VERSION: &str = "v0";

/// An app's signing secret (Slack app settings, Basic Information); `SecretString` keeps it out of
/// `Debug` output.
#[derive(Clone, Debug)]
pub struct SigningSecret(SecretString);

impl SigningSecret {
    pub fn new(secret: SecretString) -> Self {
        Self(secret)
    }

    /// A secret nobody knows (32 random bytes), that no request's signature matches.
    pub fn random() -> Self {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(SecretString::from(hex::encode(bytes)))
    }
}

/// Why a request is not believed. Every case is answered 401 and changes nothing.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the X-Slack-Request-Timestamp header is missing or is not a number of seconds")]
    BadTimestamp,
    #[error(
        "the request was signed {seconds_off} s away from this server's clock; requests older or newer \
         than 5 minutes are refused (check the server's clock if Slack's own requests get this)"
    )]
    Stale { seconds_off: i64 },
    #[error("the X-Slack-Signature header is missing or is not `v0=` and 64 hex digits")]
    BadSignature,
    #[error("the signature does not match the body under this app's signing secret")]
    Mismatch,
}

/// Checks a request's timestamp and signature headers against its raw body at `now_unix` (seconds).
pub fn verify(
    secret: &SigningSecret,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_unix: i64,
) -> Result<(), SignatureError> {
    let (timestamp, digest) = parse_headers(timestamp, signature, now_unix)?;
    // HMAC takes a key of any length; were it ever to refuse one, nothing is believed.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.0.expose_secret().as_bytes())
        .map_err(|_| SignatureError::Mismatch)?;
    mac.update(VERSION.as_bytes());
    mac.update(b":");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac.verify_slice(&digest).map_err(|_| SignatureError::Mismatch)
}

/// The cheap half of [`verify`]: a fresh timestamp and a well-formed signature header, checked before
/// a request costs a database read.
pub fn check_headers(
    timestamp: Option<&str>,
    signature: Option<&str>,
    now_unix: i64,
) -> Result<(), SignatureError> {
    parse_headers(timestamp, signature, now_unix).map(|_| ())
}

fn parse_headers<'t>(
    timestamp: Option<&'t str>,
    signature: Option<&str>,
    now_unix: i64,
) -> Result<(&'t str, Vec<u8>), SignatureError> {
    let timestamp = timestamp.ok_or(SignatureError::BadTimestamp)?;
    let signed_at: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    let seconds_off = now_unix.saturating_sub(signed_at);
    if seconds_off.unsigned_abs() > MAX_SKEW.as_secs() {
        return Err(SignatureError::Stale { seconds_off });
    }
    let digest = signature
        .and_then(|s| s.strip_prefix(VERSION)?.strip_prefix('='))
        .filter(|hex| hex.len() == 64)
        .and_then(|hex| hex::decode(hex).ok())
        .ok_or(SignatureError::BadSignature)?;
    Ok((timestamp, digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const AT: i64 = 1_531_420_618;
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn secret() -> SigningSecret {
        SigningSecret::new(SECRET.into())
    }

    fn check(
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &str,
        now: i64,
    ) -> Result<(), SignatureError> {
        verify(&secret(), timestamp, signature, body.as_bytes(), now)
    }

    #[test]
    fn slacks_own_example_is_believed() {
        assert_eq!(check(Some("1531420618"), Some(SIGNATURE), BODY, AT + 10), Ok(()));
    }

    #[test]
    fn a_changed_body_timestamp_or_secret_is_a_mismatch() {
        let body = BODY.replace("roadrunner", "wile_e");
        assert_eq!(
            check(Some("1531420618"), Some(SIGNATURE), &body, AT),
            Err(SignatureError::Mismatch)
        );
        // The same body signed at another moment: the timestamp is part of what was signed.
        assert_eq!(
            check(Some("1531420619"), Some(SIGNATURE), BODY, AT),
            Err(SignatureError::Mismatch)
        );
        let other = SigningSecret::new("another app's secret".into());
        assert_eq!(
            verify(&other, Some("1531420618"), Some(SIGNATURE), BODY.as_bytes(), AT),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn five_minutes_either_way_and_no_more() {
        let five = MAX_SKEW.as_secs() as i64;
        assert_eq!(
            check(Some("1531420618"), Some(SIGNATURE), BODY, AT + five),
            Ok(())
        );
        assert_eq!(
            check(Some("1531420618"), Some(SIGNATURE), BODY, AT - five),
            Ok(())
        );
        assert_eq!(
            check(Some("1531420618"), Some(SIGNATURE), BODY, AT + five + 1),
            Err(SignatureError::Stale {
                seconds_off: five + 1
            })
        );
        assert_eq!(
            check(Some("1531420618"), Some(SIGNATURE), BODY, AT - five - 1),
            Err(SignatureError::Stale {
                seconds_off: -five - 1
            })
        );
    }

    #[test]
    fn malformed_headers_are_named() {
        assert_eq!(
            check(None, Some(SIGNATURE), BODY, AT),
            Err(SignatureError::BadTimestamp)
        );
        assert_eq!(
            check(Some("soon"), Some(SIGNATURE), BODY, AT),
            Err(SignatureError::BadTimestamp)
        );
        for bad in [
            None,
            Some(""),
            Some("a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"),
            Some("v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"),
            Some("v0=a2114d57"),
            Some("v0=zz114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"),
        ] {
            assert_eq!(
                check(Some("1531420618"), bad, BODY, AT),
                Err(SignatureError::BadSignature),
                "{bad:?}"
            );
        }
    }
}
