//! The writes that end a transaction, sent together.
//!
//! A group commit ends with a handful of writes that read nothing from each other: the
//! batch's records, its audit entries, the chains' new heads, the counters drawn. On
//! PostgreSQL every statement is a round trip (a few tenths of a millisecond on a loaded
//! machine, during which the batch holds the chain lock), so they go as one statement of
//! data-modifying `WITH` clauses; on SQLite, where every statement is a hand-over to the
//! connection's worker thread and back, as one query text of several statements. Whoever
//! builds the list must not let one write depend on another's effect: the parts of one
//! PostgreSQL statement all see the snapshot taken at its start.

use sea_orm::sea_query::{
    Alias, CommonTableExpression, Expr, ExprTrait, InsertStatement, IntoIden, Query, UpdateStatement, WithClause,
};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

/// PostgreSQL binds at most 65,535 parameters per statement.
const MAX_PARAMETERS: usize = 65_535;

/// One write, with the number of parameters it binds.
#[derive(Debug)]
pub struct Write {
    statement: Kind,
    parameters: usize,
}

#[derive(Debug)]
enum Kind {
    Insert(InsertStatement),
    Update(UpdateStatement),
}

impl Write {
    /// A multi-row insert of `rows` rows of `columns` values each.
    pub fn insert(statement: InsertStatement, rows: usize, columns: usize) -> Write {
        Write { statement: Kind::Insert(statement), parameters: rows * columns }
    }

    /// Multi-row inserts of `rows` into `table`, each row's values in the order of `columns`,
    /// 1,000 rows per statement (SQLite binds at most 32,766 parameters per statement: that
    /// fits tables of up to 32 columns).
    pub fn insert_rows<const N: usize>(
        table: impl IntoIden + Clone,
        columns: [impl IntoIden + Clone; N],
        rows: impl IntoIterator<Item = [Expr; N]>,
    ) -> Result<Vec<Write>, DbErr> {
        let mut writes = Vec::new();
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut insert = Query::insert();
            insert.into_table(table.clone()).columns(columns.clone());
            let mut count = 0;
            for row in rows.by_ref().take(1000) {
                insert.values(row).map_err(|error| DbErr::Custom(error.to_string()))?;
                count += 1;
            }
            writes.push(Write::insert(insert, count, N));
        }
        Ok(writes)
    }

    /// An update whose `WHERE` binds at most `filter_parameters` values.
    pub fn update(statement: UpdateStatement, filter_parameters: usize) -> Write {
        let parameters = statement.get_values().len() + filter_parameters;
        Write { statement: Kind::Update(statement), parameters }
    }

    fn build(&self, backend: DbBackend) -> Statement {
        match &self.statement {
            Kind::Insert(statement) => backend.build(statement),
            Kind::Update(statement) => backend.build(statement),
        }
    }
}

/// A JSON document bound as its text. Bound as a `serde_json::Value`, it was copied whole
/// when the statement was built and serialized again when it was sent — in the group-commit
/// writer, the one serial part of every submission, that was most of its own work. As text,
/// building copies one string; PostgreSQL casts it to `jsonb`, and SQLite keeps JSON as text
/// anyway (a cast there would turn it into a number).
pub fn json_text(backend: DbBackend, text: String) -> Expr {
    match backend {
        DbBackend::Postgres => Expr::val(text).cast_as("jsonb"),
        _ => Expr::val(text),
    }
}

/// Runs `writes` in the caller's transaction, in order: on PostgreSQL as few statements as
/// the parameter limit allows (usually one), on SQLite (the only other database) as one call.
pub async fn execute(db: &impl ConnectionTrait, writes: Vec<Write>) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return execute_sqlite(db, writes).await;
    }
    let mut group = Vec::new();
    let mut parameters = 0;
    for write in writes {
        if !group.is_empty() && parameters + write.parameters > MAX_PARAMETERS {
            execute_combined(db, std::mem::take(&mut group)).await?;
            parameters = 0;
        }
        parameters += write.parameters;
        group.push(write);
    }
    execute_combined(db, group).await
}

async fn execute_combined(db: &impl ConnectionTrait, writes: Vec<Write>) -> Result<(), DbErr> {
    match combined(writes) {
        Some(statement) => db.execute_raw(statement).await.map(drop),
        None => Ok(()),
    }
}

/// SQLite runs every statement of one query text in turn, binding the anonymous (`?`)
/// parameters of each from where the previous one stopped: the writes go as one call to the
/// connection's worker thread instead of one per write. Each statement keeps SQLite's
/// per-statement parameter limit.
async fn execute_sqlite(db: &impl ConnectionTrait, writes: Vec<Write>) -> Result<(), DbErr> {
    let mut sql = String::new();
    let mut values = Vec::new();
    for write in &writes {
        let statement = write.build(DbBackend::Sqlite);
        if !sql.is_empty() {
            sql.push_str(";\n");
        }
        sql.push_str(&statement.sql);
        values.extend(statement.values.map(|values| values.0).unwrap_or_default());
    }
    if sql.is_empty() {
        return Ok(());
    }
    db.execute_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)).await.map(drop)
}

/// `WITH w0 AS (...), w1 AS (...) <last write>` (PostgreSQL); the write itself if it is
/// the only one.
fn combined(mut writes: Vec<Write>) -> Option<Statement> {
    let last = writes.pop()?;
    if writes.is_empty() {
        return Some(last.build(DbBackend::Postgres));
    }
    let mut with = WithClause::new();
    for (index, write) in writes.into_iter().enumerate() {
        let mut cte = CommonTableExpression::new();
        cte.table_name(Alias::new(format!("w{index}")));
        match write.statement {
            Kind::Insert(statement) => cte.query(statement),
            Kind::Update(statement) => cte.query(statement),
        };
        with.cte(cte);
    }
    let query = match last.statement {
        Kind::Insert(statement) => with.query(statement),
        Kind::Update(statement) => with.query(statement),
    };
    Some(DbBackend::Postgres.build(&query))
}
