//! The SQL of rollup cells: a rollup's contribution from records (the same expressions as a
//! direct report, so both read a record alike), compaction, and a report answered from cells.

use engine::report::rollup::{CellMeasure, CellPlan, Key, KeyTest, Part};
use engine::report::{Bucket, Column, Plan, ResultRow, Source};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use super::Rollup;
use crate::changes::placeholders;
use crate::error::ApiError;
use crate::reports::sql::{Query, Scope};

/// Which records a contribution sums.
pub enum Records<'a> {
    /// These records, if their id is at most `upto` (a rollup still building covers only the
    /// records up to its mark).
    Ids { ids: &'a [String], upto: Option<&'a str> },
    /// The records with an id after `after` and at most `upto` (a building chunk).
    Range { after: Option<&'a str>, upto: Option<&'a str> },
}

fn real(backend: DbBackend) -> &'static str {
    if backend == DbBackend::Postgres { "float8" } else { "REAL" }
}

/// Inserts the cells that add (`sign` +1) or remove (-1) `records`' contribution to `rollup`.
pub async fn contribute(
    db: &impl ConnectionTrait,
    rollup: &Rollup,
    workspace_id: &str,
    form_id: &str,
    records: Records<'_>,
    sign: i32,
) -> Result<u64, DbErr> {
    let shape = &rollup.shape;
    let backend = db.get_database_backend();
    let mut q = Query::over(backend, shape.base.offset_minutes, shape.base.rows.clone());
    let id = q.param(rollup.id.clone());
    let mut select = vec![id];
    let mut columns = vec!["rollup_id".to_owned()];
    for (i, key) in shape.keys.iter().enumerate() {
        select.push(match key {
            Key::Day(source) => q.bucket(source, Bucket::Day),
            Key::Month(source) => q.bucket(source, Bucket::Month),
            Key::Value(source) => q.dimension(source, None),
        });
        columns.push(format!("k{i}"));
    }
    let real = real(backend);
    for (i, part) in shape.parts.iter().enumerate() {
        let inner = match part {
            Part::Count => "COUNT(*)".to_owned(),
            Part::Sum(source) => format!("SUM({})", q.number(source)),
            Part::Numbers(source) => format!("COUNT({})", q.number(source)),
            Part::When(cond) => format!("SUM(CASE WHEN {} THEN 1 ELSE 0 END)", q.condition(cond)),
        };
        select.push(format!("CAST({sign} * {inner} AS {real})"));
        columns.push(format!("m{i}"));
    }
    let mut text = q.scope(&Scope { workspace_id, form_id, own: None, offset_minutes: shape.base.offset_minutes });
    for cond in &shape.base.filter {
        text.push_str(" AND ");
        text.push_str(&q.condition(cond));
    }
    let (after, upto) = match records {
        Records::Ids { ids, upto } => {
            let list: Vec<String> = ids.iter().map(|id| q.param(id.clone())).collect();
            text.push_str(&format!(" AND records.id IN ({})", list.join(", ")));
            (None, upto)
        }
        Records::Range { after, upto } => (after, upto),
    };
    if let Some(after) = after {
        let p = q.param(after.to_owned());
        text.push_str(&format!(" AND records.id > {p}"));
    }
    if let Some(upto) = upto {
        let p = q.param(upto.to_owned());
        text.push_str(&format!(" AND records.id <= {p}"));
    }
    let exploded = match &shape.base.exploded {
        Some(Source::Field { key, .. }) => Some(key.as_str()),
        _ => None,
    };
    let from = q.from_parts(exploded, None);
    let mut sql = format!(
        "INSERT INTO rollup_cells ({}) SELECT {} FROM {from} WHERE {text}",
        columns.join(", "),
        select.join(", ")
    );
    if !shape.keys.is_empty() {
        let positions: Vec<String> = (2..2 + shape.keys.len()).map(|i| i.to_string()).collect();
        sql.push_str(&format!(" GROUP BY {}", positions.join(", ")));
    }
    sql.push_str(" HAVING COUNT(*) > 0");
    let result = db.execute_raw(Statement::from_sql_and_values(backend, sql, q.values)).await?;
    Ok(result.rows_affected())
}

const KEYS: usize = engine::report::rollup::MAX_KEYS;
const PARTS: usize = engine::report::rollup::MAX_PARTS;

/// Folds rollup `id`'s cells into one per key tuple, dropping tuples whose rows all went
/// (the row count, part 0, is back to zero). The caller holds the workspace's chain lock.
/// Returns how many cells remain.
pub async fn compact(db: &impl ConnectionTrait, id: &str) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let p = placeholders(backend, 2, 1);
    let max = scalar(db, format!("SELECT MAX(id) FROM rollup_cells WHERE rollup_id = {}", p[0]), id).await?;
    if let Some(max) = max {
        let keys: Vec<String> = (0..KEYS).map(|i| format!("k{i}")).collect();
        let sums: Vec<String> = (0..PARTS).map(|i| format!("SUM(m{i})")).collect();
        let parts: Vec<String> = (0..PARTS).map(|i| format!("m{i}")).collect();
        let keys = keys.join(", ");
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "INSERT INTO rollup_cells (rollup_id, {keys}, {}) SELECT rollup_id, {keys}, {} FROM rollup_cells \
                 WHERE rollup_id = {} AND id <= {} GROUP BY rollup_id, {keys} HAVING SUM(m0) <> 0",
                parts.join(", "),
                sums.join(", "),
                p[0],
                p[1]
            ),
            [id.into(), max.into()],
        ))
        .await?;
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            format!("DELETE FROM rollup_cells WHERE rollup_id = {} AND id <= {}", p[0], p[1]),
            [id.into(), max.into()],
        ))
        .await?;
    }
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        format!(
            "UPDATE rollups SET compacted_upto = (SELECT COALESCE(MAX(id), 0) FROM rollup_cells WHERE rollup_id = {0}) \
             WHERE id = {0}",
            p[0]
        ),
        [id.into()],
    ))
    .await?;
    let count = scalar(db, format!("SELECT COUNT(*) FROM rollup_cells WHERE rollup_id = {}", p[0]), id).await?;
    Ok(count.unwrap_or(0) as u64)
}

/// The one number a query about rollup `id` (its only parameter) returns, if any.
async fn scalar(db: &impl ConnectionTrait, sql: String, id: &str) -> Result<Option<i64>, DbErr> {
    let statement = Statement::from_sql_and_values(db.get_database_backend(), sql, [id.into()]);
    match db.query_one_raw(statement).await? {
        Some(row) => row.try_get_by_index::<Option<i64>>(0),
        None => Ok(None),
    }
}

/// Cells added since the last compaction.
pub async fn pending(db: &impl ConnectionTrait, id: &str) -> Result<u64, DbErr> {
    let p = placeholders(db.get_database_backend(), 1, 1);
    let sql = format!(
        "SELECT COUNT(*) FROM rollup_cells WHERE rollup_id = {0} AND id > \
         (SELECT compacted_upto FROM rollups WHERE id = {0})",
        p[0]
    );
    Ok(scalar(db, sql, id).await?.unwrap_or(0) as u64)
}

/// Renders a report's parts over the cells of one rollup.
struct Cells<'a> {
    q: Query,
    plan: &'a CellPlan,
    real: &'static str,
}

impl Cells<'_> {
    fn dimension(&self, i: usize) -> String {
        let dimension = self.plan.dimensions[i];
        let column = format!("k{}", dimension.key);
        match dimension.bucket {
            Some(bucket) if dimension.month => self.q.bucket_of_month(&column, bucket),
            Some(bucket) => self.q.bucket_of_day(&column, bucket),
            None => column,
        }
    }

    fn measure(&self, i: usize) -> String {
        let sum = |m: usize| format!("SUM(m{m})");
        // A sum over no numbers is no value, as SQL's SUM over none is NULL.
        let some = |s: usize, n: usize| format!("(CASE WHEN SUM(m{n}) > 0.5 THEN SUM(m{s}) END)");
        let inner = match &self.plan.measures[i] {
            CellMeasure::Count { count } => format!("COALESCE({}, 0)", sum(*count)),
            CellMeasure::Sum { sum, numbers } => some(*sum, *numbers),
            CellMeasure::Avg { sum: s, numbers } => format!("({} / NULLIF({}, 0))", sum(*s), sum(*numbers)),
            CellMeasure::Rate { when, count } => format!("({} * 1.0 / NULLIF({}, 0))", sum(*when), sum(*count)),
            CellMeasure::Ppm { defects, defect_numbers, units, unit_numbers } => format!(
                "({} * 1000000.0 / NULLIF({}, 0))",
                some(*defects, *defect_numbers),
                some(*units, *unit_numbers)
            ),
            CellMeasure::Later => "NULL".to_owned(),
        };
        format!("CAST({inner} AS {})", self.real)
    }

    fn conditions(&mut self, rollup_id: &str) -> String {
        let id = self.q.param(rollup_id.to_owned());
        let mut text = format!("rollup_id = {id}");
        for (key, test) in &self.plan.filters {
            let column = format!("k{key}");
            match test {
                KeyTest::Dates { from, to } | KeyTest::Months { from, to } => {
                    text.push_str(&format!(" AND {column} IS NOT NULL"));
                    if let Some(from) = from {
                        let p = self.q.param(from.clone());
                        text.push_str(&format!(" AND {column} >= {p}"));
                    }
                    if let Some(to) = to {
                        let p = self.q.param(to.clone());
                        text.push_str(&format!(" AND {column} <= {p}"));
                    }
                }
                KeyTest::Equals { values, negate } => {
                    let any: Vec<String> =
                        values.iter().map(|v| format!("{column} = {}", self.q.param(v.clone()))).collect();
                    let any = format!("({})", any.join(" OR "));
                    text.push_str(&if *negate {
                        format!(" AND (NOT COALESCE({any}, FALSE))")
                    } else {
                        format!(" AND {any}")
                    });
                }
            }
        }
        text
    }
}

/// `plan` answered from the cells of rollup `rollup_id` (`cells` is the plan over them).
pub async fn run(
    db: &impl ConnectionTrait,
    plan: &Plan,
    cells: &CellPlan,
    rollup_id: &str,
) -> Result<Vec<ResultRow>, ApiError> {
    let backend = db.get_database_backend();
    let real = real(backend);
    let top = match plan.top() {
        Some((dimension, n, by)) => {
            let mut c = Cells { q: Query::over(backend, 0, None), plan: cells, real };
            let expression = c.dimension(dimension);
            let measure = c.measure(by);
            let text = c.conditions(rollup_id);
            let descending = plan.sort.iter().find(|(col, _)| *col == Column::Measure(by)).is_none_or(|(_, d)| *d);
            let direction = if descending { "DESC" } else { "ASC" };
            let limit = c.q.param(i64::from(n));
            let count = cells.count;
            let sql = format!(
                "SELECT {expression} AS d, {measure} AS m FROM rollup_cells WHERE {text} AND {expression} IS NOT NULL \
                 GROUP BY 1 HAVING SUM(m{count}) <> 0 ORDER BY m {direction} NULLS LAST, d LIMIT {limit}"
            );
            let rows = db.query_all_raw(Statement::from_sql_and_values(backend, sql, c.q.values)).await?;
            let values: Result<Vec<String>, _> = rows.iter().map(|r| r.try_get_by_index::<String>(0)).collect();
            Some((dimension, values?))
        }
        None => None,
    };
    let mut c = Cells { q: Query::over(backend, 0, None), plan: cells, real };
    let mut select = Vec::new();
    for i in 0..plan.dimensions.len() {
        let mut expression = c.dimension(i);
        if let Some((index, values)) = &top
            && *index == i
        {
            expression = c.q.folded(&expression, values);
        }
        select.push(expression);
    }
    for i in 0..plan.measures.len() {
        select.push(c.measure(i));
    }
    let text = c.conditions(rollup_id);
    let mut sql = format!("SELECT {} FROM rollup_cells WHERE {text}", select.join(", "));
    if !plan.dimensions.is_empty() {
        let positions: Vec<String> = (1..=plan.dimensions.len()).map(|i| i.to_string()).collect();
        sql.push_str(&format!(" GROUP BY {} HAVING SUM(m{}) <> 0", positions.join(", "), cells.count));
    }
    let cap = c.q.param((crate::reports::MAX_GROUPS + 1) as i64);
    sql.push_str(&format!(" LIMIT {cap}"));
    let rows = db.query_all_raw(Statement::from_sql_and_values(backend, sql, c.q.values)).await?;
    crate::reports::collect(plan, rows)
}
