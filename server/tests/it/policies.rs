//! A workspace's own Cedar policies: validated, stored, applied to that workspace only.

use axum::http::StatusCode;
use serde_json::json;

use crate::forms::{lot_form, plant};
use crate::on_both;
use crate::support::TestApp;

const PASSWORD: &str = "correct horse battery";

on_both!(workspace_policies_change_decisions_in_their_workspace_only, |app: TestApp| async move {
    let (root, designer, member) = plant(&app).await;
    app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms", Some(&lot_form()))).await;
    app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms/lot_check/publish", Some(&json!({})))).await;
    let (_, created) = app
        .send(designer.request(
            "POST",
            "/api/v1/workspaces/plant-a/forms/lot_check/records",
            Some(&json!({"lot": "L-1"})),
        ))
        .await;
    let record = format!("/api/v1/workspaces/plant-a/records/{}", created["id"].as_str().unwrap());
    // By default a member reads only their own records.
    assert_eq!(app.send(member.request("GET", &record, None)).await.0, StatusCode::NOT_FOUND);

    let open_records = r#"
        @id("members-read-all-records")
        permit (principal, action == Formwork::Action::"read", resource is Formwork::Record)
        when { context.roles.contains("member") };"#;
    let (status, body) = app
        .send(root.request("PUT", "/api/v1/workspaces/plant-a/policies", Some(&json!({"text": open_records}))))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.send(member.request("GET", &record, None)).await.0, StatusCode::OK);

    // A forbid overrides every permit, the defaults included.
    let closed =
        r#"forbid (principal, action, resource is Formwork::Record) when { context.roles.contains("designer") };"#;
    app.send(root.request("PUT", "/api/v1/workspaces/plant-a/policies", Some(&json!({"text": closed})))).await;
    assert_eq!(app.send(designer.request("GET", &record, None)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.send(member.request("GET", &record, None)).await.0, StatusCode::NOT_FOUND);

    // Another workspace keeps the defaults.
    app.send(root.request("POST", "/api/v1/workspaces", Some(&json!({"slug": "plant-b", "name": "B"})))).await;
    app.send(root.request(
        "PUT",
        "/api/v1/workspaces/plant-b/members",
        Some(&json!({"username": "designer", "roles": ["designer"]})),
    ))
    .await;
    app.send(designer.request("POST", "/api/v1/workspaces/plant-b/forms", Some(&lot_form()))).await;
    app.send(designer.request("POST", "/api/v1/workspaces/plant-b/forms/lot_check/publish", Some(&json!({})))).await;
    let (_, other) = app
        .send(designer.request(
            "POST",
            "/api/v1/workspaces/plant-b/forms/lot_check/records",
            Some(&json!({"lot": "B-1"})),
        ))
        .await;
    let other_record = format!("/api/v1/workspaces/plant-b/records/{}", other["id"].as_str().unwrap());
    assert_eq!(app.send(designer.request("GET", &other_record, None)).await.0, StatusCode::OK);

    let (_, log) = app.send(root.request("GET", "/api/v1/workspaces/plant-a/audit", None)).await;
    let updates = log["items"].as_array().unwrap().iter().filter(|e| e["action"] == "policies.update").count();
    assert_eq!(updates, 2);
});

on_both!(invalid_policies_are_refused_and_nothing_changes, |app: TestApp| async move {
    let (root, designer, _) = plant(&app).await;
    let good = r#"permit (principal, action == Formwork::Action::"read", resource) when { context.roles.contains("viewer") };"#;
    app.send(root.request("PUT", "/api/v1/workspaces/plant-a/policies", Some(&json!({"text": good})))).await;
    for bad in [
        r#"permit (principal, action, resource) when { principal.department == "QA" };"#,
        r#"permit (principal, action == Formwork::Action::"teleport", resource);"#,
        r#"permit (principal == ?principal, action, resource);"#,
        "not cedar",
    ] {
        let (status, body) =
            app.send(root.request("PUT", "/api/v1/workspaces/plant-a/policies", Some(&json!({"text": bad})))).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_policies")), "{bad}");
    }
    let (_, current) = app.send(root.request("GET", "/api/v1/workspaces/plant-a/policies", None)).await;
    assert_eq!(current["text"], json!(good));
    assert!(current["defaults"].as_str().unwrap().contains("installation-admin"));
    // Only workspace admins manage policies.
    let (status, _) =
        app.send(designer.request("PUT", "/api/v1/workspaces/plant-a/policies", Some(&json!({"text": good})))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.create_user("stranger", PASSWORD, false).await;
    let stranger = app.login("stranger", PASSWORD).await;
    assert_eq!(
        app.send(stranger.request("GET", "/api/v1/workspaces/plant-a/policies", None)).await.0,
        StatusCode::NOT_FOUND
    );
});
