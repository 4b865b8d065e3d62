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

#[cfg(test)]
mod tests {
    use engine::report::civil_from_days;

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
