//! Times are kept as milliseconds since the Unix epoch in both databases (one portable column type).

use chrono::{DateTime, Utc};

pub fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

pub fn to_timestamp(millis: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: millis.div_euclid(1000),
        nanos: (millis.rem_euclid(1000) * 1_000_000) as i32,
    }
}

pub fn from_timestamp(ts: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
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
        }
    }
}
