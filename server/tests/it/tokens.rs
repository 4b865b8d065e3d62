//! API tokens: shown once, stored hashed, scoped to one workspace, expiring, revocable.

use axum::http::StatusCode;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::forms::{lot_form, plant};
use crate::on_both;
use crate::support::{TestApp, bearer};

on_both!(tokens_act_in_their_workspace_only, |app: TestApp| async move {
    let (root, designer, _) = plant(&app).await;
    app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms", Some(&lot_form()))).await;
    app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms/lot_check/publish", Some(&json!({})))).await;
    app.send(root.request("POST", "/api/v1/workspaces", Some(&json!({"slug": "plant-b", "name": "B"})))).await;
    app.send(root.request(
        "PUT",
        "/api/v1/workspaces/plant-b/members",
        Some(&json!({"username": "designer", "roles": ["admin"]})),
    ))
    .await;

    let (status, created) = app
        .send(designer.request(
            "POST",
            "/api/v1/auth/tokens",
            Some(&json!({"workspace": "plant-a", "name": "ERP sync", "expires_in_days": 30})),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("fwk_"));
    // Stored hashed: the token text is nowhere in the database.
    let stored = app
        .db
        .query_one_raw(Statement::from_string(app.db.get_database_backend(), "SELECT token_hash FROM api_tokens"))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<String>(0)
        .unwrap();
    assert_ne!(stored, token);
    assert_eq!(stored, server::identity::secret_hash(&token));
    // The listing never shows it again.
    let (_, list) = app.send(designer.request("GET", "/api/v1/auth/tokens", None)).await;
    assert_eq!(list["items"][0]["name"], json!("ERP sync"));
    assert!(list["items"][0].get("token").is_none());

    // Works in plant-a without a CSRF header (no cookie involved).
    let (status, _) = app.send(bearer(&token, "GET", "/api/v1/workspaces/plant-a/forms", None)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, record) = app
        .send(bearer(
            &token,
            "POST",
            "/api/v1/workspaces/plant-a/forms/lot_check/records",
            Some(&json!({"lot": "L-9"})),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{record}");
    // Not in plant-b, although its owner is an admin there.
    let (status, _) = app.send(bearer(&token, "GET", "/api/v1/workspaces/plant-b/members", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, workspaces) = app.send(bearer(&token, "GET", "/api/v1/workspaces", None)).await;
    assert_eq!(workspaces["items"].as_array().unwrap().len(), 1);
    // A token cannot mint tokens or create workspaces.
    let (status, _) = app
        .send(bearer(&token, "POST", "/api/v1/auth/tokens", Some(&json!({"workspace": "plant-a", "name": "more"}))))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Revoked: refused at once.
    let id = created["id"].as_str().unwrap();
    let (status, _) = app.send(designer.request("DELETE", &format!("/api/v1/auth/tokens/{id}"), None)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app.send(bearer(&token, "GET", "/api/v1/workspaces/plant-a/forms", None)).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::UNAUTHORIZED, json!("unauthorized")));
});

on_both!(expired_unknown_and_foreign_tokens_are_refused, |app: TestApp| async move {
    let (root, designer, member) = plant(&app).await;
    app.send(root.request("POST", "/api/v1/workspaces", Some(&json!({"slug": "plant-b", "name": "B"})))).await;
    // No membership in plant-b: no token for it.
    let (status, _) = app
        .send(member.request("POST", "/api/v1/auth/tokens", Some(&json!({"workspace": "plant-b", "name": "x"}))))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for bad in [
        json!({"workspace": "plant-a", "name": ""}),
        json!({"workspace": "plant-a", "name": "x", "expires_in_days": 0}),
        json!({"workspace": "plant-a", "name": "x", "expires_in_days": 400}),
    ] {
        let (status, _) = app.send(member.request("POST", "/api/v1/auth/tokens", Some(&bad))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (_, created) = app
        .send(designer.request("POST", "/api/v1/auth/tokens", Some(&json!({"workspace": "plant-a", "name": "old"}))))
        .await;
    let token = created["token"].as_str().unwrap().to_owned();
    app.db
        .execute_unprepared(&format!(
            "UPDATE api_tokens SET expires_at = 1 WHERE id = '{}'",
            created["id"].as_str().unwrap()
        ))
        .await
        .unwrap();
    assert_eq!(app.send(bearer(&token, "GET", "/api/v1/me", None)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.send(bearer(&format!("fwk_{}", "0".repeat(64)), "GET", "/api/v1/me", None)).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Someone else's token id cannot be revoked.
    let (_, other) = app
        .send(designer.request("POST", "/api/v1/auth/tokens", Some(&json!({"workspace": "plant-a", "name": "mine"}))))
        .await;
    let path = format!("/api/v1/auth/tokens/{}", other["id"].as_str().unwrap());
    assert_eq!(app.send(member.request("DELETE", &path, None)).await.0, StatusCode::NOT_FOUND);
});
