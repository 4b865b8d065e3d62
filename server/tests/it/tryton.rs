//! End to end against a real Tryton 8.2 ERP: the suite installs it (pip into a cached venv),
//! seeds a database once per machine (`e2e/tryton/seed.py`), and starts a server on a free
//! loopback port per test from a copy of that database.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::on_both;
use crate::support::TestApp;

const PACKAGES: &[&str] = &[
    "trytond>=8.2,<8.3",
    "trytond-party>=8.2,<8.3",
    "trytond-company>=8.2,<8.3",
    "trytond-currency>=8.2,<8.3",
    "trytond-product>=8.2,<8.3",
    "trytond-stock>=8.2,<8.3",
    "trytond-stock-lot>=8.2,<8.3",
    "trytond-purchase>=8.2,<8.3",
    "trytond-quality>=8.2,<8.3",
    "proteus>=8.2,<8.3",
];

fn cache_dir() -> PathBuf {
    let base = std::env::var_os("FORMWORK_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("formwork").join("tryton-8.2")
}

fn run(command: &mut Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn write_config(dir: &Path, port: u16) -> PathBuf {
    let config = dir.join("trytond.conf");
    let text = format!(
        "[database]\nuri = sqlite://\npath = {}\nlanguage = en\n[web]\nlisten = 127.0.0.1:{port}\n[session]\ntimeout = 3600\n",
        dir.join("db").display()
    );
    std::fs::create_dir_all(dir.join("db")).unwrap();
    std::fs::write(&config, text).unwrap();
    config
}

/// The venv and the seeded database, made once per machine (idempotent: each step is skipped
/// when its result exists; results are moved into place only when complete).
fn prepared() -> &'static (PathBuf, PathBuf) {
    static PREPARED: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    PREPARED.get_or_init(|| {
        let cache = cache_dir();
        std::fs::create_dir_all(&cache).unwrap();
        let venv = cache.join("venv");
        // Scripts in a venv hold its path, so it is built in place; a marker written last
        // tells a complete venv from one an interrupted run left behind.
        let complete = venv.join(".formwork-complete");
        if !complete.exists() {
            let _ = std::fs::remove_dir_all(&venv);
            run(Command::new("python3").args(["-m", "venv"]).arg(&venv), "python3 -m venv");
            run(Command::new(venv.join("bin/pip")).args(["install", "--quiet"]).args(PACKAGES), "pip install tryton");
            std::fs::write(&complete, PACKAGES.join("\n")).unwrap();
        }
        // The seeded database is named after the seed script's contents, so a changed script
        // seeds anew instead of reusing a stale database.
        let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e/tryton/seed.py");
        let script = std::fs::read(&seed).unwrap();
        let digest =
            script.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3));
        let seeded = cache.join(format!("erp-seeded-{digest:016x}.sqlite"));
        if !seeded.exists() {
            let dir = cache.join(format!("seeding-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let config = write_config(&dir, 0);
            std::fs::write(dir.join("db/erp.sqlite"), b"").unwrap();
            std::fs::write(dir.join("adminpass"), b"admin\n").unwrap();
            let admin = |args: &[&str]| {
                run(
                    Command::new(venv.join("bin/trytond-admin"))
                        .arg("-c")
                        .arg(&config)
                        .args(["-d", "erp"])
                        .args(args)
                        .env("TRYTONPASSFILE", dir.join("adminpass")),
                    "trytond-admin",
                )
            };
            admin(&["--all", "--email", "admin@example.com"]);
            admin(&["-u", "purchase", "stock_lot", "quality", "--activate-dependencies"]);
            run(Command::new(venv.join("bin/python")).arg(&seed).arg(&config), "seeding Tryton");
            let partial = cache.join(format!("erp-{}.sqlite", std::process::id()));
            std::fs::copy(dir.join("db/erp.sqlite"), &partial).unwrap();
            std::fs::rename(&partial, &seeded).unwrap();
            let _ = std::fs::remove_dir_all(&dir);
        }
        (venv, seeded)
    })
}

/// One Tryton server on its own copy of the seeded database.
pub struct Tryton {
    child: Option<Child>,
    dir: PathBuf,
    config: PathBuf,
    pub port: u16,
}

impl Tryton {
    pub async fn start() -> Tryton {
        let (_, seeded) = tokio::task::spawn_blocking(prepared).await.unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("formwork-tryton-{port}-{}", server::identity::new_id()));
        let config = write_config(&dir, port);
        std::fs::copy(seeded, dir.join("db/erp.sqlite")).unwrap();
        let mut tryton = Tryton { child: None, dir, config, port };
        tryton.up().await;
        tryton
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the server and waits (with a deadline) until it answers.
    pub async fn up(&mut self) {
        let (venv, _) = prepared();
        let child = Command::new(venv.join("bin/trytond"))
            .arg("-c")
            .arg(&self.config)
            .args(["-d", "erp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("trytond starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        let http = reqwest::Client::new();
        loop {
            let answer = http
                .post(format!("{}/rpc/", self.url()))
                .header("content-type", "application/json")
                .body(r#"{"id":1,"method":"common.server.version","params":[]}"#)
                .send()
                .await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            assert!(Instant::now() < deadline, "Tryton did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Calls Tryton as the admin (a fresh session), for checking what the ERP holds.
    async fn admin_call(&self, method: &str, params: Value) -> Value {
        use base64::Engine as _;
        let http = reqwest::Client::new();
        let url = format!("{}/erp/rpc/", self.url());
        let post = |method: &str, params: Value, auth: Option<String>| {
            let mut request = http
                .post(&url)
                .header("content-type", "application/json")
                .body(json!({"id": 1, "method": method, "params": params}).to_string());
            if let Some(auth) = auth {
                request = request.header("authorization", auth);
            }
            async move {
                let answer: Value = serde_json::from_str(&request.send().await.unwrap().text().await.unwrap()).unwrap();
                assert!(answer["error"].is_null(), "{answer}");
                answer["result"].clone()
            }
        };
        let login = post("common.db.login", json!(["admin", {"password": "admin"}, "en"]), None).await;
        let token = base64::engine::general_purpose::STANDARD.encode(format!(
            "admin:{}:{}",
            login[0],
            login[1].as_str().unwrap()
        ));
        let mut params = params.as_array().cloned().unwrap();
        params.push(json!({"company": 1}));
        post(method, Value::Array(params), Some(format!("Session {token}"))).await
    }

    /// Supplier returns whose reference is `reference`: number, state and moves (quantity,
    /// product code, lot number).
    pub async fn returns(&self, reference: &str) -> Vec<Value> {
        let shipments = self
            .admin_call(
                "model.stock.shipment.in.return.search_read",
                json!([[["reference", "=", reference]], 0, null, null, ["number", "state", "moves"]]),
            )
            .await;
        let mut out = Vec::new();
        for shipment in shipments.as_array().cloned().unwrap_or_default() {
            let moves = self
                .admin_call(
                    "model.stock.move.read",
                    json!([shipment["moves"], ["quantity", "product.code", "lot.number"]]),
                )
                .await;
            out.push(json!({"number": shipment["number"], "state": shipment["state"], "moves": moves}));
        }
        out
    }

    /// Quality inspections whose reference is `reference`: number, state, points, control name.
    pub async fn inspections(&self, reference: &str) -> Vec<Value> {
        let found = self
            .admin_call(
                "model.quality.inspection.search_read",
                json!([[["reference", "=", reference]], 0, null, null, ["number", "state", "points", "control.name"]]),
            )
            .await;
        found.as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Tryton {
    fn drop(&mut self) {
        self.down();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The workspace's `erp` connector row, for delivering a row by hand as a second worker would.
async fn erp_connector(app: &TestApp) -> server::db::entities::connector::Model {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    server::db::entities::connector::Entity::find()
        .filter(server::db::entities::connector::Column::Name.eq("erp"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

fn review(quantity_field: &str) -> Value {
    json!({
        "key": "iqc-erp", "form": "iqc", "trigger": {"on": "submitted"},
        "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "mrb", "kind": "approval", "assignees": {"roles": ["mrb"]}, "mode": "any"},
            {"id": "erp_return", "kind": "action",
             "script": format!("call(\"erp\", \"supplier_return\", #{{ supplier: \"Acme Steel\", product: \"BRK-1\", lot: record.lot_no, quantity: record.{quantity_field}, reference: record.id }})"),
             "results": {"erp_no": "number"}, "error_field": "erp_error"},
            {"id": "end", "kind": "end"}
        ],
        "edges": [{"from": "start", "to": "mrb"}, {"from": "mrb", "to": "erp_return"}, {"from": "erp_return", "to": "end"}]
    })
}

on_both!(iqc_reject_makes_exactly_one_supplier_return_in_tryton, |app: TestApp| async move {
    use crate::workflows::*;
    let mut erp = Tryton::start().await;
    let p = setup(&app, "http://127.0.0.1:9/unused").await;
    let connector = json!({"name": "erp", "kind": "tryton", "config": {"url": erp.url(), "database": "erp", "username": "admin", "url_note": "loopback"}, "secret": "admin"});
    let (status, body) = app.send(p.root.request("PUT", &format!("{WS}/connectors/erp"), Some(&connector))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The admin page's "test connection": a real login, and a refused one with a wrong secret.
    let (_, tested) = app.send(p.root.request("POST", &format!("{WS}/connectors/erp/test"), None)).await;
    assert_eq!(tested["ok"], true, "{tested}");
    assert!(tested["message"].as_str().unwrap().contains("logged in to Tryton"), "{tested}");
    let mut wrong = connector.clone();
    wrong["name"] = json!("erp_wrong");
    wrong["secret"] = json!("not-the-password");
    let (status, body) = app.send(p.root.request("POST", &format!("{WS}/connectors"), Some(&wrong))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, tested) = app.send(p.root.request("POST", &format!("{WS}/connectors/erp_wrong/test"), None)).await;
    assert_eq!(tested["ok"], false, "{tested}");
    assert!(!tested.to_string().contains("not-the-password"), "the secret never comes back: {tested}");
    publish(&app, &p.designer, &review("lot_size")).await;

    // Rejected lot -> MRB approves -> one return with our reference, done, with its number.
    let submit_and_approve = |lot: &'static str, size: i64| {
        let (app, p) = (&app, &p);
        async move {
            let id = submit(app, &p.member, json!({"lot_no": lot, "lot_size": size, "result": "reject"})).await;
            let task = inbox(app, &p.mrb[0]).await.into_iter().find(|t| t["record"] == json!(id)).unwrap();
            let (status, body) =
                decide(app, &p.mrb[0], task["id"].as_str().unwrap(), json!({"action": "approve"})).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            (id, task["instance"].as_str().unwrap().to_owned())
        }
    };
    let (first, instance_id) = submit_and_approve("LOT-A1", 25).await;
    drain(&app).await;
    assert_eq!(instance(&app, &p.root, &instance_id).await["status"], json!("approved"));
    let returns = erp.returns(&first).await;
    assert_eq!(returns.len(), 1, "{returns:?}");
    assert_eq!(returns[0]["state"], json!("done"));
    assert_eq!(returns[0]["moves"][0]["quantity"], json!(25.0));
    // Tryton answers a dotted field as the related record under "<field>.".
    assert_eq!(returns[0]["moves"][0]["product."]["code"], json!("BRK-1"), "{returns:?}");
    assert_eq!(returns[0]["moves"][0]["lot."]["number"], json!("LOT-A1"));
    assert_eq!(record(&app, &p.root, &first).await["data"]["erp_no"], returns[0]["number"]);

    // Tryton down while the action runs: retried until it is back, then done once.
    erp.down();
    let (second, instance_id) = submit_and_approve("LOT-A1", 10).await;
    drain(&app).await;
    let (_, rows) = app.send(p.root.request("GET", &format!("{WS}/outbox?status=pending"), None)).await;
    assert_eq!(rows["items"][0]["attempts"], json!(1), "{rows}");
    erp.up().await;
    time_passes(&app).await;
    drain(&app).await;
    assert_eq!(instance(&app, &p.root, &instance_id).await["status"], json!("approved"));
    assert_eq!(erp.returns(&second).await.len(), 1);

    // A worker dies after Tryton created the return, before it recorded anything: the lease
    // runs out, another worker delivers again and finds the return by our reference.
    let (third, instance_id) = submit_and_approve("LOT-A1", 5).await;
    let leased = server::workflows::outbox::lease(&app.db, "doomed", now_ms()).await.unwrap();
    assert_eq!(leased.len(), 1);
    let connector = erp_connector(&app).await;
    let done = server::workflows::tryton::deliver(
        &app.state.http,
        &connector,
        "supplier_return",
        &leased[0].payload,
        &leased[0].idempotency_key,
    )
    .await;
    assert!(matches!(done, server::workflows::connectors::Outcome::Done(_)), "{done:?}");
    {
        use sea_orm::ConnectionTrait;
        app.db.execute_unprepared("UPDATE outbox SET lease_until = 0 WHERE status = 'delivering'").await.unwrap();
    }
    drain(&app).await;
    assert_eq!(instance(&app, &p.root, &instance_id).await["status"], json!("approved"));
    assert_eq!(erp.returns(&third).await.len(), 1, "still exactly one return");

    // Not enough stock (100 - 25 - 10 - 5 = 60 left): a clear error on the record and the
    // instance visibly blocked.
    let (fourth, instance_id) = submit_and_approve("LOT-A1", 500).await;
    drain(&app).await;
    let blocked = instance(&app, &p.root, &instance_id).await;
    assert_eq!(blocked["status"], json!("blocked"), "{blocked}");
    let error = record(&app, &p.root, &fourth).await["data"]["erp_error"].clone();
    assert!(error.as_str().unwrap().contains("not enough stock"), "{error}");
});

/// Mirrors every submitted IQC record into Tryton's quality module at once; the length stands
/// in for the measured characteristic and our judgement is the record's `result`.
fn mirror(control: &str) -> Value {
    json!({
        "key": "iqc-mirror", "form": "iqc", "trigger": {"on": "submitted"},
        "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "mirror", "kind": "action",
             "script": format!("call(\"erp\", \"quality_inspection\", #{{ control: \"{control}\", reference: record.id, points: #{{ length: record.length, visual_ok: true }}, result: record.result }})"),
             "results": {"erp_no": "number", "note": "tryton_verdict"}, "error_field": "erp_error"},
            {"id": "end", "kind": "end"}
        ],
        "edges": [{"from": "start", "to": "mirror"}, {"from": "mirror", "to": "end"}]
    })
}

on_both!(iqc_results_are_mirrored_as_tryton_quality_inspections, |app: TestApp| async move {
    use crate::workflows::*;
    let erp = Tryton::start().await;
    let p = setup(&app, "http://127.0.0.1:9/unused").await;
    let connector = json!({"name": "erp", "kind": "tryton", "config": {"url": erp.url(), "database": "erp", "username": "admin"}, "secret": "admin"});
    let (status, body) = app.send(p.root.request("PUT", &format!("{WS}/connectors/erp"), Some(&connector))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    publish(&app, &p.designer, &mirror("IQC Bracket")).await;

    let cases = [
        // (length, our result, Tryton's own verdict, the state Tryton ends in)
        (10.0, "accept", "passed", "passed"),
        (10.5, "reject", "failed", "failed"),
        // Tryton's tolerances pass it, our inspector rejected it: ours wins, Tryton's is kept.
        (10.05, "reject", "passed", "failed"),
    ];
    for (length, result, verdict, state) in cases {
        let id =
            submit(&app, &p.member, json!({"lot_no": "LOT-A1", "lot_size": 10, "result": result, "length": length}))
                .await;
        drain(&app).await;
        let found = erp.inspections(&id).await;
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0]["state"], json!(state), "{found:?}");
        assert_eq!(found[0]["points"]["length"], json!(length));
        assert_eq!(found[0]["control."]["name"], json!("IQC Bracket"));
        let data = record(&app, &p.root, &id).await["data"].clone();
        assert_eq!(data["erp_no"], found[0]["number"], "{data}");
        assert_eq!(data["note"], json!(verdict), "{data}");

        // Delivering the same row again (a worker that died before recording) finds the
        // inspection by our reference instead of making a second one.
        let connector = erp_connector(&app).await;
        let again = server::workflows::tryton::deliver(
            &app.state.http,
            &connector,
            "quality_inspection",
            &json!({"control": "IQC Bracket", "reference": id, "points": {"length": length, "visual_ok": true}, "result": result}),
            "unused",
        )
        .await;
        assert!(matches!(again, server::workflows::connectors::Outcome::Done(_)), "{again:?}");
        assert_eq!(erp.inspections(&id).await.len(), 1);
    }

    // An unknown control is a business error on the record, not a retry loop.
    let (status, body) = app
        .send(p.designer.request("PUT", &format!("{WS}/workflows/iqc-mirror"), Some(&mirror("No Such Control"))))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) =
        app.send(p.designer.request("POST", &format!("{WS}/workflows/iqc-mirror/publish"), None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id =
        submit(&app, &p.member, json!({"lot_no": "LOT-A1", "lot_size": 10, "result": "accept", "length": 10.0})).await;
    drain(&app).await;
    let error = record(&app, &p.root, &id).await["data"]["erp_error"].clone();
    assert!(error.as_str().unwrap().contains("no such quality control"), "{error}");
    assert!(erp.inspections(&id).await.is_empty());
});
