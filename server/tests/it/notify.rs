//! Notifications by e-mail: users keep an address on their profile, and a `notify` connector
//! of kind `smtp` sends every workflow notification through a relay — here a small SMTP
//! server in the test that records what it is told.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::on_both;
use crate::support::TestApp;
use crate::workflows::{WS, drain, publish, setup, submit, time_passes};

/// One accepted message: the envelope recipients and the raw text after DATA.
#[derive(Clone, Debug)]
struct Mail {
    to: Vec<String>,
    text: String,
}

/// An SMTP relay on loopback. The first `defer` RCPT commands are answered 451.
#[derive(Clone, Default)]
struct Relay {
    mails: Arc<Mutex<Vec<Mail>>>,
    defer: Arc<Mutex<u32>>,
}

impl Relay {
    async fn start(defer: u32) -> (Relay, u16) {
        let relay = Relay { defer: Arc::new(Mutex::new(defer)), ..Relay::default() };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = relay.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let relay = server.clone();
                tokio::spawn(async move { relay.session(stream).await });
            }
        });
        (relay, port)
    }

    async fn session(&self, stream: tokio::net::TcpStream) {
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::new(read);
        write.write_all(b"220 relay ready\r\n").await.unwrap();
        let mut to = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let command = line.trim_end().to_owned();
            let reply: &[u8] = if command.starts_with("EHLO") {
                b"250-relay\r\n250 8BITMIME\r\n"
            } else if command.starts_with("MAIL FROM:") {
                b"250 ok\r\n"
            } else if let Some(address) = command.strip_prefix("RCPT TO:") {
                let deferred = {
                    let mut defer = self.defer.lock().unwrap();
                    let deferred = *defer > 0;
                    *defer = defer.saturating_sub(1);
                    deferred
                };
                if deferred {
                    b"451 try again later\r\n"
                } else {
                    to.push(address.trim_matches(['<', '>']).to_owned());
                    b"250 ok\r\n"
                }
            } else if command == "DATA" {
                write.write_all(b"354 go on\r\n").await.unwrap();
                let mut text = String::new();
                loop {
                    line.clear();
                    read.read_line(&mut line).await.unwrap();
                    if line == ".\r\n" {
                        break;
                    }
                    text.push_str(&line);
                }
                self.mails.lock().unwrap().push(Mail { to: std::mem::take(&mut to), text });
                b"250 queued\r\n"
            } else if command == "QUIT" {
                write.write_all(b"221 bye\r\n").await.unwrap();
                return;
            } else {
                b"500 what\r\n"
            };
            write.write_all(reply).await.unwrap();
        }
    }

    fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

on_both!(users_set_their_address_and_bad_ones_change_nothing, |app: TestApp| async move {
    let p = setup(&app, "http://127.0.0.1:9/unused").await;
    for bad in [
        json!({"email": "no-at-sign"}),
        json!({"email": "a@b"}),
        json!({"email": "x y@plant.example"}),
        json!({"colour": "red"}),
        json!({"display_name": ""}),
    ] {
        let (status, body) = app.send(p.member.request("PATCH", "/api/v1/me", Some(&bad))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} {body}");
        let expected = if bad.get("colour").is_some() { "invalid_body" } else { "bad_request" };
        assert_eq!(body["code"], json!(expected), "{body}");
        assert!(body["message"].is_string(), "{body}");
    }
    let (_, me) = app.send(p.member.request("GET", "/api/v1/me", None)).await;
    assert_eq!(me["user"]["email"], json!(null));
    let (status, me) = app
        .send(p.member.request(
            "PATCH",
            "/api/v1/me",
            Some(&json!({"email": "inspector@plant-a.example", "display_name": "王工"})),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["email"], json!("inspector@plant-a.example"));
    assert_eq!(me["user"]["display_name"], json!("王工"));
    // A missing `email` keeps it; null removes it.
    let (_, me) = app.send(p.member.request("PATCH", "/api/v1/me", Some(&json!({"display_name": "Wang"})))).await;
    assert_eq!(me["user"]["email"], json!("inspector@plant-a.example"));
    let (_, me) = app.send(p.member.request("PATCH", "/api/v1/me", Some(&json!({"email": null})))).await;
    assert_eq!(me["user"]["email"], json!(null));
});

on_both!(workflow_notifications_are_mailed_through_the_relay, |app: TestApp| async move {
    let (relay, port) = Relay::start(1).await;
    let p = setup(&app, "http://127.0.0.1:9/unused").await;
    let (status, _) =
        app.send(p.member.request("PATCH", "/api/v1/me", Some(&json!({"email": "inspector@plant-a.example"})))).await;
    assert_eq!(status, StatusCode::OK);

    // Connector checks: a relay needs a host and a sender address.
    for config in [
        json!({"from": "qms@plant-a.example"}),
        json!({"host": "127.0.0.1", "from": "not an address"}),
        json!({"host": "127.0.0.1", "port": 0, "from": "qms@plant-a.example"}),
    ] {
        let connector = json!({"name": "notify", "kind": "smtp", "config": config});
        let (status, body) = app.send(p.root.request("POST", &format!("{WS}/connectors"), Some(&connector))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{config} {body}");
    }
    let connector = json!({"name": "notify", "kind": "smtp", "config": {"host": "127.0.0.1", "port": port, "from": "qms@plant-a.example"}});
    let (status, body) = app.send(p.root.request("POST", &format!("{WS}/connectors"), Some(&connector))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let definition = json!({
        "key": "tell-submitter", "form": "iqc", "trigger": {"on": "submitted"},
        "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "tell", "kind": "action", "script": "notify([submitter], \"IQC 拒收 lot \" + record.lot_no)"},
            {"id": "end", "kind": "end"}
        ],
        "edges": [{"from": "start", "to": "tell"}, {"from": "tell", "to": "end"}]
    });
    publish(&app, &p.designer, &definition).await;
    let id = submit(&app, &p.member, json!({"lot_no": "LOT-77", "lot_size": 5, "result": "reject"})).await;

    // The relay defers the first attempt: the row waits with one attempt, then goes through once.
    drain(&app).await;
    assert!(relay.mails().is_empty());
    let (_, rows) = app.send(p.root.request("GET", &format!("{WS}/outbox?status=pending"), None)).await;
    assert_eq!(rows["items"][0]["attempts"], json!(1), "{rows}");
    assert!(rows["items"][0]["last_error"].as_str().unwrap_or_default().contains("451"), "{rows}");
    time_passes(&app).await;
    drain(&app).await;
    let mails = relay.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].to, ["inspector@plant-a.example"]);
    let text = &mails[0].text;
    let subject =
        format!("=?UTF-8?B?{}?=", base64::engine::general_purpose::STANDARD.encode("[Formwork] IQC 拒收 lot LOT-77"));
    assert!(text.contains(&format!("Subject: {subject}\r\n")), "{text}");
    let body: String = text.split("\r\n\r\n").nth(1).unwrap().split("\r\n").collect();
    let body = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(body).unwrap()).unwrap();
    assert!(body.contains("IQC 拒收 lot LOT-77") && body.contains(&id), "{body}");

    // The in-app notification exists as well; a user without an address gets no mail.
    let (status, _) = app.send(p.member.request("PATCH", "/api/v1/me", Some(&json!({"email": null})))).await;
    assert_eq!(status, StatusCode::OK);
    submit(&app, &p.member, json!({"lot_no": "LOT-78", "lot_size": 5, "result": "reject"})).await;
    drain(&app).await;
    assert_eq!(relay.mails().len(), 1);
    let (_, rows) = app.send(p.root.request("GET", &format!("{WS}/outbox?status=done"), None)).await;
    assert_eq!(rows["items"].as_array().unwrap().len(), 2, "{rows}");
});
