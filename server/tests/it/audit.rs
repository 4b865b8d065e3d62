//! The hash-chained audit log: every write appends, tampering is detected.

use axum::http::StatusCode;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::forms::{lot_form, plant};
use crate::on_both;
use crate::support::TestApp;

on_both!(every_form_write_is_audited_and_the_chain_verifies, |app: TestApp| async move {
    let (root, designer, _) = plant(&app).await;
    app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms", Some(&lot_form()))).await;
    let mut v2 = lot_form();
    v2["fields"].as_array_mut().unwrap().push(json!({"key": "note", "type": "text"}));
    app.send(designer.request("PUT", "/api/v1/workspaces/plant-a/forms/lot_check", Some(&v2))).await;
    app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms/lot_check/publish", Some(&json!({})))).await;
    let (status, log) = app.send(root.request("GET", "/api/v1/workspaces/plant-a/audit", None)).await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<_> = log["items"].as_array().unwrap().iter().map(|e| e["action"].clone()).collect();
    // The workspace's creation and its two members came first.
    assert_eq!(
        actions,
        vec![
            json!("workspace.create"),
            json!("member.set_roles"),
            json!("member.set_roles"),
            json!("form.create"),
            json!("form.save_draft"),
            json!("form.publish")
        ]
    );
    assert_eq!(log["items"][1]["changes"]["roles"], json!({"before": null, "after": ["designer"]}));
    assert_eq!(log["items"][4]["changes"]["fields"]["added"], json!(["note"]));
    let (_, verification) = app.send(root.request("GET", "/api/v1/workspaces/plant-a/audit/verify", None)).await;
    assert_eq!(verification, json!({"entries": 6, "ok": true}));
    // Designers do not read the audit log; admins do.
    let (status, _) = app.send(designer.request("GET", "/api/v1/workspaces/plant-a/audit", None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
});

/// A workspace with six audit entries: its creation, two members, a form and two drafts.
async fn six_entries(app: &TestApp) -> (crate::support::Session, String) {
    let (root, designer, _) = plant(app).await;
    app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms", Some(&lot_form()))).await;
    for max in [10, 20] {
        let mut draft = lot_form();
        draft["fields"][1]["max"] = json!(max);
        app.send(designer.request("PUT", "/api/v1/workspaces/plant-a/forms/lot_check", Some(&draft))).await;
    }
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT id FROM workspaces WHERE slug = 'plant-a'",
        ))
        .await
        .unwrap()
        .unwrap();
    (root, row.try_get_by_index::<String>(0).unwrap())
}

/// Changes the database behind the server's back, as an attacker with database access would.
async fn tamper(app: &TestApp, sql: &str) {
    app.db.execute_unprepared(sql).await.expect("tampering statement runs");
}

on_both!(editing_an_entry_is_detected, |app: TestApp| async move {
    let (root, workspace_id) = six_entries(&app).await;
    tamper(
        &app,
        &format!("UPDATE audit_log SET actor = 'someone-else' WHERE workspace_id = '{workspace_id}' AND seq = 5"),
    )
    .await;
    let (_, verification) = app.send(root.request("GET", "/api/v1/workspaces/plant-a/audit/verify", None)).await;
    assert_eq!(verification["ok"], json!(false));
    assert_eq!(verification["first_broken"], json!({"seq": 5, "reason": "content does not match its hash"}));
    let direct = server::audit::verify(&app.db, &workspace_id).await.unwrap();
    assert_eq!(direct.first_broken.unwrap().seq, 5);
});

on_both!(deleting_an_entry_in_the_middle_is_detected, |app: TestApp| async move {
    let (root, workspace_id) = six_entries(&app).await;
    tamper(&app, &format!("DELETE FROM audit_log WHERE workspace_id = '{workspace_id}' AND seq = 5")).await;
    let (_, verification) = app.send(root.request("GET", "/api/v1/workspaces/plant-a/audit/verify", None)).await;
    assert_eq!(verification["first_broken"], json!({"seq": 5, "reason": "entry missing"}));
});

on_both!(deleting_the_newest_entry_is_detected, |app: TestApp| async move {
    let (root, workspace_id) = six_entries(&app).await;
    tamper(&app, &format!("DELETE FROM audit_log WHERE workspace_id = '{workspace_id}' AND seq = 6")).await;
    let (_, verification) = app.send(root.request("GET", "/api/v1/workspaces/plant-a/audit/verify", None)).await;
    assert_eq!(verification["first_broken"], json!({"seq": 6, "reason": "the newest entries are missing"}));
});

on_both!(a_rewritten_chain_without_the_head_is_detected, |app: TestApp| async move {
    let (root, workspace_id) = six_entries(&app).await;
    // Rewriting the changes of an entry and recomputing nothing breaks the hash; rewriting
    // the link breaks the next entry.
    tamper(&app, &format!("UPDATE audit_log SET prev_hash = NULL WHERE workspace_id = '{workspace_id}' AND seq = 6"))
        .await;
    let (_, verification) = app.send(root.request("GET", "/api/v1/workspaces/plant-a/audit/verify", None)).await;
    assert_eq!(verification["first_broken"], json!({"seq": 6, "reason": "link to the previous entry does not match"}));
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formwork_audit_verify_reports_the_first_broken_link() {
    let app = TestApp::sqlite().await;
    let (_, workspace_id) = six_entries(&app).await;
    let path = app.sqlite_path().expect("sqlite");
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_formwork"))
            .args(["audit", "verify", "--database-url"])
            .arg(format!("sqlite://{}", path.display()))
            .output()
            .expect("formwork runs")
    };
    let clean = run();
    assert!(clean.status.success(), "{}", String::from_utf8_lossy(&clean.stderr));
    assert_eq!(String::from_utf8_lossy(&clean.stdout), "plant-a: ok (6 entries)\n");
    tamper(&app, &format!("UPDATE audit_log SET changes = '{{}}' WHERE workspace_id = '{workspace_id}' AND seq = 1"))
        .await;
    let broken = run();
    assert!(!broken.status.success());
    assert_eq!(
        String::from_utf8_lossy(&broken.stdout),
        "plant-a: BROKEN at entry 1: content does not match its hash\n"
    );
}

/// The hash is SHA-256 over the entry as canonical JSON — the entry as one object, keys
/// sorted at every level, compact, `serde_json`'s escapes and number forms. Written here the
/// plain way (a JSON tree, then its text) as the definition that `entry_hash`, which writes
/// straight into the hasher, must match byte for byte: chains hashed before keep verifying.
fn reference_hash(
    workspace: &str,
    seq: i64,
    at: i64,
    entry: &server::audit::Entry<'_>,
    changes: &serde_json::Value,
    prev: Option<&str>,
) -> String {
    use sha2::{Digest, Sha256};
    fn canonical(value: &serde_json::Value, out: &mut String) {
        match value {
            serde_json::Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                let items: Vec<String> = keys
                    .into_iter()
                    .map(|key| {
                        let mut item = serde_json::Value::String(key.clone()).to_string();
                        item.push(':');
                        canonical(&map[key], &mut item);
                        item
                    })
                    .collect();
                out.push_str(&format!("{{{}}}", items.join(",")));
            }
            serde_json::Value::Array(items) => {
                let items: Vec<String> = items
                    .iter()
                    .map(|item| {
                        let mut text = String::new();
                        canonical(item, &mut text);
                        text
                    })
                    .collect();
                out.push_str(&format!("[{}]", items.join(",")));
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let content = json!({
        "workspace": workspace, "seq": seq, "at": at, "actor": entry.actor, "action": entry.action,
        "object_type": entry.object_type, "object_id": entry.object_id, "changes": changes,
        "reason": entry.reason, "prev": prev,
    });
    let mut text = String::new();
    canonical(&content, &mut text);
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn entry_hashes_are_sha256_of_the_canonical_entry() {
    fn check(changes: serde_json::Value, reason: Option<&str>, prev: Option<&str>) {
        let entry = server::audit::Entry {
            actor: "u-1",
            action: "record.update",
            object_type: "record",
            object_id: "r-\"quoted\"\n",
            changes: changes.clone().into(),
            reason,
        };
        let expected = reference_hash("ws-1", 42, 1_763_700_000_123, &entry, &changes, prev);
        assert_eq!(server::audit::entry_hash("ws-1", 42, 1_763_700_000_123, &entry, prev), expected);
    }
    check(json!(null), None, None);
    check(json!({}), Some("typo"), Some("ab12"));
    // Keys out of order at every level, escapes, non-ASCII text, every kind of number.
    let long_text = "长文本 ".repeat(2_000);
    check(
        json!({
            "zeta": {"after": [1, -2, 3.5, 1e21, 0.1, -0.0, 18446744073709551615u64], "before": null},
            "alpha": {"after": {"y": true, "x": false, "\u{1}ctl": "tab\tquote\"slash\\"}, "before": "检验"},
            "rows": [{"b": 1, "a": [[], {}]}, "📦", long_text],
        }),
        Some("原因: 复检"),
        Some("f00d"),
    );
}

/// A submission's changes are written out by its request handler before the writer draws its
/// auto-numbers (`CreatedChanges`): stored and hashed, they must be exactly what the plain
/// way gives — `{"field": {"before": null, "after": value}}` of the whole record, numbers
/// included — or the chain would not verify.
#[test]
fn a_new_records_changes_written_in_advance_store_and_hash_as_its_diff() {
    use server::audit::{Changes, CreatedChanges, Entry, entry_hash};
    fn check(data: serde_json::Value, numbers: &[(&str, &str)]) {
        let mut written = CreatedChanges::of(&data);
        let mut full = data.as_object().cloned().unwrap_or_default();
        for (key, number) in numbers {
            written.add(key, &json!(number));
            full.insert(key.to_string(), json!(number));
        }
        let diff: serde_json::Map<String, serde_json::Value> =
            full.into_iter().map(|(key, after)| (key, json!({"before": null, "after": after}))).collect();
        let diff = serde_json::Value::Object(diff);
        let entry = Entry {
            actor: "u-1",
            action: "record.create",
            object_type: "record",
            object_id: "r-1",
            changes: Changes::Created(written.clone()),
            reason: None,
        };
        let at = 1_763_700_000_123;
        assert_eq!(
            entry_hash("ws-1", 7, at, &entry, Some("ab")),
            reference_hash("ws-1", 7, at, &entry, &diff, Some("ab"))
        );
        assert_eq!(written.stored(), diff.to_string());
    }
    check(json!({}), &[]);
    check(json!({}), &[("no", "IQC-1")]);
    check(json!({"b": 1, "a": {"y": [1.5, "x\"q"], "x": null}, "长": "值"}), &[]);
    // Numbers sort before, between and after the other fields when hashed, and come last as stored.
    check(json!({"m": 1, "b": [true], "x": {"k": 2}}), &[("n", "N-1"), ("zz", "N-2"), ("a", "N-3"), ("0", "N-4")]);
}
