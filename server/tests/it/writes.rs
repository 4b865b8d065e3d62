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
