//! Control charts as reports: the database aggregates each subgroup, the engine computes the
//! limits and run rules from the aggregates; checked against the engine's own computation
//! over the raw values (a different path through `engine::qms::spc`), on both databases.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use engine::qms::rules::RuleSet;
use engine::qms::spc::{self, Constants, Sample};
use serde_json::{Value, json};

use crate::on_both;
use crate::support::{Session, TestApp, Xorshift};

const WS: &str = "/api/v1/workspaces/plant-c";
const DAYS: u32 = 130;

struct Patrol {
    line: &'static str,
    day: String,
    width: Vec<f64>,
    thickness: f64,
    checked: f64,
    defectives: f64,
}

fn generate() -> Vec<Patrol> {
    let mut random = Xorshift(0x9e37_79b9_7f4a_7c15);
    let mut next = move || random.below(10_000) as f64 / 10_000.0;
    let mut out = Vec::new();
    for d in 0..DAYS {
        let day = engine::report::add_days(engine::form::Date { year: 2026, month: 5, day: 1 }, i64::from(d));
        let day = engine::report::format_date(day);
        // The last nine days run high: a shift the run rules must see.
        let shift = if d >= DAYS - 9 { 0.02 } else { 0.0 };
        // Day 120 lost a sample: a subgroup of four, left out of the X-bar charts.
        let samples = if d == 120 { 4 } else { 5 };
        let width: Vec<f64> = (0..samples).map(|_| 10.0 + shift + (next() - 0.5) * 0.06).collect();
        let checked = [50.0, 80.0, 125.0][d as usize % 3];
        out.push(Patrol {
            line: "L1",
            day: day.clone(),
            width,
            thickness: 2.0 + (next() - 0.5) * 0.1,
            checked,
            defectives: (next() * 6.0).floor(),
        });
        // Another line's patrols, filtered out.
        out.push(Patrol { line: "L2", day, width: vec![50.0; 5], thickness: 9.0, checked: 10.0, defectives: 9.0 });
    }
    out
}

async fn seed(app: &TestApp, patrols: &[Patrol]) -> Session {
    let form = json!({"key": "ipqc", "name": "IPQC", "fields": [
        {"key": "line", "type": "text"},
        {"key": "day", "type": "date"},
        {"key": "width", "type": "measurement", "lsl": 9.95, "usl": 10.05, "samples": 5},
        {"key": "thickness", "type": "number"},
        {"key": "checked", "type": "number", "integer": true},
        {"key": "defectives", "type": "number", "integer": true}
    ]});
    let root = app.workspace_with_form("plant-c", json!({}), &form).await;
    app.insert_records(
        "ipqc",
        patrols.iter().enumerate().map(|(i, p)| {
            // Processed records hold `{"values": [...], "judgements": ...}`; bare lists are
            // accepted too: both shapes are charted.
            let width = if i % 4 < 2 { json!({"values": p.width, "result": "ok"}) } else { json!(p.width) };
            json!({"line": p.line, "day": p.day, "width": width, "thickness": p.thickness,
                   "checked": p.checked, "defectives": p.defectives})
        }),
    )
    .await;
    root
}

async fn chart(app: &TestApp, who: &Session, chart: Value, measures: Value) -> Value {
    let spec = json!({"form": "ipqc", "filter": {"field": "line", "op": "eq", "value": "L1"},
                      "dimensions": [{"field": "day", "bucket": "day"}], "measures": measures, "chart": chart});
    let (status, body) = app.send(who.request("POST", &format!("{WS}/reports/run"), Some(&spec))).await;
    assert_eq!(status, StatusCode::OK, "{spec} -> {body}");
    body["chart"].clone()
}

fn close(got: &Value, want: f64, what: &str) {
    let got = got.as_f64().unwrap_or_else(|| panic!("{what}: {got} is not a number"));
    assert!((got - want).abs() <= 1e-9 * want.abs().max(1.0), "{what}: {got} vs {want}");
}

fn same_chart(got: &Value, want: &spc::Chart, what: &str) {
    assert_eq!(got["points"].as_array().unwrap().len(), want.points.len(), "{what} points");
    for (i, p) in want.points.iter().enumerate() {
        close(&got["points"][i], *p, &format!("{what} point {i}"));
        close(&got["ucl"][i], want.ucl[i], &format!("{what} UCL {i}"));
        close(&got["lcl"][i], want.lcl[i], &format!("{what} LCL {i}"));
    }
    close(&got["center"], want.center, &format!("{what} CL"));
    assert_eq!(got["violations"], json!(want.violations), "{what} violations");
}

on_both!(control_charts_equal_the_engine_over_raw_values, |app: TestApp| async move {
    let patrols = generate();
    let root = seed(&app, &patrols).await;
    let ours: Vec<&Patrol> = patrols.iter().filter(|p| p.line == "L1").collect();
    // The latest 100 days, oldest first, as the chart shows them.
    let latest: Vec<&Patrol> = ours[ours.len() - 100..].to_vec();

    // X-bar/R over the measurement's samples; the four-sample day is excluded.
    let body = chart(
        &app,
        &root,
        json!({"kind": "xbar_r", "field": "width", "lsl": 9.95, "usl": 10.05}),
        json!([{"fn": "count", "as": "n"}]),
    )
    .await;
    let full: Vec<&Patrol> = latest.iter().copied().filter(|p| p.width.len() == 5).collect();
    let subgroups: Vec<Vec<f64>> = full.iter().map(|p| p.width.clone()).collect();
    let pair = spc::xbar_r(&subgroups, Constants::Exact).unwrap();
    let (x, r) = (pair.location.clone().flag(RuleSet::Nelson), pair.dispersion.clone().flag(RuleSet::Nelson));
    same_chart(&body["charts"][0], &x, "xbar");
    same_chart(&body["charts"][1], &r, "R");
    assert!(x.violations.iter().any(|v| v.rule == 2), "the shift breaks rule 2: {:?}", x.violations);
    assert_eq!(body["subgroup_size"], json!(5));
    assert_eq!(body["categories"].as_array().unwrap().len(), 99);
    assert_eq!(body["categories"][0], json!(full[0].day));
    assert_eq!(body["excluded"], json!([{"label": latest.iter().find(|p| p.width.len() == 4).unwrap().day, "n": 4.0}]));
    let values: Vec<f64> = subgroups.concat();
    let capability = spc::capability(&values, pair.sigma_within, Some(9.95), Some(10.05)).unwrap();
    for (key, want) in [("cp", capability.cp), ("cpk", capability.cpk), ("pp", capability.pp), ("ppk", capability.ppk)]
    {
        close(&body["capability"][key], want.unwrap(), key);
    }

    // X-bar/S with Western Electric rules.
    let body = chart(
        &app,
        &root,
        json!({"kind": "xbar_s", "field": "width", "rules": "western_electric"}),
        json!([{"fn": "count", "as": "n"}]),
    )
    .await;
    let pair = spc::xbar_s(&subgroups, Constants::Exact).unwrap();
    same_chart(&body["charts"][0], &pair.location.clone().flag(RuleSet::WesternElectric), "xbar (S)");
    same_chart(&body["charts"][1], &pair.dispersion.clone().flag(RuleSet::WesternElectric), "S");
    assert_eq!(body["capability"], Value::Null);

    // I-MR over a number field, one patrol a day; a limit of 30 keeps the latest 30.
    let spec = json!({"form": "ipqc", "filter": {"field": "line", "op": "eq", "value": "L1"},
        "dimensions": [{"field": "day"}], "measures": [{"fn": "count", "as": "n"}], "limit": 30,
        "chart": {"kind": "i_mr", "field": "thickness"}});
    let (status, body) = app.send(root.request("POST", &format!("{WS}/reports/run"), Some(&spec))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let values: Vec<f64> = ours[ours.len() - 30..].iter().map(|p| p.thickness).collect();
    let pair = spc::imr(&values, Constants::Exact).unwrap();
    same_chart(&body["chart"]["charts"][0], &pair.location.flag(RuleSet::Nelson), "I");
    same_chart(&body["chart"]["charts"][1], &pair.dispersion.flag(RuleSet::Nelson), "MR");
    // The table shows the report's own measures, never the hidden subgroup summaries.
    assert_eq!(body["columns"], json!([{"name": "day", "role": "dimension"}, {"name": "n", "role": "measure"}]));

    // p, np, c and u from the report's own measures.
    let measures =
        json!([{"fn": "sum", "field": "defectives", "as": "d"}, {"fn": "sum", "field": "checked", "as": "units"}]);
    let samples: Vec<Sample> = latest.iter().map(|p| Sample { count: p.defectives, size: p.checked }).collect();
    let body = chart(&app, &root, json!({"kind": "p", "count": "d", "size": "units"}), measures.clone()).await;
    same_chart(&body["charts"][0], &spc::p(&samples).unwrap().flag(RuleSet::Nelson), "p");
    let body = chart(&app, &root, json!({"kind": "u", "count": "d", "size": "units"}), measures.clone()).await;
    same_chart(&body["charts"][0], &spc::u(&samples).unwrap().flag(RuleSet::Nelson), "u");
    let body = chart(&app, &root, json!({"kind": "c", "count": "d"}), measures.clone()).await;
    let counts: Vec<f64> = samples.iter().map(|s| s.count).collect();
    same_chart(&body["charts"][0], &spc::c(&counts).unwrap().flag(RuleSet::Nelson), "c");
    // Sizes vary, so an np chart says why it cannot be drawn; the rest of the answer stands.
    let body = chart(&app, &root, json!({"kind": "np", "count": "d", "size": "units"}), measures).await;
    assert_eq!(body["error"]["code"], json!("unequal_samples"), "{body}");
});

on_both!(control_chart_specs_get_precise_errors, |app: TestApp| async move {
    let patrols: Vec<Patrol> = generate().into_iter().take(20).collect();
    let root = seed(&app, &patrols).await;
    let errors = |body: &Value| -> Vec<String> {
        let mut found: Vec<String> = body["details"]["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|e| format!("{} {}", e["path"].as_str().unwrap(), e["code"].as_str().unwrap()))
            .collect();
        found.sort();
        found
    };
    let cases: BTreeMap<&str, (Value, Vec<&str>)> = BTreeMap::from([
        (
            "no field",
            (
                json!({"form": "ipqc", "dimensions": [{"field": "day"}], "measures": [{"fn": "count", "as": "n"}], "chart": {"kind": "xbar_r"}}),
                vec!["/chart/field required"],
            ),
        ),
        (
            "two dimensions",
            (
                json!({"form": "ipqc", "dimensions": [{"field": "day"}, {"field": "line"}], "measures": [{"fn": "count", "as": "n"}], "chart": {"kind": "i_mr", "field": "thickness"}}),
                vec!["/dimensions invalid_definition"],
            ),
        ),
        (
            "text field",
            (
                json!({"form": "ipqc", "dimensions": [{"field": "day"}], "measures": [{"fn": "count", "as": "n"}], "chart": {"kind": "xbar_r", "field": "line"}}),
                vec!["/chart/field wrong_type"],
            ),
        ),
        (
            "unknown measure",
            (
                json!({"form": "ipqc", "dimensions": [{"field": "day"}], "measures": [{"fn": "count", "as": "n"}], "chart": {"kind": "p", "count": "d", "size": "n"}}),
                vec!["/chart/count unknown_reference"],
            ),
        ),
        (
            "measurement outside a chart",
            (
                json!({"form": "ipqc", "measures": [{"fn": "avg", "field": "width", "as": "w"}]}),
                vec!["/measures/0/field not_applicable"],
            ),
        ),
        (
            "limits crossed",
            (
                json!({"form": "ipqc", "dimensions": [{"field": "day"}], "measures": [{"fn": "count", "as": "n"}], "chart": {"kind": "xbar_r", "field": "width", "lsl": 2.0, "usl": 1.0}}),
                vec!["/chart/usl invalid_value"],
            ),
        ),
    ]);
    for (what, (spec, expected)) in cases {
        let (status, body) = app.send(root.request("POST", &format!("{WS}/reports/run"), Some(&spec))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
        assert_eq!(errors(&body), expected, "{what}");
    }
    // One subgroup of five cannot give an R chart's spread yet, but is not an error: the chart
    // says so.
    let spec = json!({"form": "ipqc", "filter": {"field": "day", "op": "eq", "value": "2026-05-01"}, "dimensions": [{"field": "day"}],
        "measures": [{"fn": "count", "as": "n"}], "chart": {"kind": "i_mr", "field": "thickness"}});
    let (status, body) = app.send(root.request("POST", &format!("{WS}/reports/run"), Some(&spec))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["chart"]["error"]["code"], json!("too_few_points"), "{body}");
});
