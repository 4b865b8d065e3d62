//! The Tryton ERP profile (`../shared/reference/tryton-erp.md`): JSON-RPC with a session,
//! business keys looked up (never ids), and `supplier_return` made effectively-once by
//! searching our reference before creating. Config: `{url, database, username}`; the secret is
//! the password.
//!
//! `supplier_return` payload: `{supplier, product, lot, quantity, reference, unit_price?}`
//! (supplier by name, product by code, lot by number). The shipment is created, waited,
//! assigned and done; each step first reads the state, so a repeated delivery continues where
//! the last one stopped. Not enough stock leaves it `waiting` after `assign_try`: a business
//! failure. Tryton's UserWarnings are acknowledged and the call repeated.
//!
//! `quality_inspection` payload: `{control, reference, points: {name: value}, result?}`
//! (control by name). It mirrors an inspection judged here: the inspection is found by our
//! reference or created with the points, processed (Tryton judges the points against its
//! tolerances), and, when `result` (`passed`/`failed`, or `accept`/`reject`) says otherwise,
//! set to our judgement — ours is the record of truth, Tryton's own verdict is returned as
//! `tryton_verdict`.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use super::connectors::Outcome;
use crate::db::entities::connector;

struct Session<'a> {
    http: &'a reqwest::Client,
    url: String,
    auth: String,
    context: Value,
}

/// Why a call did not give a result: worth retrying, or a business refusal.
enum Error {
    Retry(String),
    Failed(String),
}

impl From<Error> for Outcome {
    fn from(error: Error) -> Outcome {
        match error {
            Error::Retry(message) => Outcome::Retry(message),
            Error::Failed(message) => Outcome::Failed(message),
        }
    }
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    auth: Option<&str>,
    method: &str,
    params: Value,
) -> Result<Value, Error> {
    let mut request = http
        .post(url)
        .timeout(Duration::from_secs(30))
        .header("content-type", "application/json")
        .body(json!({"id": 1, "method": method, "params": params}).to_string());
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let response =
        request.send().await.map_err(|e| Error::Retry(format!("Tryton unreachable: {}", e.without_url())))?;
    let status = response.status();
    if status.is_server_error() || status.as_u16() == 401 || status.as_u16() == 429 {
        return Err(Error::Retry(format!("Tryton answered {status}")));
    }
    let text = response.text().await.map_err(|e| Error::Retry(e.to_string()))?;
    if !status.is_success() {
        return Err(Error::Failed(format!("Tryton answered {status}")));
    }
    let answer: Value = serde_json::from_str(&text).map_err(|_| Error::Retry("Tryton sent no JSON".into()))?;
    if let Some(error) = answer.get("error").filter(|e| !e.is_null()) {
        return Ok(json!({"__error": error}));
    }
    Ok(answer.get("result").cloned().unwrap_or(Value::Null))
}

impl Session<'_> {
    async fn open<'a>(http: &'a reqwest::Client, connector: &connector::Model) -> Result<Session<'a>, Error> {
        let config = &connector.config;
        let base = config.get("url").and_then(Value::as_str).unwrap_or_default().trim_end_matches('/');
        let database = config.get("database").and_then(Value::as_str).unwrap_or_default();
        let username = config.get("username").and_then(Value::as_str).unwrap_or("admin");
        let url = format!("{base}/{database}/rpc/");
        let password = connector.secret.clone().unwrap_or_default();
        let login = post(http, &url, None, "common.db.login", json!([username, {"password": password}, "en"])).await?;
        if login.get("__error").is_some() {
            return Err(Error::Retry("Tryton refused the login".into()));
        }
        let user =
            login.get(0).and_then(Value::as_i64).ok_or_else(|| Error::Retry("unexpected login answer".into()))?;
        let key = login.get(1).and_then(Value::as_str).unwrap_or_default();
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{user}:{key}"));
        let auth = format!("Session {token}");
        let context = post(http, &url, Some(&auth), "model.res.user.get_preferences", json!([true, {}])).await?;
        let context = json!({"company": context.get("company").cloned().unwrap_or(Value::Null), "language": "en"});
        Ok(Session { http, url, auth, context })
    }

    /// Calls `method` with `params` and the context; acknowledges a UserWarning and repeats.
    async fn call(&self, method: &str, params: Vec<Value>) -> Result<Value, Error> {
        for _ in 0..4 {
            let mut all = params.clone();
            all.push(self.context.clone());
            let answer = post(self.http, &self.url, Some(&self.auth), method, Value::Array(all)).await?;
            let Some(error) = answer.get("__error") else { return Ok(answer) };
            match error.get(0).and_then(Value::as_str) {
                Some("UserWarning") => {
                    let name = error.pointer("/1/0").cloned().unwrap_or(Value::Null);
                    let skip = vec![name, json!(false), self.context.clone()];
                    post(self.http, &self.url, Some(&self.auth), "model.res.user.warning.skip", Value::Array(skip))
                        .await?;
                }
                Some("UserError") => {
                    let message = error.pointer("/1/0").and_then(Value::as_str).unwrap_or("refused");
                    return Err(Error::Failed(format!("Tryton: {message}")));
                }
                _ => return Err(Error::Failed(format!("Tryton error in {method}"))),
            }
        }
        Err(Error::Failed(format!("Tryton kept warning on {method}")))
    }

    /// The record of `model` carrying our `reference`, if one was made before (a retried
    /// delivery finds it instead of creating a second).
    async fn by_reference(&self, model: &str, reference: &str) -> Result<Option<i64>, Error> {
        let domain = json!([["reference", "=", reference]]);
        let found = self.call(&format!("model.{model}.search"), vec![domain, json!(0), json!(1), Value::Null]).await?;
        Ok(found.get(0).and_then(Value::as_i64))
    }

    /// The id of the one record of `model` matching `domain`, or a business failure naming it.
    async fn find(&self, model: &str, domain: Value, what: &str) -> Result<i64, Error> {
        let found = self.call(&format!("model.{model}.search"), vec![domain, json!(0), json!(1), Value::Null]).await?;
        found.get(0).and_then(Value::as_i64).ok_or_else(|| Error::Failed(format!("Tryton has no {what}")))
    }
}

pub async fn deliver(
    http: &reqwest::Client,
    connector: &connector::Model,
    operation: &str,
    payload: &Value,
    key: &str,
) -> Outcome {
    let result = match operation {
        "supplier_return" => supplier_return(http, connector, payload, key).await,
        "quality_inspection" => quality_inspection(http, connector, payload, key).await,
        other => Err(Error::Failed(format!("the Tryton profile has no operation “{other}”"))),
    };
    match result {
        Ok(value) => Outcome::Done(value),
        Err(error) => error.into(),
    }
}

/// The payload's `reference`, or the outbox row's idempotency key without one.
fn reference(payload: &Value, key: &str) -> String {
    match payload.get("reference").and_then(Value::as_str) {
        Some(r) if !r.is_empty() => r.to_owned(),
        _ => key.to_owned(),
    }
}

async fn supplier_return(
    http: &reqwest::Client,
    connector: &connector::Model,
    payload: &Value,
    key: &str,
) -> Result<Value, Error> {
    let text = |name: &str| payload.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    let reference = reference(payload, key);
    let session = Session::open(http, connector).await?;
    let model = "stock.shipment.in.return";
    let id = match session.by_reference(model, &reference).await? {
        Some(id) => id,
        None => {
            let supplier =
                session.find("party.party", json!([["name", "=", text("supplier")]]), "such supplier").await?;
            let product =
                session.find("product.product", json!([["code", "=", text("product")]]), "such product").await?;
            let lot = session
                .find("stock.lot", json!([["number", "=", text("lot")], ["product", "=", product]]), "such lot")
                .await?;
            let storage = session.find("stock.location", json!([["code", "=", "STO"]]), "storage location").await?;
            let supplier_location =
                session.find("stock.location", json!([["code", "=", "SUP"]]), "supplier location").await?;
            let unit =
                session.call("model.product.product.read", vec![json!([product]), json!(["default_uom"])]).await?;
            let unit = unit.pointer("/0/default_uom").cloned().unwrap_or(Value::Null);
            let company = session.context.get("company").cloned().unwrap_or(Value::Null);
            let currency =
                session.call("model.company.company.read", vec![json!([company]), json!(["currency"])]).await?;
            let currency = currency.pointer("/0/currency").cloned().unwrap_or(Value::Null);
            let price =
                payload.get("unit_price").map_or("0".to_owned(), |p| p.to_string().trim_matches('"').to_owned());
            let quantity = payload.get("quantity").cloned().unwrap_or(json!(0));
            let created = session
                .call(
                    &format!("model.{model}.create"),
                    vec![json!([{
                        "supplier": supplier, "from_location": storage, "to_location": supplier_location,
                        "reference": reference,
                        "moves": [["create", [{
                            "product": product, "unit": unit, "quantity": quantity, "lot": lot,
                            "from_location": storage, "to_location": supplier_location,
                            "unit_price": {"__class__": "Decimal", "decimal": price}, "currency": currency
                        }]]]
                    }])],
                )
                .await?;
            created.get(0).and_then(Value::as_i64).ok_or_else(|| Error::Retry("Tryton created nothing".into()))?
        }
    };
    // Continue from whatever state the shipment is in (a repeated delivery resumes here).
    for _ in 0..4 {
        let read = session.call(&format!("model.{model}.read"), vec![json!([id]), json!(["state", "number"])]).await?;
        let state = read.pointer("/0/state").and_then(Value::as_str).unwrap_or_default().to_owned();
        let number = read.pointer("/0/number").cloned().unwrap_or(Value::Null);
        match state.as_str() {
            "done" => return Ok(json!({"id": id, "number": number, "state": "done", "reference": reference})),
            "draft" => {
                session.call(&format!("model.{model}.wait"), vec![json!([id])]).await?;
            }
            "waiting" => {
                session.call(&format!("model.{model}.assign_try"), vec![json!([id])]).await?;
                let after = session.call(&format!("model.{model}.read"), vec![json!([id]), json!(["state"])]).await?;
                if after.pointer("/0/state").and_then(Value::as_str) == Some("waiting") {
                    return Err(Error::Failed(format!(
                        "Tryton: not enough stock for supplier return {}",
                        number.as_str().unwrap_or("?")
                    )));
                }
            }
            "assigned" => {
                session.call(&format!("model.{model}.do"), vec![json!([id])]).await?;
            }
            other => return Err(Error::Failed(format!("Tryton: the supplier return is {other}"))),
        }
    }
    Err(Error::Retry("the supplier return did not reach done".into()))
}

async fn quality_inspection(
    http: &reqwest::Client,
    connector: &connector::Model,
    payload: &Value,
    key: &str,
) -> Result<Value, Error> {
    let reference = reference(payload, key);
    let wanted = match payload.get("result").and_then(Value::as_str) {
        None => None,
        Some("passed" | "accept" | "pass") => Some("passed"),
        Some("failed" | "reject" | "fail") => Some("failed"),
        Some(other) => return Err(Error::Failed(format!("unknown inspection result “{other}”"))),
    };
    let session = Session::open(http, connector).await?;
    let model = "quality.inspection";
    let id = match session.by_reference(model, &reference).await? {
        Some(id) => id,
        None => {
            let name = payload.get("control").and_then(Value::as_str).unwrap_or_default();
            let control = session.find("quality.control", json!([["name", "=", name]]), "such quality control").await?;
            let points = payload.get("points").cloned().unwrap_or_else(|| json!({}));
            if !points.is_object() {
                return Err(Error::Failed("`points` must map point names to values".into()));
            }
            let created = session
                .call(
                    &format!("model.{model}.create"),
                    vec![json!([{"control": control, "reference": reference, "points": points}])],
                )
                .await?;
            created.get(0).and_then(Value::as_i64).ok_or_else(|| Error::Retry("Tryton created nothing".into()))?
        }
    };
    let read = format!("model.{model}.read");
    let fields = json!(["state", "number"]);
    let mut current = session.call(&read, vec![json!([id]), fields.clone()]).await?;
    let state = |read: &Value| read.pointer("/0/state").and_then(Value::as_str).unwrap_or_default().to_owned();
    if state(&current) == "pending" {
        session.call(&format!("model.{model}.process"), vec![json!([id])]).await?;
        current = session.call(&read, vec![json!([id]), fields.clone()]).await?;
    }
    let verdict = state(&current);
    if let Some(wanted) = wanted
        && wanted != verdict
    {
        let button = if wanted == "passed" { "pass_" } else { "fail" };
        session.call(&format!("model.{model}.{button}"), vec![json!([id])]).await?;
        current = session.call(&read, vec![json!([id]), fields.clone()]).await?;
    }
    Ok(json!({
        "id": id,
        "number": current.pointer("/0/number").cloned().unwrap_or(Value::Null),
        "state": state(&current),
        "tryton_verdict": verdict,
        "reference": reference,
    }))
}

/// Logs in with the connector's settings (the connection test of the admin pages).
pub async fn test(http: &reqwest::Client, connector: &connector::Model) -> Result<String, String> {
    match Session::open(http, connector).await {
        Ok(session) => {
            let username = connector.config.get("username").and_then(Value::as_str).unwrap_or("admin");
            Ok(format!("logged in to Tryton at {} as {username}", session.url))
        }
        Err(Error::Retry(message) | Error::Failed(message)) => Err(message),
    }
}
