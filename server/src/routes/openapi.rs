//! `GET /api/openapi.json`: the OpenAPI 3.1 document, generated from the route table that
//! mounts the handlers, with the one error shape and the status codes of `error.rs`.

use axum::Json;
use serde_json::{Map, Value, json};

use super::endpoints;

pub async fn get() -> Json<Value> {
    Json(document())
}

pub fn document() -> Value {
    let mut paths = Map::new();
    for (endpoint, _) in endpoints() {
        let parameters: Vec<Value> = endpoint
            .path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut responses = Map::new();
        let success = match endpoint.method.as_str() {
            "POST" if endpoint.summary.starts_with("Create") || endpoint.summary.starts_with("Submit") => "201",
            "DELETE" => "204",
            _ => "200",
        };
        responses.insert(success.to_owned(), json!({"description": "Success"}));
        let mut statuses: Vec<u16> = crate::error::CODES.iter().map(|c| crate::error::status_for(c).as_u16()).collect();
        statuses.sort_unstable();
        statuses.dedup();
        for status in statuses {
            responses.insert(
                status.to_string(),
                json!({"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
            );
        }
        let mut operation = json!({
            "tags": [endpoint.tag],
            "summary": endpoint.summary,
            "operationId": operation_id(endpoint.method.as_str(), &endpoint.path),
            "parameters": parameters,
            "responses": responses,
            "x-permission": endpoint.permission,
        });
        if let Some(body) = endpoint.body {
            operation["requestBody"] = json!({
                "required": true,
                "description": body,
                "content": {"application/json": {"schema": {"type": "object"}}},
            });
        }
        if endpoint.permission == "public" {
            operation["security"] = json!([]);
        }
        let item = paths.entry(endpoint.path.clone()).or_insert_with(|| json!({}));
        item[endpoint.method.as_str().to_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Formwork API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Errors share one shape. Browser sessions send the CSRF token as x-csrf-token on writes.",
        },
        "paths": paths,
        "security": [{"session": []}, {"token": []}],
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "formwork_session"},
                "token": {"type": "http", "scheme": "bearer", "bearerFormat": "fwk_…"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string", "enum": crate::error::CODES},
                        "message": {"type": "string"},
                        "details": {},
                    },
                },
            },
        },
    })
}

/// `get_workspaces_ws_forms_form`: unique per method and path.
fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_lowercase();
    for segment in path.split('/').filter(|s| !s.is_empty() && *s != "api" && *s != "v1") {
        let word: String = segment.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !word.is_empty() {
            id.push('_');
            id.push_str(&word);
        }
    }
    id
}
