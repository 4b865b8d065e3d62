//! The clock, read here (the engine never reads it).

use std::time::{SystemTime, UNIX_EPOCH};

use engine::form::Date;

/// Today's date in UTC.
pub fn today_utc() -> Date {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    civil_from_days((seconds / 86_400) as i64)
}

/// Converts days since 1970-01-01 to a calendar date (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> Date {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    Date { year, month, day }
}

#[cfg(test)]
mod tests {
    use super::*;

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
