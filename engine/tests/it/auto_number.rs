//! Auto-number patterns and dates.

use engine::form::{AutoNumberPattern, Date};

fn date(text: &str) -> Date {
    Date::parse(text).unwrap()
}

#[test]
fn formats_and_scopes() {
    let check = |pattern: &str, day: &str, seq: u64, number: &str, scope: &str| {
        let parsed = AutoNumberPattern::parse(pattern).unwrap();
        assert_eq!(parsed.format(date(day), seq), number, "{pattern}");
        assert_eq!(parsed.scope(date(day)), scope, "{pattern}");
    };
    check("IQC-{yyyy}{MM}-{seq:4}", "2026-11-21", 12, "IQC-202611-0012", "2026-11");
    check("NCR-{yyyy}-{seq:4}", "2026-01-05", 1, "NCR-2026-0001", "2026");
    check("{yy}{MM}{dd}{seq:3}", "2026-03-09", 7, "260309007", "2026-03-09");
    check("8D-{seq}", "2026-03-09", 123, "8D-123", "");
    check("{{{seq:2}}}", "2026-03-09", 5, "{05}", "");
    // A counter wider than its padding is not cut.
    check("N-{seq:2}", "2026-03-09", 12345, "N-12345", "");
    check("{yyyy}/{yy}-{seq:12}", "0999-01-01", u64::MAX, "0999/99-18446744073709551615", "09990999");
    check("{seq:3}", "2026-03-09", 0, "000", "");
    // Years outside what dates parse to are formatted as `{:04}` and `{:02}` would.
    let years = AutoNumberPattern::parse("{yyyy}/{yy}-{seq}").unwrap();
    assert_eq!(years.format(Date { year: -5, month: 1, day: 1 }, 1), "-005/95-1");
    assert_eq!(years.format(Date { year: 12345, month: 1, day: 1 }, 1), "12345/45-1");
}

#[test]
fn bad_patterns() {
    for pattern in ["NCR-{yyyy}", "{seq}{seq}", "{seq:0}", "{seq:13}", "{week}{seq}", "{seq", "a}{seq}"] {
        assert!(AutoNumberPattern::parse(pattern).is_err(), "{pattern} should be rejected");
    }
}

#[test]
fn dates_are_checked() {
    assert_eq!(Date::parse("2024-02-29"), Some(Date { year: 2024, month: 2, day: 29 }));
    for bad in ["2023-02-29", "1900-02-29", "2026-04-31", "2026-00-10", "2026-1-1", "20261121", "2026-11-21T00:00"] {
        assert_eq!(Date::parse(bad), None, "{bad}");
    }
    assert!(Date::parse("2000-02-29").is_some());
}

#[test]
fn numbers_can_be_filled_in_after_processing_unless_rules_read_them() {
    let plain = crate::support::compile(&serde_json::json!({"key": "t", "name": "T", "fields": [
        {"key": "no", "type": "auto_number", "pattern": "N-{seq:3}"},
        {"key": "qty", "type": "number"},
        {"key": "twice", "type": "computed", "expr": "qty * 2"}
    ]}));
    assert!(!plain.rules_read_auto_numbers());
    let mut record = plain.process(&serde_json::json!({"qty": 2}), &crate::support::ctx()).record;
    let today = engine::form::Date { year: 2026, month: 11, day: 21 };
    plain.fill_auto_numbers(&mut record, today, &[("no".to_owned(), 7)].into_iter().collect());
    assert_eq!(record, serde_json::json!({"no": "N-007", "qty": 2, "twice": 4}));
    let reading = crate::support::compile(&serde_json::json!({"key": "t", "name": "T", "fields": [
        {"key": "no", "type": "auto_number", "pattern": "N-{seq:3}"},
        {"key": "label", "type": "computed", "expr": "no"}
    ]}));
    assert!(reading.rules_read_auto_numbers());
    let by_rows = crate::support::compile(&serde_json::json!({"key": "t", "name": "T", "fields": [
        {"key": "no", "type": "auto_number", "pattern": "N-{seq:3}"},
        {"key": "rows", "type": "subtable", "fields": [{"key": "tag", "type": "computed", "expr": "parent.no"}]}
    ]}));
    assert!(by_rows.rules_read_auto_numbers());
}
