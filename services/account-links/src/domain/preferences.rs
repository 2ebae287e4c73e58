//! A person's Slack preferences in an organization (org-wide, like the link), and their limits.

use std::time::Duration;

/// The longest a direct message may wait for its recipient to read it in ovice: past an hour a
/// forward stops being a notification.
pub const MAX_HOLD_UNREAD: Duration = Duration::from_secs(3600);

/// What a person chose; the default is what the help page describes (forwarded at once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlackPreferences {
    /// Forward a direct message only if it is still unread this long after it was sent.
    pub hold_unread: Option<Duration>,
}

impl SlackPreferences {
    /// From the API's seconds (0: off); the refusal says what is allowed.
    pub fn from_hold_seconds(seconds: i64) -> Result<Self, String> {
        let max = MAX_HOLD_UNREAD.as_secs();
        match u64::try_from(seconds) {
            Ok(0) => Ok(Self { hold_unread: None }),
            Ok(s) if s <= max => Ok(Self {
                hold_unread: Some(Duration::from_secs(s)),
            }),
            _ => Err(format!(
                "must be between 0 (off: forwarded at once) and {max} seconds"
            )),
        }
    }

    /// The hold in whole seconds (0: off).
    pub fn hold_seconds(&self) -> i64 {
        self.hold_unread
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hold_is_off_or_at_most_an_hour() {
        assert_eq!(
            SlackPreferences::from_hold_seconds(0),
            Ok(SlackPreferences::default())
        );
        assert_eq!(
            SlackPreferences::from_hold_seconds(30).unwrap().hold_seconds(),
            30
        );
        assert_eq!(
            SlackPreferences::from_hold_seconds(3600).unwrap().hold_seconds(),
            3600
        );
        assert!(SlackPreferences::from_hold_seconds(3601).is_err());
        assert!(SlackPreferences::from_hold_seconds(-1).is_err());
    }
}
