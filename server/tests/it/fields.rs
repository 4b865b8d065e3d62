//! Field-level access rules in form definitions, enforced on every record path.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::forms::plant;
use crate::on_both;
use crate::support::{Session, TestApp};

const PASSWORD: &str = "correct horse battery";
const RECORDS: &str = "/api/v1/workspaces/plant-a/forms/claim/records";

fn claim_form() -> Value {
    json!({"key": "claim", "name": "Claim", "fields": [
        {"key": "lot", "type": "lot", "required": true},
        {"key": "cost", "type": "number", "access": {"read": ["qe"], "edit": ["qe"]}},
        {"key": "note", "type": "text", "access": {"edit": ["qe"]}}
    ]})
}

/// `plant` with the claim form published; returns (member, qe) where qe is a designer with the
/// `qe` role.
async fn with_claims(app: &TestApp) -> (Session, Session) {
    let (root, designer, member) = plant(app).await;
    app.create_user("quality", PASSWORD, false).await;
    let body = json!({"username": "quality", "roles": ["designer", "qe"]});
    app.send(root.request("PUT", "/api/v1/workspaces/plant-a/members", Some(&body))).await;
    let (status, _) = app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms", Some(&claim_form()))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) =
        app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms/claim/publish", Some(&json!({})))).await;
    assert_eq!(status, StatusCode::OK);
    (member, app.login("quality", PASSWORD).await)
}

fn error_paths(body: &Value) -> Vec<String> {
    body["details"]["errors"]
        .as_array()
        .map(|errors| errors.iter().map(|e| format!("{} {}", e["path"], e["code"])).collect())
        .unwrap_or_default()
}

on_both!(hidden_fields_never_show_and_locked_fields_do_not_change, |app: TestApp| async move {
    let (member, qe) = with_claims(&app).await;
    // A member may not set what their roles may not edit; nothing is stored.
    let (status, body) =
        app.send(member.request("POST", RECORDS, Some(&json!({"lot": "L-1", "cost": 9, "note": "x"})))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_paths(&body), ["\"/cost\" \"not_editable\"", "\"/note\" \"not_editable\""]);
    let (_, list) = app.send(qe.request("GET", &format!("{RECORDS}?total=true"), None)).await;
    assert_eq!(list["total"], json!(0));

    let (status, created) = app.send(member.request("POST", RECORDS, Some(&json!({"lot": "L-1"})))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/workspaces/plant-a/records/{id}");
    // The quality engineer fills the cost and the note.
    let (status, edited) = app
        .send(qe.request("PATCH", &path, Some(&json!({"version": 1, "data": {"cost": 1200, "note": "sorted"}}))))
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["data"]["cost"], json!(1200));

    // The member sees the note but never the cost: get, list, selection, filters, history.
    let (_, got) = app.send(member.request("GET", &path, None)).await;
    assert_eq!(got["data"], json!({"lot": "L-1", "note": "sorted"}));
    let (_, list) = app.send(member.request("GET", RECORDS, None)).await;
    assert_eq!(list["items"][0]["data"], json!({"lot": "L-1", "note": "sorted"}));
    for query in ["fields=cost", "f.cost=1200", "sort=cost"] {
        let (status, body) = app.send(member.request("GET", &format!("{RECORDS}?{query}"), None)).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_query")), "{query}");
        assert!(!body.to_string().contains("1200"));
    }
    let (_, history) = app.send(member.request("GET", &format!("{path}/history"), None)).await;
    assert!(!history.to_string().contains("1200"), "{history}");
    assert_eq!(history["items"][1]["changes"], json!({"note": {"before": null, "after": "sorted"}}));
    let (_, history) = app.send(qe.request("GET", &format!("{path}/history"), None)).await;
    assert_eq!(history["items"][1]["changes"]["cost"], json!({"before": null, "after": 1200}));

    // Editing: a locked field may be sent back unchanged but not changed; hidden values survive
    // the member's edits.
    let (status, body) =
        app.send(member.request("PATCH", &path, Some(&json!({"version": 2, "data": {"note": "mine"}})))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_paths(&body), ["\"/note\" \"not_editable\""]);
    let (status, body) =
        app.send(member.request("PATCH", &path, Some(&json!({"version": 2, "data": {"cost": null}})))).await;
    assert_eq!(
        (status, error_paths(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["\"/cost\" \"not_editable\"".to_owned()])
    );
    let (status, edited) = app
        .send(member.request("PATCH", &path, Some(&json!({"version": 2, "data": {"lot": "L-2", "note": "sorted"}}))))
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["data"], json!({"lot": "L-2", "note": "sorted"}));
    let (_, got) = app.send(qe.request("GET", &path, None)).await;
    assert_eq!(got["data"], json!({"lot": "L-2", "cost": 1200, "note": "sorted"}));
});

const SERIALS: &str = "/api/v1/workspaces/plant-a/forms/gauge/records";

fn codes(body: &Value) -> Vec<String> {
    body["details"]["errors"]
        .as_array()
        .map(|errors| errors.iter().map(|e| e["code"].as_str().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default()
}

on_both!(unique_fields_hold_one_value_per_live_record, |app: TestApp| async move {
    let (root, designer, _) = plant(&app).await;
    let form = json!({"key": "gauge", "name": "Gauge", "fields": [
        {"key": "serial", "type": "text", "unique": true, "required": true},
        {"key": "site", "type": "text"}
    ]});
    app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms", Some(&form))).await;
    let publish = "/api/v1/workspaces/plant-a/forms/gauge/publish";
    let (status, _) = app.send(designer.request("POST", publish, Some(&json!({})))).await;
    assert_eq!(status, StatusCode::OK);
    let create = |serial: &str| designer.request("POST", SERIALS, Some(&json!({"serial": serial, "site": "SZ"})));
    let (status, a) = app.send(create("S-1")).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) =
        app.send(designer.with_lang("zh-CN").request("POST", SERIALS, Some(&json!({"serial": "S-1"})))).await;
    assert_eq!((status, codes(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["not_unique".to_owned()]));
    assert!(body["details"]["errors"][0]["message"].as_str().unwrap().contains("S-1"));
    let (_, b) = app.send(create("S-2")).await;
    let b_path = format!("/api/v1/workspaces/plant-a/records/{}", b["id"].as_str().unwrap());
    // Editing into a taken value is refused and changes nothing; into a free one frees the old.
    let (status, body) =
        app.send(designer.request("PATCH", &b_path, Some(&json!({"version": 1, "data": {"serial": "S-1"}})))).await;
    assert_eq!((status, codes(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["not_unique".to_owned()]));
    let (_, unchanged) = app.send(designer.request("GET", &b_path, None)).await;
    assert_eq!((unchanged["version"].clone(), unchanged["data"]["serial"].clone()), (json!(1), json!("S-2")));
    let (status, _) =
        app.send(designer.request("PATCH", &b_path, Some(&json!({"version": 1, "data": {"serial": "S-3"}})))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.send(create("S-2")).await;
    assert_eq!(status, StatusCode::CREATED, "S-2 was freed by the edit");
    // Deleting frees a value; restoring needs it back.
    let a_path = format!("/api/v1/workspaces/plant-a/records/{}", a["id"].as_str().unwrap());
    let (status, _) = app.send(root.request("DELETE", &a_path, None)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.send(create("S-1")).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = app.send(root.request("POST", &format!("{a_path}/restore"), None)).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::CONFLICT, json!("conflict")));
    assert_eq!(codes(&body), ["not_unique"]);
    let (_, still_deleted) = app.send(designer.request("GET", &a_path, None)).await;
    assert_eq!(still_deleted["code"], json!("not_found"));

    // Concurrent submissions of one value: exactly one is stored.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let router = app.router.clone();
        let request = create("S-RACE");
        tasks.spawn(async move { tower::ServiceExt::oneshot(router, request).await.unwrap().status() });
    }
    let statuses = tasks.join_all().await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::UNPROCESSABLE_ENTITY),
        "{statuses:?}"
    );

    // A version that makes `site` unique while records share a site is refused, naming them.
    let mut v2 = form.clone();
    v2["fields"][1]["unique"] = json!(true);
    let (status, _) = app.send(designer.request("PUT", "/api/v1/workspaces/plant-a/forms/gauge", Some(&v2))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.send(designer.request("POST", publish, Some(&json!({"confirm": true})))).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::CONFLICT, json!("conflict")), "{body}");
    assert!(!body["details"]["duplicates"].as_array().unwrap().is_empty());
    // The old claims survive the refused publish.
    let (status, _) = app.send(create("S-3")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
});
