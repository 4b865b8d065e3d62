//! Attachments: upload, fetch, and who may fetch — the uploader until a record refers to the
//! file, then the record's readers; records may refer only to their caller's own unlinked
//! files of the same workspace (or keep their own); sizes and names are checked.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;

use crate::on_both;
use crate::support::{Session, TestApp};

const WS: &str = "/api/v1/workspaces/plant";

fn upload(session: &Session, name: &str, content_type: &str, bytes: Vec<u8>) -> Request<Body> {
    Request::post(format!("{WS}/attachments?name={name}"))
        .header("cookie", &session.cookie)
        .header("x-csrf-token", &session.csrf)
        .header("content-type", content_type)
        .body(Body::from(bytes))
        .unwrap()
}

async fn fetch(app: &TestApp, session: &Session, id: &str) -> (StatusCode, Vec<u8>, Option<String>) {
    let response = app.raw(session.request("GET", &format!("{WS}/attachments/{id}"), None)).await;
    let status = response.status();
    let disposition = response.headers().get("content-disposition").map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, bytes, disposition)
}

on_both!(attachments_follow_their_records_readers, |app: TestApp| async move {
    let form = json!({"key": "ncr", "name": "NCR", "fields": [
        {"key": "title", "type": "text"},
        {"key": "photos", "type": "attachment", "accept": ["image/*"], "max_files": 3},
        {"key": "items", "type": "subtable", "fields": [{"key": "evidence", "type": "attachment"}]}
    ]});
    let root = app.workspace_with_form("plant", json!({}), &form).await;
    for (user, roles) in [("ann", json!(["member"])), ("bob", json!(["member"])), ("vic", json!(["viewer"]))] {
        app.create_user(user, "correct horse battery", false).await;
        let (status, body) = app
            .send(root.request("PUT", &format!("{WS}/members"), Some(&json!({"username": user, "roles": roles}))))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let ann = app.login("ann", "correct horse battery").await;
    let bob = app.login("bob", "correct horse battery").await;
    let vic = app.login("vic", "correct horse battery").await;

    let png = vec![0x89, b'P', b'N', b'G', 1, 2, 3, 4];
    let (status, file) = app.send(upload(&ann, "..%2Fscratch%20lot%207.png", "image/png", png.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{file}");
    assert_eq!(file["name"], "scratch lot 7.png", "the path is cut off");
    assert_eq!((file["size"].as_i64(), file["content_type"].as_str()), (Some(8), Some("image/png")));
    let id = file["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 64, "ids are random, not guessable");

    // Only the uploader, until a record refers to it.
    let (status, bytes, disposition) = fetch(&app, &ann, &id).await;
    assert_eq!((status, bytes), (StatusCode::OK, png.clone()));
    assert!(disposition.unwrap().starts_with("inline"), "pictures open in the browser");
    for other in [&bob, &vic] {
        assert_eq!(fetch(&app, other, &id).await.0, StatusCode::NOT_FOUND);
    }
    // Bob may not attach Ann's file; nobody may attach a made-up one.
    let (status, body) = app
        .send(bob.request(
            "POST",
            &format!("{WS}/forms/ncr/records"),
            Some(&json!({"title": "x", "photos": [file.clone()]})),
        ))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["details"]["errors"][0]["path"], "/photos/0");
    let made_up = json!({"id": "f".repeat(64), "name": "x.png"});
    let (status, body) = app
        .send(ann.request(
            "POST",
            &format!("{WS}/forms/ncr/records"),
            Some(&json!({"items": [{"evidence": [made_up]}]})),
        ))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["details"]["errors"][0]["path"], "/items/0/evidence/0");

    // Ann's record links it: now its readers (the viewer) may fetch it, a member without
    // access to Ann's records may not.
    let (status, record) = app
        .send(ann.request(
            "POST",
            &format!("{WS}/forms/ncr/records"),
            Some(&json!({"title": "scratch", "photos": [file.clone()]})),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{record}");
    let (status, bytes, _) = fetch(&app, &vic, &id).await;
    assert_eq!((status, bytes), (StatusCode::OK, png.clone()));
    let (record_status, _) =
        app.send(bob.request("GET", &format!("{WS}/records/{}", record["id"].as_str().unwrap()), None)).await;
    assert_eq!(fetch(&app, &bob, &id).await.0 == StatusCode::OK, record_status == StatusCode::OK);
    // A linked file belongs to its record: another record cannot take it, the same record
    // keeps it on edit.
    let (status, _) = app
        .send(ann.request("POST", &format!("{WS}/forms/ncr/records"), Some(&json!({"photos": [file.clone()]}))))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let record_id = record["id"].as_str().unwrap();
    let (status, body) = app
        .send(ann.request(
            "PATCH",
            &format!("{WS}/records/{record_id}"),
            Some(&json!({"version": 1, "data": {"title": "scratch, photo kept"}})),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Other files: not pictures download; bad uploads are refused and leave nothing.
    let (status, doc) = app.send(upload(&ann, "report.html", "text/html", b"<script>alert(1)</script>".to_vec())).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, _, disposition) = fetch(&app, &ann, doc["id"].as_str().unwrap()).await;
    assert!(disposition.unwrap().starts_with("attachment"));
    let response =
        app.raw(ann.request("GET", &format!("{WS}/attachments/{}", doc["id"].as_str().unwrap()), None)).await;
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(response.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"));
    let (status, body) = app.send(upload(&ann, "", "image/png", png.clone())).await;
    assert_eq!((status, &body["code"]), (StatusCode::BAD_REQUEST, &json!("bad_request")));
    let (status, _) = app.send(upload(&ann, "empty.png", "image/png", Vec::new())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) =
        app.send(upload(&ann, "huge.bin", "application/octet-stream", vec![0; 16 * 1024 * 1024 + 1])).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    // Bigger than the JSON body limit is fine for files.
    let (status, _) = app.send(upload(&ann, "photo.jpg", "image/jpeg", vec![7; 3 * 1024 * 1024])).await;
    assert_eq!(status, StatusCode::CREATED);

    // Uploads are audited; another workspace does not see the file.
    let (_, audit) = app.send(root.request("GET", &format!("{WS}/audit"), None)).await;
    let uploads = audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "attachment.upload").count();
    assert_eq!(uploads, 3);
    let (status, _) =
        app.send(root.request("POST", "/api/v1/workspaces", Some(&json!({"slug": "other", "name": "Other"})))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app.send(root.request("GET", &format!("/api/v1/workspaces/other/attachments/{id}"), None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
});
