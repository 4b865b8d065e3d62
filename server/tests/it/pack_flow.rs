//! The shipped packs end to end against a real Tryton ERP, through the API only: an IQC lot
//! is rejected, the QE confirms, the NCR is raised, contained, countersigned by the MRB for a
//! return to vendor, the buyer confirms, and exactly one supplier return appears in Tryton.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::on_both;
use crate::support::{Session, TestApp};
use crate::tryton::Tryton;
use crate::workflows::{WS, decide, drain, inbox, instance, record};

const PASSWORD: &str = "correct horse battery";

async fn user(app: &TestApp, root: &Session, name: &str, roles: Value) -> Session {
    app.create_user(name, PASSWORD, false).await;
    let (status, body) =
        app.send(root.request("PUT", &format!("{WS}/members"), Some(&json!({"username": name, "roles": roles})))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.login(name, PASSWORD).await
}

/// Approves the one open task of `who` on `record`, with field edits.
async fn approve(app: &TestApp, who: &Session, record: &str, data: Value) -> String {
    let tasks = inbox(app, who).await;
    let task =
        tasks.iter().find(|t| t["record"] == json!(record)).unwrap_or_else(|| panic!("no task on {record}: {tasks:?}"));
    let (status, body) =
        decide(app, who, task["id"].as_str().unwrap(), json!({"action": "approve", "data": data})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    task["instance"].as_str().unwrap().to_owned()
}

on_both!(iqc_reject_to_ncr_mrb_and_a_supplier_return_in_tryton, |app: TestApp| async move {
    let erp = Tryton::start().await;
    app.create_user("root", PASSWORD, true).await;
    let root = app.login("root", PASSWORD).await;
    let (status, body) =
        app.send(root.request("POST", "/api/v1/workspaces", Some(&json!({"slug": "plant-a", "name": "A"})))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app.send(root.request("POST", &format!("{WS}/packs/iqc/install"), Some(&json!({})))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["packs"][1]["connectors_to_configure"], json!(["erp"]));
    let connector = json!({"name": "erp", "kind": "tryton", "config": {"url": erp.url(), "database": "erp", "username": "admin"}, "secret": "admin"});
    let (status, body) = app.send(root.request("POST", &format!("{WS}/connectors"), Some(&connector))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let inspector = user(&app, &root, "inspector", json!(["member", "inspector"])).await;
    let qe = user(&app, &root, "qe", json!(["member", "qe"])).await;
    let mrb = [
        user(&app, &root, "mrb1", json!(["approver", "mrb"])).await,
        user(&app, &root, "mrb2", json!(["approver", "mrb"])).await,
    ];
    let buyer = user(&app, &root, "buyer", json!(["member", "buyer"])).await;

    // A lot of 30 at level II, AQL 1.0: code letter D, the arrow leads to n 13, Ac 0, Re 1.
    let lot = json!({"supplier": "Acme Steel", "part_no": "BRK-1", "lot_no": "LOT-A1", "lot_size": 30, "received_on": "2026-11-20",
        "items": [{"characteristic": "Finish", "method": "visual", "visual_ok": false}],
        "defects": 2, "defect_codes": ["scratch"], "note": "Scratches on 2 of 13 brackets"});
    let (status, body) = app.send(inspector.request("POST", &format!("{WS}/forms/iqc/records"), Some(&lot))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!((body["data"]["sample_size"].clone(), body["data"]["result"].clone()), (json!(13), json!("reject")));
    let iqc_id = body["id"].as_str().unwrap().to_owned();

    // The QE confirms the rejection: the NCR is raised and its own workflow starts.
    let iqc_instance = approve(&app, &qe, &iqc_id, json!({})).await;
    assert_eq!(instance(&app, &root, &iqc_instance).await["status"], json!("approved"));
    let (_, ncrs) = app.send(root.request("GET", &format!("{WS}/forms/ncr/records"), None)).await;
    let ncr = ncrs["items"].as_array().unwrap().first().cloned().expect("an NCR was raised");
    let ncr_id = ncr["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (ncr["data"]["source"].clone(), ncr["data"]["source_record"].clone(), ncr["data"]["quantity"].clone()),
        (json!("iqc"), json!(iqc_id), json!(30))
    );

    // Containment, then the MRB countersigns (both members) a return to vendor with costs.
    approve(&app, &qe, &ncr_id, json!({"containment": "Lot LOT-A1 on hold, MRB area rack 3"})).await;
    approve(&app, &mrb[0], &ncr_id, json!({"disposition": "return_to_vendor", "unit_cost": 5.0, "handling_cost": 40}))
        .await;
    let one_signed = inbox(&app, &buyer).await;
    assert!(one_signed.iter().all(|t| t["record"] != json!(ncr_id)), "the buyer waits for both MRB signatures");
    let ncr_instance = approve(&app, &mrb[1], &ncr_id, json!({})).await;
    approve(&app, &buyer, &ncr_id, json!({})).await;
    drain(&app).await;
    assert_eq!(instance(&app, &root, &ncr_instance).await["status"], json!("approved"));

    // Exactly one return in Tryton, referencing the NCR, for the lot's quantity; its number
    // is on the NCR, and the cost of the nonconformance is computed.
    let returns = erp.returns(&ncr_id).await;
    assert_eq!(returns.len(), 1, "{returns:?}");
    assert_eq!(returns[0]["state"], json!("done"));
    assert_eq!(returns[0]["moves"][0]["quantity"], json!(30.0));
    assert_eq!(returns[0]["moves"][0]["lot."]["number"], json!("LOT-A1"));
    let ncr = record(&app, &root, &ncr_id).await;
    assert_eq!(ncr["data"]["erp_return_no"], returns[0]["number"]);
    assert_eq!(ncr["data"]["cost"], json!(190.0), "30 x 5.0 returned + 40 handling");
    assert!(ncr["data"].get("erp_error").is_none_or(Value::is_null), "{ncr}");
    // The lot's trace shows its inspection (the lot entered with it) and the NCR about it.
    let (status, trace) = app.send(root.request("GET", &format!("{WS}/trace?lot=LOT-A1"), None)).await;
    assert_eq!(status, StatusCode::OK, "{trace}");
    let forms: Vec<&str> = trace["nodes"].as_array().unwrap().iter().map(|n| n["form"].as_str().unwrap()).collect();
    assert!(forms.contains(&"iqc") && forms.contains(&"ncr"), "{trace}");
});
