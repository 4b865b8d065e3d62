//! Dashboards with shared filters, drill-down to records and streamed CSV/XLSX export, each
//! checked against the generated records worked out in plain Rust, on both databases.

use std::collections::BTreeMap;
use std::io::Read;

use axum::http::StatusCode;
use http_body_util::BodyExt;
use serde_json::{Value, json};

use crate::on_both;
use crate::support::{Session, TestApp, Xorshift};

const PASSWORD: &str = "correct horse battery";
const WS: &str = "/api/v1/workspaces/plant-d";
const CODES: [&str; 3] = ["scratch", "dent", "burr"];

#[derive(Clone, Debug)]
struct Lot {
    supplier: String,
    received_on: String,
    defects: f64,
    units: f64,
    result: &'static str,
    codes: Vec<&'static str>,
    note: String,
}

fn generate() -> Vec<Lot> {
    let mut random = Xorshift(0x1234_5678_9abc_def1);
    let mut next = move |n: u64| random.below(n);
    (0..420)
        .map(|i| {
            let defects = next(4) as f64;
            Lot {
                supplier: format!("s{}", next(5) + 1),
                received_on: format!("2026-{:02}-{:02}", next(3) + 1, next(28) + 1),
                defects,
                units: 50.0,
                result: if defects >= 2.0 { "reject" } else { "accept" },
                codes: CODES
                    .iter()
                    .enumerate()
                    .filter(|(c, _)| defects > 0.0 && next(3) <= *c as u64)
                    .map(|(_, c)| *c)
                    .collect(),
                // Text a spreadsheet would run as a formula, and text that needs quoting.
                note: match i % 3 {
                    0 => "=HYPERLINK(\"http://evil\")".into(),
                    1 => "line one, \"quoted\"\nline two".into(),
                    _ => "批次正常".into(),
                },
            }
        })
        .collect()
}

fn form() -> Value {
    json!({"key": "iqc", "name": "IQC", "fields": [
        {"key": "supplier", "type": "text", "label": {"en": "Supplier", "zh-CN": "供应商"}},
        {"key": "received_on", "type": "date"},
        {"key": "defects", "type": "number", "integer": true},
        {"key": "units", "type": "number", "integer": true},
        {"key": "result", "type": "select", "options": [{"value": "accept"}, {"value": "reject"}]},
        {"key": "defect_codes", "type": "multiselect", "options": CODES.iter().map(|c| json!({"value": c})).collect::<Vec<_>>()},
        {"key": "note", "type": "text"},
        {"key": "cost", "type": "number", "access": {"read": ["admin"]}}
    ]})
}

async fn seed(app: &TestApp, lots: &[Lot]) -> Session {
    let root = app.workspace_with_form("plant-d", json!({}), &form()).await;
    app.insert_records(
        "iqc",
        lots.iter().map(|l| {
            json!({"supplier": l.supplier, "received_on": l.received_on, "defects": l.defects, "units": l.units,
                   "result": l.result, "defect_codes": l.codes, "note": l.note, "cost": 7})
        }),
    )
    .await;
    root
}

fn cockpit() -> Value {
    let t = |en: &str, zh: &str| json!({"en": en, "zh-CN": zh});
    json!({"key": "cockpit", "name": t("Supplier quality", "供应商质量"),
    "filters": [{"key": "period", "kind": "date_range", "label": t("Period", "期间")},
                {"key": "supplier", "kind": "values", "label": t("Supplier", "供应商")}],
    "widgets": [
        {"key": "ranking", "title": t("Pass rate ranking", "合格率排名"), "x": 0, "y": 0, "w": 6, "h": 4,
         "filters": {"period": "received_on", "supplier": "supplier"},
         "report": {"form": "iqc", "dimensions": [{"field": "supplier"}],
                    "measures": [{"fn": "count", "as": "lots"},
                                 {"fn": "rate", "when": {"field": "result", "op": "eq", "value": "accept"}, "as": "pass_rate"}],
                    "sort": [{"by": "pass_rate", "desc": true}], "chart": {"kind": "ranking"}}},
        {"key": "ppm", "title": t("PPM trend", "PPM 趋势"), "x": 6, "y": 0, "w": 6, "h": 4,
         "filters": {"period": "received_on", "supplier": "supplier"},
         "report": {"form": "iqc", "dimensions": [{"field": "received_on", "bucket": "month"}],
                    "measures": [{"fn": "ppm", "defects": "defects", "units": "units", "as": "ppm"}], "chart": {"kind": "line"}}},
        {"key": "pareto", "title": t("Defect Pareto", "缺陷柏拉图"), "x": 0, "y": 4, "w": 12, "h": 4,
         "filters": {"supplier": "supplier"},
         "report": {"form": "iqc", "dimensions": [{"field": "defect_codes"}],
                    "measures": [{"fn": "count", "as": "n"}], "chart": {"kind": "pareto"}}},
        {"key": "cost", "title": t("Cost", "成本"), "x": 0, "y": 8, "w": 4, "h": 2,
         "report": {"form": "iqc", "measures": [{"fn": "sum", "field": "cost", "as": "cost"}], "chart": {"kind": "kpi"}}}
    ]})
}

fn rows_by_label(result: &Value) -> BTreeMap<String, Vec<f64>> {
    result["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let row = row.as_array().unwrap();
            (
                row[0].as_str().unwrap_or("(none)").to_owned(),
                row[1..].iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect(),
            )
        })
        .collect()
}

fn widget<'a>(body: &'a Value, key: &str) -> &'a Value {
    body["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["key"] == json!(key))
        .unwrap_or_else(|| panic!("{key} in {body}"))
}

on_both!(dashboards_apply_shared_filters_and_answer_per_widget, |app: TestApp| async move {
    let lots = generate();
    let root = seed(&app, &lots).await;
    let (status, body) = app.send(root.request("POST", &format!("{WS}/dashboards"), Some(&cockpit()))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["version"], json!(1));

    // Filtered to two suppliers and February: every widget that maps the filters obeys them.
    let filters = json!({"filters": {"supplier": ["s1", "s2"], "period": {"from": "2026-02-01", "to": "2026-02-28"}}});
    let (status, body) = app.send(root.request("POST", &format!("{WS}/dashboards/cockpit/run"), Some(&filters))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let chosen: Vec<&Lot> = lots
        .iter()
        .filter(|l| ["s1", "s2"].contains(&l.supplier.as_str()) && l.received_on.starts_with("2026-02"))
        .collect();
    let ranking = rows_by_label(&widget(&body, "ranking")["result"]);
    let mut expected = BTreeMap::new();
    for supplier in ["s1", "s2"] {
        let of: Vec<&&Lot> = chosen.iter().filter(|l| l.supplier == supplier).collect();
        let pass = of.iter().filter(|l| l.result == "accept").count() as f64 / of.len() as f64;
        expected.insert(supplier.to_owned(), vec![of.len() as f64, pass]);
    }
    assert_eq!(ranking.len(), 2);
    for (k, v) in &expected {
        assert!(
            (ranking[k][0] - v[0]).abs() < 1e-9 && (ranking[k][1] - v[1]).abs() < 1e-9,
            "{k}: {:?} vs {v:?}",
            ranking[k]
        );
    }
    let ppm = rows_by_label(&widget(&body, "ppm")["result"]);
    let defects: f64 = chosen.iter().map(|l| l.defects).sum();
    let units: f64 = chosen.iter().map(|l| l.units).sum();
    assert_eq!(ppm.keys().collect::<Vec<_>>(), ["2026-02"]);
    assert!((ppm["2026-02"][0] - defects / units * 1e6).abs() < 1e-6);
    // The Pareto maps only the supplier filter: all three months of s1 and s2.
    let pareto = rows_by_label(&widget(&body, "pareto")["result"]);
    for code in CODES {
        let n = lots.iter().filter(|l| ["s1", "s2"].contains(&l.supplier.as_str()) && l.codes.contains(&code)).count()
            as f64;
        assert_eq!(pareto[code][0], n, "{code}");
    }
    assert_eq!(widget(&body, "cost")["result"]["rows"][0][0], json!(7.0 * lots.len() as f64));
    assert_eq!(widget(&body, "ranking")["title"], json!("Pass rate ranking"));

    // A viewer reads the dashboard; the widget over a field only admins read carries an
    // error while the rest answer. Viewers cannot change dashboards.
    app.create_user("member", PASSWORD, false).await;
    let (status, _) = app
        .send(root.request("PUT", &format!("{WS}/members"), Some(&json!({"username": "member", "roles": ["viewer"]}))))
        .await;
    assert_eq!(status, StatusCode::OK);
    let member = app.login("member", PASSWORD).await.with_lang("zh-CN");
    let (status, body) =
        app.send(member.request("POST", &format!("{WS}/dashboards/cockpit/run"), Some(&json!({})))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(widget(&body, "cost")["error"]["code"], json!("validation_failed"), "{body}");
    assert_eq!(
        rows_by_label(&widget(&body, "ranking")["result"]).values().map(|v| v[0]).sum::<f64>(),
        lots.len() as f64
    );
    assert_eq!(widget(&body, "ranking")["title"], json!("合格率排名"));
    let (status, _) = app.send(member.request("PUT", &format!("{WS}/dashboards/cockpit"), Some(&cockpit()))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.send(member.request("DELETE", &format!("{WS}/dashboards/cockpit"), None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Unknown filter keys and wrong filter values are refused; another workspace sees nothing.
    let (status, body) = app
        .send(root.request(
            "POST",
            &format!("{WS}/dashboards/cockpit/run"),
            Some(&json!({"filters": {"plant": ["x"]}})),
        ))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app
        .send(root.request(
            "POST",
            &format!("{WS}/dashboards/cockpit/run"),
            Some(&json!({"filters": {"supplier": "s1"}})),
        ))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    app.send(root.request("POST", "/api/v1/workspaces", Some(&json!({"slug": "plant-y", "name": "Y"})))).await;
    for (method, path) in
        [("GET", "/dashboards/cockpit"), ("POST", "/dashboards/cockpit/run"), ("DELETE", "/dashboards/cockpit")]
    {
        let (status, _) =
            app.send(root.request(method, &format!("/api/v1/workspaces/plant-y{path}"), Some(&json!({})))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
    }

    // Saving bumps the version; deleting removes it.
    let mut changed = cockpit();
    changed["widgets"][0]["w"] = json!(12);
    let (status, body) = app.send(root.request("PUT", &format!("{WS}/dashboards/cockpit"), Some(&changed))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], json!(2));
    let (status, body) = app.send(root.request("GET", &format!("{WS}/dashboards"), None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"][0]["definition"]["widgets"][0]["w"], json!(12));
    let (status, _) = app.send(root.request("DELETE", &format!("{WS}/dashboards/cockpit"), None)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.send(root.request("GET", &format!("{WS}/dashboards/cockpit"), None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
});

on_both!(bad_dashboards_get_precise_errors, |app: TestApp| async move {
    let lots: Vec<Lot> = generate().into_iter().take(5).collect();
    let root = seed(&app, &lots).await;
    let mut bad = cockpit();
    bad["widgets"][0]["report"]["measures"][0]["field"] = json!("x");
    bad["widgets"][0]["report"]["dimensions"][0]["field"] = json!("vendor");
    bad["widgets"][1]["key"] = json!("ranking");
    bad["widgets"][1]["filters"]["plant"] = json!("supplier");
    bad["widgets"][2]["filters"]["supplier"] = json!("vendor");
    bad["widgets"][2]["title"] = json!({"en": "Pareto"});
    bad["widgets"][3]["report"]["form"] = json!("nope");
    bad["widgets"][3]["x"] = json!(10);
    let (status, body) = app.send(root.request("POST", &format!("{WS}/dashboards"), Some(&bad))).await;
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
            "/widgets/0/report/dimensions/0/field unknown_field",
            "/widgets/1/filters/plant unknown_reference",
            "/widgets/1/key duplicate_key",
            "/widgets/2/filters/supplier unknown_field",
            "/widgets/2/title required",
            "/widgets/3/report/form unknown_reference",
            "/widgets/3/w invalid_value",
        ]
    );
    let (status, _) = app.send(root.request("GET", &format!("{WS}/dashboards/cockpit"), None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing was saved");
});

on_both!(drill_down_reaches_the_records_behind_each_element, |app: TestApp| async move {
    let lots = generate();
    let root = seed(&app, &lots).await;
    let report = json!({"form": "iqc", "dimensions": [{"field": "supplier", "top": 2}], "measures": [{"fn": "count", "as": "n"}]});
    let drill = |point: Value, limit: u64, after: Option<String>| json!({"report": report.clone(), "point": point, "limit": limit, "after": after});
    // Every page of a drill-down, following the cursor.
    async fn all(app: &TestApp, who: &Session, body: impl Fn(Option<String>) -> Value) -> Vec<Value> {
        let mut items = Vec::new();
        let mut after = None;
        loop {
            let (status, page) =
                app.send(who.request("POST", &format!("{WS}/reports/records"), Some(&body(after.clone())))).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_after"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => return items,
            }
        }
    }
    let (_, result) = app.send(root.request("POST", &format!("{WS}/reports/run"), Some(&report))).await;
    let top: Vec<String> = result["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r[0].as_str())
        .filter(|s| *s != "__others__")
        .map(str::to_owned)
        .collect();
    assert_eq!(top.len(), 2);
    let records = all(&app, &root, |after| drill(json!({"supplier": top[0]}), 7, after)).await;
    assert_eq!(records.len(), lots.iter().filter(|l| l.supplier == top[0]).count());
    assert!(records.iter().all(|r| r["data"]["supplier"] == json!(top[0])));
    let others = all(&app, &root, |after| drill(json!({"supplier": "__others__"}), 50, after)).await;
    assert_eq!(others.len(), lots.iter().filter(|l| !top.contains(&l.supplier)).count());

    // A month bucket, a list option, and "no value".
    let by_month = json!({"form": "iqc", "dimensions": [{"field": "received_on", "bucket": "month"}, {"field": "defect_codes"}], "measures": [{"fn": "count", "as": "n"}]});
    let body = |point: Value| json!({"report": by_month.clone(), "point": point, "limit": 500});
    let (status, page) = app
        .send(root.request(
            "POST",
            &format!("{WS}/reports/records"),
            Some(&body(json!({"received_on": "2026-02", "defect_codes": "dent"}))),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let expected = lots.iter().filter(|l| l.received_on.starts_with("2026-02") && l.codes.contains(&"dent")).count();
    assert_eq!(page["items"].as_array().unwrap().len(), expected);
    let (_, page) = app
        .send(root.request("POST", &format!("{WS}/reports/records"), Some(&body(json!({"defect_codes": null})))))
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), lots.iter().filter(|l| l.codes.is_empty()).count(), "{page}");
    let (status, page) = app
        .send(root.request("POST", &format!("{WS}/reports/records"), Some(&body(json!({"received_on": "2026-13"})))))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    let (status, _) =
        app.send(root.request("POST", &format!("{WS}/reports/records"), Some(&body(json!({"vendor": "x"}))))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A viewer never sees the admin-only field in the records.
    app.create_user("member", PASSWORD, false).await;
    app.send(root.request("PUT", &format!("{WS}/members"), Some(&json!({"username": "member", "roles": ["viewer"]}))))
        .await;
    let member = app.login("member", PASSWORD).await;
    let (_, page) = app
        .send(member.request(
            "POST",
            &format!("{WS}/reports/records"),
            Some(&drill(json!({"supplier": top[0]}), 3, None)),
        ))
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert!(page["items"].as_array().unwrap().iter().all(|r| r["data"].get("cost").is_none()), "{page}");
});

fn csv_records(text: &str) -> Vec<Vec<String>> {
    // A minimal RFC 4180 reader for the test: quoted fields with doubled quotes and breaks.
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

on_both!(exports_stream_csv_and_xlsx, |app: TestApp| async move {
    let lots = generate();
    let root = seed(&app, &lots).await;
    let report =
        json!({"form": "iqc", "dimensions": [{"field": "supplier"}], "measures": [{"fn": "count", "as": "n"}]});
    let export = |body: Value| {
        let app = &app;
        let root = &root;
        async move {
            let response = app.raw(root.request("POST", &format!("{WS}/reports/export"), Some(&body))).await;
            let status = response.status();
            let kind = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
            let bytes = response.into_body().collect().await.unwrap().to_bytes().to_vec();
            (status, kind, bytes)
        }
    };
    // The report's table as CSV.
    let (status, kind, bytes) = export(json!({"report": report, "format": "csv"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind.as_deref(), Some("text/csv; charset=utf-8"));
    let rows = csv_records(&String::from_utf8(bytes).unwrap());
    assert_eq!(rows[0], ["supplier", "n"]);
    let total: f64 = rows[1..].iter().map(|r| r[1].parse::<f64>().unwrap()).sum();
    assert_eq!(total, lots.len() as f64);

    // The records behind one supplier: every one, labels as headers, formulas defused,
    // quotes and line breaks kept.
    let (status, _, bytes) = export(json!({"report": report, "format": "csv", "point": {"supplier": "s3"}})).await;
    assert_eq!(status, StatusCode::OK);
    let rows = csv_records(&String::from_utf8(bytes).unwrap());
    assert_eq!(&rows[0][..4], ["id", "created_at", "created_by", "Supplier"]);
    let ours: Vec<&Lot> = lots.iter().filter(|l| l.supplier == "s3").collect();
    assert_eq!(rows.len() - 1, ours.len());
    let note = rows[0].iter().position(|h| h == "note").unwrap();
    let notes: Vec<&str> = rows[1..].iter().map(|r| r[note].as_str()).collect();
    assert!(notes.contains(&"'=HYPERLINK(\"http://evil\")"), "{notes:?}");
    assert!(notes.contains(&"line one, \"quoted\"\nline two"), "{notes:?}");
    assert!(notes.contains(&"批次正常"));
    assert!(rows[1..].iter().all(|r| r[1] == "2026-09-21T14:13:20Z"), "{:?}", rows[1]);

    // All records as XLSX: a workbook whose sheet holds every row.
    let (status, kind, bytes) = export(json!({"report": report, "format": "xlsx", "records": true})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind.as_deref(), Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("an xlsx is a zip archive");
    let mut sheet = String::new();
    archive.by_name("xl/worksheets/sheet1.xml").unwrap().read_to_string(&mut sheet).unwrap();
    assert_eq!(sheet.matches("<row ").count(), lots.len() + 1, "header and every record");
    assert!(sheet.contains("批次正常") || archive.by_name("xl/sharedStrings.xml").is_ok());

    let (status, _, _) = export(json!({"report": report, "format": "pdf"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
});
