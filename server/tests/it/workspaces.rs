//! Workspaces and members; isolation between workspaces.

use axum::http::StatusCode;
use serde_json::json;

use crate::on_both;
use crate::support::{Session, TestApp};

const PASSWORD: &str = "correct horse battery";

async fn admin(app: &TestApp) -> Session {
    app.create_user("root", PASSWORD, true).await;
    app.login("root", PASSWORD).await
}

on_both!(admins_create_workspaces_and_members_see_only_theirs, |app: TestApp| async move {
    let root = admin(&app).await;
    let (status, body) = app
        .send(root.request("POST", "/api/v1/workspaces", Some(&json!({"slug": "plant-sz", "name": "苏州工厂"}))))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["slug"], json!("plant-sz"));
    app.send(root.request("POST", "/api/v1/workspaces", Some(&json!({"slug": "plant-de", "name": "Werk Dresden"}))))
        .await;
    let (status, body) =
        app.send(root.request("POST", "/api/v1/workspaces", Some(&json!({"slug": "plant-sz", "name": "again"})))).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::CONFLICT, json!("already_exists")));
    for bad in ["A", "plant sz", "-x", "x", "plant_sz"] {
        let (status, _) =
            app.send(root.request("POST", "/api/v1/workspaces", Some(&json!({"slug": bad, "name": "n"})))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (_, list) = app.send(root.request("GET", "/api/v1/workspaces", None)).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    app.create_user("inspector", PASSWORD, false).await;
    let (status, body) = app
        .send(root.request(
            "PUT",
            "/api/v1/workspaces/plant-sz/members",
            Some(&json!({"username": "inspector", "roles": ["member"]})),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let inspector = app.login("inspector", PASSWORD).await;
    let (_, list) = app.send(inspector.request("GET", "/api/v1/workspaces", None)).await;
    let slugs: Vec<_> = list["items"].as_array().unwrap().iter().map(|w| w["slug"].clone()).collect();
    assert_eq!(slugs, vec![json!("plant-sz")]);
    let (_, me) = app.send(inspector.request("GET", "/api/v1/me", None)).await;
    assert_eq!(me["workspaces"], json!([{"slug": "plant-sz", "name": "苏州工厂", "roles": ["member"]}]));
});

on_both!(members_of_one_workspace_cannot_touch_another, |app: TestApp| async move {
    let root = admin(&app).await;
    for slug in ["plant-a", "plant-b"] {
        app.send(root.request("POST", "/api/v1/workspaces", Some(&json!({"slug": slug, "name": slug})))).await;
    }
    app.create_user("alice", PASSWORD, false).await;
    app.create_user("bob", PASSWORD, false).await;
    app.send(root.request(
        "PUT",
        "/api/v1/workspaces/plant-a/members",
        Some(&json!({"username": "alice", "roles": ["admin"]})),
    ))
    .await;
    app.send(root.request(
        "PUT",
        "/api/v1/workspaces/plant-b/members",
        Some(&json!({"username": "bob", "roles": ["admin"]})),
    ))
    .await;
    let alice = app.login("alice", PASSWORD).await;
    // Workspace B does not exist for Alice: 404, the same as a workspace that does not exist.
    let (status, body) = app.send(alice.request("GET", "/api/v1/workspaces/plant-b/members", None)).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::NOT_FOUND, json!("not_found")));
    assert_eq!(app.send(alice.request("GET", "/api/v1/workspaces/plant-zz/members", None)).await, (status, body));
    let (status, _) = app
        .send(alice.request(
            "PUT",
            "/api/v1/workspaces/plant-b/members",
            Some(&json!({"username": "alice", "roles": ["admin"]})),
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.send(alice.request("DELETE", "/api/v1/workspaces/plant-b/members/bob", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Nothing changed in B.
    let bob = app.login("bob", PASSWORD).await;
    let (_, mut members) = app.send(bob.request("GET", "/api/v1/workspaces/plant-b/members", None)).await;
    // Every member carries the user id (the inbox delegates to it); the ids are volatile.
    for member in members["items"].as_array_mut().unwrap() {
        let id = member.as_object_mut().unwrap().remove("id").expect("a member has an id");
        assert_eq!(id.as_str().unwrap().len(), 36);
    }
    // (root created the workspace and is its first admin.)
    assert_eq!(
        members["items"],
        json!([
            {"username": "bob", "display_name": "bob", "roles": ["admin"]},
            {"username": "root", "display_name": "root", "roles": ["admin"]}
        ])
    );
    // Only installation admins create workspaces.
    let (status, _) =
        app.send(alice.request("POST", "/api/v1/workspaces", Some(&json!({"slug": "mine", "name": "x"})))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
});

on_both!(only_workspace_admins_manage_members, |app: TestApp| async move {
    let root = admin(&app).await;
    app.send(root.request("POST", "/api/v1/workspaces", Some(&json!({"slug": "plant-a", "name": "A"})))).await;
    app.create_user("viewer", PASSWORD, false).await;
    app.create_user("newbie", PASSWORD, false).await;
    app.send(root.request(
        "PUT",
        "/api/v1/workspaces/plant-a/members",
        Some(&json!({"username": "viewer", "roles": ["viewer"]})),
    ))
    .await;
    let viewer = app.login("viewer", PASSWORD).await;
    let (status, _) = app.send(viewer.request("GET", "/api/v1/workspaces/plant-a/members", None)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .send(viewer.request(
            "PUT",
            "/api/v1/workspaces/plant-a/members",
            Some(&json!({"username": "newbie", "roles": ["admin"]})),
        ))
        .await;
    assert_eq!((status, body["code"].clone()), (StatusCode::FORBIDDEN, json!("forbidden")));
    let (status, _) = app
        .send(root.request(
            "PUT",
            "/api/v1/workspaces/plant-a/members",
            Some(&json!({"username": "newbie", "roles": ["Wizard!"]})),
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .send(root.request(
            "PUT",
            "/api/v1/workspaces/plant-a/members",
            Some(&json!({"username": "nobody", "roles": ["viewer"]})),
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Roles are replaced, and a member can be removed.
    app.send(root.request(
        "PUT",
        "/api/v1/workspaces/plant-a/members",
        Some(&json!({"username": "viewer", "roles": ["member", "viewer"]})),
    ))
    .await;
    let (_, members) = app.send(root.request("GET", "/api/v1/workspaces/plant-a/members", None)).await;
    let viewer_row = members["items"].as_array().unwrap().iter().find(|m| m["username"] == "viewer").unwrap().clone();
    assert_eq!(viewer_row["roles"], json!(["member", "viewer"]));
    assert_eq!(
        app.send(root.request("DELETE", "/api/v1/workspaces/plant-a/members/viewer", None)).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.send(viewer.request("GET", "/api/v1/workspaces/plant-a/members", None)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.send(root.request("DELETE", "/api/v1/workspaces/plant-a/members/viewer", None)).await.0,
        StatusCode::NOT_FOUND
    );
});
