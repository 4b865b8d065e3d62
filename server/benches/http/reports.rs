//! The supplier quality cockpit: 8 report widgets over generated IQC records (1,000,000 by
//! default; `FORMWORK_BENCH_REPORT_RECORDS` changes it), each through `POST /reports/run`,
//! and the whole dashboard through `POST /dashboards/{key}/run` — against hand-written SQL
//! for the same 8 answers over a typed table (one column per field, the defect codes in a
//! child table) holding the same rows, run directly in the same database in the same run.
//! Then exports of every record to CSV and XLSX: time, size and the server's peak memory.

use std::time::Instant;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, Statement, TransactionTrait};
use serde_json::{Value, json};

use super::{Http, Server, drive, measure, row, seeding_ids};

const SUPPLIERS: u64 = 40;
const CODES: [&str; 6] = ["scratch", "dent", "burr", "rust", "size", "label"];
const COST_TYPES: [&str; 4] = ["scrap", "rework", "sorting", "return"];
const STAGES: [&str; 3] = ["iqc", "ipqc", "fqc"];

pub(crate) fn form() -> Value {
    let options = |values: &[&str]| values.iter().map(|v| json!({"value": v})).collect::<Vec<_>>();
    json!({"key": "iqc", "name": "IQC", "fields": [
        {"key": "supplier", "type": "text"},
        {"key": "part", "type": "text"},
        {"key": "received_on", "type": "date"},
        {"key": "stage", "type": "select", "options": options(&STAGES)},
        {"key": "result", "type": "select", "options": options(&["accept", "reject"])},
        {"key": "defects", "type": "number", "integer": true},
        {"key": "sample_size", "type": "number", "integer": true},
        {"key": "defect_codes", "type": "multiselect", "options": options(&CODES)},
        {"key": "cost", "type": "number"},
        {"key": "cost_type", "type": "select", "options": options(&COST_TYPES)},
        {"key": "eightd", "type": "select", "options": options(&["none", "open", "closed"])}
    ]})
}

/// One generated inspection, as typed values.
struct Lot {
    supplier: String,
    part: String,
    received_on: String,
    stage: &'static str,
    result: &'static str,
    defects: i64,
    sample_size: i64,
    codes: Vec<&'static str>,
    cost: f64,
    cost_type: &'static str,
    eightd: &'static str,
}

fn lot(i: u64) -> Lot {
    // A cheap hash of the index: the same data on every run and backend.
    let h = |salt: u64| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt).wrapping_mul(0xbf58_476d_1ce4_e5b9) >> 33;
    let supplier = h(1) % SUPPLIERS;
    let defects = if h(2) % 10 < 1 + supplier % 4 { (h(3) % 6 + 1) as i64 } else { 0 };
    let month = h(4) % 12 + 1;
    Lot {
        supplier: format!("sup-{supplier:02}"),
        part: format!("P-{:03}", h(5) % 300),
        received_on: format!("2026-{month:02}-{:02}", h(6) % 28 + 1),
        stage: STAGES[(h(7) % 3) as usize],
        result: if defects > 2 { "reject" } else { "accept" },
        defects,
        sample_size: [32, 50, 80, 125][(h(8) % 4) as usize],
        codes: CODES
            .iter()
            .enumerate()
            .filter(|(c, _)| defects > 0 && h(9 + *c as u64) % 3 == 0)
            .map(|(_, c)| *c)
            .collect(),
        cost: if defects > 0 { (h(20) % 5000) as f64 / 10.0 } else { 0.0 },
        cost_type: COST_TYPES[(h(21) % 4) as usize],
        eightd: if defects > 2 { if h(22) % 3 == 0 { "open" } else { "closed" } } else { "none" },
    }
}

/// The 8 widgets: a title, the report spec, and the hand-written SQL over the typed table.
fn widgets() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "pass-rate ranking, top 10 suppliers",
            json!({"form": "iqc", "dimensions": [{"field": "supplier", "top": 10}],
                   "measures": [{"fn": "count", "as": "lots"}, {"fn": "rate", "when": {"field": "result", "op": "eq", "value": "accept"}, "as": "pass_rate"}],
                   "sort": [{"by": "lots", "desc": true}], "chart": {"kind": "ranking"}}),
            "SELECT supplier, COUNT(*) AS lots, AVG(CASE WHEN result = 'accept' THEN 1.0 ELSE 0.0 END) FROM bench_lots \
             GROUP BY supplier ORDER BY lots DESC, supplier LIMIT 10",
        ),
        (
            "PPM trend by month",
            json!({"form": "iqc", "dimensions": [{"field": "received_on", "bucket": "month"}],
                   "measures": [{"fn": "ppm", "defects": "defects", "units": "sample_size", "as": "ppm"}], "chart": {"kind": "line"}}),
            "SELECT substr(received_on, 1, 7), SUM(defects) * 1000000.0 / SUM(sample_size) FROM bench_lots GROUP BY 1 ORDER BY 1",
        ),
        (
            "8D closure rate",
            json!({"form": "iqc", "filter": {"field": "eightd", "op": "in", "value": ["open", "closed"]},
                   "measures": [{"fn": "rate", "when": {"field": "eightd", "op": "eq", "value": "closed"}, "as": "closed"}], "chart": {"kind": "kpi"}}),
            "SELECT AVG(CASE WHEN eightd = 'closed' THEN 1.0 ELSE 0.0 END) FROM bench_lots WHERE eightd IN ('open', 'closed')",
        ),
        (
            "defect Pareto",
            json!({"form": "iqc", "dimensions": [{"field": "defect_codes"}], "measures": [{"fn": "count", "as": "n"}],
                   "filter": {"field": "defect_codes", "op": "exists", "value": true}, "chart": {"kind": "pareto"}}),
            "SELECT code, COUNT(*) AS n FROM bench_lot_codes GROUP BY code ORDER BY n DESC",
        ),
        (
            "IQC/IPQC/FQC pass funnel",
            json!({"form": "iqc", "dimensions": [{"field": "stage"}],
                   "measures": [{"fn": "rate", "when": {"field": "result", "op": "eq", "value": "accept"}, "as": "pass"}], "chart": {"kind": "funnel"}}),
            "SELECT stage, AVG(CASE WHEN result = 'accept' THEN 1.0 ELSE 0.0 END) FROM bench_lots GROUP BY stage ORDER BY stage",
        ),
        (
            "quality cost by month and type (stacked area)",
            json!({"form": "iqc", "filter": {"field": "cost", "op": "gt", "value": 0},
                   "dimensions": [{"field": "received_on", "bucket": "month"}, {"field": "cost_type"}],
                   "measures": [{"fn": "sum", "field": "cost", "as": "cost"}], "chart": {"kind": "stacked_area"}}),
            "SELECT substr(received_on, 1, 7), cost_type, SUM(cost) FROM bench_lots WHERE cost > 0 GROUP BY 1, 2 ORDER BY 1, 2",
        ),
        (
            "losses by supplier, top 10",
            json!({"form": "iqc", "dimensions": [{"field": "supplier"}], "measures": [{"fn": "sum", "field": "cost", "as": "loss"}],
                   "sort": [{"by": "loss", "desc": true}], "limit": 10, "chart": {"kind": "bar"}}),
            "SELECT supplier, SUM(cost) AS loss FROM bench_lots GROUP BY supplier ORDER BY loss DESC LIMIT 10",
        ),
        (
            "rejected lots, last quarter of the year (KPI)",
            json!({"form": "iqc", "filter": {"and": [{"field": "result", "op": "eq", "value": "reject"},
                   {"field": "received_on", "op": "between", "value": ["2026-10-01", "2026-12-31"]}]},
                   "measures": [{"fn": "count", "as": "rejected"}], "chart": {"kind": "kpi"}}),
            "SELECT COUNT(*) FROM bench_lots WHERE result = 'reject' AND received_on BETWEEN '2026-10-01' AND '2026-12-31'",
        ),
    ]
}

/// Fills the server's IQC form with `total` records and the typed tables with the same rows.
async fn seed(db: &DatabaseConnection, total: u64) {
    let backend = db.get_database_backend();
    let (form, workspace, user) = seeding_ids(db).await;
    let (text, real) = if backend == DbBackend::Postgres { ("text", "float8") } else { ("TEXT", "REAL") };
    db.execute_unprepared(&format!(
        "CREATE TABLE bench_lots (no bigint PRIMARY KEY, supplier {text}, part {text}, received_on {text}, stage {text}, \
         result {text}, defects bigint, sample_size bigint, cost {real}, cost_type {text}, eightd {text})"
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!("CREATE TABLE bench_lot_codes (no bigint, code {text})")).await.unwrap();
    let started = Instant::now();
    let mut next = 0;
    while next < total {
        let end = (next + 500).min(total);
        let lots: Vec<(u64, Lot)> = (next..end).map(|i| (i, lot(i))).collect();
        let txn = db.begin().await.unwrap();
        let records = lots.iter().map(|(_, l)| {
            row(
                &workspace,
                &form,
                &user,
                json!({
                    "supplier": l.supplier, "part": l.part, "received_on": l.received_on, "stage": l.stage,
                    "result": l.result, "defects": l.defects, "sample_size": l.sample_size, "defect_codes": l.codes,
                    "cost": l.cost, "cost_type": l.cost_type, "eightd": l.eightd
                }),
            )
        });
        server::db::entities::record::Entity::insert_many(records).exec(&txn).await.unwrap();
        // The typed rows: literal values (generated here, no user input) keep the statement
        // within every backend's parameter limit.
        let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
        let values: Vec<String> = lots
            .iter()
            .map(|(i, l)| {
                format!(
                    "({i}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                    quote(&l.supplier),
                    quote(&l.part),
                    quote(&l.received_on),
                    quote(l.stage),
                    quote(l.result),
                    l.defects,
                    l.sample_size,
                    l.cost,
                    quote(l.cost_type),
                    quote(l.eightd)
                )
            })
            .collect();
        txn.execute_unprepared(&format!("INSERT INTO bench_lots VALUES {}", values.join(", "))).await.unwrap();
        let codes: Vec<String> =
            lots.iter().flat_map(|(i, l)| l.codes.iter().map(move |c| format!("({i}, '{c}')"))).collect();
        if !codes.is_empty() {
            txn.execute_unprepared(&format!("INSERT INTO bench_lot_codes VALUES {}", codes.join(", "))).await.unwrap();
        }
        txn.commit().await.unwrap();
        next = end;
    }
    db.execute_unprepared("ANALYZE").await.unwrap();
    println!("seeded {total} records (and the typed rows) in {:.0} s", started.elapsed().as_secs_f64());
}

pub(crate) fn run(runtime: &tokio::runtime::Runtime, server: &Server, token: &str, db: &DatabaseConnection) {
    let total = std::env::var("FORMWORK_BENCH_REPORT_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let runs = std::env::var("FORMWORK_BENCH_REPORT_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(7);
    runtime.block_on(seed(db, total));
    let backend = db.get_database_backend();
    let mut http = Http::connect(server.port);
    // A submission of one more generated lot (the form has no rules: the cost measured is the
    // write path's, with and without the cockpit's rollups to maintain).
    let submitted = std::sync::atomic::AtomicU64::new(0);
    let submit = |offset: u64| {
        let submitted = &submitted;
        move |http: &mut Http| {
            let n = offset + submitted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let l = lot(n);
            let body = json!({"supplier": l.supplier, "part": l.part, "received_on": l.received_on, "stage": l.stage,
                "result": l.result, "defects": l.defects, "sample_size": l.sample_size, "defect_codes": l.codes,
                "cost": l.cost, "cost_type": l.cost_type, "eightd": l.eightd})
            .to_string();
            let (status, answer) =
                http.send("POST", "/api/v1/workspaces/bench/forms/iqc/records", Some(token), Some(&body));
            assert_eq!(status, 201, "{answer}");
        }
    };

    // Phase 1: every widget aggregated from the records' JSON (no dashboard, so no rollup).
    let mut rows = Vec::new();
    for (title, spec, sql) in widgets() {
        let sql = if backend == DbBackend::Postgres {
            sql.replace("substr(received_on, 1, 7)", "left(received_on, 7)")
        } else {
            sql.to_owned()
        };
        let direct = measure(runs, || {
            runtime.block_on(db.query_all_raw(Statement::from_string(backend, sql.clone()))).unwrap();
        });
        let body = spec.to_string();
        let report = measure(runs, || {
            let (status, answer) = http.send("POST", "/api/v1/workspaces/bench/reports/run", Some(token), Some(&body));
            assert_eq!(status, 200, "{title}: {answer}");
        });
        rows.push((title, spec, direct, report));
    }
    let plain = drive(server, 1, 300, submit(total));

    // Phase 2: the cockpit saved as a dashboard with shared filters; the server's worker
    // builds a rollup per widget; the same reports again.
    let t = |en: &str| json!({"en": en, "zh-CN": en});
    let dashboard = json!({"key": "cockpit", "name": t("Supplier quality cockpit"),
        "filters": [{"key": "period", "kind": "date_range", "label": t("Period")},
                    {"key": "supplier", "kind": "values", "label": t("Supplier")}],
        "widgets": widgets().iter().enumerate().map(|(i, (title, spec, _))| {
        json!({"key": format!("w{i}"), "title": t(title), "x": (i % 2) * 6, "y": (i / 2) * 4, "w": 6, "h": 4,
               "filters": {"period": "received_on", "supplier": "supplier"}, "report": spec})
    }).collect::<Vec<_>>()});
    let (status, answer) =
        http.send("POST", "/api/v1/workspaces/bench/dashboards", Some(token), Some(&dashboard.to_string()));
    assert_eq!(status, 201, "{answer}");
    let started = Instant::now();
    let count = |sql: &str| -> i64 {
        let row = runtime.block_on(db.query_one_raw(Statement::from_string(backend, sql))).unwrap().unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    };
    // Polled with a deadline: the build runs in the server's own worker.
    // Every widget has a rollup by day and one by month; done when none is building.
    while count("SELECT COUNT(*) FROM rollups") < 2 * widgets().len() as i64
        || count("SELECT COUNT(*) FROM rollups WHERE state <> 'ready'") > 0
    {
        assert!(started.elapsed().as_secs() < 1800, "the rollups were not built within 30 minutes");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let built = started.elapsed().as_secs_f64();
    let cells = count("SELECT COUNT(*) FROM rollup_cells");
    println!(
        "\nbuilding the 16 rollups of the cockpit (by day and by month) over {total} records: {built:.1} s; {cells} cells"
    );

    println!(
        "\n| cockpit widget at {total} records ({runs} runs) | typed SQL p50 ms (**baseline**) | over JSON p50 ms | ratio | from the rollup p50 ms | p99 ms | ratio |"
    );
    println!("|---|---|---|---|---|---|---|");
    let (mut sum_direct, mut sum_json, mut sum_rollup) = (0.0, 0.0, 0.0);
    for (title, spec, direct, report) in &rows {
        let body = spec.to_string();
        let rollup = measure(runs * 3, || {
            let (status, answer) = http.send("POST", "/api/v1/workspaces/bench/reports/run", Some(token), Some(&body));
            assert_eq!(status, 200, "{title}: {answer}");
        });
        sum_direct += direct.p50;
        sum_json += report.p50;
        sum_rollup += rollup.p50;
        println!(
            "| {title} | {:.1} | {:.1} | {:.1} | **{:.1}** | {:.1} | **{:.3}** |",
            direct.p50,
            report.p50,
            report.p50 / direct.p50,
            rollup.p50,
            rollup.p99,
            rollup.p50 / direct.p50
        );
    }
    println!(
        "| sum of the 8 widgets | {sum_direct:.1} | {sum_json:.1} | {:.2} | **{sum_rollup:.1}** | | **{:.3}** |",
        sum_json / sum_direct,
        sum_rollup / sum_direct
    );
    let mut whole = |filters: &str| {
        measure(runs, || {
            let (status, answer) =
                http.send("POST", "/api/v1/workspaces/bench/dashboards/cockpit/run", Some(token), Some(filters));
            assert_eq!(status, 200, "{answer}");
            assert!(!answer.contains("\"error\""), "{answer}");
        })
    };
    let all = whole("{}");
    let filtered = whole(
        r#"{"filters": {"period": {"from": "2026-04-01", "to": "2026-06-30"}, "supplier": ["sup-03", "sup-17", "sup-29"]}}"#,
    );
    println!(
        "\nthe whole dashboard (`POST /dashboards/cockpit/run`, 8 widgets in one request): p50 {:.1} ms / p99 {:.1} ms; \
         with a quarter and three suppliers as shared filters: p50 {:.1} ms / p99 {:.1} ms",
        all.p50, all.p99, filtered.p50, filtered.p99
    );
    let maintained = drive(server, 1, 300, submit(total + 300));
    println!(
        "submissions at 1 client: {:.0}/s (p50 {:.2} ms) without rollups, {:.0}/s (p50 {:.2} ms) maintaining the 8 \
         rollups (ratio {:.2})",
        plain.rate,
        plain.p50,
        maintained.rate,
        maintained.p50,
        maintained.rate / plain.rate
    );
    println!("server peak memory (VmHWM) after the reports: {:.1} MiB", server.peak_memory_kib() as f64 / 1024.0);

    println!("\n| export of all {total} records | seconds | MiB written | server VmHWM after, MiB |");
    println!("|---|---|---|---|");
    for format in ["csv", "xlsx"] {
        let body = json!({"report": {"form": "iqc", "measures": [{"fn": "count", "as": "n"}]}, "format": format, "records": true}).to_string();
        let started = Instant::now();
        let (status, bytes) = http.download("/api/v1/workspaces/bench/reports/export", token, &body);
        assert_eq!(status, 200);
        println!(
            "| {format} | {:.1} | {:.1} | {:.1} |",
            started.elapsed().as_secs_f64(),
            bytes as f64 / 1_048_576.0,
            server.peak_memory_kib() as f64 / 1024.0
        );
    }
}
