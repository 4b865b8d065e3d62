//! `POST /api/v1/workspaces/{ws}/attachments?name=...` (the file as the body, its type in
//! `Content-Type`) and `GET .../attachments/{id}`: files for attachment fields.
//!
//! A file is stored under `<data dir>/attachments/<workspace>/<id>` with a row that says
//! whose it is. Until a record refers to it only its uploader may fetch it; a record that
//! refers to it links it (on submission and on edit), and from then on whoever may read that
//! record may fetch it. Records may refer only to files of their own workspace.

use std::collections::HashMap;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, HeaderMap};
use axum::http::{Response, StatusCode};
use engine::form::{Code, CompiledForm, FieldKind, Issue, data_fields};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::access::{InWorkspace, Read};
use crate::app::AppState;
use crate::audit::{self, Entry};
use crate::authz::Action;
use crate::db::entities::attachment;
use crate::error::ApiError;
use crate::identity::{hex, new_secret, now_ms};

/// The largest file accepted (photos from phones are a few MiB).
pub const MAX_SIZE: usize = 16 * 1024 * 1024;

fn directory(state: &AppState, workspace_id: &str) -> std::path::PathBuf {
    state.config.data_dir.join("attachments").join(workspace_id)
}

/// A file name as shown and offered for download: the last path part, printable, at most
/// 200 characters.
fn clean_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    let cleaned: String = last.chars().filter(|c| !c.is_control() && *c != '"').take(200).collect();
    (!cleaned.is_empty() && cleaned != "." && cleaned != "..").then_some(cleaned)
}

/// A media type as `type/subtype`, or the generic binary type.
fn clean_type(headers: &HeaderMap) -> String {
    let given = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let essence = given.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let valid = essence.len() <= 100
        && essence.split_once('/').is_some_and(|(a, b)| {
            let token =
                |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c));
            token(a) && token(b)
        });
    if valid { essence } else { "application/octet-stream".to_owned() }
}

pub async fn upload(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let name = query
        .get("name")
        .and_then(|n| clean_name(n))
        .ok_or_else(|| ApiError::new("bad_request", "give the file's name as ?name="))?;
    if body.is_empty() {
        return Err(ApiError::new("bad_request", "the file is empty"));
    }
    let content_type = clean_type(&headers);
    let id = new_secret();
    let sha256 = hex(&Sha256::digest(&body));
    let dir = directory(&state, &access.workspace.id);
    let path = dir.join(&id);
    let size = body.len() as i64;
    // The file first, then the row and its audit entry in one transaction; if that fails,
    // the file goes again.
    let written = {
        let (dir, path) = (dir.clone(), path.clone());
        tokio::task::spawn_blocking(move || std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &body)))
            .await
            .map_err(ApiError::internal)?
    };
    written.map_err(ApiError::internal)?;
    let stored = async {
        let txn = crate::db::write_txn(&state.db).await?;
        let now = now_ms();
        let row = attachment::ActiveModel {
            id: Set(id.clone()),
            workspace_id: Set(access.workspace.id.clone()),
            record_id: Set(None),
            name: Set(name.clone()),
            content_type: Set(content_type.clone()),
            size: Set(size),
            sha256: Set(sha256.clone()),
            uploaded_by: Set(access.caller.user.id.clone()),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        let entry = Entry {
            actor: &access.caller.user.id,
            action: "attachment.upload",
            object_type: "attachment",
            object_id: &row.id,
            changes: json!({"name": name, "content_type": content_type, "size": size, "sha256": sha256}).into(),
            reason: None,
        };
        audit::append(&txn, &access.workspace.id, entry, now).await?;
        txn.commit().await?;
        Ok::<_, ApiError>(row)
    }
    .await;
    let row = match stored {
        Ok(row) => row,
        Err(error) => {
            let _ = std::fs::remove_file(&path);
            return Err(error);
        }
    };
    Ok((StatusCode::CREATED, Json(view(&row))))
}

/// The value an attachment field holds for this file.
fn view(row: &attachment::Model) -> Value {
    json!({"id": row.id, "name": row.name, "size": row.size, "content_type": row.content_type})
}

pub async fn download(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Response<Body>, ApiError> {
    let id = crate::routes::path_param(&params, "id");
    let row = attachment::Entity::find_by_id(id.to_owned())
        .filter(attachment::Column::WorkspaceId.eq(access.workspace.id.as_str()))
        .one(&state.db)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let mine = row.uploaded_by == access.caller.user.id;
    if !mine {
        // Whoever may not read the record learns nothing, not even that the file exists.
        let record = row.record_id.as_deref().ok_or_else(ApiError::not_found)?;
        crate::routes::records::load(&state, &access, &state.db, record, Action::Read, false)
            .await
            .map_err(|_| ApiError::not_found())?;
    }
    let path = directory(&state, &access.workspace.id).join(&row.id);
    let bytes = tokio::task::spawn_blocking(move || std::fs::read(path)).await.map_err(ApiError::internal)?;
    let bytes = bytes.map_err(ApiError::internal)?;
    // Pictures and PDFs open in the browser; anything else downloads. Nothing runs: the
    // file is sandboxed and its type is not sniffed.
    let inline = row.content_type.starts_with("image/") || row.content_type == "application/pdf";
    let disposition = format!(
        "{}; filename=\"{}\"",
        if inline { "inline" } else { "attachment" },
        row.name.chars().filter(|c| c.is_ascii() && !c.is_ascii_control()).collect::<String>()
    );
    Response::builder()
        .header(CONTENT_TYPE, row.content_type)
        .header(CONTENT_DISPOSITION, disposition)
        .header(CACHE_CONTROL, "private, max-age=3600")
        .header("x-content-type-options", "nosniff")
        .header("content-security-policy", "sandbox; default-src 'none'")
        .body(Body::from(bytes))
        .map_err(ApiError::internal)
}

/// Every attachment a processed record refers to: (JSON pointer of the file, its id).
pub fn referenced(compiled: &CompiledForm, data: &Value) -> Vec<(String, String)> {
    fn files(fields: &[engine::form::Field], data: &Value, base: &str, out: &mut Vec<(String, String)>) {
        for (field, _) in data_fields(fields) {
            let value = &data[field.key.as_str()];
            match &field.kind {
                FieldKind::Attachment(_) => {
                    for (i, file) in value.as_array().into_iter().flatten().enumerate() {
                        if let Some(id) = file["id"].as_str() {
                            out.push((format!("{base}/{}/{i}", field.key), id.to_owned()));
                        }
                    }
                }
                FieldKind::Subtable(spec) => {
                    for (i, row) in value.as_array().into_iter().flatten().enumerate() {
                        files(&spec.fields, row, &format!("{base}/{}/{i}", field.key), out);
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    files(&compiled.definition().fields, data, "", &mut out);
    out
}

/// Issues for files that are not this workspace's, or that another record or person owns
/// (a record may take over only its caller's unlinked files, or keep its own).
pub async fn check(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    caller: &str,
    record_id: Option<&str>,
    files: &[(String, String)],
) -> Result<Vec<Issue>, ApiError> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = files.iter().map(|(_, id)| id.as_str()).collect();
    let rows = attachment::Entity::find()
        .filter(attachment::Column::WorkspaceId.eq(workspace_id))
        .filter(attachment::Column::Id.is_in(ids))
        .all(db)
        .await?;
    Ok(files
        .iter()
        .filter(|(_, id)| {
            !rows.iter().any(|r| {
                &r.id == id
                    && match (&r.record_id, record_id) {
                        (None, _) => r.uploaded_by == caller,
                        (Some(linked), Some(this)) => linked == this,
                        (Some(_), None) => false,
                    }
            })
        })
        .map(|(path, _)| Issue::new(path.clone(), Code::InvalidValue).param("reason", "unknown_attachment"))
        .collect())
}

/// Links the files a stored record refers to, inside the caller's transaction.
pub async fn link(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    record_id: &str,
    files: &[(String, String)],
) -> Result<(), ApiError> {
    if files.is_empty() {
        return Ok(());
    }
    attachment::Entity::update_many()
        .col_expr(attachment::Column::RecordId, Expr::value(record_id))
        .filter(attachment::Column::WorkspaceId.eq(workspace_id))
        .filter(attachment::Column::Id.is_in(files.iter().map(|(_, id)| id.as_str())))
        .filter(attachment::Column::RecordId.is_null())
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_types_are_cleaned() {
        assert_eq!(clean_name("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(clean_name("C:\\\\photos\\\\lot \"7\".jpg").as_deref(), Some("lot 7.jpg"));
        assert_eq!(clean_name("..").as_deref(), None);
        assert_eq!(clean_name("  ").as_deref(), None);
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, "Image/JPEG; charset=x".parse().unwrap());
        assert_eq!(clean_type(&headers), "image/jpeg");
        headers.insert(CONTENT_TYPE, "text/html<script>".parse().unwrap());
        assert_eq!(clean_type(&headers), "application/octet-stream");
    }
}
