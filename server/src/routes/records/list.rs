//! `GET /api/v1/workspaces/{ws}/forms/{form}/records`: a page of the records the caller may
//! read, in creation order.
//!
//! Query: `limit` (1-500, default 50), `after` (the last id of the previous page),
//! `order=desc`, `f.FIELD=VALUE` (equality on a top-level field; values are parsed by the
//! field's type and always sent to the database as parameters), `fields=a,b` (only these
//! data fields), `total=true` (how many records match).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use engine::form::{FieldKind, data_fields};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, Statement, Value as SqlValue};
use serde_json::{Map, Value, json};

use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::authz::Action;
use crate::db::entities::record;
use crate::error::ApiError;

struct Filter {
    field: String,
    json_text: String,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new("invalid_query", message)
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
    let kinds: HashMap<&str, &FieldKind> = data_fields(&compiled.definition().fields)
        .into_iter()
        .filter(|(f, _)| mask.can_read(&f.key))
        .map(|(f, _)| (f.key.as_str(), &f.kind))
        .collect();

    let limit: u64 = match query.get("limit") {
        Some(v) => v.parse().ok().filter(|n| (1..=500).contains(n)).ok_or_else(|| invalid("limit is 1 to 500"))?,
        None => 50,
    };
    let descending = match query.get("order").map(String::as_str) {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(invalid("order is asc or desc")),
    };
    let mut filters = Vec::new();
    let mut fields: Option<Vec<String>> = None;
    for (name, value) in &query {
        if let Some(field) = name.strip_prefix("f.") {
            let kind = kinds.get(field).ok_or_else(|| invalid(format!("the form has no field {field:?}")))?;
            filters.push(Filter { field: field.to_owned(), json_text: typed(kind, value)?.to_string() });
        } else if name == "fields" {
            let wanted: Vec<String> =
                value.split(',').map(str::trim).filter(|f| !f.is_empty()).map(str::to_owned).collect();
            if let Some(unknown) = wanted.iter().find(|f| !kinds.contains_key(f.as_str())) {
                return Err(invalid(format!("the form has no field {unknown:?}")));
            }
            fields = Some(wanted);
        } else if !matches!(name.as_str(), "limit" | "after" | "order" | "total") {
            return Err(invalid(format!("unknown query parameter {name:?}")));
        }
    }
    filters.sort_by(|a, b| a.field.cmp(&b.field));

    let db = &state.db;
    let backend = db.get_database_backend();
    let mut after = query.get("after").cloned();
    let mut items = Vec::new();
    let mut exhausted = false;
    // Rows the caller may not read are skipped, so a page may need several fetches.
    while items.len() < limit as usize {
        let batch =
            fetch(db, backend, &access.workspace.id, &form.id, &filters, after.as_deref(), descending, limit).await?;
        let fetched = batch.len() as u64;
        for found in batch {
            after = Some(found.id.clone());
            if access.allows(&state, Action::Read, &super::resource(&found)) {
                items.push(found);
                if items.len() == limit as usize {
                    break;
                }
            }
        }
        if fetched < limit {
            exhausted = true;
            break;
        }
    }
    let next_after = if exhausted && items.len() < limit as usize { None } else { items.last().map(|r| r.id.clone()) };
    let views: Vec<Value> = items
        .iter()
        .map(|r| {
            let mut view = super::masked_view(r, &form.key, &mask);
            if let (Some(fields), Some(data)) = (&fields, r.data.as_object()) {
                let projected: Map<String, Value> =
                    data.iter().filter(|(k, _)| fields.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
                view["data"] = Value::Object(projected);
            }
            view
        })
        .collect();
    let mut body = json!({"items": views, "next_after": next_after});
    if query.get("total").is_some_and(|v| v == "true") {
        body["total"] = json!(count(&state, &access, db, backend, &form.id, &filters).await?);
    }
    Ok(Json(body))
}

/// A filter value as JSON of the field's type, compared with the stored JSON text.
fn typed(kind: &FieldKind, value: &str) -> Result<Value, ApiError> {
    match kind {
        FieldKind::Number(_) => {
            let number: f64 = value.parse().map_err(|_| invalid(format!("{value:?} is not a number")))?;
            Ok(engine::form::number_json(number))
        }
        FieldKind::Boolean(_) => match value {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(invalid(format!("{value:?} is not true or false"))),
        },
        _ => Ok(Value::String(value.to_owned())),
    }
}

/// The JSON text of a top-level field, the same on both databases (`"abc"`, `5`, `true`).
fn field_json(backend: DbBackend, field: &str) -> String {
    // Field keys are checked against the definition ([a-z0-9_]); values are never inlined.
    debug_assert!(field.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
    match backend {
        DbBackend::Postgres => format!("(data -> '{field}')::text"),
        _ => format!("(data -> '$.{field}')"),
    }
}

#[allow(clippy::too_many_arguments)]
async fn fetch(
    db: &impl ConnectionTrait,
    backend: DbBackend,
    workspace_id: &str,
    form_id: &str,
    filters: &[Filter],
    after: Option<&str>,
    descending: bool,
    limit: u64,
) -> Result<Vec<record::Model>, ApiError> {
    let (mut sql, mut values) = base(backend, workspace_id, form_id, filters);
    if let Some(after) = after {
        values.push(after.into());
        let op = if descending { "<" } else { ">" };
        sql.push_str(&format!(" AND id {op} {}", placeholder(backend, values.len())));
    }
    sql.push_str(if descending { " ORDER BY id DESC" } else { " ORDER BY id ASC" });
    values.push((limit as i64).into());
    sql.push_str(&format!(" LIMIT {}", placeholder(backend, values.len())));
    let statement = Statement::from_sql_and_values(backend, format!("SELECT * FROM records WHERE {sql}"), values);
    Ok(record::Entity::find().from_raw_sql(statement).all(db).await?)
}

fn base(backend: DbBackend, workspace_id: &str, form_id: &str, filters: &[Filter]) -> (String, Vec<SqlValue>) {
    let mut values: Vec<SqlValue> = vec![workspace_id.into(), form_id.into()];
    let mut sql = format!(
        "workspace_id = {} AND form_id = {} AND deleted_at IS NULL",
        placeholder(backend, 1),
        placeholder(backend, 2)
    );
    for filter in filters {
        values.push(filter.json_text.clone().into());
        sql.push_str(&format!(" AND {} = {}", field_json(backend, &filter.field), placeholder(backend, values.len())));
    }
    (sql, values)
}

fn placeholder(backend: DbBackend, position: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${position}"),
        _ => "?".to_owned(),
    }
}

/// How many matching records the caller may read.
async fn count(
    state: &AppState,
    access: &InWorkspace<Read>,
    db: &impl ConnectionTrait,
    backend: DbBackend,
    form_id: &str,
    filters: &[Filter],
) -> Result<u64, ApiError> {
    let mut total = 0;
    let mut after: Option<String> = None;
    loop {
        let batch = fetch(db, backend, &access.workspace.id, form_id, filters, after.as_deref(), false, 500).await?;
        let done = batch.len() < 500;
        for found in &batch {
            if access.allows(state, Action::Read, &super::resource(found)) {
                total += 1;
            }
        }
        after = batch.last().map(|r| r.id.clone());
        if done {
            return Ok(total);
        }
    }
}
