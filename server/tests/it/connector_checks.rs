//! The "test connection" button: an HTTP connector is reached (any answer counts), a closed
//! port and a silent relay are reported in words, nothing is sent, only admins may test, and a
//! connector of another workspace is not found. (The Tryton login is tested in `tryton.rs`.)

use axum::http::StatusCode;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::on_both;
use crate::support::TestApp;

/// A port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A mail relay that greets, answers EHLO and counts the MAIL commands it gets (none, here).
async fn relay() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = mails.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counted = counted.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 relay ready\r\n").await;
                while let Ok(Some(line)) = lines.next_line().await {
                    if line.starts_with("MAIL") {
                        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    let answer: &[u8] = if line.starts_with("QUIT") { b"221 bye\r\n" } else { b"250 ok\r\n" };
                    let _ = write.write_all(answer).await;
                }
            });
        }
    });
    (port, mails)
}

on_both!(connectors_can_be_tested_without_sending_anything, |app: TestApp| async move {
    let form = json!({"key": "chk", "name": "Check", "fields": [{"key": "n", "type": "number"}]});
    let root = app.workspace_with_form("plant", json!({}), &form).await;
    let ws = "/api/v1/workspaces/plant";
    let peer = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", peer.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(peer, axum::Router::new()).await });
    let (relay_port, mails) = relay().await;
    for connector in [
        json!({"name": "hook", "kind": "http", "config": {"url": url}}),
        json!({"name": "gone", "kind": "http", "config": {"url": format!("http://127.0.0.1:{}/x", closed_port())}}),
        json!({"name": "mail", "kind": "smtp", "config": {"host": "127.0.0.1", "port": relay_port, "from": "qms@plant.example"}}),
        json!({"name": "nomail", "kind": "smtp", "config": {"host": "127.0.0.1", "port": closed_port(), "from": "qms@plant.example"}}),
    ] {
        let (status, body) = app.send(root.request("POST", &format!("{ws}/connectors"), Some(&connector))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let test = |name: &str| {
        let request = root.request("POST", &format!("{ws}/connectors/{name}/test"), None);
        let app = &app;
        async move { app.send(request).await }
    };
    let (status, hook) = test("hook").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(hook["ok"], true, "{hook}");
    assert!(hook["message"].as_str().unwrap().contains("HTTP 404"), "any answer means reachable: {hook}");
    let (_, gone) = test("gone").await;
    assert_eq!(gone["ok"], false, "{gone}");
    assert!(gone["message"].as_str().unwrap().contains("cannot connect"), "{gone}");
    let (_, mail) = test("mail").await;
    assert_eq!(mail["ok"], true, "{mail}");
    assert_eq!(mails.load(std::sync::atomic::Ordering::SeqCst), 0, "a test sends no mail");
    let (_, nomail) = test("nomail").await;
    assert_eq!(nomail["ok"], false, "{nomail}");
    let (status, _) = test("nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Only administrators of the workspace; another workspace's admin finds nothing.
    app.create_user("mia", "correct horse battery", false).await;
    let (status, _) = app
        .send(root.request("PUT", &format!("{ws}/members"), Some(&json!({"username": "mia", "roles": ["member"]}))))
        .await;
    assert_eq!(status, StatusCode::OK);
    let mia = app.login("mia", "correct horse battery").await;
    let (status, _) = app.send(mia.request("POST", &format!("{ws}/connectors/hook/test"), None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) =
        app.send(root.request("POST", "/api/v1/workspaces", Some(&json!({"slug": "other", "name": "Other"})))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app.send(root.request("POST", "/api/v1/workspaces/other/connectors/hook/test", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
});
