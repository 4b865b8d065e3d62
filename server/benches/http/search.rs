//! Search and traceability at scale (`FORMWORK_BENCH_ONLY=search`, records from
//! `FORMWORK_BENCH_SEARCH_RECORDS`, default 1,000,000): the full-text index built from the
//! records (indexing rate), query latency through `GET /search`, against the database's own
//! full-text search over the same text in the same run (SQLite FTS5, PostgreSQL `tsvector`
//! with a GIN index); and `GET /trace` at depth 5 over a generated genealogy of 10,000 lots.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, Statement, TransactionTrait};
use serde_json::json;

use super::{Backend, Http, Server, measure, row, seeding_ids};

const WORDS: [&str; 24] = [
    "bracket",
    "housing",
    "scratched",
    "bent",
    "rusty",
    "cracked",
    "supplier",
    "customer",
    "line",
    "paint",
    "weld",
    "burr",
    "shaft",
    "gear",
    "bearing",
    "seal",
    "torque",
    "thread",
    "coating",
    "flatness",
    "porosity",
    "inclusion",
    "dimension",
    "label",
];
const CHINESE: [&str; 8] = ["划伤", "变形", "生锈", "裂纹", "来料检验", "客户投诉", "焊接不良", "毛刺"];
const QUERIES: [&str; 5] = ["bracket weld", "porosity", "torque thread coating", "seal", "gear inclusion"];

fn text(i: u64) -> String {
    let h = |salt: u64| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt).wrapping_mul(0xbf58_476d_1ce4_e5b9) >> 33;
    (0..8)
        .map(|k| if h(k) % 5 == 0 { CHINESE[(h(k + 50) % 8) as usize] } else { WORDS[(h(k + 100) % 24) as usize] })
        .collect::<Vec<_>>()
        .join(" ")
}

fn form() -> serde_json::Value {
    json!({"key": "iqc", "name": "Complaint", "fields": [
        {"key": "title", "type": "text"}, {"key": "lot", "type": "lot", "trace": "refers"}]})
}

fn genealogy_forms() -> Vec<serde_json::Value> {
    let lot = |key: &str, role: &str| json!({"key": key, "type": "lot", "trace": role});
    vec![
        json!({"key": "receipt", "name": "Receipt", "fields": [lot("lot_no", "produces")]}),
        json!({"key": "production", "name": "Production", "fields": [lot("output_lot", "produces"),
            {"key": "inputs", "type": "subtable", "fields": [lot("input_lot", "consumes")]}]}),
    ]
}

async fn seed(db: &DatabaseConnection, total: u64) -> Duration {
    let backend = db.get_database_backend();
    let (form, workspace, user) = seeding_ids(db).await;
    if backend == DbBackend::Postgres {
        db.execute_unprepared("CREATE TABLE bench_text (no bigint PRIMARY KEY, body text)").await.unwrap();
    } else {
        db.execute_unprepared("CREATE TABLE bench_text (no INTEGER PRIMARY KEY, body TEXT)").await.unwrap();
    }
    let mut next = 0;
    while next < total {
        let end = (next + 500).min(total);
        let txn = db.begin().await.unwrap();
        let rows =
            (next..end).map(|i| row(&workspace, &form, &user, json!({"title": text(i), "lot": format!("LOT-{i:07}")})));
        server::db::entities::record::Entity::insert_many(rows).exec(&txn).await.unwrap();
        let values: Vec<String> = (next..end).map(|i| format!("({i}, '{}')", text(i))).collect();
        txn.execute_unprepared(&format!("INSERT INTO bench_text VALUES {}", values.join(", "))).await.unwrap();
        txn.commit().await.unwrap();
        next = end;
    }
    // The database's own full-text index over the same text, timed.
    let started = Instant::now();
    if backend == DbBackend::Postgres {
        db.execute_unprepared(
            "ALTER TABLE bench_text ADD COLUMN tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED",
        )
        .await
        .unwrap();
        db.execute_unprepared("CREATE INDEX bench_text_tsv ON bench_text USING GIN (tsv)").await.unwrap();
    } else {
        db.execute_unprepared("CREATE VIRTUAL TABLE bench_fts USING fts5(body, content='bench_text', content_rowid='no', tokenize='porter unicode61')")
            .await
            .unwrap();
        db.execute_unprepared("INSERT INTO bench_fts (rowid, body) SELECT no, body FROM bench_text").await.unwrap();
    }
    db.execute_unprepared("ANALYZE").await.unwrap();
    started.elapsed()
}

pub(crate) fn run(runtime: &tokio::runtime::Runtime, backend: &Backend) {
    let total: u64 =
        std::env::var("FORMWORK_BENCH_SEARCH_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    println!("\n## Search and trace on {}\n", backend.name());
    let database = backend.fresh(runtime, "formwork_bench_search");
    let server = Server::start(&database, backend.data_dir());
    let token = server.setup(&form());
    let mut http = Http::connect(server.port);
    for definition in genealogy_forms() {
        let key = definition["key"].as_str().unwrap().to_owned();
        let (status, body) =
            http.send("POST", "/api/v1/workspaces/bench/forms", Some(&token), Some(&definition.to_string()));
        assert_eq!(status, 201, "{body}");
        let (status, body) =
            http.send("POST", &format!("/api/v1/workspaces/bench/forms/{key}/publish"), Some(&token), Some("{}"));
        assert_eq!(status, 200, "{body}");
    }
    let db = runtime.block_on(server::db::connect(&database)).expect("server database");
    let fts_time = runtime.block_on(seed(&db, total));
    // The genealogy: 10,000 lots on 5 levels, each made from 2-3 of the level below.
    let levels = [4000u64, 2500, 1700, 1100, 700];
    runtime.block_on(async {
        let found = db
            .query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT id, key, workspace_id FROM forms"))
            .await
            .unwrap();
        let id_of = |key: &str| found.iter().find(|r| r.try_get_by_index::<String>(1).unwrap() == key).map(|r| r.try_get_by_index::<String>(0).unwrap()).unwrap();
        let workspace: String = found[0].try_get_by_index(2).unwrap();
        let (receipt, production) = (id_of("receipt"), id_of("production"));
        let rows: Vec<_> = (0..levels[0]).map(|i| row(&workspace, &receipt, "bench", json!({"lot_no": format!("G0-{i}")}))).collect();
        for chunk in rows.chunks(500) {
            server::db::entities::record::Entity::insert_many(chunk.to_vec()).exec(&db).await.unwrap();
        }
        for level in 1..levels.len() {
            let rows: Vec<_> = (0..levels[level])
                .map(|i| {
                    let inputs: Vec<_> = (0..2 + i % 2).map(|k| json!({"input_lot": format!("G{}-{}", level - 1, (i * 7 + k * 13) % levels[level - 1])})).collect();
                    row(&workspace, &production, "bench", json!({"output_lot": format!("G{level}-{i}"), "inputs": inputs}))
                })
                .collect();
            for chunk in rows.chunks(500) {
                server::db::entities::record::Entity::insert_many(chunk.to_vec()).exec(&db).await.unwrap();
            }
        }
        let forms = server::forms_cache::FormsCache::default();
        server::trace::rebuild(&db, &forms, &workspace, |_| {}).await.unwrap();
    });
    // Our index, built by the server's own rebuild from the records into the server's data
    // directory, with the server stopped (records inserted directly leave no audit entries
    // for it to follow), then the server started again on it.
    drop(server);
    let index_dir = match &database {
        server::config::Database::Sqlite { path } => path.parent().unwrap().to_path_buf(),
        server::config::Database::Postgres { .. } => backend.data_dir().join("pg"),
    };
    let indexed = runtime.block_on(async {
        let workspace: String = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT id FROM workspaces WHERE slug = 'bench'",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index(0)
            .unwrap();
        let search = server::search::Search::new(&index_dir);
        let forms = server::forms_cache::FormsCache::default();
        let started = Instant::now();
        let done = server::search::rebuild(&db, &forms, &search, &workspace, |_| {}).await.unwrap();
        (done, started.elapsed(), search, workspace)
    });
    let (done, took, search, workspace) = indexed;
    let server = Server::start(&database, backend.data_dir());
    let mut http = Http::connect(server.port);
    println!("| indexing {total} records | seconds | records/s |");
    println!("|---|---|---|");
    let native = if db.get_database_backend() == DbBackend::Postgres {
        "PostgreSQL tsvector + GIN (**baseline**)"
    } else {
        "SQLite FTS5 (**baseline**)"
    };
    println!("| {native} | {:.1} | {:.0} |", fts_time.as_secs_f64(), total as f64 / fts_time.as_secs_f64());
    println!(
        "| Formwork tantivy index (all {done} records of the workspace) | {:.1} | {:.0} |",
        took.as_secs_f64(),
        done as f64 / took.as_secs_f64()
    );

    // Query latency: ours measured on the index just built (the same code the API runs after
    // its catch-up), and through the API; the database's own, directly.
    // The administrator's view: every form of the workspace, all rows (what the API gives them).
    let forms = runtime.block_on(async {
        let rows =
            db.query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT id FROM forms")).await.unwrap();
        rows.iter()
            .map(|r| (r.try_get_by_index::<String>(0).unwrap(), server::search::Allowed::All))
            .collect::<std::collections::HashMap<_, _>>()
    });
    let index = search.workspace(&workspace).unwrap();
    println!("\n| query (20 best) | native p50 ms (**baseline**) | native p99 ms | Formwork index p50 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    for q in QUERIES {
        let sql = if db.get_database_backend() == DbBackend::Postgres {
            format!("SELECT no FROM bench_text WHERE tsv @@ plainto_tsquery('english', '{q}') LIMIT 20")
        } else {
            format!(
                "SELECT rowid FROM bench_fts WHERE bench_fts MATCH '{}' ORDER BY rank LIMIT 20",
                q.split(' ').collect::<Vec<_>>().join(" AND ")
            )
        };
        let native = measure(30, || {
            runtime.block_on(db.query_all_raw(Statement::from_string(db.get_database_backend(), sql.clone()))).unwrap();
        });
        let query =
            server::search::SearchQuery { text: q, forms: &forms, caller: "", from_ms: None, to_ms: None, limit: 20 };
        let ours = measure(30, || {
            let hits = server::search::find(&index, &query).unwrap();
            assert!(!hits.is_empty(), "{q}");
        });
        println!("| {q} | {:.2} | {:.2} | {:.2} | {:.2} |", native.p50, native.p99, ours.p50, ours.p99);
    }
    // Through the API: permissions, the catch-up check, snippets and JSON.
    let api = measure(30, || {
        let (status, body) =
            http.send("GET", "/api/v1/workspaces/bench/search?q=%E5%88%92%E4%BC%A4", Some(&token), None);
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("<b>"), "{body}");
    });
    println!(
        "\nGET /search (a Chinese term, the server's index, permissions, snippets): p50 {:.2} ms, p99 {:.2} ms",
        api.p50, api.p99
    );
    let trace = measure(30, {
        let mut n = 0u64;
        let http = &mut http;
        move || {
            n += 1;
            let lot = format!("G4-{}", (n * 37) % 700);
            let (status, body) = http.send(
                "GET",
                &format!("/api/v1/workspaces/bench/trace?lot={lot}&direction=backward&depth=5"),
                Some(&token),
                None,
            );
            assert_eq!(status, 200, "{body}");
        }
    });
    println!(
        "GET /trace backward, depth 5, genealogy of 10,000 lots: p50 {:.1} ms, p99 {:.1} ms",
        trace.p50, trace.p99
    );
    println!("server peak memory (VmHWM): {:.1} MiB", server.peak_memory_kib() as f64 / 1024.0);
    runtime.block_on(db.close()).ok();
}
