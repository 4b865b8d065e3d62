//! Calls to the server's JSON API with the browser's `fetch`: the session cookie travels by
//! itself, writes carry the CSRF token, and every answer that is not 2xx becomes an
//! [`ApiError`] with the server's code, message and details.

use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestCredentials, RequestInit, Response};

/// The error body every API error has: `{code, message, details?}`.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub details: Value,
}

impl ApiError {
    fn network(message: String) -> ApiError {
        ApiError { status: 0, code: "network".into(), message, details: Value::Null }
    }

    /// The message with the problems that explain it (a draft's or a definition's).
    pub fn describe(&self) -> String {
        let problems = self.field_errors();
        if problems.is_empty() {
            return self.message.clone();
        }
        let list: Vec<String> = problems.into_iter().map(|(p, m)| format!("{p}: {m}")).collect();
        format!("{} — {}", self.message, list.join("; "))
    }

    /// The per-field problems of a 422 (or of a definition that does not compile):
    /// `details.errors` as `(path, message)`.
    pub fn field_errors(&self) -> Vec<(String, String)> {
        self.details
            .get("errors")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|e| {
                        let text = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
                        (text("path"), text("message"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// What each call needs to know about the session.
#[derive(Clone, Debug, Default)]
pub struct Client {
    pub csrf: Option<String>,
    /// `en` or `zh-CN`: the server writes its messages in this language.
    pub lang: &'static str,
}

impl Client {
    pub async fn get(&self, path: &str) -> Result<Value, ApiError> {
        self.call("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.call("POST", path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.call("PUT", path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.call("PATCH", path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Result<Value, ApiError> {
        self.call("DELETE", path, None).await
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, ApiError> {
        let response = self.fetch(method, path, body).await?;
        let status = response.status();
        let text = JsFuture::from(response.text().map_err(js_error)?).await.map_err(js_error)?;
        let text = text.as_string().unwrap_or_default();
        let json: Value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::Null) };
        if (200..300).contains(&status) {
            return Ok(json);
        }
        let field = |k: &str| json.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        Err(ApiError {
            status,
            code: if json.is_object() { field("code") } else { "http".into() },
            message: if json.is_object() { field("message") } else { format!("HTTP {status}") },
            details: json.get("details").cloned().unwrap_or(Value::Null),
        })
    }

    /// A form's latest published version and its definition (`None`: only a draft so far).
    pub async fn latest_definition(&self, ws: &str, form: &str) -> Result<Option<(i64, Value)>, ApiError> {
        let found = self.get(&ws_path(ws, &format!("/forms/{form}"))).await?;
        let Some(version) = found["latest_version"].as_i64() else { return Ok(None) };
        let published = self.get(&ws_path(ws, &format!("/forms/{form}/versions/{version}"))).await?;
        Ok(Some((version, published["definition"].clone())))
    }

    /// Uploads a file (a photo from the camera, a document) as the raw body.
    pub async fn upload(&self, path: &str, file: &web_sys::File) -> Result<Value, ApiError> {
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_credentials(RequestCredentials::SameOrigin);
        let headers = Headers::new().map_err(js_error)?;
        headers.set("accept-language", self.lang).map_err(js_error)?;
        let kind = file.type_();
        headers
            .set("content-type", if kind.is_empty() { "application/octet-stream" } else { &kind })
            .map_err(js_error)?;
        if let Some(csrf) = &self.csrf {
            headers.set("x-csrf-token", csrf).map_err(js_error)?;
        }
        init.set_headers(&headers);
        init.set_body(file);
        let url = format!("{path}?name={}", String::from(js_sys::encode_uri_component(&file.name())));
        let request = Request::new_with_str_and_init(&url, &init).map_err(js_error)?;
        let window = web_sys::window().ok_or_else(|| ApiError::network("no window".into()))?;
        let response: Response = JsFuture::from(window.fetch_with_request(&request))
            .await
            .map_err(js_error)?
            .dyn_into()
            .map_err(js_error)?;
        let status = response.status();
        let text =
            JsFuture::from(response.text().map_err(js_error)?).await.map_err(js_error)?.as_string().unwrap_or_default();
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return Ok(json);
        }
        Err(ApiError {
            status,
            code: json["code"].as_str().unwrap_or("http").to_owned(),
            message: json["message"].as_str().map(str::to_owned).unwrap_or_else(|| format!("HTTP {status}")),
            details: Value::Null,
        })
    }

    /// A download (an export): the body as a blob URL the page can hand to a link.
    pub async fn download(&self, path: &str, body: &Value) -> Result<String, ApiError> {
        let response = self.fetch("POST", path, Some(body)).await?;
        if !response.ok() {
            let text = JsFuture::from(response.text().map_err(js_error)?).await.map_err(js_error)?;
            let json: Value = serde_json::from_str(&text.as_string().unwrap_or_default()).unwrap_or(Value::Null);
            return Err(ApiError {
                status: response.status(),
                code: json.get("code").and_then(Value::as_str).unwrap_or("http").to_owned(),
                message: json.get("message").and_then(Value::as_str).unwrap_or_default().to_owned(),
                details: Value::Null,
            });
        }
        let blob = JsFuture::from(response.blob().map_err(js_error)?).await.map_err(js_error)?;
        let blob: web_sys::Blob = blob.dyn_into().map_err(js_error)?;
        web_sys::Url::create_object_url_with_blob(&blob).map_err(js_error)
    }

    async fn fetch(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Response, ApiError> {
        let init = RequestInit::new();
        init.set_method(method);
        init.set_credentials(RequestCredentials::SameOrigin);
        let headers = Headers::new().map_err(js_error)?;
        headers.set("accept", "application/json").map_err(js_error)?;
        headers.set("accept-language", self.lang).map_err(js_error)?;
        if method != "GET"
            && let Some(csrf) = &self.csrf
        {
            headers.set("x-csrf-token", csrf).map_err(js_error)?;
        }
        if let Some(body) = body {
            headers.set("content-type", "application/json").map_err(js_error)?;
            init.set_body(&JsValue::from_str(&body.to_string()));
        }
        init.set_headers(&headers);
        let request = Request::new_with_str_and_init(path, &init).map_err(js_error)?;
        let window = web_sys::window().ok_or_else(|| ApiError::network("no window".into()))?;
        let response = JsFuture::from(window.fetch_with_request(&request)).await.map_err(js_error)?;
        response.dyn_into::<Response>().map_err(js_error)
    }
}

fn js_error(value: JsValue) -> ApiError {
    ApiError::network(value.as_string().unwrap_or_else(|| format!("{value:?}")))
}

/// `/api/v1/workspaces/{ws}` + `rest`.
pub fn ws_path(ws: &str, rest: &str) -> String {
    format!("/api/v1/workspaces/{ws}{rest}")
}
