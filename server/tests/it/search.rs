//! Full-text search: results equal a brute-force scan of the same records with the same
//! analyzer; Chinese and English (stemmed) queries; exact lots and auto-numbers; permissions
//! (forms, own rows, restricted fields never indexed); a lost index catches up from the audit
//! log. Both databases.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::on_both;
use crate::support::{Session, TestApp, Xorshift};

const WS: &str = "/api/v1/workspaces/plant-s";
const WORDS: [&str; 12] = [
    "bracket",
    "housing",
    "scratched",
    "bent",
    "rusty",
    "cracked",
    "supplier",
    "customer",
    "line",
    "paint",
    "weld",
    "burr",
];
const CHINESE: [&str; 8] = ["划伤", "变形", "生锈", "裂纹", "来料检验", "客户投诉", "焊接不良", "毛刺"];

fn form() -> Value {
    json!({"key": "complaint", "name": {"en": "Complaint", "zh-CN": "投诉"}, "fields": [
        {"key": "no", "type": "auto_number", "pattern": "CMP-{seq:5}"},
        {"key": "title", "type": "text"},
        {"key": "detail", "type": "textarea"},
        {"key": "lot", "type": "lot"},
        {"key": "defect", "type": "select", "options": [
            {"value": "scratch", "label": {"en": "Scratch", "zh-CN": "划痕"}},
            {"value": "dent", "label": {"en": "Dent", "zh-CN": "凹陷"}}]},
        {"key": "secret", "type": "text", "access": {"read": ["admin"]}}
    ]})
}

fn text(random: &mut Xorshift) -> String {
    let mut parts = Vec::new();
    for _ in 0..(3 + random.below(4)) {
        if random.below(3) == 0 {
            parts.push(CHINESE[random.below(CHINESE.len() as u64) as usize].to_owned());
        } else {
            parts.push(WORDS[random.below(WORDS.len() as u64) as usize].to_owned());
        }
    }
    parts.join(" ")
}

async fn seed(app: &TestApp, count: usize) -> (Session, Vec<(String, Value)>) {
    let root = app.workspace_with_form("plant-s", json!({}), &form()).await;
    let mut random = Xorshift(0x5ea2_c4ed);
    let mut records = Vec::new();
    for i in 0..count {
        let data = json!({"title": text(&mut random), "detail": text(&mut random), "lot": format!("LOT-{i:05}"),
            "defect": if random.below(2) == 0 { "scratch" } else { "dent" }, "secret": "zebra"});
        let (status, body) =
            app.send(root.request("POST", &format!("{WS}/forms/complaint/records"), Some(&data))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        records.push((body["id"].as_str().unwrap().to_owned(), body["data"].clone()));
    }
    (root, records)
}

/// The ids of the records the analyzer says match `q`: every query term among the record's
/// terms, or `q` equal to one of its lots or numbers.
fn brute(app: &TestApp, records: &[(String, Value)], q: &str) -> BTreeSet<String> {
    let compiled = engine::form::CompiledForm::compile(&form(), engine::Lang::En).unwrap();
    let _ = app;
    let wanted = server::search::tokenizer::terms(q);
    records
        .iter()
        .filter(|(_, data)| {
            let (body, keys) = server::search::document_text(&compiled, data);
            let have: BTreeSet<String> = server::search::tokenizer::terms(&body).into_iter().collect();
            (!wanted.is_empty() && wanted.iter().all(|t| have.contains(t))) || keys.iter().any(|k| k == q.trim())
        })
        .map(|(id, _)| id.clone())
        .collect()
}

async fn search(app: &TestApp, who: &Session, query: &str) -> Value {
    let (status, body) = app.send(who.request("GET", &format!("{WS}/search?{query}"), None)).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

fn ids(body: &Value) -> BTreeSet<String> {
    body["items"].as_array().unwrap().iter().map(|h| h["record"].as_str().unwrap().to_owned()).collect()
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'-' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

on_both!(search_equals_a_brute_force_scan, |app: TestApp| async move {
    let (root, records) = seed(&app, 240).await;
    let mut nonempty = 0;
    for q in [
        "bracket",
        "scratches",
        "rusty weld",
        "划伤",
        "来料",
        "焊接",
        "Scratch",
        "划痕 bent",
        "LOT-00042",
        "CMP-00007",
        "nothing-here",
    ] {
        let body = search(&app, &root, &format!("q={}&limit=200", encode(q))).await;
        let expected = brute(&app, &records, q);
        assert!(expected.len() < 200, "{q}: pick a rarer query");
        assert_eq!(ids(&body), expected, "{q}");
        nonempty += usize::from(!expected.is_empty());
    }
    assert!(nonempty >= 9, "the queries find something");
    // A hit shows where it matched.
    let body = search(&app, &root, "q=bracket&limit=1").await;
    assert!(body["items"][0]["snippet"].as_str().unwrap().contains("<b>bracket</b>"), "{body}");
    assert_eq!(body["items"][0]["form"], json!("complaint"));
    // An exact lot ranks its record first (CMP-00042 shares the words "lot" and "00042").
    let body = search(&app, &root, "q=LOT-00042").await;
    assert!(body["items"][0]["keys"].as_array().unwrap().contains(&json!("LOT-00042")), "{body}");
});

on_both!(search_respects_permissions_filters_and_catches_up, |app: TestApp| async move {
    let (root, records) = seed(&app, 30).await;
    // A field only admins read is not indexed at all: nobody finds its text.
    assert_eq!(search(&app, &root, "q=zebra").await["items"], json!([]));
    // Members read their own records only.
    app.create_user("member", "correct horse battery", false).await;
    app.send(root.request("PUT", &format!("{WS}/members"), Some(&json!({"username": "member", "roles": ["member"]}))))
        .await;
    let member = app.login("member", "correct horse battery").await;
    let (status, body) = app
        .send(member.request(
            "POST",
            &format!("{WS}/forms/complaint/records"),
            Some(&json!({"title": "bracket from the member", "lot": "LOT-M1"})),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let own = body["id"].as_str().unwrap().to_owned();
    assert_eq!(ids(&search(&app, &member, "q=bracket&limit=200").await), BTreeSet::from([own.clone()]));
    assert!(ids(&search(&app, &root, "q=bracket&limit=200").await).contains(&own), "found at once after commit");
    // Filters: another form's key finds nothing here; a date range before today finds nothing.
    assert_eq!(search(&app, &root, "q=bracket&form=other").await["items"], json!([]));
    assert_eq!(search(&app, &root, "q=bracket&to=2020-01-01").await["items"], json!([]));
    assert!(!search(&app, &root, "q=bracket&from=2020-01-01").await["items"].as_array().unwrap().is_empty());
    // A deleted record is no longer found.
    let (status, _) = app.send(root.request("DELETE", &format!("{WS}/records/{own}"), None)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!ids(&search(&app, &root, "q=LOT-M1").await).contains(&own));
    // Bad queries are refused; other workspaces are not found.
    let (status, _) = app.send(root.request("GET", &format!("{WS}/search?q="), None)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app.send(root.request("GET", "/api/v1/workspaces/elsewhere/search?q=bracket", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The index lost entirely (a crash before it was ever written, say): a new one catches up
    // from the audit log alone.
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let workspace = server::db::entities::workspace::Entity::find()
        .filter(server::db::entities::workspace::Column::Slug.eq("plant-s"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let fresh_dir = app.config.data_dir.join("fresh");
    let fresh = server::search::Search::new(&fresh_dir);
    let read = server::search::catch_up(&app.db, &app.state.forms, &fresh, &workspace.id).await.unwrap();
    assert!(read >= records.len(), "{read}");
    let index = fresh.workspace(&workspace.id).unwrap();
    let forms = std::collections::HashMap::from([(
        server::db::entities::form::Entity::find()
            .filter(server::db::entities::form::Column::Key.eq("complaint"))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .id,
        server::search::Allowed::All,
    )]);
    let query = server::search::SearchQuery {
        text: "LOT-00007",
        forms: &forms,
        caller: "",
        from_ms: None,
        to_ms: None,
        limit: 5,
    };
    let hits = tokio::task::block_in_place(|| server::search::find(&index, &query)).unwrap();
    assert!(hits[0].keys.contains(&"LOT-00007".to_owned()), "{hits:?}");
    assert_eq!(
        server::search::catch_up(&app.db, &app.state.forms, &fresh, &workspace.id).await.unwrap(),
        0,
        "nothing twice"
    );
});
