//! Times. Both databases keep them as milliseconds since the Unix epoch (one portable column type);
//! in code they are `UnixMillis`, so a time cannot be mistaken for a count or a duration.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// A point in time, to the millisecond.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixMillis(i64);

impl UnixMillis {
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    pub fn now() -> Self {
        Self(Utc::now().timestamp_millis())
    }

    /// `None` for a timestamp outside chrono's range or with invalid nanoseconds.
    pub fn from_proto(ts: &prost_types::Timestamp) -> Option<Self> {
        from_timestamp(ts).map(|t| Self(t.timestamp_millis()))
    }

    pub fn to_proto(self) -> prost_types::Timestamp {
        to_timestamp(self.0)
    }

    /// `self + d`, held at the end of the range instead of overflowing.
    pub fn plus(self, d: Duration) -> Self {
        Self(self.0.saturating_add(duration_millis(d)))
    }

    /// `self - d`, held at the start of the range instead of overflowing.
    pub fn minus(self, d: Duration) -> Self {
        Self(self.0.saturating_sub(duration_millis(d)))
    }

    /// How long after `earlier` this is; zero when it is not after it.
    pub fn since(self, earlier: Self) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }
}

impl std::ops::Add<Duration> for UnixMillis {
    type Output = Self;

    fn add(self, d: Duration) -> Self {
        self.plus(d)
    }
}

impl std::ops::Sub<Duration> for UnixMillis {
    type Output = Self;

    fn sub(self, d: Duration) -> Self {
        self.minus(d)
    }
}

fn duration_millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn to_timestamp(millis: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: millis.div_euclid(1000),
        nanos: (millis.rem_euclid(1000) * 1_000_000) as i32,
    }
}

fn from_timestamp(ts: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_trip_including_before_epoch() {
        for ms in [0, 1, 999, 1_700_000_000_123, -1] {
            let ts = to_timestamp(ms);
            assert_eq!(from_timestamp(&ts).unwrap().timestamp_millis(), ms);
            assert_eq!(UnixMillis::from_proto(&ts), Some(UnixMillis::from_millis(ms)));
        }
    }

    #[test]
    fn arithmetic_saturates_instead_of_overflowing() {
        let t = UnixMillis::from_millis(1_000);
        assert_eq!(t.plus(Duration::from_millis(500)).as_millis(), 1_500);
        assert_eq!(t.minus(Duration::from_secs(2)).as_millis(), -1_000);
        assert_eq!(
            UnixMillis::from_millis(i64::MAX - 1)
                .plus(Duration::MAX)
                .as_millis(),
            i64::MAX
        );
        assert_eq!(t.since(UnixMillis::from_millis(400)), Duration::from_millis(600));
        assert_eq!(t.since(UnixMillis::from_millis(4_000)), Duration::ZERO);
    }
}
