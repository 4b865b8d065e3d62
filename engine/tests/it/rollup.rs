//! Which reports a rollup can carry, and whether a rollup covers a report: the keys, parts
//! and static filter `needs` derives, and `rewrite` over shapes with more or fewer keys.

use engine::form::Date;
use engine::report::rollup::{Key, Part, needs, rewrite};
use engine::report::{Kind, Plan, Source, parse_spec, plan};
use serde_json::{Value, json};

fn kinds() -> Vec<(String, Kind)> {
    [
        ("supplier", Kind::Text),
        ("received_on", Kind::Date),
        ("inspected_at", Kind::Datetime),
        ("defects", Kind::Number),
        ("sample_size", Kind::Number),
        ("result", Kind::Text),
        ("codes", Kind::Multi),
        ("urgent", Kind::Bool),
        ("vendor.grade", Kind::Text),
        ("rows.ok", Kind::Bool),
        ("rows.name", Kind::Text),
    ]
    .into_iter()
    .map(|(k, kind)| (k.to_owned(), kind))
    .collect()
}

fn planned(spec: Value) -> Plan {
    let spec = parse_spec(&spec).unwrap();
    plan(&spec, &kinds(), Date { year: 2026, month: 11, day: 21 }).unwrap()
}

fn field(key: &str, kind: Kind) -> Source {
    Source::Field { key: key.to_owned(), kind }
}

/// `spec`'s needs: `None` when no rollup can carry it, else (keys, parts, static conditions).
fn check(spec: Value, expected: Option<(Vec<Key>, Vec<Part>, usize)>) {
    let got = needs(&planned(spec.clone()), 480).map(|n| (n.keys.clone(), n.parts.clone(), n.base.filter.len()));
    assert_eq!(got, expected, "{spec}");
}

#[test]
fn what_a_rollup_can_carry() {
    let supplier = || field("supplier", Kind::Text);
    let received = || field("received_on", Kind::Date);
    check(
        json!({"form": "iqc", "dimensions": [{"field": "supplier"}], "measures": [{"fn": "count", "as": "n"}]}),
        Some((vec![Key::Value(supplier())], vec![Part::Count], 0)),
    );
    // A month bucket keeps days; a date range filters on the same day key; `in` on a text is
    // a key filter; a number comparison is static.
    check(
        json!({"form": "iqc", "dimensions": [{"field": "received_on", "bucket": "month"}],
               "filter": {"and": [{"field": "received_on", "op": "relative", "value": "last_30_days"},
                                  {"field": "supplier", "op": "in", "value": ["a", "b"]},
                                  {"field": "defects", "op": "gt", "value": 0}]},
               "measures": [{"fn": "ppm", "defects": "defects", "units": "sample_size", "as": "ppm"}]}),
        Some((
            vec![Key::Day(received()), Key::Value(supplier())],
            vec![
                Part::Count,
                Part::Sum(field("defects", Kind::Number)),
                Part::Numbers(field("defects", Kind::Number)),
                Part::Sum(field("sample_size", Kind::Number)),
                Part::Numbers(field("sample_size", Kind::Number)),
            ],
            1,
        )),
    );
    // Measures that do not add up across cells, relations, dates under `or`: no rollup.
    for spec in [
        json!({"form": "iqc", "measures": [{"fn": "min", "field": "defects", "as": "m"}]}),
        json!({"form": "iqc", "measures": [{"fn": "count_distinct", "field": "supplier", "as": "m"}]}),
        json!({"form": "iqc", "dimensions": [{"field": "vendor.grade"}], "measures": [{"fn": "count", "as": "n"}]}),
        json!({"form": "iqc", "filter": {"or": [{"field": "received_on", "op": "relative", "value": "this_month"},
               {"field": "urgent", "op": "eq", "value": true}]}, "measures": [{"fn": "count", "as": "n"}]}),
        json!({"form": "iqc", "measures": [{"fn": "rate", "when": {"field": "received_on", "op": "relative", "value": "today"}, "as": "r"}]}),
    ] {
        check(spec, None);
    }
}

#[test]
fn a_rollup_covers_reports_with_fewer_keys_and_parts() {
    let wide = planned(
        json!({"form": "iqc", "dimensions": [{"field": "supplier"}, {"field": "inspected_at", "bucket": "day"}],
        "filter": {"field": "result", "op": "eq", "value": "accept"},
        "measures": [{"fn": "count", "as": "n"}, {"fn": "avg", "field": "defects", "as": "a"}]}),
    );
    let wide = needs(&wide, 480).unwrap();
    let shape = wide.shape(&[Key::Day(field("received_on", Kind::Date))]).unwrap();
    assert_eq!(shape.keys.len(), 4);
    // By week over the day key, with a date range on the extra key: covered.
    let narrow = planned(json!({"form": "iqc", "dimensions": [{"field": "inspected_at", "bucket": "week"}],
        "filter": {"and": [{"field": "result", "op": "eq", "value": "accept"},
                           {"field": "received_on", "op": "between", "value": ["2026-01-01", "2026-03-31"]}]},
        "measures": [{"fn": "sum", "field": "defects", "as": "s"}]}));
    let narrow_needs = needs(&narrow, 480).unwrap();
    let cells = rewrite(&narrow, &narrow_needs, &shape).expect("covered");
    assert_eq!(cells.dimensions.len(), 1);
    assert_eq!(cells.filters.len(), 2);
    // Another static filter, another offset, a key or a part the shape lacks: not covered.
    for spec in [
        json!({"form": "iqc", "filter": {"field": "urgent", "op": "eq", "value": true}, "measures": [{"fn": "count", "as": "n"}]}),
        json!({"form": "iqc", "dimensions": [{"field": "codes"}], "measures": [{"fn": "count", "as": "n"}]}),
        json!({"form": "iqc", "measures": [{"fn": "sum", "field": "sample_size", "as": "s"}]}),
    ] {
        let p = planned(spec.clone());
        let n = needs(&p, 480).unwrap();
        assert!(rewrite(&p, &n, &shape).is_none(), "{spec}");
    }
    let p = planned(
        json!({"form": "iqc", "filter": {"field": "result", "op": "eq", "value": "accept"}, "measures": [{"fn": "count", "as": "n"}]}),
    );
    assert!(rewrite(&p, &needs(&p, 480).unwrap(), &shape).is_some());
    assert!(rewrite(&p, &needs(&p, 0).unwrap(), &shape).is_none(), "another time zone, other days");
}

#[test]
fn a_rollup_by_month_covers_whole_months_only() {
    let by_day = planned(json!({"form": "iqc", "dimensions": [{"field": "received_on", "bucket": "month"}],
        "filter": {"field": "received_on", "op": "relative", "value": "last_30_days"},
        "measures": [{"fn": "count", "as": "n"}]}));
    let shape = needs(&by_day, 480).unwrap().shape(&[]).unwrap();
    let by_month = shape.by_month().expect("a day key gives a rollup by month");
    assert!(by_month.weight() < shape.weight());
    let month_plan = |spec: Value| {
        let p = planned(spec);
        let n = needs(&p, 480).unwrap();
        rewrite(&p, &n, &by_month)
    };
    let range = |from: &str, to: &str| {
        json!({"form": "iqc", "dimensions": [{"field": "received_on", "bucket": "quarter"}],
               "filter": {"field": "received_on", "op": "between", "value": [from, to]},
               "measures": [{"fn": "count", "as": "n"}]})
    };
    let covered = month_plan(range("2026-01-01", "2026-02-28")).expect("whole months");
    assert!(covered.dimensions[0].month);
    assert!(month_plan(range("2026-01-01", "2026-02-27")).is_none(), "a range ending mid-month");
    assert!(month_plan(range("2026-01-02", "2026-02-28")).is_none(), "a range starting mid-month");
    let weekly = json!({"form": "iqc", "dimensions": [{"field": "received_on", "bucket": "week"}],
        "measures": [{"fn": "count", "as": "n"}]});
    assert!(month_plan(weekly).is_none(), "weeks need days");
}
