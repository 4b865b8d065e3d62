//! Running report plans in the database (DESIGN §7): one aggregate query per report (two
//! with a top-N: the ranking first), so a million records never travel into Rust — only
//! their groups do.

pub mod export;
pub mod rollups;
pub mod sql;

use engine::report::{Column, Plan, ResultRow};
use sea_orm::{ConnectionTrait, EntityTrait, Statement};

use sql::Query;
pub use sql::Scope;

use crate::db::entities::record;
use crate::error::ApiError;

/// A [`Scope`] that owns its strings, for work that outlives the request's borrows.
#[derive(Clone, Debug)]
pub struct OwnedScope {
    pub workspace_id: String,
    pub form_id: String,
    pub own: Option<String>,
    pub offset_minutes: i32,
}

impl OwnedScope {
    pub fn borrow(&self) -> Scope<'_> {
        Scope {
            workspace_id: &self.workspace_id,
            form_id: &self.form_id,
            own: self.own.as_deref(),
            offset_minutes: self.offset_minutes,
        }
    }
}

/// More groups than this is a report that needs a limit or a top-N, not a chart.
pub const MAX_GROUPS: usize = 100_000;

/// The filter and scope shared by every query of a report.
fn conditions(query: &mut Query, plan: &Plan, scope: &Scope<'_>) -> String {
    let mut text = query.scope(scope);
    if let Some(filter) = &plan.filter {
        text.push_str(" AND ");
        text.push_str(&query.condition(filter));
    }
    text
}

/// The values a top-N dimension keeps (ranked by their measure over every other dimension),
/// with the dimension's index; `None` without a top-N.
pub async fn top_values(
    db: &impl ConnectionTrait,
    plan: &Plan,
    scope: &Scope<'_>,
) -> Result<Option<(usize, Vec<String>)>, ApiError> {
    let Some((dimension, n, by)) = plan.top() else { return Ok(None) };
    let backend = db.get_database_backend();
    let mut query = Query::new(backend, scope.offset_minutes, plan);
    let source = &plan.dimensions[dimension];
    let expression = query.dimension(&source.source, source.bucket);
    let measure = query.aggregate(&plan.measures[by].aggregate);
    let mut text = conditions(&mut query, plan, scope);
    text.push_str(&format!(" AND {expression} IS NOT NULL"));
    let from = query.from(plan);
    let descending = plan.sort.iter().find(|(c, _)| *c == Column::Measure(by)).is_none_or(|(_, d)| *d);
    let direction = if descending { "DESC" } else { "ASC" };
    let limit = query.param(i64::from(n));
    // Ties break on the value, so the same data always ranks the same way.
    let sql = format!(
        "SELECT {expression} AS d, {measure} AS m FROM {from} WHERE {text} GROUP BY 1 \
         ORDER BY m {direction} NULLS LAST, d LIMIT {limit}"
    );
    let rows = db.query_all_raw(Statement::from_sql_and_values(backend, sql, query.values)).await?;
    let values: Result<Vec<String>, _> = rows.iter().map(|r| r.try_get_by_index::<String>(0)).collect();
    Ok(Some((dimension, values?)))
}

/// One page of the records that pass `plan`'s filter, newest first, after the record id
/// `after` (ids are time-ordered). Dimensions and measures play no part: drill-down and
/// export put the chart element's conditions into the filter.
pub async fn records(
    db: &impl ConnectionTrait,
    plan: &Plan,
    scope: &Scope<'_>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<record::Model>, ApiError> {
    let backend = db.get_database_backend();
    let mut query = Query::new(backend, scope.offset_minutes, plan);
    let mut text = conditions(&mut query, plan, scope);
    if let Some(after) = after {
        let id = query.param(after.to_owned());
        text.push_str(&format!(" AND records.id < {id}"));
    }
    let from = query.from(plan);
    let limit = query.param(limit as i64);
    // The page's ids first, newest first along the primary key so the scan stops at the
    // limit (an export reads a million records page by page); flattened rows and joins may
    // repeat a record, hence the grouping.
    let sql = format!(
        "SELECT * FROM records WHERE id IN (SELECT records.id FROM {from} WHERE {text} \
         GROUP BY records.id ORDER BY records.id DESC LIMIT {limit}) ORDER BY id DESC"
    );
    Ok(record::Entity::find().from_raw_sql(Statement::from_sql_and_values(backend, sql, query.values)).all(db).await?)
}

/// The groups of `plan` over the records in `scope`, sorted, with cumulative shares, limited:
/// from a rollup's cells where a ready rollup covers the report and the caller sees every
/// record, else from the records.
pub async fn run(db: &impl ConnectionTrait, plan: &Plan, scope: &Scope<'_>) -> Result<Vec<ResultRow>, ApiError> {
    if let Some(rows) = run_rollup(db, plan, scope).await? {
        return Ok(rows);
    }
    run_direct(db, plan, scope).await
}

/// `plan` answered from a rollup, if one can answer it for `scope`.
pub async fn run_rollup(
    db: &impl ConnectionTrait,
    plan: &Plan,
    scope: &Scope<'_>,
) -> Result<Option<Vec<ResultRow>>, ApiError> {
    // A rollup sums every record: a caller limited to their own cannot use it.
    if scope.own.is_some() {
        return Ok(None);
    }
    let Some((id, cells)) = rollups::find(db, scope.workspace_id, scope.form_id, scope.offset_minutes, plan).await?
    else {
        return Ok(None);
    };
    rollups::cells::run(db, plan, &cells, &id).await.map(Some)
}

/// `plan` answered from the records.
pub async fn run_direct(db: &impl ConnectionTrait, plan: &Plan, scope: &Scope<'_>) -> Result<Vec<ResultRow>, ApiError> {
    let backend = db.get_database_backend();
    let top_values = top_values(db, plan, scope).await?;

    let mut query = Query::new(backend, scope.offset_minutes, plan);
    let mut select = Vec::new();
    for (i, dimension) in plan.dimensions.iter().enumerate() {
        let mut expression = query.dimension(&dimension.source, dimension.bucket);
        if let Some((index, values)) = &top_values
            && *index == i
        {
            expression = query.folded(&expression, values);
        }
        select.push(expression);
    }
    for measure in &plan.measures {
        select.push(query.aggregate(&measure.aggregate));
    }
    let text = conditions(&mut query, plan, scope);
    let from = query.from(plan);
    let mut sql = format!("SELECT {} FROM {from} WHERE {text}", select.join(", "));
    if !plan.dimensions.is_empty() {
        let positions: Vec<String> = (1..=plan.dimensions.len()).map(|i| i.to_string()).collect();
        sql.push_str(&format!(" GROUP BY {}", positions.join(", ")));
    }
    let cap = query.param((MAX_GROUPS + 1) as i64);
    sql.push_str(&format!(" LIMIT {cap}"));
    let rows = db.query_all_raw(Statement::from_sql_and_values(backend, sql, query.values)).await?;
    collect(plan, rows)
}

/// The rows of a report's aggregate query (dimensions, then measures), finished.
pub(crate) fn collect(plan: &Plan, rows: Vec<sea_orm::QueryResult>) -> Result<Vec<ResultRow>, ApiError> {
    if rows.len() > MAX_GROUPS {
        return Err(ApiError::new(
            "too_many_groups",
            format!("the report has more than {MAX_GROUPS} groups: add a filter, a coarser bucket or a top-N"),
        ));
    }
    let dimensions = plan.dimensions.len();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut result = ResultRow { dimensions: Vec::with_capacity(dimensions), measures: Vec::new() };
        for i in 0..dimensions {
            result.dimensions.push(row.try_get_by_index::<Option<String>>(i)?);
        }
        for i in 0..plan.measures.len() {
            result.measures.push(row.try_get_by_index::<Option<f64>>(dimensions + i)?);
        }
        out.push(result);
    }
    Ok(engine::report::finish(plan, out))
}
