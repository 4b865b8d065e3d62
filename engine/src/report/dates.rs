//! Calendar arithmetic on proleptic Gregorian dates (Howard Hinnant's algorithms).

use crate::form::Date;

/// Days since 1970-01-01.
pub fn days_from_civil(date: Date) -> i64 {
    let year = i64::from(date.year) - i64::from(date.month <= 2);
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(date.month);
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(date.day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn civil_from_days(days: i64) -> Date {
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

pub fn add_days(date: Date, days: i64) -> Date {
    civil_from_days(days_from_civil(date) + days)
}

/// The same day `months` later, clamped to the end of a shorter month.
pub fn add_months(date: Date, months: i32) -> Date {
    let index = date.year * 12 + i32::from(date.month) - 1 + months;
    let (year, month) = (index.div_euclid(12), (index.rem_euclid(12) + 1) as u8);
    let first_next =
        if month == 12 { Date { year: year + 1, month: 1, day: 1 } } else { Date { year, month: month + 1, day: 1 } };
    let last = add_days(first_next, -1).day;
    Date { year, month, day: date.day.min(last) }
}

/// 0 for Monday through 6 for Sunday.
pub fn weekday(date: Date) -> u8 {
    // 1970-01-01 was a Thursday (3).
    (days_from_civil(date) + 3).rem_euclid(7) as u8
}

/// `YYYY-MM-DD`, a real calendar date.
pub fn parse_date(text: &str) -> Option<Date> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year: i32 = text[..4].parse().ok()?;
    let month: u8 = text[5..7].parse().ok()?;
    let day: u8 = text[8..].parse().ok()?;
    let date = Date { year, month, day };
    (civil_from_days(days_from_civil(date)) == date && (1..=12).contains(&month)).then_some(date)
}
