//! Connectors: how an outbox row reaches the outside. Kinds:
//! - `http`: `{url, method?, headers?}`; the payload is the JSON body, `Idempotency-Key` is
//!   sent, and `{{secret}}` in a header value is replaced by the connector's secret. A 2xx
//!   answer is the result (its JSON body); 408, 429, 5xx and network errors are retried;
//!   other answers are business failures.
//! - `jsonrpc`: `{url}`; the operation is the method and the payload the params; an `error`
//!   member is a business failure.
//! - `tryton`: the Tryton ERP profile (`tryton.rs`).
//! - `smtp`: e-mail through a relay (`smtp.rs`), for the `notify` channel.
//!
//! Secrets are stored apart from the config, never returned by the API and never logged.

use std::time::Duration;

use serde_json::{Value, json};

use crate::db::entities::connector;

/// What a delivery came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Done; the answer goes back to the instance.
    Done(Value),
    /// The other side refused for a business reason: retrying will not help.
    Failed(String),
    /// Try again later (network, overload, server error).
    Retry(String),
}

pub const KINDS: &[&str] = &["http", "jsonrpc", "tryton", "smtp"];

/// The operations a connector offers to workflow definitions (`*` for any).
pub fn operations(connector: &connector::Model) -> Vec<String> {
    match connector.config.get("operations").and_then(Value::as_array) {
        Some(list) => list.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        None => vec!["*".to_owned()],
    }
}

/// Checks a connector's config for its kind; the message says what is wrong.
pub fn check_config(kind: &str, config: &Value) -> Result<(), String> {
    if !KINDS.contains(&kind) {
        return Err(format!("unknown connector kind “{kind}” (expected one of {})", KINDS.join(", ")));
    }
    if kind == "smtp" {
        return super::smtp::check_config(config);
    }
    let url = config.get("url").and_then(Value::as_str).ok_or("the config needs a `url`")?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err("the `url` must start with http:// or https://".into());
    }
    if let Some(headers) = config.get("headers")
        && !headers.as_object().is_some_and(|h| h.values().all(Value::is_string))
    {
        return Err("`headers` must map names to strings".into());
    }
    Ok(())
}

/// Reaches the connector without delivering anything: an HTTP answer of any status for
/// `http` and `jsonrpc`, a login for `tryton`, a greeting and `EHLO` for `smtp`. The message
/// says what happened, in words an administrator can act on (never the secret).
pub async fn test(http: &reqwest::Client, connector: &connector::Model) -> Result<String, String> {
    match connector.kind.as_str() {
        "tryton" => return super::tryton::test(http, connector).await,
        "smtp" => return super::smtp::test(connector).await,
        _ => {}
    }
    let url = connector.config.get("url").and_then(Value::as_str).unwrap_or_default();
    let answer = http.get(url).timeout(Duration::from_secs(10)).send().await;
    match answer {
        Ok(response) => Ok(format!("reachable: {url} answered HTTP {}", response.status().as_u16())),
        Err(error) if error.is_timeout() => Err(format!("{url} did not answer within 10 seconds")),
        Err(error) if error.is_connect() => Err(format!("cannot connect to {url}")),
        Err(_) => Err(format!("the request to {url} failed")),
    }
}

pub async fn deliver(
    http: &reqwest::Client,
    connector: &connector::Model,
    operation: &str,
    payload: &Value,
    key: &str,
) -> Outcome {
    match connector.kind.as_str() {
        "tryton" => return super::tryton::deliver(http, connector, operation, payload, key).await,
        "smtp" if operation == "notify" => return super::smtp::deliver(connector, payload, key).await,
        "smtp" => return Outcome::Failed(format!("an smtp connector only sends notifications, not “{operation}”")),
        _ => {}
    }
    let url = connector.config.get("url").and_then(Value::as_str).unwrap_or_default();
    let secret = connector.secret.as_deref().unwrap_or_default();
    let (body, jsonrpc) = match connector.kind.as_str() {
        "jsonrpc" => (json!({"jsonrpc": "2.0", "id": key, "method": operation, "params": payload}), true),
        "http" => (payload.clone(), false),
        other => return Outcome::Failed(format!("unknown connector kind “{other}”")),
    };
    let method = connector.config.get("method").and_then(Value::as_str).unwrap_or("POST");
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::POST);
    let mut request = http
        .request(method, url)
        .timeout(Duration::from_secs(30))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .header("x-formwork-operation", operation)
        .body(body.to_string());
    if let Some(headers) = connector.config.get("headers").and_then(Value::as_object) {
        for (name, value) in headers {
            let value = value.as_str().unwrap_or_default().replace("{{secret}}", secret);
            request = request.header(name.as_str(), value);
        }
    }
    let response = match request.send().await {
        Ok(response) => response,
        // The error text names the URL but never the headers, so no secret leaks here.
        Err(error) => return Outcome::Retry(format!("{} unreachable: {}", connector.name, error.without_url())),
    };
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
        return Outcome::Retry(format!("{} answered {status}", connector.name));
    }
    if !status.is_success() {
        return Outcome::Failed(format!("{} answered {status}: {}", connector.name, brief(&text)));
    }
    if jsonrpc {
        if let Some(error) = answer.get("error").filter(|e| !e.is_null()) {
            let message = error.get("message").and_then(Value::as_str).map_or_else(|| error.to_string(), str::to_owned);
            return Outcome::Failed(format!("{}: {}", connector.name, brief(&message)));
        }
        return Outcome::Done(answer.get("result").cloned().unwrap_or(Value::Null));
    }
    Outcome::Done(answer)
}

/// At most 300 characters of an answer, for error messages shown on records.
fn brief(text: &str) -> String {
    let mut out: String = text.chars().take(300).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}
