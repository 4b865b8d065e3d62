//! Report datasets beyond one form's records: fields of related records (`relation.key`,
//! joined in SQL) and subtable rows (`rows`), alone and together, against plain Rust.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::on_both;
use crate::support::{Session, TestApp, Xorshift};

const WS: &str = "/api/v1/workspaces/plant-j";
const NAMES: [&str; 3] = ["length", "width", "flatness"];

struct Inspection {
    supplier: usize,
    defects: f64,
    rows: Vec<(&'static str, &'static str)>,
}

struct Data {
    grades: Vec<&'static str>,
    regions: Vec<&'static str>,
    inspections: Vec<Inspection>,
}

fn generate() -> Data {
    let mut random = Xorshift(0x51ed_270b_2c4f_a3e9);
    let grades = (0..8).map(|i| ["A", "B", "C"][i % 3]).collect();
    let regions = (0..8).map(|i| if i < 5 { "east" } else { "west" }).collect();
    let inspections = (0..600)
        .map(|_| Inspection {
            // Supplier 8 does not exist: a dangling relation joins to nothing.
            supplier: random.below(9) as usize,
            defects: random.below(5) as f64,
            rows: NAMES
                .iter()
                .filter_map(|name| {
                    let kept = random.below(4) > 0;
                    let result = if random.below(5) == 0 { "ng" } else { "ok" };
                    kept.then_some((*name, result))
                })
                .collect(),
        })
        .collect();
    Data { grades, regions, inspections }
}

async fn seed(app: &TestApp, data: &Data) -> (Session, Vec<String>) {
    let supplier = json!({"key": "supplier", "name": "Supplier", "fields": [
        {"key": "name", "type": "text"},
        {"key": "grade", "type": "select", "options": [{"value": "A"}, {"value": "B"}, {"value": "C"}]},
        {"key": "region", "type": "text"},
        {"key": "bank", "type": "text", "access": {"read": ["admin"]}}
    ]});
    let root = app.workspace_with_form("plant-j", json!({}), &supplier).await;
    let iqc = json!({"key": "iqc", "name": "IQC", "fields": [
        {"key": "supplier_ref", "type": "relation", "form": "supplier", "display_field": "name"},
        {"key": "lot", "type": "text"},
        {"key": "defects", "type": "number", "integer": true},
        {"key": "characteristics", "type": "subtable", "fields": [
            {"key": "name", "type": "text"},
            {"key": "result", "type": "select", "options": [{"value": "ok"}, {"value": "ng"}]}
        ]}
    ]});
    let (status, body) = app.send(root.request("POST", &format!("{WS}/forms"), Some(&iqc))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app.send(root.request("POST", &format!("{WS}/forms/iqc/publish"), Some(&json!({})))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let suppliers = app
        .insert_records(
            "supplier",
            (0..8).map(
                |i| json!({"name": format!("S{i}"), "grade": data.grades[i], "region": data.regions[i], "bank": "x"}),
            ),
        )
        .await;
    let reference = |i: usize| suppliers.get(i).cloned().unwrap_or_else(|| "no-such-record".into());
    app.insert_records(
        "iqc",
        data.inspections.iter().enumerate().map(|(n, inspection)| {
            json!({"supplier_ref": reference(inspection.supplier), "lot": format!("L{n}"), "defects": inspection.defects,
                   "characteristics": inspection.rows.iter().map(|(name, result)| json!({"name": name, "result": result})).collect::<Vec<_>>()})
        }),
    )
    .await;
    (root, suppliers)
}

async fn run(app: &TestApp, who: &Session, spec: Value) -> BTreeMap<String, Vec<f64>> {
    let (status, body) = app.send(who.request("POST", &format!("{WS}/reports/run"), Some(&spec))).await;
    assert_eq!(status, StatusCode::OK, "{spec} -> {body}");
    body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let row = row.as_array().unwrap();
            let label = row
                .iter()
                .take_while(|v| !v.is_number())
                .map(|v| v.as_str().unwrap_or("-").to_owned())
                .collect::<Vec<_>>()
                .join("|");
            (label, row.iter().filter(|v| v.is_number()).map(|v| v.as_f64().unwrap()).collect())
        })
        .collect()
}

on_both!(reports_join_related_records_and_flatten_subtables, |app: TestApp| async move {
    let data = generate();
    let (root, _) = seed(&app, &data).await;
    let grade = |i: &Inspection| data.grades.get(i.supplier).copied().unwrap_or("-");

    // A related record's field as the dimension; the dangling relation has no grade.
    let got = run(
        &app,
        &root,
        json!({"form": "iqc", "dimensions": [{"field": "supplier_ref.grade"}],
        "measures": [{"fn": "count", "as": "n"}, {"fn": "sum", "field": "defects", "as": "d"}]}),
    )
    .await;
    let mut expected: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for i in &data.inspections {
        let e = expected.entry(grade(i).to_owned()).or_insert(vec![0.0, 0.0]);
        e[0] += 1.0;
        e[1] += i.defects;
    }
    assert_eq!(got, expected);

    // ...and as a filter.
    let got = run(
        &app,
        &root,
        json!({"form": "iqc", "filter": {"field": "supplier_ref.region", "op": "eq", "value": "east"},
        "measures": [{"fn": "count", "as": "n"}]}),
    )
    .await;
    let east = data.inspections.iter().filter(|i| data.regions.get(i.supplier) == Some(&"east")).count() as f64;
    assert_eq!(got[""], vec![east]);

    // One row per subtable row: the NG rate per characteristic.
    let got = run(&app, &root, json!({"form": "iqc", "rows": "characteristics", "dimensions": [{"field": "characteristics.name"}],
        "measures": [{"fn": "count", "as": "n"}, {"fn": "rate", "when": {"field": "characteristics.result", "op": "eq", "value": "ng"}, "as": "ng"}]})).await;
    for name in NAMES {
        let cells: Vec<&(&str, &str)> =
            data.inspections.iter().flat_map(|i| i.rows.iter()).filter(|(n, _)| *n == name).collect();
        let ng = cells.iter().filter(|(_, r)| *r == "ng").count() as f64 / cells.len() as f64;
        assert_eq!(got[name][0], cells.len() as f64, "{name}");
        assert!((got[name][1] - ng).abs() < 1e-12, "{name}");
    }

    // Both: NG cells per supplier grade, filtered on the record's own field.
    let got = run(&app, &root, json!({"form": "iqc", "rows": "characteristics",
        "filter": {"and": [{"field": "characteristics.result", "op": "eq", "value": "ng"}, {"field": "defects", "op": "gte", "value": 1}]},
        "dimensions": [{"field": "supplier_ref.grade"}], "measures": [{"fn": "count", "as": "n"}]})).await;
    let mut expected: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for i in data.inspections.iter().filter(|i| i.defects >= 1.0) {
        let ng = i.rows.iter().filter(|(_, r)| *r == "ng").count() as f64;
        if ng > 0.0 {
            expected.entry(grade(i).to_owned()).or_insert(vec![0.0])[0] += ng;
        }
    }
    assert_eq!(got, expected);

    // Drill-down from a flattened row reaches each record once.
    let body = json!({"report": {"form": "iqc", "rows": "characteristics", "dimensions": [{"field": "characteristics.result"}],
        "measures": [{"fn": "count", "as": "n"}]}, "point": {"characteristics.result": "ng"}, "limit": 500});
    let (status, page) = app.send(root.request("POST", &format!("{WS}/reports/records"), Some(&body))).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let with_ng = data.inspections.iter().filter(|i| i.rows.iter().any(|(_, r)| *r == "ng")).count();
    assert_eq!(page["items"].as_array().unwrap().len(), with_ng);
});

on_both!(paths_outside_the_dataset_or_the_callers_reach_are_unknown, |app: TestApp| async move {
    let data = generate();
    let (root, _) = seed(&app, &data).await;
    let errors = |body: &Value| -> Vec<String> {
        body["details"]["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|e| format!("{} {}", e["path"].as_str().unwrap(), e["code"].as_str().unwrap()))
            .collect()
    };
    for (spec, expected) in [
        (
            json!({"form": "iqc", "dimensions": [{"field": "characteristics.name"}], "measures": [{"fn": "count", "as": "n"}]}),
            "/dimensions/0/field unknown_field",
        ),
        (json!({"form": "iqc", "rows": "lot", "measures": [{"fn": "count", "as": "n"}]}), "/rows unknown_field"),
        (
            json!({"form": "iqc", "dimensions": [{"field": "lot.name"}], "measures": [{"fn": "count", "as": "n"}]}),
            "/dimensions/0/field unknown_field",
        ),
        (
            json!({"form": "iqc", "dimensions": [{"field": "supplier_ref.nope"}], "measures": [{"fn": "count", "as": "n"}]}),
            "/dimensions/0/field unknown_field",
        ),
    ] {
        let (status, body) = app.send(root.request("POST", &format!("{WS}/reports/run"), Some(&spec))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{spec}: {body}");
        assert_eq!(errors(&body), [expected], "{spec}");
    }
    // A viewer may not read the supplier's bank field, so cannot group by it either.
    app.create_user("viewer", "correct horse battery", false).await;
    app.send(root.request("PUT", &format!("{WS}/members"), Some(&json!({"username": "viewer", "roles": ["viewer"]}))))
        .await;
    let viewer = app.login("viewer", "correct horse battery").await;
    let spec = json!({"form": "iqc", "dimensions": [{"field": "supplier_ref.bank"}], "measures": [{"fn": "count", "as": "n"}]});
    let (status, body) = app.send(viewer.request("POST", &format!("{WS}/reports/run"), Some(&spec))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = app.send(root.request("POST", &format!("{WS}/reports/run"), Some(&spec))).await;
    assert_eq!(status, StatusCode::OK, "the administrator reads it");
});
