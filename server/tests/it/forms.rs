//! Forms: drafts, publishing immutable versions, schema.json, permissions, evolution.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::on_both;
use crate::support::{Session, TestApp};

pub const PASSWORD: &str = "correct horse battery";

/// An installation admin, a workspace `plant-a` and sessions for a designer and a member.
pub async fn plant(app: &TestApp) -> (Session, Session, Session) {
    app.create_user("root", PASSWORD, true).await;
    let root = app.login("root", PASSWORD).await;
    app.send(root.request("POST", "/api/v1/workspaces", Some(&json!({"slug": "plant-a", "name": "A"})))).await;
    for (user, role) in [("designer", "designer"), ("member", "member")] {
        app.create_user(user, PASSWORD, false).await;
        let body = json!({"username": user, "roles": [role]});
        app.send(root.request("PUT", "/api/v1/workspaces/plant-a/members", Some(&body))).await;
    }
    (root, app.login("designer", PASSWORD).await, app.login("member", PASSWORD).await)
}

pub fn lot_form() -> Value {
    json!({"key": "lot_check", "name": {"en": "Lot check", "zh-CN": "批次检查"}, "fields": [
        {"key": "lot", "type": "lot", "required": true},
        {"key": "qty", "type": "number", "integer": true, "min": 0, "max": 1000}
    ]})
}

on_both!(designers_draft_and_publish_versions, |app: TestApp| async move {
    let (_, designer, _) = plant(&app).await;
    let (status, created) =
        app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms", Some(&lot_form()))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["key"], json!("lot_check"));
    assert_eq!(created["latest_version"], Value::Null);
    assert_eq!(created["issues"], json!([]));
    let (status, body) =
        app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms", Some(&lot_form()))).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::CONFLICT, json!("already_exists")));
    // No schema before the first version.
    let (status, _) =
        app.send(designer.request("GET", "/api/v1/workspaces/plant-a/forms/lot_check/schema.json", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, published) = app
        .send(designer.request("POST", "/api/v1/workspaces/plant-a/forms/lot_check/publish", Some(&json!({}))))
        .await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert_eq!(published["version"], json!(1));
    // Publishing the same draft again is refused.
    let (status, _) = app
        .send(designer.request("POST", "/api/v1/workspaces/plant-a/forms/lot_check/publish", Some(&json!({}))))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, schema) =
        app.send(designer.request("GET", "/api/v1/workspaces/plant-a/forms/lot_check/schema.json", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(schema["$schema"], json!("https://json-schema.org/draft/2020-12/schema"));
    assert_eq!(schema["required"], json!(["lot"]));
    // Saving a new draft leaves version 1 as it was.
    let mut v2 = lot_form();
    v2["fields"][1]["max"] = json!(5000);
    let (status, saved) =
        app.send(designer.request("PUT", "/api/v1/workspaces/plant-a/forms/lot_check", Some(&v2))).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (_, v1) =
        app.send(designer.request("GET", "/api/v1/workspaces/plant-a/forms/lot_check/versions/1", None)).await;
    assert_eq!(v1["definition"], lot_form());
    let (status, published) = app
        .send(designer.request("POST", "/api/v1/workspaces/plant-a/forms/lot_check/publish", Some(&json!({}))))
        .await;
    assert_eq!((status, published["version"].clone()), (StatusCode::OK, json!(2)));
    assert_eq!(published["evolution"]["compatibility"], json!("compatible"));
    let (_, list) = app.send(designer.request("GET", "/api/v1/workspaces/plant-a/forms", None)).await;
    assert_eq!(list["items"][0]["latest_version"], json!(2));
    assert_eq!(list["items"][0]["name"]["zh-CN"], json!("批次检查"));
});

on_both!(drafts_may_be_unfinished_but_only_valid_ones_publish, |app: TestApp| async move {
    let (_, designer, _) = plant(&app).await;
    let broken = json!({"key": "wip", "name": "WIP", "fields": [{"key": "x", "type": "number", "min": 5, "max": 1}]});
    let (status, created) = app
        .send(Session::with_lang(&designer, "zh-CN").request("POST", "/api/v1/workspaces/plant-a/forms", Some(&broken)))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["issues"][0]["code"], json!("min_greater_than_max"));
    assert_eq!(created["issues"][0]["message"], json!("最小值（5）大于最大值（1）。"));
    let (status, body) =
        app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms/wip/publish", Some(&json!({})))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], json!("validation_failed"));
    assert_eq!(body["details"]["errors"][0]["path"], json!("/fields/0/min"));
    // A draft without a usable key, or with a different key, is refused outright.
    for bad in [json!([1]), json!({"name": "x"}), json!({"key": "Bad Key"})] {
        let (status, _) = app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms", Some(&bad))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (status, _) =
        app.send(designer.request("PUT", "/api/v1/workspaces/plant-a/forms/wip", Some(&lot_form()))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
});

on_both!(members_read_forms_but_do_not_design_them, |app: TestApp| async move {
    let (_, designer, member) = plant(&app).await;
    app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms", Some(&lot_form()))).await;
    let (status, _) = app.send(member.request("GET", "/api/v1/workspaces/plant-a/forms/lot_check", None)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) =
        app.send(member.request("POST", "/api/v1/workspaces/plant-a/forms", Some(&json!({"key": "mine"})))).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::FORBIDDEN, json!("forbidden")));
    let (status, _) =
        app.send(member.request("PUT", "/api/v1/workspaces/plant-a/forms/lot_check", Some(&lot_form()))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) =
        app.send(member.request("POST", "/api/v1/workspaces/plant-a/forms/lot_check/publish", Some(&json!({})))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.send(member.request("GET", "/api/v1/workspaces/plant-a/forms/nope", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
});

on_both!(forms_of_another_workspace_are_invisible, |app: TestApp| async move {
    let (root, designer, _) = plant(&app).await;
    app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms", Some(&lot_form()))).await;
    app.send(root.request("POST", "/api/v1/workspaces", Some(&json!({"slug": "plant-b", "name": "B"})))).await;
    app.create_user("outsider", PASSWORD, false).await;
    app.send(root.request(
        "PUT",
        "/api/v1/workspaces/plant-b/members",
        Some(&json!({"username": "outsider", "roles": ["admin"]})),
    ))
    .await;
    let outsider = app.login("outsider", PASSWORD).await;
    for (method, path, body) in [
        ("GET", "/api/v1/workspaces/plant-a/forms", None),
        ("GET", "/api/v1/workspaces/plant-a/forms/lot_check", None),
        ("PUT", "/api/v1/workspaces/plant-a/forms/lot_check", Some(lot_form())),
        ("POST", "/api/v1/workspaces/plant-a/forms/lot_check/publish", Some(json!({}))),
        ("GET", "/api/v1/workspaces/plant-a/forms/lot_check/versions/1", None),
        ("GET", "/api/v1/workspaces/plant-a/forms/lot_check/schema.json", None),
        ("GET", "/api/v1/workspaces/plant-a/audit", None),
        ("GET", "/api/v1/workspaces/plant-a/audit/verify", None),
    ] {
        let (status, response) = app.send(outsider.request(method, path, body.as_ref())).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {response}");
    }
    // And their own workspace does not show plant-a's form.
    let (_, list) = app.send(outsider.request("GET", "/api/v1/workspaces/plant-b/forms", None)).await;
    assert_eq!(list["items"], json!([]));
});
