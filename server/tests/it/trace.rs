//! Lot traceability: generated genealogy (10,000 lots over 5 levels, with a rework cycle)
//! traced backward and forward through the API and compared with a brute-force walk over
//! the generated structure; new records are traced as soon as they are committed (the links
//! catch up with the audit log); permissions limit what is walked. Both databases.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::on_both;
use crate::support::{Session, TestApp, Xorshift};

const WS: &str = "/api/v1/workspaces/plant-t";
const LEVELS: [usize; 5] = [4000, 2500, 1700, 1100, 700];

fn lot_field(key: &str, role: &str) -> Value {
    json!({"key": key, "type": "lot", "trace": role, "label": {"en": key, "zh-CN": key}})
}

/// The genealogy: receipts bring level-0 lots; each production lot of level n consumes 2-3
/// lots of level n-1; shipments consume last-level lots; inspections refer to random lots.
struct Genealogy {
    /// Production: output lot -> input lots.
    produced: Vec<(String, Vec<String>)>,
    receipts: Vec<String>,
    shipments: Vec<(String, String)>,
    inspections: Vec<(String, String)>,
}

fn generate() -> Genealogy {
    let mut random = Xorshift(0x7ace_7ace_1234_5678);
    let name = |level: usize, i: usize| format!("L{level}-{i:05}");
    let receipts: Vec<String> = (0..LEVELS[0]).map(|i| name(0, i)).collect();
    let mut produced: Vec<(String, Vec<String>)> = Vec::new();
    for level in 1..LEVELS.len() {
        for i in 0..LEVELS[level] {
            let count = 2 + random.below(2) as usize;
            let inputs: BTreeSet<String> =
                (0..count).map(|_| name(level - 1, random.below(LEVELS[level - 1] as u64) as usize)).collect();
            produced.push((name(level, i), inputs.into_iter().collect::<Vec<String>>()));
        }
    }
    // Rework: a level-2 lot that also consumes a level-3 lot made from it (a cycle).
    let target = produced
        .iter()
        .position(|(o, _)| o.starts_with("L2-") && produced.iter().any(|(_, inputs)| inputs.contains(o)))
        .unwrap();
    let cycle_input =
        produced.iter().find(|(_, inputs)| inputs.contains(&produced[target].0)).map(|(o, _)| o.clone()).unwrap();
    produced[target].1.push(cycle_input);
    let shipments = (0..300).map(|i| (format!("S-{i}"), name(4, random.below(LEVELS[4] as u64) as usize))).collect();
    let inspections = (0..500)
        .map(|i| {
            let level = random.below(5) as usize;
            (format!("Q-{i}"), name(level, random.below(LEVELS[level] as u64) as usize))
        })
        .collect();
    Genealogy { produced, receipts, shipments, inspections }
}

async fn seed(app: &TestApp, g: &Genealogy) -> Session {
    let receipt = json!({"key": "receipt", "name": "Receipt", "fields": [lot_field("lot_no", "produces"), {"key": "supplier", "type": "text"}]});
    let root = app.workspace_with_form("plant-t", json!({}), &receipt).await;
    let forms = [
        json!({"key": "production", "name": "Production", "fields": [lot_field("output_lot", "produces"),
            {"key": "inputs", "type": "subtable", "fields": [lot_field("input_lot", "consumes"), {"key": "qty", "type": "number"}]}]}),
        json!({"key": "shipment", "name": "Shipment", "fields": [{"key": "no", "type": "text"}, lot_field("lot", "consumes")]}),
        json!({"key": "inspection", "name": "Inspection", "fields": [{"key": "no", "type": "text"}, lot_field("lot", "refers")]}),
    ];
    for form in &forms {
        let (status, body) = app.send(root.request("POST", &format!("{WS}/forms"), Some(form))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let key = form["key"].as_str().unwrap();
        let (status, body) =
            app.send(root.request("POST", &format!("{WS}/forms/{key}/publish"), Some(&json!({})))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    app.insert_records("receipt", g.receipts.iter().map(|l| json!({"lot_no": l, "supplier": "Acme"}))).await;
    app.insert_records(
        "production",
        g.produced.iter().map(|(out, inputs)| json!({"output_lot": out, "inputs": inputs.iter().map(|l| json!({"input_lot": l, "qty": 1})).collect::<Vec<_>>()})),
    )
    .await;
    app.insert_records("shipment", g.shipments.iter().map(|(no, lot)| json!({"no": no, "lot": lot}))).await;
    app.insert_records("inspection", g.inspections.iter().map(|(no, lot)| json!({"no": no, "lot": lot}))).await;
    // Inserted directly (no audit entries): derive the links from the records.
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let workspace = server::db::entities::workspace::Entity::find()
        .filter(server::db::entities::workspace::Column::Slug.eq("plant-t"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut reported = 0;
    let done = server::trace::rebuild(&app.db, &app.state.forms, &workspace.id, |n| reported = n).await.unwrap();
    assert_eq!(done, g.receipts.len() + g.produced.len() + g.shipments.len() + g.inspections.len());
    assert_eq!(reported, done);
    root
}

/// The brute-force walk: (lot -> depth first reached, identifiers of the records shown).
fn brute(g: &Genealogy, lot: &str, backward: bool, depth: u32) -> (BTreeMap<String, u32>, BTreeSet<String>) {
    let mut lots = BTreeMap::from([(lot.to_owned(), 0)]);
    let mut shown = BTreeSet::new();
    let mut frontier = vec![lot.to_owned()];
    for level in 0..=depth {
        let mut next = Vec::new();
        for current in &frontier {
            for (no, l) in &g.inspections {
                if l == current {
                    shown.insert(format!("inspection:{no}"));
                }
            }
            if backward {
                if g.receipts.contains(current) {
                    shown.insert(format!("receipt:{current}"));
                }
                for (out, inputs) in &g.produced {
                    if out == current && shown.insert(format!("production:{out}")) && level < depth {
                        next.extend(inputs.iter().cloned());
                    }
                }
            } else {
                for (no, l) in &g.shipments {
                    if l == current {
                        shown.insert(format!("shipment:{no}"));
                    }
                }
                for (out, inputs) in &g.produced {
                    if inputs.contains(current) && shown.insert(format!("production:{out}")) && level < depth {
                        next.push(out.clone());
                    }
                }
            }
        }
        frontier.clear();
        for l in next {
            if !lots.contains_key(&l) {
                lots.insert(l.clone(), level + 1);
                frontier.push(l);
            }
        }
    }
    (lots, shown)
}

/// The trace's (lots, records shown as `form:identifying value`).
fn summary(body: &Value) -> (BTreeMap<String, u32>, BTreeSet<String>) {
    let lots = body["lots"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap() as u32)).collect();
    let shown = body["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let form = n["form"].as_str().unwrap();
            let field = match form {
                "receipt" => "lot_no",
                "production" => "output_lot",
                _ => "lot",
            };
            let value = match form {
                "shipment" | "inspection" => n["record_no"].as_str().map(str::to_owned),
                _ => n["lots"][field][0].as_str().map(str::to_owned),
            };
            format!("{form}:{}", value.unwrap_or_default())
        })
        .collect();
    (lots, shown)
}

on_both!(traces_equal_a_brute_force_walk, |app: TestApp| async move {
    let g = generate();
    let root = seed(&app, &g).await;
    let mut random = Xorshift(99);
    let mut checked = 0;
    let mut reached = 0;
    for (backward, level) in [(true, 4), (true, 3), (false, 0), (false, 1), (true, 2)] {
        for _ in 0..4 {
            let lot = format!("L{level}-{:05}", random.below(LEVELS[level] as u64));
            let direction = if backward { "backward" } else { "forward" };
            let (status, body) = app
                .send(root.request("GET", &format!("{WS}/trace?lot={lot}&direction={direction}&depth=5"), None))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let (lots, shown) = brute(&g, &lot, backward, 5);
            let mut body = body;
            // Shipments and inspections are identified by their number (not a lot field).
            for node in body["nodes"].as_array_mut().unwrap() {
                if ["shipment", "inspection"].contains(&node["form"].as_str().unwrap()) {
                    let (_, record) = app
                        .send(root.request("GET", &format!("{WS}/records/{}", node["record"].as_str().unwrap()), None))
                        .await;
                    node["record_no"] = record["data"]["no"].clone();
                }
            }
            reached += lots.len() + shown.len();
            assert_eq!(summary(&body), (lots, shown), "{direction} from {lot}");
            checked += 1;
        }
    }
    assert_eq!(checked, 20);
    assert!(reached > 500, "the traces reach deep into the genealogy ({reached} lots and records)");
});

on_both!(new_records_are_traced_at_once_and_permissions_limit_the_walk, |app: TestApp| async move {
    let g = Genealogy {
        produced: vec![("F-1".into(), vec!["S-1".into(), "S-2".into()]), ("F-2".into(), vec!["F-1".into()])],
        receipts: vec!["S-1".into(), "S-2".into()],
        shipments: vec![],
        inspections: vec![],
    };
    let root = seed(&app, &g).await;
    // Submitted through the API: in the audit log, linked when the trace asks.
    let (status, body) = app
        .send(root.request(
            "POST",
            &format!("{WS}/forms/production/records"),
            Some(&json!({"output_lot": "F-3", "inputs": [{"input_lot": "F-2"}, {"input_lot": "S-2"}]})),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, forward) =
        app.send(root.request("GET", &format!("{WS}/trace?lot=S-2&direction=forward&depth=5"), None)).await;
    let lots: Vec<&str> = forward["lots"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(lots, ["F-1", "F-2", "F-3", "S-2"], "{forward}");
    let (_, backward) =
        app.send(root.request("GET", &format!("{WS}/trace?lot=F-3&direction=backward&depth=1"), None)).await;
    let lots: Vec<&str> = backward["lots"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(lots, ["F-2", "F-3", "S-2"], "depth 1 stops at the direct inputs: {backward}");
    let edges = backward["edges"].as_array().unwrap();
    assert!(edges.iter().any(|e| e["lot"] == json!("S-2") && e["field"] == json!("lot_no")), "{backward}");
    // Deleting a record removes its links.
    let id = body["id"].as_str().unwrap();
    let (status, _) = app.send(root.request("DELETE", &format!("{WS}/records/{id}"), None)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, forward) = app.send(root.request("GET", &format!("{WS}/trace?lot=S-2&direction=forward"), None)).await;
    assert!(!forward["lots"].as_object().unwrap().contains_key("F-3"), "{forward}");
    // A member reads only their own records: nothing of others' is walked or shown.
    app.create_user("member", "correct horse battery", false).await;
    app.send(root.request("PUT", &format!("{WS}/members"), Some(&json!({"username": "member", "roles": ["member"]}))))
        .await;
    let member = app.login("member", "correct horse battery").await;
    let (status, seen) = app.send(member.request("GET", &format!("{WS}/trace?lot=S-2&direction=forward"), None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen["nodes"], json!([]), "{seen}");
    let (status, _) = app.send(root.request("GET", &format!("{WS}/trace?direction=forward"), None)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app.send(root.request("GET", "/api/v1/workspaces/elsewhere/trace?lot=S-2", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formwork_reindex_links_records_written_around_the_api() {
    let app = TestApp::sqlite().await;
    let g = Genealogy {
        produced: vec![("F-9".into(), vec!["S-9".into()])],
        receipts: vec!["S-9".into()],
        shipments: vec![],
        inspections: vec![],
    };
    let root = seed(&app, &g).await;
    // Written straight into the table: no audit entry, so no link until a reindex.
    app.insert_records("receipt", [json!({"lot_no": "S-10"})]).await;
    app.insert_records("production", [json!({"output_lot": "F-10", "inputs": [{"input_lot": "S-10"}]})]).await;
    let (_, before) = app.send(root.request("GET", &format!("{WS}/trace?lot=F-10"), None)).await;
    assert_eq!(before["nodes"], json!([]));
    let database = app.sqlite_path().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_formwork"))
        .args(["reindex", "--workspace", "plant-t", "--database-url"])
        .arg(format!("sqlite://{}", database.display()))
        .arg("--data-dir")
        .arg(database.parent().unwrap())
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && text.contains("plant-t: 4 records linked"), "{text}");
    assert!(text.contains("plant-t: 4 records indexed for search"), "{text}");
    let (_, after) = app.send(root.request("GET", &format!("{WS}/trace?lot=F-10"), None)).await;
    let lots: Vec<&str> = after["lots"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(lots, ["F-10", "S-10"], "{after}");
}

on_both!(a_shipped_batch_traces_back_to_its_material_lot_through_the_packs, |app: TestApp| async move {
    // The packs declare the roles: IPQC consumes a material lot and produces a batch, a
    // shipment consumes the batch. A supplier lot's forward trace reaches the customer.
    let form = json!({"key": "scratch", "name": "Scratch", "fields": [{"key": "n", "type": "number"}]});
    let root = app.workspace_with_form("plant-t", json!({}), &form).await;
    let (status, body) = app.send(root.request("POST", &format!("{WS}/packs/ipqc/install"), Some(&json!({})))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let patrol = json!({
        "line": "L1", "process": "stamping", "shift": "day", "part_no": "BRK-1", "characteristic": "width",
        "material_lot": "SUP-LOT-7", "batch_no": "FG-2026-11", "inspected_at": "2026-11-21T08:00:00Z",
        "subgroup": {"values": [10.0, 10.1, 9.9, 10.0, 10.05]}
    });
    let (status, body) = app.send(root.request("POST", &format!("{WS}/forms/ipqc/records"), Some(&patrol))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for customer in ["ACME", "Globex"] {
        let shipment =
            json!({"customer": customer, "shipped_on": "2026-11-21", "batch_no": "FG-2026-11", "quantity": 500});
        let (status, body) =
            app.send(root.request("POST", &format!("{WS}/forms/shipment/records"), Some(&shipment))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, forward) =
        app.send(root.request("GET", &format!("{WS}/trace?lot=SUP-LOT-7&direction=forward&depth=5"), None)).await;
    let forms: Vec<&str> = forward["nodes"].as_array().unwrap().iter().filter_map(|n| n["form"].as_str()).collect();
    assert_eq!(forms.iter().filter(|f| **f == "shipment").count(), 2, "both shipments: {forward}");
    assert!(forms.contains(&"ipqc"), "{forward}");
    let (_, backward) =
        app.send(root.request("GET", &format!("{WS}/trace?lot=FG-2026-11&direction=backward&depth=5"), None)).await;
    let lots: Vec<&str> = backward["lots"].as_object().unwrap().keys().map(String::as_str).collect();
    assert!(lots.contains(&"SUP-LOT-7"), "the batch goes back to its material lot: {backward}");
});
