//! Top-level `unique` fields: each value is claimed in `unique_values` in the transaction that
//! stores the record, so the database refuses a second holder even under concurrency.

use engine::form::{CompiledForm, Issue, not_unique};
use sea_orm::{ConnectionTrait, DbErr, Statement};
use serde_json::Value;

use super::query::Sql;

fn value_hash(value: &Value) -> String {
    crate::identity::secret_hash(&value.to_string())
}

/// Claims `data`'s unique values for `record_id`; returns one issue per value another record
/// already holds.
pub async fn claim(
    db: &impl ConnectionTrait,
    form: &CompiledForm,
    form_id: &str,
    record_id: &str,
    data: &Value,
) -> Result<Vec<Issue>, DbErr> {
    claim_fields(db, &form.unique_fields(), form_id, record_id, data).await
}

/// Claims the values of `keys`. On a conflict the claims this call made are released again,
/// so that a refused record leaves no trace even without a savepoint.
pub async fn claim_fields(
    db: &impl ConnectionTrait,
    keys: &[&str],
    form_id: &str,
    record_id: &str,
    data: &Value,
) -> Result<Vec<Issue>, DbErr> {
    let mut issues = Vec::new();
    let mut claimed: Vec<(&str, String)> = Vec::new();
    let backend = db.get_database_backend();
    for &key in keys {
        let Some(value) = data.get(key).filter(|v| !v.is_null()) else { continue };
        let hash = value_hash(value);
        let mut sql = Sql::new(backend);
        let params: Vec<String> =
            [form_id, key, hash.as_str(), record_id].into_iter().map(|v| sql.param(v.to_owned())).collect();
        let insert = format!(
            "INSERT INTO unique_values (form_id, field, value_hash, record_id) VALUES ({}) ON CONFLICT DO NOTHING",
            params.join(", ")
        );
        let inserted = db.execute_raw(Statement::from_sql_and_values(backend, insert, sql.values)).await?;
        if inserted.rows_affected() == 1 {
            claimed.push((key, hash));
            continue;
        }
        let mut sql = Sql::new(backend);
        let (f, k, h) = (sql.param(form_id.to_owned()), sql.param(key.to_owned()), sql.param(hash.clone()));
        let select =
            format!("SELECT record_id FROM unique_values WHERE form_id = {f} AND field = {k} AND value_hash = {h}");
        let holder = db.query_one_raw(Statement::from_sql_and_values(backend, select, sql.values)).await?;
        let holder: Option<String> = holder.map(|row| row.try_get_by_index(0)).transpose()?;
        if holder.as_deref() != Some(record_id) {
            issues.push(not_unique(key, value));
        }
    }
    if !issues.is_empty() {
        for (key, hash) in claimed {
            let mut sql = Sql::new(backend);
            let (f, k, h) = (sql.param(form_id.to_owned()), sql.param(key.to_owned()), sql.param(hash));
            let delete = format!("DELETE FROM unique_values WHERE form_id = {f} AND field = {k} AND value_hash = {h}");
            db.execute_raw(Statement::from_sql_and_values(backend, delete, sql.values)).await?;
        }
    }
    Ok(issues)
}

/// Frees every value `record_id` holds (before an edit re-claims them, or on deletion).
pub async fn release(db: &impl ConnectionTrait, record_id: &str) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let mut sql = Sql::new(backend);
    let id = sql.param(record_id.to_owned());
    let delete = format!("DELETE FROM unique_values WHERE record_id = {id}");
    db.execute_raw(Statement::from_sql_and_values(backend, delete, sql.values)).await?;
    Ok(())
}

/// Rebuilds the claims of a form's live records under a newly published version; returns
/// the records whose values collide (`[(record id, issue)]`).
pub async fn rebuild(
    db: &impl ConnectionTrait,
    form: &CompiledForm,
    form_id: &str,
    records: &[(&str, &Value)],
) -> Result<Vec<(String, Issue)>, DbErr> {
    let backend = db.get_database_backend();
    let mut sql = Sql::new(backend);
    let id = sql.param(form_id.to_owned());
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        format!("DELETE FROM unique_values WHERE form_id = {id}"),
        sql.values,
    ))
    .await?;
    let mut collisions = Vec::new();
    if form.unique_fields().is_empty() {
        return Ok(collisions);
    }
    for (record_id, data) in records {
        for issue in claim(db, form, form_id, record_id, data).await? {
            collisions.push(((*record_id).to_owned(), issue));
        }
    }
    Ok(collisions)
}
