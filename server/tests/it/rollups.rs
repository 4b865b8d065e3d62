//! Rollups against the records: for every widget of a dashboard (and its shared filters),
//! the answer from the rollup's cells equals the answer computed from the records — after a
//! build in several chunks, after submissions, edits, deletions and restores through the
//! API (some while the rollup was half built), and after compaction; on SQLite and
//! PostgreSQL. A caller limited to their own records never gets the rollup's numbers.

use axum::http::StatusCode;
use engine::report::{Plan, ResultRow, form_kinds, parse_spec, plan};
use serde_json::{Value, json};

use crate::on_both;
use crate::support::{Session, TestApp, Xorshift};

const WS: &str = "/api/v1/workspaces/plant-u";
const CODES: [&str; 4] = ["scratch", "dent", "burr", "size"];

fn form() -> Value {
    json!({"key": "iqc", "name": "IQC", "fields": [
        {"key": "supplier", "type": "text", "required": true},
        {"key": "part", "type": "text"},
        {"key": "received_on", "type": "date"},
        {"key": "inspected_at", "type": "datetime"},
        {"key": "sample_size", "type": "number", "integer": true},
        {"key": "defects", "type": "number", "integer": true},
        {"key": "cost", "type": "number"},
        {"key": "result", "type": "select", "options": [{"value": "accept"}, {"value": "reject"}]},
        {"key": "defect_codes", "type": "multiselect", "options": CODES.iter().map(|c| json!({"value": c})).collect::<Vec<_>>()},
        {"key": "urgent", "type": "boolean"},
        {"key": "checks", "type": "subtable", "fields": [
            {"key": "name", "type": "text"},
            {"key": "ok", "type": "boolean"}
        ]}
    ]})
}

fn record(random: &mut Xorshift) -> Value {
    let mut next = |n: u64| random.below(n);
    let defects = if next(4) == 0 { next(5) + 1 } else { 0 };
    let codes: Vec<&str> = CODES.iter().copied().filter(|_| defects > 0 && next(3) == 0).collect();
    let (month, day, hour) = (next(12) + 1, next(28) + 1, next(24));
    let checks: Vec<Value> =
        (0..next(3)).map(|i| json!({"name": format!("c{}", (i + next(2)) % 3), "ok": next(4) != 0})).collect();
    let mut data = json!({
        "supplier": format!("sup-{:02}", next(9)),
        "part": format!("P-{}", next(6)),
        "received_on": format!("2026-{month:02}-{day:02}"),
        "inspected_at": format!("2026-{month:02}-{day:02}T{hour:02}:10:00Z"),
        "sample_size": (next(4) * 25 + 25),
        "defects": defects,
        "result": if defects > 2 { "reject" } else { "accept" },
        "defect_codes": codes,
        "urgent": next(5) == 0,
        "checks": checks,
    });
    // Some records carry no cost at all: a sum over none is no value, not zero.
    if next(3) != 0 {
        data["cost"] = json!((next(400) as f64) / 4.0);
    }
    data
}

/// The dashboard's widgets: every measure a rollup can carry, day/week/month/quarter
/// buckets, a top-N, an exploded list, a flattened subtable, static and keyed filters.
fn widgets() -> Vec<Value> {
    vec![
        json!({"form": "iqc", "dimensions": [{"field": "supplier", "top": 4}],
               "measures": [{"fn": "count", "as": "lots"}, {"fn": "rate", "when": {"field": "result", "op": "eq", "value": "accept"}, "as": "pass"}],
               "sort": [{"by": "pass", "desc": true}]}),
        json!({"form": "iqc", "dimensions": [{"field": "received_on", "bucket": "month"}],
               "measures": [{"fn": "ppm", "defects": "defects", "units": "sample_size", "as": "ppm"}]}),
        json!({"form": "iqc", "dimensions": [{"field": "defect_codes"}], "measures": [{"fn": "count", "as": "n"}, {"fn": "cumulative_share", "of": "n", "as": "share"}],
               "filter": {"field": "defect_codes", "op": "exists", "value": true}, "sort": [{"by": "n", "desc": true}]}),
        json!({"form": "iqc", "filter": {"field": "cost", "op": "gt", "value": 10},
               "dimensions": [{"field": "inspected_at", "bucket": "quarter"}, {"field": "part"}],
               "measures": [{"fn": "sum", "field": "cost", "as": "cost"}, {"fn": "avg", "field": "cost", "as": "avg"}]}),
        json!({"form": "iqc", "dimensions": [{"field": "inspected_at", "bucket": "week"}],
               "measures": [{"fn": "avg", "field": "sample_size", "as": "avg"}]}),
        json!({"form": "iqc", "filter": {"and": [{"field": "result", "op": "eq", "value": "reject"}, {"field": "urgent", "op": "eq", "value": true}]},
               "measures": [{"fn": "count", "as": "n"}, {"fn": "sum", "field": "cost", "as": "cost"}]}),
        json!({"form": "iqc", "rows": "checks", "dimensions": [{"field": "checks.name"}],
               "measures": [{"fn": "count", "as": "n"}, {"fn": "rate", "when": {"field": "checks.ok", "op": "eq", "value": true}, "as": "ok"}]}),
        json!({"form": "iqc", "dimensions": [{"field": "received_on", "bucket": "day"}, {"field": "result"}],
               "measures": [{"fn": "count", "as": "n"}], "filter": {"field": "part", "op": "ne", "value": "P-1"}}),
    ]
}

/// The shared filter values a widget is checked with (none, a period, suppliers, both).
fn filter_sets() -> Vec<Vec<Value>> {
    let period = json!({"field": "received_on", "op": "between", "value": ["2026-03-05", "2026-08-20"]});
    let suppliers = json!({"field": "supplier", "op": "in", "value": ["sup-01", "sup-04", "sup-07"]});
    let months = json!({"field": "received_on", "op": "between", "value": ["2026-02-01", "2026-09-30"]});
    vec![
        vec![],
        vec![period.clone()],
        vec![suppliers.clone()],
        vec![period, suppliers.clone()],
        vec![months, suppliers],
    ]
}

fn dashboard() -> Value {
    let t = |s: &str| json!({"en": s, "zh-CN": s});
    json!({"key": "cockpit", "name": t("Cockpit"),
           "filters": [{"key": "period", "kind": "date_range", "label": t("Period")},
                       {"key": "supplier", "kind": "values", "label": t("Supplier")}],
           "widgets": widgets().into_iter().enumerate().map(|(i, spec)| {
               let filters = if spec.get("rows").is_some() { json!({"supplier": "supplier"}) }
                   else { json!({"period": "received_on", "supplier": "supplier"}) };
               json!({"key": format!("w{i}"), "title": t("w"), "x": 0, "y": i * 4, "w": 12, "h": 4,
                      "filters": filters, "report": spec})
           }).collect::<Vec<_>>()})
}

struct Fixture {
    workspace_id: String,
    form_id: String,
    kinds: Vec<(String, engine::report::Kind)>,
}

impl Fixture {
    async fn new(app: &TestApp) -> Fixture {
        use sea_orm::EntityTrait;
        use server::db::entities::form;
        let form = form::Entity::find().all(&app.db).await.unwrap().into_iter().find(|f| f.key == "iqc").unwrap();
        let compiled = app.state.forms.get(&app.db, &form.id, 1).await.unwrap();
        let mut kinds = form_kinds(&compiled.definition().fields);
        kinds.push(("checks.name".into(), engine::report::Kind::Text));
        kinds.push(("checks.ok".into(), engine::report::Kind::Bool));
        Fixture { workspace_id: form.workspace_id, form_id: form.id, kinds }
    }

    fn plan(&self, spec: &Value, filters: &[Value]) -> Plan {
        let mut spec = spec.clone();
        if !filters.is_empty() {
            let mut all: Vec<Value> = spec.get("filter").cloned().into_iter().collect();
            all.extend(filters.iter().cloned());
            spec["filter"] = json!({"and": all});
        }
        let spec = parse_spec(&spec).unwrap();
        plan(&spec, &self.kinds, engine::form::Date { year: 2026, month: 11, day: 21 }).unwrap()
    }

    fn scope(&self, own: Option<&str>) -> server::reports::Scope<'_> {
        server::reports::Scope {
            workspace_id: &self.workspace_id,
            form_id: &self.form_id,
            own: own.map(|_| "seed"),
            offset_minutes: 480,
        }
    }

    async fn rollup(&self, app: &TestApp, plan: &Plan) -> Option<Vec<ResultRow>> {
        server::reports::run_rollup(&app.db, plan, &self.scope(None)).await.unwrap()
    }

    /// Every widget under every filter set: the rollup answers, and as the records do.
    async fn check_all(&self, app: &TestApp, when: &str) {
        for (i, spec) in widgets().iter().enumerate() {
            for filters in filter_sets() {
                if spec.get("rows").is_some() && filters.iter().any(|f| f["field"] == "received_on") {
                    continue;
                }
                let plan = self.plan(spec, &filters);
                let direct = server::reports::run_direct(&app.db, &plan, &self.scope(None)).await.unwrap();
                let Some(cells) = self.rollup(app, &plan).await else {
                    panic!("{when}: widget {i} with {filters:?} was not answered from a rollup");
                };
                same(&format!("{when}: widget {i} with {filters:?}"), &cells, &direct);
            }
        }
    }
}

fn same(label: &str, got: &[ResultRow], expected: &[ResultRow]) {
    assert!(!expected.is_empty(), "{label}: the check needs groups");
    assert_eq!(got.len(), expected.len(), "{label}: {got:?} vs {expected:?}");
    for (a, b) in got.iter().zip(expected) {
        assert_eq!(a.dimensions, b.dimensions, "{label}");
        for (x, y) in a.measures.iter().zip(&b.measures) {
            match (x, y) {
                (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0), "{label}: {x} vs {y}"),
                _ => assert_eq!(x, y, "{label}: {a:?} vs {b:?}"),
            }
        }
    }
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let row = app.db.query_one_raw(Statement::from_string(app.db.get_database_backend(), sql)).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn submit(app: &TestApp, root: &Session, data: &Value) -> (String, i64) {
    let (status, body) = app.send(root.request("POST", &format!("{WS}/forms/iqc/records"), Some(data))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (body["id"].as_str().unwrap().to_owned(), body["version"].as_i64().unwrap())
}

async fn patch(app: &TestApp, root: &Session, id: &str, version: i64, data: Value) {
    let mut request = root.request("PATCH", &format!("{WS}/records/{id}"), Some(&json!({"data": data})));
    request.headers_mut().insert("if-match", format!("\"{version}\"").parse().unwrap());
    let (status, body) = app.send(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

on_both!(rollups_answer_as_the_records_do_through_every_change, |app: TestApp| async move {
    let root = app.workspace_with_form("plant-u", json!({"utc_offset_minutes": 480}), &form()).await;
    let mut random = Xorshift(0x9e37_79b9_7f4a_7c15);
    let seeded = app.insert_records("iqc", (0..2_000).map(|_| record(&mut random))).await;
    let fixture = Fixture::new(&app).await;
    let spec = &widgets()[0];
    assert!(fixture.rollup(&app, &fixture.plan(spec, &[])).await.is_none(), "no dashboard, no rollup");

    let (status, body) = app.send(root.request("POST", &format!("{WS}/dashboards"), Some(&dashboard()))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created =
        server::reports::rollups::sync_workspace(&app.db, &app.state.forms, &fixture.workspace_id).await.unwrap();
    // By day and by month for each widget with a dated key (all but the subtable's).
    assert_eq!(created, 2 * widgets().len() - 1);
    assert!(fixture.rollup(&app, &fixture.plan(spec, &[])).await.is_none(), "a building rollup does not answer");

    // Half a build (chunks of 300 records), then changes to records on both sides of the
    // mark, then the rest of the build.
    let rollups = server::reports::rollups::of_form(&app.db, &fixture.workspace_id, &fixture.form_id).await.unwrap();
    for rollup in &rollups {
        for _ in 0..3 {
            assert!(
                !server::reports::rollups::build_chunk(&app.db, &fixture.workspace_id, &rollup.id, 300).await.unwrap()
            );
        }
    }
    for (n, id) in [&seeded[10], &seeded[1_500]].into_iter().enumerate() {
        patch(
            &app,
            &root,
            id,
            1,
            json!({"supplier": format!("sup-0{n}"), "defects": 4, "result": "reject", "cost": 99.5}),
        )
        .await;
    }
    let (early, _) = submit(&app, &root, &record(&mut random)).await;
    assert_eq!(
        app.send(root.request("DELETE", &format!("{WS}/records/{}", seeded[20]), None)).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.send(root.request("DELETE", &format!("{WS}/records/{}", seeded[1_900]), None)).await.0,
        StatusCode::NO_CONTENT
    );
    for rollup in &rollups {
        while !server::reports::rollups::build_chunk(&app.db, &fixture.workspace_id, &rollup.id, 300).await.unwrap() {}
    }
    fixture.check_all(&app, "after a build interleaved with changes").await;
    // A trend by month over whole months reads the rollup by month; a period of days, the
    // one by day.
    let find = |plan: Plan| {
        let fixture = &fixture;
        let db = app.db.clone();
        async move {
            let found = server::reports::rollups::find(&db, &fixture.workspace_id, &fixture.form_id, 480, &plan);
            found.await.unwrap().unwrap().1.dimensions[0].month
        }
    };
    let months = json!({"field": "received_on", "op": "between", "value": ["2026-02-01", "2026-09-30"]});
    let days = json!({"field": "received_on", "op": "between", "value": ["2026-02-01", "2026-09-29"]});
    assert!(find(fixture.plan(&widgets()[1], &[])).await);
    assert!(find(fixture.plan(&widgets()[1], &[months])).await);
    assert!(!find(fixture.plan(&widgets()[1], &[days])).await);

    // Changes on ready rollups: submissions (group commit), edits, deletions, restores.
    let mut submitted = vec![early];
    for _ in 0..25 {
        submitted.push(submit(&app, &root, &record(&mut random)).await.0);
    }
    for (i, id) in seeded.iter().take(200).step_by(20).enumerate() {
        if id == &seeded[20] {
            continue;
        }
        patch(
            &app,
            &root,
            id,
            1,
            json!({"supplier": "sup-08", "defects": i % 4, "cost": null, "defect_codes": ["dent"]}),
        )
        .await;
    }
    for id in submitted.iter().take(5).chain(seeded.iter().skip(300).take(5)) {
        assert_eq!(
            app.send(root.request("DELETE", &format!("{WS}/records/{id}"), None)).await.0,
            StatusCode::NO_CONTENT
        );
    }
    for id in [&submitted[0], &seeded[20]] {
        let (status, body) = app.send(root.request("POST", &format!("{WS}/records/{id}/restore"), None)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    fixture.check_all(&app, "after changes").await;

    // Compaction folds the cells and changes no answer.
    let before = count(&app, "SELECT COUNT(*) FROM rollup_cells").await;
    for rollup in &rollups {
        let txn = server::db::write_txn(&app.db).await.unwrap();
        server::reports::rollups::compact(&txn, &fixture.workspace_id, &rollup.id).await.unwrap();
        txn.commit().await.unwrap();
    }
    let after = count(&app, "SELECT COUNT(*) FROM rollup_cells").await;
    assert!(after < before, "compaction folded {before} cells into {after}");
    fixture.check_all(&app, "after compaction").await;

    // Over HTTP the dashboard answers the same as the report run on the records.
    let plan = fixture.plan(spec, &[]);
    let direct = server::reports::run_direct(&app.db, &plan, &fixture.scope(None)).await.unwrap();
    let (status, body) =
        app.send(root.request("POST", &format!("{WS}/dashboards/cockpit/run"), Some(&json!({})))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rows = body["widgets"][0]["result"]["rows"].as_array().unwrap_or_else(|| panic!("widget rows in {body}"));
    assert_eq!(rows.len(), direct.len());
    for (row, expected) in rows.iter().zip(&direct) {
        assert_eq!(row[0].as_str(), expected.dimensions[0].as_deref());
        assert!((row[1].as_f64().unwrap() - expected.measures[0].unwrap()).abs() < 1e-9);
    }

    // A caller who sees only their own records is answered from the records.
    let own = server::reports::run_rollup(&app.db, &plan, &fixture.scope(Some("seed"))).await.unwrap();
    assert!(own.is_none());
    // A report the rollups do not cover (a minimum) is answered from the records too.
    let minimum = fixture.plan(&json!({"form": "iqc", "measures": [{"fn": "min", "field": "cost", "as": "m"}]}), &[]);
    assert!(fixture.rollup(&app, &minimum).await.is_none());

    // Without the dashboard its rollups and their cells go.
    assert_eq!(
        app.send(root.request("DELETE", &format!("{WS}/dashboards/cockpit"), None)).await.0,
        StatusCode::NO_CONTENT
    );
    server::reports::rollups::catch_up(&app.db, &app.state.forms).await.unwrap();
    assert_eq!(count(&app, "SELECT COUNT(*) FROM rollups").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM rollup_cells").await, 0);
});
