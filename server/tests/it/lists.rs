//! Record lists: filters on any field (nested into subtable rows, measurements and
//! multiselects) with every operator, and sorting with keyset pages — each query's answer
//! compared with a brute-force evaluation over the same records, on both databases.

use std::cmp::Ordering;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::forms::plant;
use crate::on_both;
use crate::support::{Session, TestApp};

const RECORDS: &str = "/api/v1/workspaces/plant-a/forms/inspection/records";

fn inspection_form() -> Value {
    json!({"key": "inspection", "name": "Inspection", "fields": [
        {"key": "name", "type": "text"},
        {"key": "score", "type": "number"},
        {"key": "passed", "type": "boolean"},
        {"key": "day", "type": "date"},
        {"key": "tags", "type": "multiselect", "options": [{"value": "a"}, {"value": "b"}, {"value": "c"}]},
        {"key": "width", "type": "measurement", "lsl": 9.5, "usl": 10.5},
        {"key": "double", "type": "computed", "expr": "if type_of(score) == \"f64\" || type_of(score) == \"i64\" { score * 2 } else { () }"},
        {"key": "items", "type": "subtable", "fields": [
            {"key": "part", "type": "text"},
            {"key": "qty", "type": "number", "integer": true}
        ]}
    ]})
}

/// A deterministic mix of records, some with fields left out.
fn generated(i: u64) -> Value {
    let names = ["Bolt", "bolt M6", "Nut", "螺栓", "Washer", "垫圈 A"];
    let mut record = json!({"name": names[(i % 6) as usize]});
    if !i.is_multiple_of(5) {
        record["score"] = json!(((i * 37) % 23) as f64 / 2.0);
    }
    if !i.is_multiple_of(3) {
        record["passed"] = json!(i.is_multiple_of(2));
    }
    record["day"] = json!(format!("2026-0{}-1{}", 1 + i % 9, i % 10));
    let tags: Vec<&str> =
        ["a", "b", "c"].into_iter().enumerate().filter(|(k, _)| (i >> k) & 1 == 1).map(|(_, t)| t).collect();
    record["tags"] = json!(tags);
    if i % 4 != 1 {
        record["width"] = json!([9.0 + (i % 7) as f64 * 0.3, 10.0]);
    }
    let rows: Vec<Value> = (0..(i % 4))
        .map(|r| json!({"part": format!("P-{}", (i + r) % 5), "qty": ((i * (r + 1)) % 9) as i64}))
        .collect();
    record["items"] = json!(rows);
    record
}

async fn seed(app: &TestApp) -> (Session, Vec<Value>) {
    let (_, designer, _) = plant(app).await;
    let (status, body) =
        app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms", Some(&inspection_form()))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let path = "/api/v1/workspaces/plant-a/forms/inspection/publish";
    let (status, body) = app.send(designer.request("POST", path, Some(&json!({})))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut stored = Vec::new();
    for i in 0..40 {
        let (status, created) = app.send(designer.request("POST", RECORDS, Some(&generated(i)))).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        stored.push(created);
    }
    (designer, stored)
}

/// Every id the query returns, following `next_after` through pages of `limit`.
async fn all_ids(app: &TestApp, session: &Session, query: &str, limit: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let cursor = after.as_ref().map(|a| format!("&after={a}")).unwrap_or_default();
        let path = format!("{RECORDS}?limit={limit}&{query}{cursor}");
        let (status, page) = app.send(session.request("GET", &path, None)).await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit);
        ids.extend(items.iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        match page["next_after"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => return ids,
        }
        assert!(ids.len() <= 40, "{query}: pages never end");
    }
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// (query, brute-force predicate over a record's data).
type Case = (&'static str, fn(&Value) -> bool);

fn cases() -> Vec<Case> {
    vec![
        ("f.name=Nut", |d| d["name"] == "Nut"),
        ("f.name:ne=Nut", |d| d["name"] != "Nut"),
        ("f.name:contains=BOLT", |d| d["name"].as_str().is_some_and(|n| n.to_lowercase().contains("bolt"))),
        ("f.name:contains=%E8%9E%BA", |d| d["name"].as_str().is_some_and(|n| n.contains('螺'))),
        ("f.name:in=Nut,Washer", |d| d["name"] == "Nut" || d["name"] == "Washer"),
        ("f.name:gte=Nut", |d| d["name"].as_str().is_some_and(|n| n >= "Nut")),
        ("f.score:gt=5", |d| num(&d["score"]).is_some_and(|s| s > 5.0)),
        ("f.score:lte=3.5", |d| num(&d["score"]).is_some_and(|s| s <= 3.5)),
        ("f.score=4", |d| num(&d["score"]) == Some(4.0)),
        ("f.score:exists=false", |d| d.get("score").is_none_or(Value::is_null)),
        ("f.score:gt=2&f.score:lt=8", |d| num(&d["score"]).is_some_and(|s| s > 2.0 && s < 8.0)),
        ("f.passed=true", |d| d["passed"] == json!(true)),
        ("f.passed:ne=true", |d| d["passed"] != json!(true)),
        ("f.day:lt=2026-04-01", |d| d["day"].as_str().is_some_and(|s| s < "2026-04-01")),
        ("f.tags=b", |d| d["tags"].as_array().is_some_and(|t| t.contains(&json!("b")))),
        ("f.tags:ne=b", |d| !d["tags"].as_array().is_some_and(|t| t.contains(&json!("b")))),
        ("f.width.result=ng", |d| d["width"]["result"] == "ng"),
        ("f.width.values:gte=10.7", |d| {
            d["width"]["values"].as_array().is_some_and(|v| v.iter().any(|x| x.as_f64().unwrap() >= 10.7))
        }),
        ("f.width:exists=true", |d| d.get("width").is_some()),
        ("f.items.part=P-3", |d| d["items"].as_array().is_some_and(|r| r.iter().any(|row| row["part"] == "P-3"))),
        ("f.items.part=P-3&f.items.qty:gte=4", |d| {
            let rows = d["items"].as_array().cloned().unwrap_or_default();
            rows.iter().any(|r| r["part"] == "P-3") && rows.iter().any(|r| r["qty"].as_i64().unwrap() >= 4)
        }),
        ("f.items.part:ne=P-3", |d| !d["items"].as_array().is_some_and(|r| r.iter().any(|row| row["part"] == "P-3"))),
        ("f.double:gt=10", |d| num(&d["double"]).is_some_and(|s| s > 10.0)),
    ]
}

on_both!(filters_agree_with_a_brute_force_scan, |app: TestApp| async move {
    let (designer, stored) = seed(&app).await;
    for (query, predicate) in cases() {
        let expected: Vec<String> =
            stored.iter().filter(|r| predicate(&r["data"])).map(|r| r["id"].as_str().unwrap().to_owned()).collect();
        // Every case separates the records, so that a filter that matched all or none fails.
        assert!(!expected.is_empty() && expected.len() < stored.len(), "{query} selects {}", expected.len());
        assert_eq!(all_ids(&app, &designer, query, 7).await, expected, "{query}");
        let (_, counted) = app.send(designer.request("GET", &format!("{RECORDS}?{query}&total=true"), None)).await;
        assert_eq!(counted["total"], json!(expected.len()), "{query}");
    }
});

fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64().unwrap().total_cmp(&y.as_f64().unwrap()),
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

on_both!(sorted_pages_agree_with_a_sorted_scan, |app: TestApp| async move {
    let (designer, stored) = seed(&app).await;
    for (field, descending) in
        [("score", false), ("score", true), ("name", false), ("name", true), ("passed", false), ("day", true)]
    {
        let mut expected: Vec<&Value> = stored.iter().collect();
        let key = |r: &Value| r["data"].get(field).cloned().filter(|v| !v.is_null());
        expected.sort_by(|a, b| match (key(a), key(b)) {
            (Some(x), Some(y)) => {
                let by_value = compare(&x, &y).then_with(|| a["id"].as_str().cmp(&b["id"].as_str()));
                if descending { by_value.reverse() } else { by_value }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => {
                let by_id = a["id"].as_str().cmp(&b["id"].as_str());
                if descending { by_id.reverse() } else { by_id }
            }
        });
        let expected: Vec<String> = expected.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect();
        let sort = if descending { format!("sort=-{field}") } else { format!("sort={field}") };
        for limit in [4, 7, 50] {
            assert_eq!(all_ids(&app, &designer, &sort, limit).await, expected, "{sort} by {limit}");
        }
    }
    // Sorting and filtering together; the newest first by a column.
    let expected: Vec<String> = stored
        .iter()
        .rev()
        .filter(|r| r["data"]["tags"].as_array().unwrap().contains(&json!("a")))
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    // Newest first; records of one millisecond fall back to descending ids, which are
    // creation order too (UUID v7).
    assert_eq!(all_ids(&app, &designer, "sort=-created_at&f.tags=a", 5).await, expected);
    let (_, body) = app
        .send(designer.request("GET", &format!("{RECORDS}?sort=name&after=01900000-0000-7000-8000-000000000000"), None))
        .await;
    assert_eq!(body["code"], json!("invalid_query"));
});

on_both!(malformed_list_queries_are_refused, |app: TestApp| async move {
    let (designer, _) = seed(&app).await;
    for query in [
        "f.items.nope=1",
        "f.name.part=1",
        "f.width.other=1",
        "f.score:like=1",
        "f.score:contains=1",
        "f.passed:gt=true",
        "f.items=1",
        "f.score:exists=maybe",
        "f.score=abc",
        "sort=items",
        "sort=double",
        "sort=nope",
        "sort=name&order=desc",
        "f.name')%20OR%201=1--=x",
    ] {
        let (status, body) = app.send(designer.request("GET", &format!("{RECORDS}?{query}"), None)).await;
        assert_eq!(
            (status, body["code"].clone()),
            (StatusCode::BAD_REQUEST, json!("invalid_query")),
            "{query}: {body}"
        );
    }
});
