//! `db::writes`: the closing writes of a transaction sent together — one statement on
//! PostgreSQL as long as its parameters fit, one call on SQLite — with the effect of running
//! them one by one.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use server::db::writes::{Write, execute};

use crate::on_both;
use crate::support::TestApp;

/// `rows` counters of workspace `ws` named `{prefix}{i}` with value `i`, as one insert.
fn counters(ws: &str, prefix: &str, rows: usize) -> Write {
    let mut insert = Query::insert();
    insert.into_table(Alias::new("counters")).columns([
        Alias::new("workspace_id"),
        Alias::new("name"),
        Alias::new("value"),
    ]);
    for i in 0..rows {
        insert.values_panic([ws.into(), format!("{prefix}{i}").into(), (i as i64).into()]);
    }
    Write::insert(insert, rows, 3)
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let backend = app.db.get_database_backend();
    let row = app.db.query_one_raw(Statement::from_string(backend, sql)).await.unwrap().unwrap();
    row.try_get_by_index(0).unwrap()
}

on_both!(writes_run_together_and_split_at_the_parameter_limit, |app: TestApp| async move {
    // Four inserts of 21,000 parameters each (more than PostgreSQL's 65,535 together, each
    // under SQLite's 32,766), then an update of a row the first insert wrote: on PostgreSQL
    // the first three go as one statement and the fourth with the update as a second (which
    // sees the first's rows; parts of one statement would not see each other's).
    let mut writes: Vec<Write> = (0..4).map(|n| counters("ws-writes", &format!("c{n}-"), 7_000)).collect();
    let update = Query::update()
        .table(Alias::new("counters"))
        .value(Alias::new("value"), 99_i64)
        .and_where(Expr::col(Alias::new("name")).eq("c0-7"))
        .to_owned();
    writes.push(Write::update(update, 1));
    let txn = app.db.begin().await.unwrap();
    execute(&txn, writes).await.expect("the writes run");
    txn.commit().await.unwrap();
    assert_eq!(count(&app, "SELECT COUNT(*) FROM counters WHERE workspace_id = 'ws-writes'").await, 28_000);
    assert_eq!(
        count(
            &app,
            "SELECT CAST(SUM(value) AS BIGINT) FROM counters WHERE workspace_id = 'ws-writes' AND name LIKE 'c2-%'"
        )
        .await,
        24_496_500
    );
    assert_eq!(count(&app, "SELECT value FROM counters WHERE name = 'c0-7'").await, 99);

    // A failing write fails the call, and the caller's rollback takes the others back.
    let txn = app.db.begin().await.unwrap();
    let error = execute(&txn, vec![counters("ws-other", "x-", 3), counters("ws-writes", "c0-", 1)]).await;
    assert!(error.is_err(), "a duplicate key must fail");
    txn.rollback().await.unwrap();
    assert_eq!(count(&app, "SELECT COUNT(*) FROM counters WHERE workspace_id = 'ws-other'").await, 0);
});

/// PostgreSQL only: SQLite has no per-column compression, and the migration leaves it alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_json_values_are_compressed_with_lz4_on_postgresql() {
    let Some(app) = TestApp::postgres().await else { return };
    let backend = app.db.get_database_backend();
    let lz4 = count(
        &app,
        "SELECT count(*) FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)",
    )
    .await;
    // The columns of the test's own schema (first on its search path).
    let compressed_with_lz4 = count(
        &app,
        "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         WHERE c.oid IN ('records'::regclass, 'audit_log'::regclass, 'workflow_instances'::regclass, \
         'outbox'::regclass) AND a.attname IN ('data', 'changes', 'state', 'payload') AND a.attcompression = 'l'",
    )
    .await;
    assert_eq!(compressed_with_lz4, if lz4 == 1 { 4 } else { 0 });
    if lz4 == 0 {
        return;
    }
    // A value large enough to be compressed is stored with lz4 and reads back whole (a
    // temporary copy of the records table, in one transaction: one connection).
    let txn = app.db.begin().await.unwrap();
    let run = |sql: String| Statement::from_string(backend, sql);
    txn.execute_raw(run("CREATE TEMP TABLE big_records (LIKE records INCLUDING COMPRESSION)".into())).await.unwrap();
    let items: Vec<String> = (0..400).map(|i| format!("{{\"k{i}\": \"value {i} 检验\"}}")).collect();
    txn.execute_raw(run(format!(
        "INSERT INTO big_records (id, workspace_id, form_id, form_version, data, version, created_by, created_at, \
         updated_at) VALUES ('r', 'w', 'f', 1, CAST('[{}]' AS jsonb), 1, 'u', 0, 0)",
        items.join(",")
    )))
    .await
    .unwrap();
    let row = txn
        .query_one_raw(run("SELECT count(*) FROM big_records WHERE pg_column_compression(data) = 'lz4' \
             AND jsonb_array_length(data) = 400 AND data -> 399 ->> 'k399' = 'value 399 检验'"
            .into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), 1);
    txn.rollback().await.unwrap();
}
