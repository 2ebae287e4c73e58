//! A person's Slack preferences in an organization, their limits, and what they decide about a
//! direct message at a given time. One home: account-links validates and stores them, delivery asks
//! [`SlackPreferences::verdict`] when a message is due.

use std::time::Duration;

use chrono::{DateTime, Days, LocalResult, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use ovice_slack_i18n::Language;

use crate::UnixMillis;

/// The longest a direct message may wait for its recipient to read it in ovice: past an hour a
/// forward stops being a notification.
pub const MAX_HOLD_UNREAD: Duration = Duration::from_secs(3600);

/// The furthest a pause may be set to end by itself; longer is what "pause until turned off" is for.
pub const MAX_PAUSE: Duration = Duration::from_secs(366 * 24 * 3600);

/// What a person chose; the default is what the help page describes (forwarded at once, always).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlackPreferences {
    /// Forward a direct message only if it is still unread this long after it was sent.
    pub hold_unread: Option<Duration>,
    /// Forwarding paused; `Some(None)`: until turned off, `Some(Some(t))`: until `t`.
    pub paused: Option<Option<UnixMillis>>,
    pub quiet_hours: Option<QuietHours>,
    /// The chosen language; `None`: automatic.
    pub language: Option<Language>,
    /// Not chosen but learned: the language of the person's ovice when they last connected.
    pub automatic_language: Option<Language>,
}

/// What the preferences say about a direct message due now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it (the read hold, if any, still applies).
    Forward,
    /// Forwarding is paused: it is not sent at all.
    Paused,
    /// Quiet hours: it waits until then.
    QuietUntil(UnixMillis),
}

impl SlackPreferences {
    /// From the API's seconds (0: off); the refusal says what is allowed.
    pub fn hold_from_seconds(seconds: i64) -> Result<Option<Duration>, String> {
        let max = MAX_HOLD_UNREAD.as_secs();
        match u64::try_from(seconds) {
            Ok(0) => Ok(None),
            Ok(s) if s <= max => Ok(Some(Duration::from_secs(s))),
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

    /// A pause as the API gives it, checked against `now`: an end must be ahead, within a year.
    pub fn pause_from(
        paused: bool,
        until: Option<UnixMillis>,
        now: UnixMillis,
    ) -> Result<Option<Option<UnixMillis>>, String> {
        match (paused, until) {
            (false, None) => Ok(None),
            (false, Some(_)) => Err("is only allowed when paused is true".to_owned()),
            (true, None) => Ok(Some(None)),
            (true, Some(t)) if t <= now => Err("must be in the future".to_owned()),
            (true, Some(t)) if t > now.plus(MAX_PAUSE) => Err("must be within a year from now".to_owned()),
            (true, Some(t)) => Ok(Some(Some(t))),
        }
    }

    /// Paused at `now` (a pause with an end is over once it passed).
    pub fn is_paused(&self, now: UnixMillis) -> bool {
        match self.paused {
            None => false,
            Some(None) => true,
            Some(Some(until)) => now < until,
        }
    }

    /// The language of the person's Slack messages and pages: chosen, else learned, else English.
    pub fn effective_language(&self) -> Language {
        self.language.or(self.automatic_language).unwrap_or_default()
    }

    /// What happens to a direct message due at `now`.
    pub fn verdict(&self, now: UnixMillis) -> Verdict {
        if self.is_paused(now) {
            return Verdict::Paused;
        }
        match self.quiet_hours.as_ref().and_then(|q| q.end_if_within(now)) {
            Some(end) => Verdict::QuietUntil(end),
            None => Verdict::Forward,
        }
    }
}

/// A daily window of local time in a time zone; `start > end` spans midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietHours {
    start: NaiveTime,
    end: NaiveTime,
    zone: Tz,
}

/// Which part of quiet hours was wrong: the field and what is allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuietHoursError {
    pub field: &'static str,
    pub reason: String,
}

impl QuietHours {
    /// From `"HH:MM"`, `"HH:MM"` and an IANA zone name; each wrong field is named.
    pub fn parse(start: &str, end: &str, zone: &str) -> Result<Self, Vec<QuietHoursError>> {
        let mut errors = Vec::new();
        let mut time = |field: &'static str, s: &str| {
            NaiveTime::parse_from_str(s.trim(), "%H:%M")
                .map_err(|_| {
                    errors.push(QuietHoursError {
                        field,
                        reason: format!("{s:?} is not a time as HH:MM (00:00 to 23:59)"),
                    })
                })
                .ok()
        };
        let (start, end) = (time("start", start), time("end", end));
        if start.is_some() && start == end {
            errors.push(QuietHoursError {
                field: "end",
                reason: "must differ from start".to_owned(),
            });
        }
        let zone = zone
            .trim()
            .parse::<Tz>()
            .map_err(|_| {
                errors.push(QuietHoursError {
                    field: "time_zone",
                    reason: format!("{zone:?} is not an IANA time zone name such as Asia/Tokyo"),
                })
            })
            .ok();
        match (start, end, zone) {
            (Some(start), Some(end), Some(zone)) if errors.is_empty() => Ok(Self { start, end, zone }),
            _ => Err(errors),
        }
    }

    pub fn start(&self) -> String {
        self.start.format("%H:%M").to_string()
    }

    pub fn end(&self) -> String {
        self.end.format("%H:%M").to_string()
    }

    pub fn time_zone(&self) -> &'static str {
        self.zone.name()
    }

    /// When the window that holds `now` ends, or `None` when `now` is outside it.
    pub fn end_if_within(&self, now: UnixMillis) -> Option<UnixMillis> {
        let utc = DateTime::<Utc>::from_timestamp_millis(now.as_millis())?;
        let local = utc.with_timezone(&self.zone);
        let (time, today) = (local.time(), local.date_naive());
        let within = if self.start < self.end {
            self.start <= time && time < self.end
        } else {
            time >= self.start || time < self.end
        };
        if !within {
            return None;
        }
        // The end is today when it is still ahead, else tomorrow.
        let day = if time < self.end {
            today
        } else {
            today.checked_add_days(Days::new(1))?
        };
        let end = match self.zone.from_local_datetime(&day.and_time(self.end)) {
            LocalResult::Single(t) => t,
            LocalResult::Ambiguous(first, _) => first,
            // The end falls in a daylight-saving gap: the first instant after it.
            LocalResult::None => self
                .zone
                .from_local_datetime(&(day.and_time(self.end) + chrono::Duration::hours(1)))
                .earliest()?,
        };
        Some(UnixMillis::from_millis(
            end.with_timezone(&Utc).timestamp_millis(),
        ))
    }
}

/// The API's form (`ovice.slack.v1.SlackPreferences`), in both directions.
mod api {
    use ovice_slack_proto::v1 as pb;

    use super::*;
    use crate::validation::FieldViolations;

    impl SlackPreferences {
        /// As the API shows them, with the language in effect.
        pub fn to_proto(&self) -> pb::SlackPreferences {
            let effective = self.effective_language();
            pb::SlackPreferences {
                hold_unread_seconds: i32::try_from(self.hold_seconds()).unwrap_or(i32::MAX),
                paused: self.paused.is_some(),
                paused_until: self.paused.flatten().map(UnixMillis::to_proto),
                quiet_hours: self.quiet_hours.map(|q| pb::QuietHours {
                    start: q.start(),
                    end: q.end(),
                    time_zone: q.time_zone().to_owned(),
                }),
                language: self.language.map(|l| l.tag().to_owned()).unwrap_or_default(),
                effective_language: effective.tag().to_owned(),
            }
        }

        /// What a person asked for, checked at `now`; every wrong field is named
        /// (`preferences.quiet_hours.time_zone`, …). `effective_language` is output only and ignored.
        pub fn from_request(p: &pb::SlackPreferences, now: UnixMillis) -> Result<Self, FieldViolations> {
            let mut v = FieldViolations::new();
            let hold_unread = Self::hold_from_seconds(i64::from(p.hold_unread_seconds))
                .map_err(|e| v.add("preferences.hold_unread_seconds", e))
                .unwrap_or_default();
            let until = match &p.paused_until {
                None => None,
                Some(ts) => {
                    let t = UnixMillis::from_proto(ts);
                    if t.is_none() {
                        v.add("preferences.paused_until", "is not a valid time");
                    }
                    t
                }
            };
            let paused = Self::pause_from(p.paused, until, now)
                .map_err(|e| v.add("preferences.paused_until", e))
                .unwrap_or_default();
            let quiet_hours = p.quiet_hours.as_ref().and_then(|q| {
                QuietHours::parse(&q.start, &q.end, &q.time_zone)
                    .map_err(|errors| {
                        for e in errors {
                            v.add(format!("preferences.quiet_hours.{}", e.field), e.reason);
                        }
                    })
                    .ok()
            });
            let language = match p.language.trim() {
                "" => None,
                tag => {
                    let l = Language::from_tag(tag);
                    if l.is_none() {
                        v.add(
                            "preferences.language",
                            "must be \"ja\", \"en\" or empty (automatic)",
                        );
                    }
                    l
                }
            };
            if v.is_empty() {
                Ok(Self {
                    hold_unread,
                    paused,
                    quiet_hours,
                    language,
                    automatic_language: None,
                })
            } else {
                Err(v)
            }
        }

        /// What a peer service sent (checked where it was stored): anything unreadable counts as
        /// not set; the language in effect stands as the automatic one.
        pub fn from_peer(p: &pb::SlackPreferences) -> Self {
            Self {
                hold_unread: Self::hold_from_seconds(i64::from(p.hold_unread_seconds)).unwrap_or_default(),
                paused: p
                    .paused
                    .then(|| p.paused_until.as_ref().and_then(UnixMillis::from_proto)),
                quiet_hours: p
                    .quiet_hours
                    .as_ref()
                    .and_then(|q| QuietHours::parse(&q.start, &q.end, &q.time_zone).ok()),
                language: Language::from_tag(&p.language),
                automatic_language: Language::from_tag(&p.effective_language),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> UnixMillis {
        let t = DateTime::parse_from_rfc3339(rfc3339).unwrap();
        UnixMillis::from_millis(t.timestamp_millis())
    }

    #[test]
    fn a_hold_is_off_or_at_most_an_hour() {
        assert_eq!(SlackPreferences::hold_from_seconds(0), Ok(None));
        assert_eq!(
            SlackPreferences::hold_from_seconds(30),
            Ok(Some(Duration::from_secs(30)))
        );
        assert!(SlackPreferences::hold_from_seconds(3600).is_ok());
        assert!(SlackPreferences::hold_from_seconds(3601).is_err());
        assert!(SlackPreferences::hold_from_seconds(-1).is_err());
    }

    #[test]
    fn a_pause_ends_by_itself_at_its_time() {
        let now = at("2026-12-05T10:00:00Z");
        let until = at("2026-12-05T12:00:00Z");
        let p = SlackPreferences {
            paused: SlackPreferences::pause_from(true, Some(until), now).unwrap(),
            ..Default::default()
        };
        assert_eq!(p.verdict(now), Verdict::Paused);
        assert_eq!(p.verdict(until.minus(Duration::from_millis(1))), Verdict::Paused);
        assert_eq!(p.verdict(until), Verdict::Forward);
        let forever = SlackPreferences {
            paused: Some(None),
            ..Default::default()
        };
        assert_eq!(forever.verdict(at("2030-01-01T00:00:00Z")), Verdict::Paused);
        assert!(SlackPreferences::pause_from(true, Some(now), now).is_err());
        assert!(SlackPreferences::pause_from(false, Some(until), now).is_err());
        assert!(
            SlackPreferences::pause_from(true, Some(now.plus(MAX_PAUSE).plus(Duration::from_secs(1))), now)
                .is_err()
        );
        assert_eq!(SlackPreferences::pause_from(false, None, now), Ok(None));
    }

    #[test]
    fn quiet_hours_over_midnight_in_tokyo() {
        let q = QuietHours::parse("22:00", "07:00", "Asia/Tokyo").unwrap();
        // 23:00 JST is 14:00 UTC: held until 07:00 JST the next morning (22:00 UTC).
        assert_eq!(
            q.end_if_within(at("2026-12-05T23:00:00+09:00")),
            Some(at("2026-12-06T07:00:00+09:00"))
        );
        // 03:00 JST: the same morning.
        assert_eq!(
            q.end_if_within(at("2026-12-06T03:00:00+09:00")),
            Some(at("2026-12-06T07:00:00+09:00"))
        );
        // The edges: 22:00 is in, 07:00 is out.
        assert!(q.end_if_within(at("2026-12-05T22:00:00+09:00")).is_some());
        assert_eq!(q.end_if_within(at("2026-12-06T07:00:00+09:00")), None);
        assert_eq!(q.end_if_within(at("2026-12-05T12:00:00+09:00")), None);
        assert_eq!(
            (q.start(), q.end(), q.time_zone()),
            ("22:00".into(), "07:00".into(), "Asia/Tokyo")
        );
    }

    #[test]
    fn quiet_hours_within_a_day_and_across_daylight_saving() {
        let q = QuietHours::parse("12:00", "13:30", "Europe/Berlin").unwrap();
        assert_eq!(
            q.end_if_within(at("2026-07-01T12:10:00+02:00")),
            Some(at("2026-07-01T13:30:00+02:00"))
        );
        assert_eq!(q.end_if_within(at("2026-07-01T11:59:00+02:00")), None);
        // New York springs forward at 02:00 on 2026-03-08: an end at 02:30 does not exist that day.
        let q = QuietHours::parse("01:00", "02:30", "America/New_York").unwrap();
        assert_eq!(
            q.end_if_within(at("2026-03-08T01:30:00-05:00")),
            Some(at("2026-03-08T03:30:00-04:00"))
        );
    }

    #[test]
    fn bad_quiet_hours_say_which_field() {
        let fields = |s, e, z| {
            QuietHours::parse(s, e, z)
                .unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(fields("25:00", "07:00", "Asia/Tokyo"), ["start"]);
        assert_eq!(fields("22:00", "7", "Asia/Tokyo"), ["end"]);
        assert_eq!(fields("22:00", "22:00", "Asia/Tokyo"), ["end"]);
        assert_eq!(fields("22:00", "07:00", "Tokyo"), ["time_zone"]);
        assert_eq!(fields("22:00", "07:00", ""), ["time_zone"]);
        assert_eq!(fields("9pm", "7am", "Tokyo"), ["start", "end", "time_zone"]);
    }

    #[test]
    fn the_api_form_round_trips_and_names_each_wrong_field() {
        use ovice_slack_proto::v1 as pb;
        let now = at("2026-12-05T10:00:00Z");
        let wanted = pb::SlackPreferences {
            hold_unread_seconds: 30,
            paused: true,
            paused_until: Some(at("2026-12-06T00:00:00Z").to_proto()),
            quiet_hours: Some(pb::QuietHours {
                start: "22:00".into(),
                end: "07:00".into(),
                time_zone: "Asia/Tokyo".into(),
            }),
            language: "ja".into(),
            effective_language: "ignored".into(),
        };
        let p = SlackPreferences::from_request(&wanted, now).unwrap();
        let shown = p.to_proto();
        assert_eq!(
            shown,
            pb::SlackPreferences {
                effective_language: "ja".into(),
                ..wanted.clone()
            }
        );
        let peer = SlackPreferences::from_peer(&shown);
        assert_eq!(
            (peer.effective_language(), peer.quiet_hours),
            (Language::Japanese, p.quiet_hours)
        );
        // Automatic: the learned language shows as the one in effect.
        let auto = SlackPreferences {
            automatic_language: Some(Language::Japanese),
            ..Default::default()
        };
        assert_eq!(
            (
                auto.to_proto().language.as_str(),
                auto.to_proto().effective_language.as_str()
            ),
            ("", "ja")
        );
        let bad = pb::SlackPreferences {
            hold_unread_seconds: -1,
            paused: false,
            language: "fr".into(),
            quiet_hours: Some(pb::QuietHours {
                start: "22:00".into(),
                end: "07:00".into(),
                time_zone: "Mars/Olympus".into(),
            }),
            ..wanted
        };
        let status = SlackPreferences::from_request(&bad, now)
            .unwrap_err()
            .into_status();
        for field in [
            "preferences.hold_unread_seconds",
            "preferences.paused_until",
            "preferences.quiet_hours.time_zone",
            "preferences.language",
        ] {
            assert!(status.message().contains(field), "{field}: {}", status.message());
        }
    }

    #[test]
    fn paused_wins_over_quiet_hours() {
        let p = SlackPreferences {
            paused: Some(None),
            quiet_hours: Some(QuietHours::parse("00:00", "23:59", "UTC").unwrap()),
            ..Default::default()
        };
        assert_eq!(p.verdict(at("2026-12-05T10:00:00Z")), Verdict::Paused);
    }
}
