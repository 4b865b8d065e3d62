//! The clock, read here (the engine never reads it).

use std::time::{SystemTime, UNIX_EPOCH};

use engine::form::Date;

/// Today's date in UTC.
pub fn today_utc() -> Date {
    today_at(0)
}

/// Today's date at `offset_minutes` east of UTC (a workspace's local date).
pub fn today_at(offset_minutes: i32) -> Date {
    let millis = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    engine::report::civil_from_days((millis + i64::from(offset_minutes) * 60_000).div_euclid(86_400_000))
}

/// Milliseconds since the epoch as RFC 3339 in UTC, to the second (`2026-11-21T08:30:00Z`).
pub fn rfc3339_utc(millis: i64) -> String {
    let date = engine::report::civil_from_days(millis.div_euclid(86_400_000));
    let seconds = millis.rem_euclid(86_400_000) / 1000;
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        date.year,
        date.month,
        date.day,
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use engine::report::civil_from_days;

    #[test]
    fn timestamps() {
        assert_eq!(super::rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339_utc(1_795_250_096_789), "2026-11-21T08:34:56Z");
    }

    #[test]
    fn civil_dates() {
        let check = |days, expected: (i32, u8, u8)| {
            let date = civil_from_days(days);
            assert_eq!((date.year, date.month, date.day), expected, "day {days}");
        };
        check(0, (1970, 1, 1));
        check(11_016, (2000, 2, 29));
        check(20_778, (2026, 11, 21));
        check(-1, (1969, 12, 31));
    }
}
