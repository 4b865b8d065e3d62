//! The e-mail notification channel: a connector of kind `smtp` named `notify` sends each
//! notification to the recipients' addresses through an SMTP relay.
//!
//! Config: `{host, port?, from, subject_prefix?}`. This client speaks plain SMTP to a relay
//! the factory runs (typically the host's own MTA on loopback, which then handles TLS and
//! authentication towards the world); it sends no credentials, so none can cross the wire in
//! clear text. Replies 4xx are retried, 5xx are failures. The outbox row's idempotency key
//! becomes the Message-ID, so a message sent again after a crash is recognisable as the same.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::connectors::Outcome;
use crate::db::entities::connector;

const TIMEOUT: Duration = Duration::from_secs(30);

/// Checks an `smtp` connector's config.
pub fn check_config(config: &Value) -> Result<(), String> {
    let host = config.get("host").and_then(Value::as_str).ok_or("the config needs a `host`")?;
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("`host` must be a host name or address".into());
    }
    if let Some(port) = config.get("port")
        && !port.as_u64().is_some_and(|p| (1..=65_535).contains(&p))
    {
        return Err("`port` must be a number from 1 to 65535".into());
    }
    let from = config.get("from").and_then(Value::as_str).ok_or("the config needs a `from` address")?;
    if !address_ok(from) {
        return Err("`from` must be an e-mail address".into());
    }
    Ok(())
}

/// An address safe to put into an SMTP command and a header: no spaces, controls or brackets.
fn address_ok(address: &str) -> bool {
    address.contains('@')
        && address.len() <= 254
        && !address.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | '"'))
}

/// Delivers a notification payload `{recipients: [{email, ..}], message, node, record}`.
pub async fn deliver(connector: &connector::Model, payload: &Value, key: &str) -> Outcome {
    let config = &connector.config;
    let host = config.get("host").and_then(Value::as_str).unwrap_or("127.0.0.1");
    let port = config.get("port").and_then(Value::as_u64).unwrap_or(25) as u16;
    let from = config.get("from").and_then(Value::as_str).unwrap_or_default();
    let to: Vec<&str> = payload
        .get("recipients")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter().filter_map(|r| r.get("email").and_then(Value::as_str)).filter(|a| address_ok(a)).collect()
        })
        .unwrap_or_default();
    if to.is_empty() {
        // Nobody to write to is not an error worth retrying: the in-app notification exists.
        return Outcome::Done(json!({"sent": 0}));
    }
    let prefix = config.get("subject_prefix").and_then(Value::as_str).unwrap_or("[Formwork]");
    let message = payload.get("message").and_then(Value::as_str).unwrap_or_default();
    let subject = format!("{prefix} {}", first_line(message));
    let mail = compose(from, &to, &subject, message, payload, key);
    match tokio::time::timeout(TIMEOUT, send(host, port, from, &to, &mail)).await {
        Ok(Ok(())) => Outcome::Done(json!({"sent": to.len()})),
        Ok(Err(outcome)) => outcome,
        Err(_) => Outcome::Retry(format!("{} timed out", connector.name)),
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let mut out: String = line.chars().filter(|c| !c.is_control()).take(120).collect();
    if out.is_empty() {
        out.push_str("Notification");
    }
    out
}

/// Encodes a header value as an RFC 2047 encoded word when it is not plain ASCII (Chinese
/// subjects are the common case).
fn header_text(text: &str) -> String {
    use base64::Engine as _;
    if text.is_ascii() {
        text.to_owned()
    } else {
        format!("=?UTF-8?B?{}?=", base64::engine::general_purpose::STANDARD.encode(text))
    }
}

fn compose(from: &str, to: &[&str], subject: &str, message: &str, payload: &Value, key: &str) -> String {
    use base64::Engine as _;
    let id: String = key.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '.' }).collect();
    let domain = from.rsplit('@').next().unwrap_or("formwork");
    let mut body = message.to_owned();
    if let Some(record) = payload.get("record").and_then(Value::as_str) {
        body.push_str(&format!("\n\nRecord: {record}"));
    }
    // Base64 keeps any text (and lines starting with a dot) safe through every relay.
    let encoded = base64::engine::general_purpose::STANDARD.encode(body.as_bytes());
    let mut lines: Vec<String> = vec![
        format!("From: {from}"),
        format!("To: {}", to.join(", ")),
        format!("Subject: {}", header_text(subject)),
        format!("Message-ID: <{id}@{domain}>"),
        "MIME-Version: 1.0".into(),
        "Content-Type: text/plain; charset=utf-8".into(),
        "Content-Transfer-Encoding: base64".into(),
        String::new(),
    ];
    lines.extend(encoded.as_bytes().chunks(76).map(|chunk| String::from_utf8_lossy(chunk).into_owned()));
    lines.join("\r\n")
}

async fn send(host: &str, port: u16, from: &str, to: &[&str], mail: &str) -> Result<(), Outcome> {
    let stream = TcpStream::connect((host, port))
        .await
        .map_err(|e| Outcome::Retry(format!("the mail relay is unreachable: {}", e.kind())))?;
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    expect(&mut read, 220).await?;
    let mut say = async |line: String, code: u16| -> Result<(), Outcome> {
        write.write_all(format!("{line}\r\n").as_bytes()).await.map_err(|e| Outcome::Retry(e.to_string()))?;
        expect(&mut read, code).await
    };
    say("EHLO formwork".into(), 250).await?;
    say(format!("MAIL FROM:<{from}>"), 250).await?;
    for address in to {
        say(format!("RCPT TO:<{address}>"), 250).await?;
    }
    say("DATA".into(), 354).await?;
    say(format!("{mail}\r\n."), 250).await?;
    // The message is accepted; a failed QUIT changes nothing.
    let _ = say("QUIT".into(), 221).await;
    Ok(())
}

/// Reads one (possibly multi-line) reply and checks its code.
async fn expect(read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>, wanted: u16) -> Result<(), Outcome> {
    let mut line = String::new();
    loop {
        line.clear();
        let n = read.read_line(&mut line).await.map_err(|e| Outcome::Retry(e.to_string()))?;
        if n == 0 {
            return Err(Outcome::Retry("the mail relay closed the connection".into()));
        }
        // "250-..." continues, "250 ..." ends the reply.
        if line.as_bytes().get(3) != Some(&b'-') {
            break;
        }
    }
    let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
    let text: String = line.trim_end().chars().take(200).collect();
    match code {
        c if c == wanted => Ok(()),
        400..=499 => Err(Outcome::Retry(format!("the mail relay deferred: {text}"))),
        _ => Err(Outcome::Failed(format!("the mail relay refused: {text}"))),
    }
}

/// Connects to the relay and says hello (the connection test of the admin pages); no mail.
pub async fn test(connector: &connector::Model) -> Result<String, String> {
    let host = connector.config.get("host").and_then(Value::as_str).unwrap_or_default();
    let port = connector.config.get("port").and_then(Value::as_u64).unwrap_or(25) as u16;
    let unreachable = |o: Outcome| match o {
        Outcome::Retry(m) | Outcome::Failed(m) => m,
        Outcome::Done(_) => String::new(),
    };
    let stream = TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("the mail relay {host}:{port} is unreachable: {}", e.kind()))?;
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    expect(&mut read, 220).await.map_err(unreachable)?;
    write.write_all(b"EHLO formwork\r\n").await.map_err(|e| e.to_string())?;
    expect(&mut read, 250).await.map_err(unreachable)?;
    let _ = write.write_all(b"QUIT\r\n").await;
    Ok(format!("the mail relay {host}:{port} greeted and accepted EHLO"))
}
