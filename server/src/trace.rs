//! Lot traceability (DESIGN §9). The lots each live record names (lot fields marked
//! `"trace"`) are kept in `lot_links`, derived after commit from the audit log: every record
//! write appends an audit entry in its own transaction, so the log is the change sequence.
//! `catch_up` applies the entries past the workspace's cursor and moves the cursor in the same
//! transaction, so a crash at any point leaves links and cursor consistent and the next round
//! resumes; `rebuild` derives everything again from the records (`formwork reindex`).
//!
//! A trace walks lots: backward, from a lot to the records that produced it and the lots
//! those consumed; forward, to the records that consumed it and the lots those produced;
//! records that refer to a lot visited (inspections, NCRs) are attached to it.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use engine::form::LotRole;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value as SqlValue};
use serde::Serialize;

use crate::error::ApiError;
use crate::forms_cache::FormsCache;

const INDEX: &str = "lots";
/// Audit entries applied per transaction.
const BATCH: i64 = 2_000;

use crate::changes::placeholders as params;

async fn cursor(db: &impl ConnectionTrait, workspace_id: &str) -> Result<i64, ApiError> {
    let backend = db.get_database_backend();
    let p = params(backend, 2, 1);
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!("SELECT seq FROM index_cursors WHERE workspace_id = {} AND index_name = {}", p[0], p[1]),
            [workspace_id.into(), INDEX.into()],
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    })
}

async fn set_cursor(db: &impl ConnectionTrait, workspace_id: &str, seq: i64) -> Result<(), ApiError> {
    let backend = db.get_database_backend();
    let p = params(backend, 3, 1);
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        format!(
            "INSERT INTO index_cursors (workspace_id, index_name, seq) VALUES ({}, {}, {}) \
             ON CONFLICT (workspace_id, index_name) DO UPDATE SET seq = excluded.seq",
            p[0], p[1], p[2]
        ),
        [workspace_id.into(), INDEX.into(), seq.into()],
    ))
    .await?;
    Ok(())
}

/// Replaces the links of `records` (deleted or gone records get none); `fresh`: they have
/// none yet (a rebuild cleared the workspace), so there is nothing to delete.
async fn relink(
    db: &impl ConnectionTrait,
    forms: &FormsCache,
    workspace_id: &str,
    ids: &[String],
    fresh: bool,
) -> Result<(), ApiError> {
    let rows = derive(db, forms, workspace_id, ids).await?;
    store(db, ids, &rows, fresh).await
}

/// One `lot_links` row: workspace, record, form, field, role, lot.
type LinkRow = [SqlValue; 6];

/// The links of the live ones of `ids`, as they stand.
async fn derive(
    db: &impl ConnectionTrait,
    forms: &FormsCache,
    workspace_id: &str,
    ids: &[String],
) -> Result<Vec<LinkRow>, ApiError> {
    let mut rows: Vec<LinkRow> = Vec::new();
    for chunk in ids.chunks(500) {
        for found in crate::changes::live_records(db, chunk).await? {
            let compiled = forms.get(db, &found.form_id, found.form_version).await?;
            for link in compiled.lot_links(&found.data) {
                rows.push([
                    workspace_id.into(),
                    found.id.clone().into(),
                    found.form_id.clone().into(),
                    link.field.into(),
                    link.role.as_str().into(),
                    link.lot.into(),
                ]);
            }
        }
    }
    Ok(rows)
}

/// Replaces the links of `ids` with `rows`.
async fn store(db: &impl ConnectionTrait, ids: &[String], rows: &[LinkRow], fresh: bool) -> Result<(), ApiError> {
    let backend = db.get_database_backend();
    if !fresh {
        for chunk in ids.chunks(500) {
            let p = params(backend, chunk.len(), 1);
            let values: Vec<SqlValue> = chunk.iter().map(|id| id.clone().into()).collect();
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                format!("DELETE FROM lot_links WHERE record_id IN ({})", p.join(", ")),
                values,
            ))
            .await?;
        }
    }
    for rows in rows.chunks(500) {
        let p = params(backend, rows.len() * 6, 1);
        let tuples: Vec<String> = p.chunks(6).map(|c| format!("({})", c.join(", "))).collect();
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "INSERT INTO lot_links (workspace_id, record_id, form_id, field, role, lot) VALUES {}",
                tuples.join(", ")
            ),
            rows.iter().flat_map(|r| r.iter().cloned()).collect::<Vec<_>>(),
        ))
        .await?;
    }
    Ok(())
}

/// Applies the audit log past the workspace's cursor; returns how many entries it read.
pub async fn catch_up(db: &DatabaseConnection, forms: &FormsCache, workspace_id: &str) -> Result<usize, ApiError> {
    let mut total = 0;
    loop {
        // The entries and the links of their records are read before the write transaction:
        // on SQLite it holds the one write lock, and deriving a busy round's links took tens of
        // milliseconds in which every submission waited. A record read now is at least as new
        // as its entries in the page (each write commits its entry with it); a write after the
        // page has a later entry and is applied next round.
        let from = cursor(db, workspace_id).await?;
        let Some(page) = crate::changes::page(db, workspace_id, from, BATCH).await? else {
            return Ok(total);
        };
        let rows = derive(db, forms, workspace_id, &page.records).await?;
        let txn = crate::db::write_txn(db).await?;
        // Another process moved the cursor meanwhile: start over from where it is.
        if cursor(&txn, workspace_id).await? != from {
            txn.rollback().await?;
            continue;
        }
        store(&txn, &page.records, &rows, false).await?;
        set_cursor(&txn, workspace_id, page.last).await?;
        txn.commit().await?;
        total += page.read;
        if page.read < BATCH as usize {
            return Ok(total);
        }
    }
}

/// Derives every link of the workspace again from its records; `progress` hears the count
/// done so far.
pub async fn rebuild(
    db: &DatabaseConnection,
    forms: &FormsCache,
    workspace_id: &str,
    mut progress: impl FnMut(usize),
) -> Result<usize, ApiError> {
    let backend = db.get_database_backend();
    let txn = crate::db::write_txn(db).await?;
    let p = params(backend, 1, 1);
    txn.execute_raw(Statement::from_sql_and_values(
        backend,
        format!("DELETE FROM lot_links WHERE workspace_id = {}", p[0]),
        [workspace_id.into()],
    ))
    .await?;
    // The cursor moves to the log's end first: entries written meanwhile are applied later.
    let head = crate::changes::head(&txn, workspace_id).await?;
    let mut after = String::new();
    let mut done = 0;
    loop {
        let p = params(backend, 2, 1);
        let page = txn
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT id FROM records WHERE workspace_id = {} AND id > {} AND deleted_at IS NULL ORDER BY id LIMIT 1000",
                    p[0], p[1]
                ),
                [workspace_id.into(), after.clone().into()],
            ))
            .await?;
        if page.is_empty() {
            break;
        }
        let ids: Vec<String> = page.iter().map(|r| r.try_get_by_index::<String>(0)).collect::<Result<_, _>>()?;
        after = ids.last().cloned().unwrap_or_default();
        relink(&txn, forms, workspace_id, &ids, true).await?;
        done += ids.len();
        progress(done);
    }
    set_cursor(&txn, workspace_id, head).await?;
    txn.commit().await?;
    // Fresh planner statistics, so that lookups use the indexes after a bulk rebuild.
    db.execute_unprepared("ANALYZE lot_links").await?;
    Ok(done)
}

/// Keeps every workspace's links current, a round every second (`changes::FOLLOW_EVERY`), until `stop`.
pub async fn run(db: DatabaseConnection, forms: std::sync::Arc<FormsCache>, stop: tokio::sync::watch::Receiver<bool>) {
    let follower = db.clone();
    crate::changes::follow(follower, "lot links", stop, move |workspace| {
        let (db, forms) = (db.clone(), forms.clone());
        async move { catch_up(&db, &forms, &workspace).await }
    })
    .await;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Backward,
    Forward,
}

/// One record in a trace.
#[derive(Clone, Debug, Serialize)]
pub struct Node {
    pub record: String,
    pub form: String,
    /// The lots this record names, by field.
    pub lots: BTreeMap<String, Vec<String>>,
    pub depth: u32,
}

/// `from` -> `to` through `lot`; `field` is the field of `to` that names the lot, `role` is
/// `link` (the walk goes on through `to`) or `refers` (`to` documents the lot).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub lot: String,
    pub field: String,
    pub role: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct Trace {
    pub lot: String,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Lots reached, with the depth first reached.
    pub lots: BTreeMap<String, u32>,
}

struct Link {
    record: String,
    form_id: String,
    field: String,
    role: String,
    lot: String,
}

#[derive(Clone, Copy)]
enum By {
    Lot,
    Record,
}

async fn links(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    by: By,
    values: &[String],
) -> Result<Vec<Link>, ApiError> {
    let backend = db.get_database_backend();
    let mut out = Vec::new();
    for chunk in values.chunks(500) {
        let p = params(backend, chunk.len() + 1, 1);
        let mut values: Vec<SqlValue> = vec![workspace_id.into()];
        values.extend(chunk.iter().map(|v| SqlValue::from(v.clone())));
        // Each lookup names its index outright: record ids are unique, so the workspace is
        // only checked on the rows found (`+` keeps SQLite from walking every row of the
        // workspace through the lot index instead).
        let condition = match by {
            By::Lot => format!("workspace_id = {} AND lot IN ({})", p[0], p[1..].join(", ")),
            By::Record if backend == DbBackend::Postgres => {
                format!("record_id IN ({}) AND workspace_id = {}", p[1..].join(", "), p[0])
            }
            By::Record => format!("record_id IN ({}) AND +workspace_id = {}", p[1..].join(", "), p[0]),
        };
        let sql = format!("SELECT record_id, form_id, field, role, lot FROM lot_links WHERE {condition}");
        let rows = db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
        for row in rows {
            out.push(Link {
                record: row.try_get_by_index(0)?,
                form_id: row.try_get_by_index(1)?,
                field: row.try_get_by_index(2)?,
                role: row.try_get_by_index(3)?,
                lot: row.try_get_by_index(4)?,
            });
        }
    }
    Ok(out)
}

/// Walks from `lot` up to `depth` levels; `visible` says whether the caller may see a record
/// (by its form id and id): records it may not see are neither shown nor walked through.
pub async fn walk(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    lot: &str,
    direction: Direction,
    depth: u32,
    form_keys: &HashMap<String, String>,
    visible: impl Fn(&str, &str) -> bool,
) -> Result<Trace, ApiError> {
    let (toward, onward) = match direction {
        Direction::Backward => (LotRole::Produces.as_str(), LotRole::Consumes.as_str()),
        Direction::Forward => (LotRole::Consumes.as_str(), LotRole::Produces.as_str()),
    };
    let mut lots: BTreeMap<String, u32> = BTreeMap::from([(lot.to_owned(), 0)]);
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    let mut edges = BTreeSet::new();
    // Which record reached each lot (none for the start), to draw the edges.
    let mut reached_by: HashMap<String, Vec<String>> = HashMap::new();
    let mut frontier: VecDeque<String> = VecDeque::from([lot.to_owned()]);
    let mut level = 0;
    while !frontier.is_empty() && level <= depth {
        let current: Vec<String> = frontier.drain(..).collect();
        let found = links(db, workspace_id, By::Lot, &current).await?;
        let mut next_records = Vec::new();
        for link in found.iter().filter(|l| l.role == toward || l.role == LotRole::Refers.as_str()) {
            if !visible(&link.form_id, &link.record) {
                continue;
            }
            let new = !nodes.contains_key(&link.record);
            nodes.entry(link.record.clone()).or_insert_with(|| Node {
                record: link.record.clone(),
                form: form_keys.get(&link.form_id).cloned().unwrap_or_default(),
                lots: BTreeMap::new(),
                depth: level,
            });
            for parent in reached_by.get(&link.lot).into_iter().flatten() {
                let (from, to) = (parent.clone(), link.record.clone());
                edges.insert(Edge {
                    from,
                    to,
                    lot: link.lot.clone(),
                    field: link.field.clone(),
                    role: if link.role == toward { "link" } else { "refers" },
                });
            }
            if new && link.role == toward {
                next_records.push(link.record.clone());
            }
        }
        if level == depth {
            break;
        }
        // The records reached lead on through the lots they consume (backward) or produce.
        let theirs = links(db, workspace_id, By::Record, &next_records).await?;
        for link in theirs.iter().filter(|l| l.role == onward) {
            reached_by.entry(link.lot.clone()).or_default().push(link.record.clone());
            if !lots.contains_key(&link.lot) {
                lots.insert(link.lot.clone(), level + 1);
                frontier.push_back(link.lot.clone());
            }
        }
        level += 1;
    }
    // Every lot each shown record names, for display.
    let shown: Vec<String> = nodes.keys().cloned().collect();
    for link in links(db, workspace_id, By::Record, &shown).await? {
        if let Some(node) = nodes.get_mut(&link.record) {
            let lots = node.lots.entry(link.field).or_default();
            if !lots.contains(&link.lot) {
                lots.push(link.lot);
            }
        }
    }
    Ok(Trace { lot: lot.to_owned(), nodes: nodes.into_values().collect(), edges: edges.into_iter().collect(), lots })
}
