//! `GET /api/v1/workspaces/{ws}/forms/{form}/records`: a page of the records the caller may
//! read.
//!
//! Query: `limit` (1-500, default 50), `after` (the last id of the previous page), `order=desc`
//! (newest first, without `sort`), `sort=[-]FIELD`, filters `f.PATH[:OP]=VALUE` (see
//! `query.rs`), `fields=a,b` (only these data fields), `total=true` (how many records match).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use engine::form::{Field, data_fields};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, Statement};
use serde_json::{Map, Value, json};

use super::RowScope;
use super::query::{CursorValue, Filter, Leaf, Sort, SortKey, Sql, parse_filter, parse_sort};
use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::authz::Action;
use crate::db::entities::record;
use crate::error::ApiError;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new("invalid_query", message)
}

/// Everything a list request asks for, checked against the form.
struct ListQuery {
    filters: Vec<Filter>,
    sort: Option<Sort>,
    descending: bool,
    limit: u64,
    fields: Option<Vec<String>>,
}

fn parse(query: &HashMap<String, String>, readable: &[&Field]) -> Result<ListQuery, ApiError> {
    let limit: u64 = match query.get("limit") {
        Some(v) => v.parse().ok().filter(|n| (1..=500).contains(n)).ok_or_else(|| invalid("limit is 1 to 500"))?,
        None => 50,
    };
    let descending = match query.get("order").map(String::as_str) {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(invalid("order is asc or desc")),
    };
    let sort = query.get("sort").map(|v| parse_sort(readable, v)).transpose().map_err(invalid)?;
    if sort.is_some() && query.contains_key("order") {
        return Err(invalid("with sort, write sort=-FIELD for descending instead of order"));
    }
    let mut filters = Vec::new();
    let mut fields = None;
    // Sorted, so that the SQL text (and a prepared statement cache) does not depend on the
    // order of the parameters in the URL.
    let mut names: Vec<&String> = query.keys().collect();
    names.sort();
    for name in names {
        let value = &query[name];
        if let Some(path) = name.strip_prefix("f.") {
            filters.push(parse_filter(readable, path, value).map_err(invalid)?);
        } else if name == "fields" {
            let wanted: Vec<String> =
                value.split(',').map(str::trim).filter(|f| !f.is_empty()).map(str::to_owned).collect();
            if let Some(unknown) = wanted.iter().find(|f| !readable.iter().any(|r| r.key == **f)) {
                return Err(invalid(format!("the form has no field {unknown:?}")));
            }
            fields = Some(wanted);
        } else if !matches!(name.as_str(), "limit" | "after" | "order" | "total" | "sort") {
            return Err(invalid(format!("unknown query parameter {name:?}")));
        }
    }
    Ok(ListQuery { filters, sort, descending, limit, fields })
}

pub async fn get(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Path(params): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let key = crate::routes::path_param(&params, "form");
    let form = crate::routes::forms::load(&state, &access, &state.db, key, Action::Read).await?;
    let Some(version) = form.latest_version else {
        return Ok(Json(json!({"items": [], "next_after": null})));
    };
    let compiled = state.forms.get(&state.db, &form.id, version).await?;
    let mask = access.field_mask(&compiled);
    // Fields the caller may not read cannot be filtered, sorted or selected: they are unknown.
    let readable: Vec<&Field> = data_fields(&compiled.definition().fields)
        .into_iter()
        .map(|(f, _)| f)
        .filter(|f| mask.can_read(&f.key))
        .collect();
    let list = parse(&query, &readable)?;
    let scope = super::row_scope(&state, &access, &form.id);
    let db = &state.db;
    let scope_of =
        Scope { workspace_id: &access.workspace.id, form_id: &form.id, user_id: &access.caller.user.id, scope };

    let mut after = query.get("after").cloned();
    let mut items = Vec::new();
    let mut exhausted = false;
    // With a workspace's own policies, rows the caller may not read are skipped here, so a
    // page may need several fetches.
    while items.len() < list.limit as usize && scope != RowScope::Nothing {
        let batch = fetch(db, &scope_of, &list, after.as_deref()).await?;
        let fetched = batch.len() as u64;
        for found in batch {
            after = Some(found.id.clone());
            if scope != RowScope::PerRecord || access.allows(&state, Action::Read, &super::resource(&found)) {
                items.push(found);
                if items.len() == list.limit as usize {
                    break;
                }
            }
        }
        if fetched < list.limit {
            exhausted = true;
            break;
        }
    }
    let full = items.len() == list.limit as usize;
    let next_after = if exhausted && !full { None } else { items.last().map(|r| r.id.clone()) };
    let views: Vec<Value> = items
        .iter()
        .map(|r| {
            let mut view = super::masked_view(r, &form.key, &mask);
            if let (Some(fields), Some(data)) = (&list.fields, r.data.as_object()) {
                let projected: Map<String, Value> =
                    data.iter().filter(|(k, _)| fields.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
                view["data"] = Value::Object(projected);
            }
            view
        })
        .collect();
    let mut body = json!({"items": views, "next_after": next_after});
    if query.get("total").is_some_and(|v| v == "true") {
        body["total"] = json!(count(&state, &access, db, &scope_of, &list).await?);
    }
    Ok(Json(body))
}

struct Scope<'a> {
    workspace_id: &'a str,
    form_id: &'a str,
    user_id: &'a str,
    scope: RowScope,
}

/// The WHERE clause shared by pages and counts: the form's live records in the caller's
/// scope that pass every filter.
fn conditions(sql: &mut Sql, scope: &Scope<'_>, filters: &[Filter]) -> String {
    let workspace = sql.param(scope.workspace_id.to_owned());
    let form = sql.param(scope.form_id.to_owned());
    let mut text = format!("workspace_id = {workspace} AND form_id = {form} AND deleted_at IS NULL");
    if scope.scope == RowScope::Own {
        let user = sql.param(scope.user_id.to_owned());
        text.push_str(&format!(" AND created_by = {user}"));
    }
    for filter in filters {
        let condition = sql.filter(filter);
        text.push_str(&format!(" AND {condition}"));
    }
    text
}

async fn fetch(
    db: &impl ConnectionTrait,
    scope: &Scope<'_>,
    list: &ListQuery,
    after: Option<&str>,
) -> Result<Vec<record::Model>, ApiError> {
    let backend = db.get_database_backend();
    let mut sql = Sql::new(backend);
    let mut text = conditions(&mut sql, scope, &list.filters);
    match (&list.sort, after) {
        (Some(sort), Some(after)) => {
            let value = cursor_value(db, scope, sort, after).await?;
            let condition = sql.after(sort, value, after);
            text.push_str(&format!(" AND {condition}"));
        }
        (None, Some(after)) => {
            let op = if list.descending { "<" } else { ">" };
            let id = sql.param(after.to_owned());
            text.push_str(&format!(" AND id {op} {id}"));
        }
        _ => {}
    }
    match &list.sort {
        Some(sort) => text.push_str(&sql.order_by(sort)),
        None => text.push_str(if list.descending { " ORDER BY id DESC" } else { " ORDER BY id ASC" }),
    }
    let limit = sql.param(list.limit as i64);
    text.push_str(&format!(" LIMIT {limit}"));
    let statement = Statement::from_sql_and_values(backend, format!("SELECT * FROM records WHERE {text}"), sql.values);
    Ok(record::Entity::find().from_raw_sql(statement).all(db).await?)
}

/// The sort key's value at the cursor record (which must be a record of this form).
async fn cursor_value(
    db: &impl ConnectionTrait,
    scope: &Scope<'_>,
    sort: &Sort,
    after: &str,
) -> Result<CursorValue, ApiError> {
    let backend = db.get_database_backend();
    let mut sql = Sql::new(backend);
    let key = sql.sort_key(&sort.key);
    let id = sql.param(after.to_owned());
    let form = sql.param(scope.form_id.to_owned());
    let workspace = sql.param(scope.workspace_id.to_owned());
    let text = format!("SELECT {key} FROM records WHERE id = {id} AND form_id = {form} AND workspace_id = {workspace}");
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, text, sql.values))
        .await?
        .ok_or_else(|| invalid("after is not a record of this list"))?;
    let value = match &sort.key {
        SortKey::Column(_) | SortKey::Field { leaf: Leaf::Bool, .. } => {
            row.try_get_by_index::<Option<i64>>(0)?.map(CursorValue::Integer)
        }
        SortKey::Field { leaf: Leaf::Number, .. } => row.try_get_by_index::<Option<f64>>(0)?.map(CursorValue::Number),
        SortKey::Field { .. } => row.try_get_by_index::<Option<String>>(0)?.map(CursorValue::Text),
    };
    Ok(value.unwrap_or(CursorValue::Null))
}

/// How many matching records the caller may read: counted by the database unless a
/// workspace's own policies decide record by record.
async fn count(
    state: &AppState,
    access: &InWorkspace<Read>,
    db: &impl ConnectionTrait,
    scope: &Scope<'_>,
    list: &ListQuery,
) -> Result<u64, ApiError> {
    match scope.scope {
        RowScope::Nothing => Ok(0),
        RowScope::All | RowScope::Own => {
            let backend = db.get_database_backend();
            let mut sql = Sql::new(backend);
            let text = conditions(&mut sql, scope, &list.filters);
            let cast = if backend == DbBackend::Postgres { "::int8" } else { "" };
            let statement = Statement::from_sql_and_values(
                backend,
                format!("SELECT COUNT(*){cast} FROM records WHERE {text}"),
                sql.values,
            );
            let row = db.query_one_raw(statement).await?.ok_or_else(|| ApiError::internal("COUNT returned no row"))?;
            Ok(row.try_get_by_index::<i64>(0)? as u64)
        }
        RowScope::PerRecord => {
            let batch_list =
                ListQuery { filters: list.filters.clone(), sort: None, descending: false, limit: 500, fields: None };
            let mut total = 0;
            let mut after: Option<String> = None;
            loop {
                let batch = fetch(db, scope, &batch_list, after.as_deref()).await?;
                let done = batch.len() < 500;
                total += batch.iter().filter(|r| access.allows(state, Action::Read, &super::resource(r))).count();
                after = batch.last().map(|r| r.id.clone());
                if done {
                    return Ok(total as u64);
                }
            }
        }
    }
}
