//! Template packs in a workspace: the library, install with dependencies in one transaction
//! (dry run first), re-install changing nothing, upgrades that keep the factory's changes,
//! conflicts reported with nothing overwritten and then resolved, uninstall — on both
//! databases.

use axum::http::StatusCode;
use engine::pack::{Kind, Pack};
use serde_json::{Value, json};

use crate::on_both;
use crate::support::{Session, TestApp};

const WS: &str = "/api/v1/workspaces/plant-p";

async fn workspace(app: &TestApp) -> Session {
    app.create_user("root", "correct horse battery", true).await;
    let root = app.login("root", "correct horse battery").await;
    let (status, body) =
        app.send(root.request("POST", "/api/v1/workspaces", Some(&json!({"slug": "plant-p", "name": "P"})))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    root
}

async fn install(app: &TestApp, who: &Session, key: &str, options: Value) -> (StatusCode, Value) {
    app.send(who.request("POST", &format!("{WS}/packs/{key}/install"), Some(&options))).await
}

/// `(pack, kind/key, action)` for every step of an answer.
fn actions(body: &Value) -> Vec<(String, String, String)> {
    body["packs"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .flat_map(|p| {
            p["steps"].as_array().unwrap().iter().map(move |s| {
                (
                    p["pack"].as_str().unwrap().to_owned(),
                    format!("{}/{}", s["kind"].as_str().unwrap(), s["key"].as_str().unwrap()),
                    s["action"].as_str().unwrap().to_owned(),
                )
            })
        })
        .collect()
}

async fn form_version(app: &TestApp, who: &Session, key: &str) -> Value {
    let (status, body) = app.send(who.request("GET", &format!("{WS}/forms/{key}"), None)).await;
    assert_eq!(status, StatusCode::OK, "{key}: {body}");
    body["latest_version"].clone()
}

on_both!(packs_install_with_dependencies_once_and_idempotently, |app: TestApp| async move {
    let root = workspace(&app).await;
    let (status, body) = app.send(root.with_lang("zh-CN").request("GET", "/api/v1/packs", None)).await;
    assert_eq!(status, StatusCode::OK);
    let iqc = body["items"].as_array().unwrap().iter().find(|p| p["key"] == json!("iqc")).unwrap().clone();
    assert_eq!(iqc["name"], json!("来料检验（IQC）"));
    assert_eq!(iqc["depends"], json!(["qms-base", "ncr"]));

    // The dry run shows every object of the pack and its dependencies, and writes nothing.
    let (status, body) = install(&app, &root, "iqc", json!({"dry_run": true})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let planned = actions(&body);
    assert!(planned.iter().all(|(_, _, action)| action == "create"), "{planned:?}");
    assert_eq!(
        body["packs"].as_array().unwrap().iter().map(|p| p["pack"].as_str().unwrap()).collect::<Vec<_>>(),
        ["qms-base", "ncr", "iqc"]
    );
    let (_, forms) = app.send(root.request("GET", &format!("{WS}/forms"), None)).await;
    assert_eq!(forms["items"], json!([]), "a dry run changes nothing");

    let (status, body) = install(&app, &root, "iqc", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(actions(&body), planned);
    assert_eq!(body["packs"][1]["connectors_to_configure"], json!(["erp"]));
    for form in ["supplier", "part", "ncr", "iqc"] {
        assert_eq!(form_version(&app, &root, form).await, json!(1), "{form}");
    }
    for workflow in ["ncr-mrb", "iqc-reject"] {
        let (status, body) = app.send(root.request("GET", &format!("{WS}/workflows/{workflow}"), None)).await;
        assert_eq!((status, body["latest_version"].clone()), (StatusCode::OK, json!(1)), "{workflow}");
    }
    let (status, _) = app.send(root.request("GET", &format!("{WS}/dashboards/iqc-overview"), None)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, installed) = app.send(root.request("GET", &format!("{WS}/packs"), None)).await;
    assert_eq!(installed["items"].as_array().unwrap().len(), 3, "{installed}");

    // The installed IQC form works through the API: the plan comes from the AQL tables.
    let record = json!({"supplier": "Acme Steel", "part_no": "BRK-1", "lot_no": "L-77", "lot_size": 1200, "received_on": "2026-11-20",
        "items": [{"characteristic": "Finish", "method": "visual", "visual_ok": true}], "defects": 0});
    let (status, body) = app.send(root.request("POST", &format!("{WS}/forms/iqc/records"), Some(&record))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        (body["data"]["code_letter"].clone(), body["data"]["sample_size"].clone(), body["data"]["result"].clone()),
        (json!("J"), json!(80), json!("accept"))
    );

    // Installing again changes nothing.
    let (status, body) = install(&app, &root, "iqc", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(actions(&body).iter().all(|(_, _, action)| action == "unchanged"), "{body}");
    assert_eq!(form_version(&app, &root, "iqc").await, json!(1));

    // Only administrators install; another workspace knows nothing of this one's packs.
    app.create_user("designer", "correct horse battery", false).await;
    app.send(root.request(
        "PUT",
        &format!("{WS}/members"),
        Some(&json!({"username": "designer", "roles": ["designer"]})),
    ))
    .await;
    let designer = app.login("designer", "correct horse battery").await;
    let (status, _) = install(&app, &designer, "ncr", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.send(root.request("POST", "/api/v1/workspaces", Some(&json!({"slug": "plant-q", "name": "Q"})))).await;
    let (_, other) = app.send(root.request("GET", "/api/v1/workspaces/plant-q/packs", None)).await;
    assert_eq!(other["items"], json!([]));
    let (status, _) = install(&app, &root, "no-such-pack", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
});

/// The library with the IQC pack at 1.1.0: a new field, a changed default and a relabelled
/// note (the last collides with the factory's own relabelling below).
fn next_library(app: &TestApp) -> Vec<Pack> {
    let mut library = app.state.packs.as_ref().clone();
    let iqc = library.iter_mut().find(|p| p.manifest.key == "iqc").unwrap();
    iqc.manifest.version = "1.1.0".into();
    let form = iqc.contents.get_mut(&(Kind::Form, "iqc".to_owned())).unwrap();
    let fields = form["fields"].as_array_mut().unwrap();
    fields.push(json!({"key": "po_line", "type": "text", "label": {"en": "PO line", "zh-CN": "订单行"}}));
    let note = fields.iter_mut().find(|f| f["key"] == json!("note")).unwrap();
    note["label"]["en"] = json!("Remarks");
    library
}

async fn upgrade(
    app: &TestApp,
    library: &[Pack],
    options: Value,
) -> Result<Vec<server::packs::Outcome>, server::error::ApiError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let workspace = server::db::entities::workspace::Entity::find()
        .filter(server::db::entities::workspace::Column::Slug.eq("plant-p"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let user = server::db::entities::user::Entity::find()
        .filter(server::db::entities::user::Column::Username.eq("root"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let options: server::packs::Options = serde_json::from_value(options).unwrap();
    let txn = server::db::write_txn(&app.db).await.unwrap();
    let target = server::packs::Target { workspace_id: &workspace.id, actor: &user.id, lang: engine::Lang::En };
    let result = server::packs::install(&app.state, &txn, library, target, "iqc", &options).await;
    match &result {
        Ok(_) if !options.dry_run => txn.commit().await.unwrap(),
        _ => {
            txn.rollback().await.unwrap();
            app.state.forms.clear();
        }
    }
    result
}

on_both!(upgrades_keep_local_changes_and_report_conflicts, |app: TestApp| async move {
    let root = workspace(&app).await;
    let (status, body) = install(&app, &root, "iqc", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The factory relabels the lot field in Chinese and adds its own field, then publishes.
    let (_, form) = app.send(root.request("GET", &format!("{WS}/forms/iqc"), None)).await;
    let mut draft = form["draft"].clone();
    let lot_info = draft["fields"].as_array_mut().unwrap().iter_mut().find(|f| f["key"] == json!("lot_info")).unwrap();
    lot_info["label"]["zh-CN"] = json!("批次资料");
    draft["fields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": "warehouse", "type": "text", "label": {"en": "Warehouse", "zh-CN": "仓库"}}));
    let (status, body) = app.send(root.request("PUT", &format!("{WS}/forms/iqc"), Some(&draft))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.send(root.request("POST", &format!("{WS}/forms/iqc/publish"), Some(&json!({})))).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Upgrading to 1.1.0 merges: the pack's new field arrives, the factory's changes stay.
    let library = next_library(&app);
    let outcomes = upgrade(&app, &library, json!({})).await.unwrap();
    let iqc = outcomes.iter().find(|o| o.pack == "iqc").unwrap();
    assert_eq!((iqc.from.as_deref(), iqc.to.as_str()), (Some("1.0.0"), "1.1.0"));
    let (_, form) = app.send(root.request("GET", &format!("{WS}/forms/iqc"), None)).await;
    assert_eq!(form["latest_version"], json!(3));
    let keys: Vec<&str> =
        form["draft"]["fields"].as_array().unwrap().iter().map(|f| f["key"].as_str().unwrap()).collect();
    assert!(keys.contains(&"po_line") && keys.contains(&"warehouse"), "{keys:?}");
    let lot_info = form["draft"]["fields"].as_array().unwrap().iter().find(|f| f["key"] == json!("lot_info")).unwrap();
    assert_eq!(lot_info["label"]["zh-CN"], json!("批次资料"));
    assert_eq!(
        form["draft"]["fields"].as_array().unwrap().iter().find(|f| f["key"] == json!("note")).unwrap()["label"]["en"],
        json!("Remarks")
    );
    let (_, installed) = app.send(root.request("GET", &format!("{WS}/packs"), None)).await;
    let row = installed["items"].as_array().unwrap().iter().find(|p| p["key"] == json!("iqc")).unwrap();
    assert_eq!(row["version"], json!("1.1.0"));
    // The same version again: nothing to do.
    let again = upgrade(&app, &library, json!({})).await.unwrap();
    assert!(again.iter().all(|o| o.steps.iter().all(|s| s.change == engine::pack::Change::Unchanged)));

    // 1.2.0 relabels the note again while the factory has relabelled it too: a conflict,
    // reported, and nothing changes until it is resolved.
    let (_, form) = app.send(root.request("GET", &format!("{WS}/forms/iqc"), None)).await;
    let mut draft = form["draft"].clone();
    draft["fields"].as_array_mut().unwrap().iter_mut().find(|f| f["key"] == json!("note")).unwrap()["label"]["en"] =
        json!("Inspector's note");
    app.send(root.request("PUT", &format!("{WS}/forms/iqc"), Some(&draft))).await;
    app.send(root.request("POST", &format!("{WS}/forms/iqc/publish"), Some(&json!({})))).await;
    let mut library = library;
    let iqc = library.iter_mut().find(|p| p.manifest.key == "iqc").unwrap();
    iqc.manifest.version = "1.2.0".into();
    let form_def = iqc.contents.get_mut(&(Kind::Form, "iqc".to_owned())).unwrap();
    form_def["fields"].as_array_mut().unwrap().iter_mut().find(|f| f["key"] == json!("note")).unwrap()["label"]["en"] =
        json!("Comments");
    let dry = upgrade(&app, &library, json!({"dry_run": true})).await.unwrap();
    let step = dry.iter().flat_map(|o| o.steps.iter()).find(|s| s.key == "iqc" && s.kind == Kind::Form).unwrap();
    match &step.change {
        engine::pack::Change::Update { conflicts, .. } => {
            assert_eq!(conflicts.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(), ["/fields/note/label/en"])
        }
        other => panic!("{other:?}"),
    }
    let error = upgrade(&app, &library, json!({})).await.unwrap_err();
    assert_eq!(error.code, "conflict");
    assert_eq!(error.details.unwrap()["unresolved"], json!([{"object": "form/iqc", "path": "/fields/note/label/en"}]));
    assert_eq!(form_version(&app, &root, "iqc").await, json!(4), "nothing was overwritten");
    // Resolved for the pack's wording, the upgrade goes through.
    upgrade(&app, &library, json!({"resolutions": {"form/iqc": {"/fields/note/label/en": "theirs"}}})).await.unwrap();
    let (_, form) = app.send(root.request("GET", &format!("{WS}/forms/iqc"), None)).await;
    assert_eq!(
        form["draft"]["fields"].as_array().unwrap().iter().find(|f| f["key"] == json!("note")).unwrap()["label"]["en"],
        json!("Comments")
    );
    assert_eq!(form["latest_version"], json!(5));
    // Going back to an older pack version is refused, and changes nothing.
    let error = upgrade(&app, &next_library(&app), json!({})).await.unwrap_err();
    assert_eq!(error.code, "conflict");
    assert_eq!(form_version(&app, &root, "iqc").await, json!(5));
});

on_both!(uninstall_keeps_data_unless_asked, |app: TestApp| async move {
    let root = workspace(&app).await;
    install(&app, &root, "iqc", json!({})).await;
    let record = json!({"supplier": "Acme Steel", "part_no": "BRK-1", "lot_no": "L-1", "lot_size": 50, "received_on": "2026-11-20",
        "items": [{"characteristic": "Finish", "method": "visual", "visual_ok": true}], "defects": 0});
    let (status, body) = app.send(root.request("POST", &format!("{WS}/forms/iqc/records"), Some(&record))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Forgetting the NCR pack keeps its objects.
    let (status, body) = app.send(root.request("POST", &format!("{WS}/packs/ncr/uninstall"), Some(&json!({})))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(form_version(&app, &root, "ncr").await, json!(1));
    // Deleting the IQC pack removes its dashboard, keeps the form with records and the
    // workflow that ran on it.
    let (status, body) =
        app.send(root.request("POST", &format!("{WS}/packs/iqc/uninstall"), Some(&json!({"delete": true})))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let kept: Vec<&str> = body["kept"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(kept.contains(&"form/iqc"), "{body}");
    let (status, _) = app.send(root.request("GET", &format!("{WS}/dashboards/iqc-overview"), None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, installed) = app.send(root.request("GET", &format!("{WS}/packs"), None)).await;
    assert_eq!(
        installed["items"].as_array().unwrap().iter().map(|p| p["key"].as_str().unwrap()).collect::<Vec<_>>(),
        ["qms-base"]
    );
    let (status, _) = app.send(root.request("POST", &format!("{WS}/packs/iqc/uninstall"), Some(&json!({})))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
});

fn formwork(args: &[&str], database: &std::path::Path) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_formwork"))
        .args(args)
        .arg("--database-url")
        .arg(format!("sqlite://{}", database.display()))
        .output()
        .expect("formwork runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_lists_installs_and_uninstalls_packs() {
    let app = TestApp::sqlite().await;
    let root = workspace(&app).await;
    let database = app.sqlite_path().unwrap();
    let (ok, out) = formwork(&["pack", "list"], &database);
    assert!(ok, "{out}");
    assert!(out.contains("iqc 1.0.0") && out.contains("needs qms-base, ncr"), "{out}");
    let (ok, out) =
        formwork(&["pack", "install", "iqc", "--workspace", "plant-p", "--as", "root", "--dry-run"], &database);
    assert!(ok, "{out}");
    assert!(out.contains("create     form/iqc") && out.contains("dry run: nothing changed"), "{out}");
    let (_, forms) = app.send(root.request("GET", &format!("{WS}/forms"), None)).await;
    assert_eq!(forms["items"], json!([]));
    let (ok, out) = formwork(&["pack", "install", "iqc", "--workspace", "plant-p", "--as", "root"], &database);
    assert!(ok, "{out}");
    assert!(out.contains("to do: create the connector `erp`") && out.ends_with("done\n"), "{out}");
    assert_eq!(form_version(&app, &root, "iqc").await, json!(1));
    let (ok, out) = formwork(&["pack", "upgrade", "iqc", "--workspace", "plant-p", "--as", "root"], &database);
    assert!(ok && out.contains("unchanged  form/iqc"), "{out}");
    let (ok, out) = formwork(&["pack", "uninstall", "iqc", "--workspace", "plant-p", "--as", "root"], &database);
    assert!(ok && out.contains("iqc uninstalled"), "{out}");
    let (ok, out) = formwork(&["pack", "install", "iqc", "--workspace", "nowhere"], &database);
    assert!(!ok && out.contains("no workspace"), "{out}");
}

on_both!(the_demo_workspace_fills_every_dashboard, |app: TestApp| async move {
    app.create_user("root", "correct horse battery", true).await;
    let root = app.login("root", "correct horse battery").await;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let admin = server::db::entities::user::Entity::find()
        .filter(server::db::entities::user::Column::Username.eq("root"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let demo = server::demo::ensure(&app.state, &admin.id).await.unwrap().expect("created");
    assert!(demo.records > 1000, "{} sample records", demo.records);
    assert!(server::demo::ensure(&app.state, &admin.id).await.unwrap().is_none(), "created once");
    let (_, installed) = app.send(root.request("GET", "/api/v1/workspaces/demo/packs", None)).await;
    assert_eq!(installed["items"].as_array().unwrap().len(), app.state.packs.len());
    // Every widget of every shipped dashboard answers, and with data.
    let (_, dashboards) = app.send(root.request("GET", "/api/v1/workspaces/demo/dashboards", None)).await;
    let keys: Vec<String> =
        dashboards["items"].as_array().unwrap().iter().map(|d| d["key"].as_str().unwrap().to_owned()).collect();
    assert!(keys.contains(&"supplier-quality-cockpit".to_owned()), "{keys:?}");
    for key in &keys {
        let (status, body) = app
            .send(root.request("POST", &format!("/api/v1/workspaces/demo/dashboards/{key}/run"), Some(&json!({}))))
            .await;
        assert_eq!(status, StatusCode::OK, "{key}: {body}");
        for widget in body["widgets"].as_array().unwrap() {
            assert!(widget.get("error").is_none(), "{key}/{}: {}", widget["key"], widget["error"]);
            let result = &widget["result"];
            assert!(result["chart"].get("error").is_none(), "{key}/{}: {}", widget["key"], result["chart"]);
            assert!(!result["rows"].as_array().unwrap().is_empty(), "{key}/{} has no rows", widget["key"]);
        }
    }
    // The cockpit's funnel runs across three forms: a stage each, every one a rate.
    let (_, cockpit) = app
        .send(root.request("POST", "/api/v1/workspaces/demo/dashboards/supplier-quality-cockpit/run", Some(&json!({}))))
        .await;
    let funnel =
        cockpit["widgets"].as_array().unwrap().iter().find(|w| w["key"] == json!("pass_funnel")).unwrap().clone();
    let stages = funnel["result"]["chart"]["stages"].as_array().unwrap().clone();
    assert_eq!(stages.len(), 3, "{funnel}");
    assert!(stages.iter().all(|s| s["value"].as_f64().is_some_and(|v| (0.0..=1.0).contains(&v))), "{funnel}");
    // Demo users log in with the printed password and hold their roles.
    let qe = app.login("qe", &demo.password).await;
    let (status, _) = app.send(qe.request("GET", "/api/v1/workspaces/demo/forms/iqc", None)).await;
    assert_eq!(status, StatusCode::OK);
    // ... and find the sample records, in Chinese as in English.
    let (status, found) =
        app.send(qe.request("GET", "/api/v1/workspaces/demo/search?q=%E5%88%92%E4%BC%A4&limit=5", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!found["items"].as_array().unwrap().is_empty(), "{found}");
});

on_both!(sampling_state_follows_the_switching_rules_over_iqc_history, |app: TestApp| async move {
    let root = workspace(&app).await;
    let (status, body) = install(&app, &root, "iqc", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let submit = |day: u32, defects: u32| {
        let (app, root) = (&app, &root);
        async move {
            let record = json!({"supplier": "Borg", "part_no": "P-1", "lot_no": format!("L{day}"), "lot_size": 500,
                "received_on": format!("2026-10-{day:02}"), "defects": defects, "note": "checked",
                "defect_codes": if defects > 0 { json!(["scratch"]) } else { json!(null) },
                "items": [{"characteristic": "Finish", "method": "visual", "visual_ok": true}]});
            let (status, body) =
                app.send(root.request("POST", &format!("{WS}/forms/iqc/records"), Some(&record))).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
    };
    let state = |query: &'static str| {
        let (app, root) = (&app, &root);
        async move {
            let (status, body) = app
                .send(root.request("GET", &format!("{WS}/qms/sampling-state?supplier=Borg&part_no=P-1{query}"), None))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        }
    };
    // Lot 500, level II, AQL 1.0: H, n 50, Ac 1, Re 2. Accept, reject, accept, reject: two of
    // the last five lots rejected -> tightened, where the next plan is stricter.
    for (day, defects) in [(1, 0), (2, 3), (3, 1), (4, 2)] {
        submit(day, defects).await;
    }
    let body = state("&lot_size=500").await;
    assert_eq!((body["lots"].clone(), body["state"]["severity"].clone()), (json!(4), json!("tightened")), "{body}");
    assert_eq!(
        (body["next"]["severity"].clone(), body["next"]["n"].clone(), body["next"]["ac"].clone()),
        (json!("tightened"), json!(80), json!(1)),
        "{body}"
    );
    // Five accepted lots on tightened inspection -> back to normal.
    for day in 5..10 {
        submit(day, 0).await;
    }
    assert_eq!(state("").await["state"]["severity"], json!("normal"));
    // Another supplier-part has no history: normal.
    let (_, other) =
        app.send(root.request("GET", &format!("{WS}/qms/sampling-state?supplier=Acme&part_no=P-1"), None)).await;
    assert_eq!((other["lots"].clone(), other["state"]["severity"].clone()), (json!(0), json!("normal")));
    for bad in
        ["supplier=Borg", "supplier=Borg&part_no=P-1&lot_size=many", "supplier=Borg&part_no=P-1&lot_size=500&aql=0.3"]
    {
        let (status, _) = app.send(root.request("GET", &format!("{WS}/qms/sampling-state?{bad}"), None)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
});

on_both!(monthly_scorecards_come_from_iqc_ncr_and_8d_data, |app: TestApp| async move {
    app.create_user("root", "correct horse battery", true).await;
    let root = app.login("root", "correct horse battery").await;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let admin = server::db::entities::user::Entity::find()
        .filter(server::db::entities::user::Column::Username.eq("root"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    server::demo::ensure(&app.state, &admin.id).await.unwrap().unwrap();
    // This month: the demo's IQC lots run up to today, its sample scorecards stop at 2026-10.
    let today = server::clock::today_at(480);
    let month = format!("{:04}-{:02}", today.year, today.month);
    let (status, body) =
        app.send(root.request("POST", "/api/v1/workspaces/demo/qms/scorecards", Some(&json!({"month": month})))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let created = body["created"].as_array().unwrap().clone();
    assert!(!created.is_empty(), "the demo data has IQC lots last month: {body}");
    assert_eq!(body["skipped"], json!([]));
    for card in &created {
        assert!(["A", "B", "C", "D"].contains(&card["grade"].as_str().unwrap()), "{card}");
    }
    // The IQC numbers of one supplier match a report over the same month.
    {
        let card = &created[0];
        let supplier = card["supplier"].as_str().unwrap();
        let (_, record) = app
            .send(root.request(
                "GET",
                &format!("/api/v1/workspaces/demo/records/{}", card["record"].as_str().unwrap()),
                None,
            ))
            .await;
        let (from, to) = engine::report::bucket_range(engine::report::Bucket::Month, &month).unwrap();
        let spec = json!({"form": "iqc", "filter": {"and": [{"field": "supplier", "op": "eq", "value": supplier},
            {"field": "received_on", "op": "between", "value": [engine::report::format_date(from), engine::report::format_date(to)]}]},
            "measures": [{"fn": "count", "as": "lots"}]});
        let (_, report) = app.send(root.request("POST", "/api/v1/workspaces/demo/reports/run", Some(&spec))).await;
        assert_eq!(record["data"]["lots_inspected"].as_f64(), report["rows"][0][0].as_f64(), "{record}");
    }
    // Running it again creates nothing new.
    let (_, again) =
        app.send(root.request("POST", "/api/v1/workspaces/demo/qms/scorecards", Some(&json!({"month": month})))).await;
    assert_eq!(again["created"], json!([]), "{again}");
    assert_eq!(again["skipped"].as_array().unwrap().len(), created.len(), "{again}");
    let (status, _) = app
        .send(root.request("POST", "/api/v1/workspaces/demo/qms/scorecards", Some(&json!({"month": "2026-13"}))))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
});
