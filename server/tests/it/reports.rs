//! Reports against an independent computation: generated IQC records are inserted directly,
//! every report's answer from the database is compared with the same numbers worked out in
//! plain Rust over the generated rows, on SQLite and PostgreSQL.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::on_both;
use crate::support::{Session, TestApp, Xorshift};

const PASSWORD: &str = "correct horse battery";

const RECORDS: usize = 50_000;
const WS: &str = "/api/v1/workspaces/plant-r";
const CODES: [&str; 5] = ["scratch", "dent", "burr", "rust", "size"];

/// One generated IQC record, as plain Rust values.
#[derive(Clone, Debug)]
struct Row {
    supplier: String,
    part: String,
    received_on: String,
    /// UTC, with the local (UTC+8) date and hour worked out here.
    inspected_at: String,
    local_month: String,
    sample_size: f64,
    defects: f64,
    result: &'static str,
    codes: Vec<&'static str>,
    urgent: bool,
}

fn generate() -> Vec<Row> {
    let mut random = Xorshift(0x2545_f491_4f6c_dd1d);
    let mut next = move |n: u64| random.below(n);
    (0..RECORDS)
        .map(|_| {
            let supplier = next(20);
            let month = next(12) + 1;
            // One in ten on the month's last day, where UTC+8 moves late inspections into the
            // next month (and New Year's Eve into 2027).
            let last = engine::report::add_days(
                engine::form::Date { year: 2026 + i32::from(month == 12), month: (month % 12 + 1) as u8, day: 1 },
                -1,
            )
            .day as u64;
            let day = if next(10) == 0 { last } else { next(28) + 1 };
            // Hours near midnight UTC move the local date to the next day (and month).
            let hour = next(24);
            let defects = if next(10) < 2 + supplier % 3 { next(6) + 1 } else { 0 };
            let mut codes = Vec::new();
            for (i, code) in CODES.iter().enumerate() {
                if defects > 0 && next(5) <= i as u64 % 3 {
                    codes.push(*code);
                }
            }
            let local = engine::report::add_days(
                engine::form::Date { year: 2026, month: month as u8, day: day as u8 },
                i64::from(hour >= 16),
            );
            Row {
                supplier: format!("sup-{supplier:02}"),
                part: format!("P-{}", next(40)),
                received_on: format!("2026-{month:02}-{day:02}"),
                inspected_at: format!("2026-{month:02}-{day:02}T{hour:02}:30:00Z"),
                local_month: format!("{}-{:02}", local.year, local.month),
                sample_size: (next(5) * 20 + 20) as f64,
                defects: defects as f64,
                result: if defects > 2 { "reject" } else { "accept" },
                codes,
                urgent: next(7) == 0,
            }
        })
        .collect()
}

fn form() -> Value {
    json!({"key": "iqc", "name": "IQC", "fields": [
        {"key": "supplier", "type": "text", "required": true},
        {"key": "part", "type": "text"},
        {"key": "received_on", "type": "date"},
        {"key": "inspected_at", "type": "datetime"},
        {"key": "sample_size", "type": "number", "integer": true},
        {"key": "defects", "type": "number", "integer": true},
        {"key": "result", "type": "select", "options": [{"value": "accept"}, {"value": "reject"}]},
        {"key": "defect_codes", "type": "multiselect", "options": CODES.iter().map(|c| json!({"value": c})).collect::<Vec<_>>()},
        {"key": "urgent", "type": "boolean"},
        {"key": "cost", "type": "number", "access": {"read": ["admin"]}}
    ]})
}

async fn seed(app: &TestApp, rows: &[Row]) -> Session {
    let root = app.workspace_with_form("plant-r", json!({"utc_offset_minutes": 480}), &form()).await;
    app.insert_records(
        "iqc",
        rows.iter().map(|row| {
            json!({
                "supplier": row.supplier, "part": row.part, "received_on": row.received_on,
                "inspected_at": row.inspected_at, "sample_size": row.sample_size, "defects": row.defects,
                "result": row.result, "defect_codes": row.codes, "urgent": row.urgent, "cost": 1
            })
        }),
    )
    .await;
    root
}

async fn run(app: &TestApp, who: &Session, spec: Value) -> Value {
    let (status, body) = app.send(who.request("POST", &format!("{WS}/reports/run"), Some(&spec))).await;
    assert_eq!(status, StatusCode::OK, "{spec} -> {body}");
    body
}

/// The answer's rows as (dimension values joined by `|`, measures).
fn groups(body: &Value, dimensions: usize) -> BTreeMap<String, Vec<f64>> {
    body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let row = row.as_array().unwrap();
            let key: Vec<String> = row[..dimensions].iter().map(|v| v.as_str().unwrap_or("∅").to_owned()).collect();
            (key.join("|"), row[dimensions..].iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect())
        })
        .collect()
}

/// Compares two group maps; measures to a relative 1e-9.
fn check(label: &str, got: &BTreeMap<String, Vec<f64>>, expected: &BTreeMap<String, Vec<f64>>) {
    assert_eq!(got.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "{label}: groups");
    for (key, values) in expected {
        for (a, b) in got[key].iter().zip(values) {
            assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{label} {key}: got {a}, expected {b}");
        }
    }
}

fn by<K: Ord>(rows: &[Row], key: impl Fn(&Row) -> K) -> BTreeMap<K, Vec<&Row>> {
    let mut out: BTreeMap<K, Vec<&Row>> = BTreeMap::new();
    for row in rows {
        out.entry(key(row)).or_default().push(row);
    }
    out
}

on_both!(reports_equal_an_independent_computation, |app: TestApp| async move {
    let rows = generate();
    let root = seed(&app, &rows).await;

    // Count, count distinct, sum, avg, min, max, rate and PPM by supplier.
    let body = run(
        &app,
        &root,
        json!({"form": "iqc", "dimensions": [{"field": "supplier"}], "measures": [
            {"fn": "count", "as": "lots"},
            {"fn": "count_distinct", "field": "part", "as": "parts"},
            {"fn": "sum", "field": "defects", "as": "defects"},
            {"fn": "avg", "field": "sample_size", "as": "avg_sample"},
            {"fn": "min", "field": "defects", "as": "min_defects"},
            {"fn": "max", "field": "defects", "as": "max_defects"},
            {"fn": "rate", "when": {"field": "result", "op": "eq", "value": "accept"}, "as": "pass_rate"},
            {"fn": "ppm", "defects": "defects", "units": "sample_size", "as": "ppm"}
        ]}),
    )
    .await;
    let expected = by(&rows, |r| r.supplier.clone())
        .into_iter()
        .map(|(supplier, group)| {
            let n = group.len() as f64;
            let defects: f64 = group.iter().map(|r| r.defects).sum();
            let units: f64 = group.iter().map(|r| r.sample_size).sum();
            let parts = by(&group.iter().map(|r| (*r).clone()).collect::<Vec<_>>(), |r| r.part.clone()).len() as f64;
            (
                supplier,
                vec![
                    n,
                    parts,
                    defects,
                    units / n,
                    group.iter().map(|r| r.defects).fold(f64::INFINITY, f64::min),
                    group.iter().map(|r| r.defects).fold(0.0, f64::max),
                    group.iter().filter(|r| r.result == "accept").count() as f64 / n,
                    defects * 1e6 / units,
                ],
            )
        })
        .collect();
    check("by supplier", &groups(&body, 1), &expected);

    // Ranking by pass rate, worst first, limited: the order is the independent order.
    let body = run(
        &app,
        &root,
        json!({"form": "iqc", "dimensions": [{"field": "supplier"}],
        "measures": [{"fn": "rate", "when": {"field": "result", "op": "eq", "value": "accept"}, "as": "pass_rate"}],
        "sort": [{"by": "pass_rate"}], "limit": 5, "chart": {"kind": "ranking"}}),
    )
    .await;
    let mut ranked: Vec<(f64, String)> = by(&rows, |r| r.supplier.clone())
        .into_iter()
        .map(|(s, g)| (g.iter().filter(|r| r.result == "accept").count() as f64 / g.len() as f64, s))
        .collect();
    ranked.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then(a.1.cmp(&b.1)));
    let labels: Vec<Value> = body["chart"]["items"].as_array().unwrap().iter().map(|i| i["label"].clone()).collect();
    let expected: Vec<Value> = ranked.iter().take(5).map(|(_, s)| json!(s)).collect();
    assert_eq!(labels, expected);
    assert_eq!(body["chart"]["items"][0]["rank"], json!(1));

    // PPM trend by month of the date field; stacked counts by local month of the datetime
    // (UTC+8: late-evening UTC inspections belong to the next local day) and result.
    let body = run(&app, &root, json!({"form": "iqc", "dimensions": [{"field": "received_on", "bucket": "month", "as": "month"}],
        "measures": [{"fn": "ppm", "defects": "defects", "units": "sample_size", "as": "ppm"}], "chart": {"kind": "line"}})).await;
    let expected = by(&rows, |r| r.received_on[..7].to_owned())
        .into_iter()
        .map(|(m, g)| {
            let d: f64 = g.iter().map(|r| r.defects).sum();
            let u: f64 = g.iter().map(|r| r.sample_size).sum();
            (m, vec![d * 1e6 / u])
        })
        .collect();
    check("ppm by month", &groups(&body, 1), &expected);
    assert_eq!(body["chart"]["categories"].as_array().unwrap().len(), 12);
    let body = run(
        &app,
        &root,
        json!({"form": "iqc",
        "dimensions": [{"field": "inspected_at", "bucket": "month"}, {"field": "result"}],
        "measures": [{"fn": "count", "as": "lots"}], "chart": {"kind": "stacked_bar"}}),
    )
    .await;
    let expected = by(&rows, |r| format!("{}|{}", r.local_month, r.result))
        .into_iter()
        .map(|(k, g)| (k, vec![g.len() as f64]))
        .collect();
    check("local month x result", &groups(&body, 2), &expected);
    assert!(body["chart"]["categories"].as_array().unwrap().contains(&json!("2027-01")), "UTC+8 spills into 2027");

    // Pareto over a multiselect: each chosen code counts once, with the running share.
    let body = run(
        &app,
        &root,
        json!({"form": "iqc", "dimensions": [{"field": "defect_codes", "as": "code"}],
        "filter": {"field": "defect_codes", "op": "exists", "value": true},
        "measures": [{"fn": "count", "as": "n"}, {"fn": "cumulative_share", "of": "n", "as": "share"}],
        "sort": [{"by": "n", "desc": true}], "chart": {"kind": "pareto"}}),
    )
    .await;
    let mut counts: BTreeMap<&str, f64> = BTreeMap::new();
    for row in &rows {
        for code in &row.codes {
            *counts.entry(code).or_default() += 1.0;
        }
    }
    let mut order: Vec<(&str, f64)> = counts.clone().into_iter().collect();
    order.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap().then(a.0.cmp(b.0)));
    let total: f64 = order.iter().map(|(_, n)| n).sum();
    let mut running = 0.0;
    for (i, (code, n)) in order.iter().enumerate() {
        running += n;
        let row = &body["rows"][i];
        assert_eq!(row[0], json!(code), "pareto order");
        assert_eq!(row[1].as_f64().unwrap(), *n);
        assert!((row[2].as_f64().unwrap() - running / total).abs() < 1e-12);
    }
    assert_eq!(body["chart"]["bars"].as_array().unwrap().len(), order.len());

    // Top 3 suppliers by lots and the rest folded into "others".
    let body = run(
        &app,
        &root,
        json!({"form": "iqc", "dimensions": [{"field": "supplier", "top": 3}],
        "measures": [{"fn": "count", "as": "lots"}, {"fn": "avg", "field": "defects", "as": "avg_defects"}],
        "sort": [{"by": "lots", "desc": true}]}),
    )
    .await;
    let mut sizes: Vec<(usize, String)> =
        by(&rows, |r| r.supplier.clone()).into_iter().map(|(s, g)| (g.len(), s)).collect();
    sizes.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let top: Vec<String> = sizes.iter().take(3).map(|(_, s)| s.clone()).collect();
    let expected = by(&rows, |r| if top.contains(&r.supplier) { r.supplier.clone() } else { "__others__".into() })
        .into_iter()
        .map(|(k, g)| (k, vec![g.len() as f64, g.iter().map(|r| r.defects).sum::<f64>() / g.len() as f64]))
        .collect();
    check("top 3 + others", &groups(&body, 1), &expected);
    assert_eq!(body["rows"][3][0], json!("__others__"), "others come last");

    // Filters: and/or/not, in, between on dates and numbers, contains, booleans.
    let filter = json!({"and": [
        {"or": [{"field": "supplier", "op": "in", "value": ["sup-01", "sup-02", "sup-03"]},
                {"field": "part", "op": "contains", "value": "p-1"}]},
        {"not": {"field": "result", "op": "eq", "value": "reject"}},
        {"field": "received_on", "op": "between", "value": ["2026-03-01", "2026-06-30"]},
        {"field": "sample_size", "op": "between", "value": [40, null]},
        {"field": "urgent", "op": "eq", "value": false}
    ]});
    let body = run(
        &app,
        &root,
        json!({"form": "iqc", "filter": filter, "measures": [{"fn": "count", "as": "n"}], "chart": {"kind": "kpi"}}),
    )
    .await;
    let expected = rows
        .iter()
        .filter(|r| {
            (["sup-01", "sup-02", "sup-03"].contains(&r.supplier.as_str()) || r.part.to_lowercase().contains("p-1"))
                && r.result != "reject"
                && r.received_on.as_str() >= "2026-03-01"
                && r.received_on.as_str() <= "2026-06-30"
                && r.sample_size >= 40.0
                && !r.urgent
        })
        .count();
    assert!(expected > 0);
    assert_eq!(body["chart"]["value"], json!(expected as f64));

    // A quarter bucket of a date field, and a funnel and pie on the same numbers.
    let body = run(
        &app,
        &root,
        json!({"form": "iqc", "dimensions": [{"field": "received_on", "bucket": "quarter", "as": "q"}],
        "measures": [{"fn": "count", "as": "n"}], "chart": {"kind": "pie"}}),
    )
    .await;
    let expected = by(&rows, |r| {
        let month: u32 = r.received_on[5..7].parse().unwrap();
        format!("2026-Q{}", month.div_ceil(3))
    })
    .into_iter()
    .map(|(k, g)| (k, vec![g.len() as f64]))
    .collect();
    check("quarters", &groups(&body, 1), &expected);
    let shares: f64 = body["chart"]["slices"].as_array().unwrap().iter().map(|s| s["share"].as_f64().unwrap()).sum();
    assert!((shares - 1.0).abs() < 1e-12);
});

on_both!(bad_reports_get_precise_errors_and_sql_in_values_is_data, |app: TestApp| async move {
    let rows: Vec<Row> = generate().into_iter().take(200).collect();
    let root = seed(&app, &rows).await;
    let spec = json!({"form": "iqc",
        "dimensions": [{"field": "colour"}, {"field": "supplier", "bucket": "month"}],
        "measures": [{"fn": "sum", "field": "supplier", "as": "x"}, {"fn": "count", "as": "x"},
                     {"fn": "rate", "as": "r"}, {"fn": "cumulative_share", "of": "nope", "as": "c"}],
        "filter": {"field": "defects", "op": "eq", "value": "three"},
        "sort": [{"by": "missing"}], "limit": 0});
    let (status, body) = app.send(root.request("POST", &format!("{WS}/reports/run"), Some(&spec))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let mut found: Vec<String> = body["details"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["path"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            "/dimensions/0/field unknown_field",
            "/dimensions/1/bucket not_applicable",
            "/filter/value wrong_type",
            "/limit invalid_value",
            "/measures/0/field wrong_type",
            "/measures/1/as duplicate_key",
            "/measures/2/when required",
            "/measures/3/of unknown_reference",
            "/sort/0/by unknown_reference",
        ]
    );
    let (status, body) = app
        .send(root.request(
            "POST",
            &format!("{WS}/reports/run"),
            Some(&json!({"form": "iqc", "measures": [{"fn": "median", "as": "m"}]})),
        ))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["details"]["errors"][0]["code"], json!("invalid_definition"));
    let (status, _) = app
        .send(root.request(
            "POST",
            &format!("{WS}/reports/run"),
            Some(&json!({"form": "nope", "measures": [{"fn": "count", "as": "n"}]})),
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A value full of SQL is only ever a value.
    for hostile in ["x' OR '1'='1", "sup-01'); DROP TABLE records; --", "\" OR 1=1 --"] {
        let body = run(
            &app,
            &root,
            json!({"form": "iqc", "filter": {"or": [
            {"field": "supplier", "op": "eq", "value": hostile},
            {"field": "defect_codes", "op": "eq", "value": hostile},
            {"field": "part", "op": "contains", "value": hostile}]},
            "measures": [{"fn": "count", "as": "n"}]}),
        )
        .await;
        assert_eq!(body["rows"][0][0], json!(0.0), "{hostile}");
    }
    let body = run(&app, &root, json!({"form": "iqc", "measures": [{"fn": "count", "as": "n"}]})).await;
    assert_eq!(body["rows"][0][0], json!(200.0), "the records are all still there");

    // A member who may not read `cost` cannot report on it; another workspace sees no form.
    app.create_user("member", PASSWORD, false).await;
    let (status, _) = app
        .send(root.request("PUT", &format!("{WS}/members"), Some(&json!({"username": "member", "roles": ["member"]}))))
        .await;
    assert_eq!(status, StatusCode::OK);
    let member = app.login("member", PASSWORD).await;
    let (status, body) = app
        .send(member.request(
            "POST",
            &format!("{WS}/reports/run"),
            Some(&json!({"form": "iqc", "measures": [{"fn": "sum", "field": "cost", "as": "c"}]})),
        ))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["details"]["errors"][0]["code"], json!("unknown_field"));
    app.send(root.request("POST", "/api/v1/workspaces", Some(&json!({"slug": "plant-z", "name": "Z"})))).await;
    let (status, _) = app
        .send(root.request(
            "POST",
            "/api/v1/workspaces/plant-z/reports/run",
            Some(&json!({"form": "iqc", "measures": [{"fn": "count", "as": "n"}]})),
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Once the workspace has row policies of its own (decided per record by Cedar), a report
    // refuses rather than answer from a partial set.
    let policy = r#"permit (principal, action == Formwork::Action::"read", resource is Formwork::Record) when { context.roles.contains("member") };"#;
    let (status, body) = app.send(root.request("PUT", &format!("{WS}/policies"), Some(&json!({"text": policy})))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .send(member.request(
            "POST",
            &format!("{WS}/reports/run"),
            Some(&json!({"form": "iqc", "measures": [{"fn": "count", "as": "n"}]})),
        ))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], json!("report_not_available"), "{body}");
});
