//! Rollups of dashboard widgets (DESIGN §7): grouped sums per widget, written in the same
//! transaction as every record change, so a widget over a million records reads a few
//! thousand cells. `engine::report::rollup` decides what a rollup holds and whether it can
//! answer a report; this module stores, maintains, builds and queries them.
//!
//! - **Which rollups exist** follows the saved dashboards: [`sync`] plans every widget with
//!   all of its form's fields, adds the dashboard's shared filters as keys, and creates the
//!   missing rollups (state `building`) and drops the ones no widget needs.
//! - **Building** ([`build`]) sums the form's existing records in chunks along the record id,
//!   each chunk in its own short transaction; `built_upto` says how far it got.
//! - **Maintenance** ([`Maintained`]): a transaction that adds, edits, deletes or restores
//!   records calls it with -1 before and +1 after the change, for the records the rollup
//!   already covers. Writers and chunks hold the workspace's audit-chain lock while they read
//!   a rollup's state, so neither can miss the other's work.
//! - **Compaction** ([`compact`]) folds the cells of many changes into one per key tuple.
//! - **Answering** ([`find`], [`cells::run`]): a report with a row scope of all records whose
//!   needs a ready rollup covers is answered from the cells, anything else directly.
//!
//! Correctness never depends on a rollup existing: a report nobody built a rollup for, or
//! whose rollup is still building, runs on the records.

pub mod cells;
mod worker;

use std::collections::{BTreeMap, HashMap};

use engine::report::rollup::{CellPlan, Shape, needs, rewrite};
use engine::report::{Kind, Plan, parse_dashboard, plan, subtable_kinds};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Statement, Value as SqlValue,
};
use sha2::{Digest, Sha256};

pub use worker::{build_chunk, catch_up, run, sync_workspace};

use crate::changes::placeholders;
use crate::db::entities::dashboard;
use crate::forms_cache::FormsCache;

/// The records a rollup has summed so far.
#[derive(Clone, Debug, PartialEq)]
pub enum Covered {
    /// Ready: every record.
    All,
    /// Building: the records up to this id.
    UpTo(String),
    /// Building, nothing summed yet.
    Nothing,
}

/// A stored rollup.
#[derive(Clone, Debug)]
pub struct Rollup {
    pub id: String,
    pub shape: Shape,
    pub covered: Covered,
}

/// The hash that finds rollups able to answer a report: its base (form, flattening, static
/// filter, offset).
pub fn base_hash(shape_base: &engine::report::rollup::Base) -> String {
    let text = serde_json::to_string(shape_base).unwrap_or_default();
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn statement(db: &impl ConnectionTrait, sql: String, values: Vec<SqlValue>) -> Statement {
    Statement::from_sql_and_values(db.get_database_backend(), sql, values)
}

/// The rollups of a form (of any state).
pub async fn of_form(db: &impl ConnectionTrait, workspace_id: &str, form_id: &str) -> Result<Vec<Rollup>, DbErr> {
    let p = placeholders(db.get_database_backend(), 2, 1);
    let sql = format!(
        "SELECT id, shape, state, built_upto FROM rollups WHERE workspace_id = {} AND form_id = {} ORDER BY id",
        p[0], p[1]
    );
    let rows = db.query_all_raw(statement(db, sql, vec![workspace_id.into(), form_id.into()])).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let shape: String = row.try_get_by_index(1)?;
        // A shape this binary cannot read (written by another version) is skipped: the
        // reports it would answer run directly, and the next sync replaces it.
        let Ok(shape) = serde_json::from_str::<Shape>(&shape) else { continue };
        let state: String = row.try_get_by_index(2)?;
        let upto: Option<String> = row.try_get_by_index(3)?;
        let covered = match upto {
            _ if state == "ready" => Covered::All,
            Some(upto) => Covered::UpTo(upto),
            None => Covered::Nothing,
        };
        out.push(Rollup { id: row.try_get_by_index(0)?, shape, covered })
    }
    Ok(out)
}

/// A ready rollup of the form that answers `plan`, with the plan over its cells; the one
/// with the fewest cells (by [`Shape::weight`]) when several do.
pub async fn find(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    form_id: &str,
    offset_minutes: i32,
    plan: &Plan,
) -> Result<Option<(String, CellPlan)>, DbErr> {
    let Some(needs) = needs(plan, offset_minutes) else { return Ok(None) };
    let hash = base_hash(&needs.base);
    let p = placeholders(db.get_database_backend(), 3, 1);
    let sql = format!(
        "SELECT id, shape FROM rollups WHERE workspace_id = {} AND form_id = {} AND base = {} AND state = 'ready'",
        p[0], p[1], p[2]
    );
    let rows = db.query_all_raw(statement(db, sql, vec![workspace_id.into(), form_id.into(), hash.into()])).await?;
    let mut best: Option<(usize, String, CellPlan)> = None;
    for row in rows {
        let shape: String = row.try_get_by_index(1)?;
        let Ok(shape) = serde_json::from_str::<Shape>(&shape) else { continue };
        let Some(cell_plan) = rewrite(plan, &needs, &shape) else { continue };
        if best.as_ref().is_none_or(|(weight, _, _)| shape.weight() < *weight) {
            best = Some((shape.weight(), row.try_get_by_index(0)?, cell_plan));
        }
    }
    Ok(best.map(|(_, id, cell_plan)| (id, cell_plan)))
}

/// The rollups the workspace's dashboards want, by form id: each widget report planned with
/// every field of its form, with the shared filters the widget maps as extra keys.
async fn wanted(
    db: &impl ConnectionTrait,
    forms: &FormsCache,
    workspace_id: &str,
    offset_minutes: i32,
) -> Result<BTreeMap<String, Vec<Shape>>, DbErr> {
    let dashboards = dashboard::Entity::find()
        .filter(dashboard::Column::WorkspaceId.eq(workspace_id))
        .order_by_asc(dashboard::Column::Key)
        .all(db)
        .await?;
    let mut wanted: BTreeMap<String, Vec<Shape>> = BTreeMap::new();
    let mut form_cache: HashMap<String, Option<FormFields>> = HashMap::new();
    let today = crate::clock::today_at(offset_minutes);
    for row in dashboards {
        let Ok(dashboard) = parse_dashboard(&row.definition) else { continue };
        for widget in &dashboard.widgets {
            for (_, spec) in widget.reports() {
                if !form_cache.contains_key(&spec.form) {
                    let found = form_fields(db, forms, workspace_id, &spec.form).await?;
                    form_cache.insert(spec.form.clone(), found);
                }
                let Some(Some((form_id, kinds, fields))) = form_cache.get(&spec.form) else { continue };
                let kinds = with_rows(kinds, fields, spec.rows.as_deref());
                let Ok(planned) = plan(spec, &kinds, today) else { continue };
                let Some(base_needs) = needs(&planned, offset_minutes) else { continue };
                // Each shared filter the widget maps, tried with a placeholder value: the key it
                // filters on joins the rollup when it leaves the static filter unchanged.
                let mut extra = Vec::new();
                for filter_key in widget.filters.keys() {
                    let Some(filter) = dashboard.filters.iter().find(|f| &f.key == filter_key) else { continue };
                    let value = match filter.kind {
                        engine::report::FilterKind::DateRange => serde_json::json!({"from": "2000-01-01"}),
                        engine::report::FilterKind::Values => serde_json::json!(["-"]),
                    };
                    let values = serde_json::Map::from_iter([(filter_key.clone(), value)]);
                    let Ok(filtered) = dashboard.widget_reports(widget, &values) else { continue };
                    let Some(filtered) = filtered.into_iter().find(|s| s.form == spec.form && s.rows == spec.rows)
                    else {
                        continue;
                    };
                    let Ok(filtered) = plan(&filtered, &kinds, today) else { continue };
                    let Some(filtered) = needs(&filtered, offset_minutes) else { continue };
                    if filtered.base == base_needs.base {
                        extra.extend(filtered.keys.into_iter().filter(|k| !base_needs.keys.contains(k)));
                    }
                }
                let Some(shape) = base_needs.shape(&extra) else { continue };
                let list = wanted.entry(form_id.clone()).or_default();
                // The rollup by day, and by month for the views that need no days (a month
                // trend, a period of whole months): a thirtieth of the cells to read.
                for shape in shape.by_month().into_iter().chain([shape]) {
                    if !list.contains(&shape) {
                        list.push(shape);
                    }
                }
            }
        }
    }
    Ok(wanted)
}

/// A form's id, its top-level kinds and its fields.
type FormFields = (String, Vec<(String, Kind)>, Vec<engine::form::Field>);

/// The form's id, its top-level kinds and its fields (latest version), if it is published.
async fn form_fields(
    db: &impl ConnectionTrait,
    forms: &FormsCache,
    workspace_id: &str,
    key: &str,
) -> Result<Option<FormFields>, DbErr> {
    let p = placeholders(db.get_database_backend(), 2, 1);
    let sql = format!("SELECT id, latest_version FROM forms WHERE workspace_id = {} AND key = {}", p[0], p[1]);
    let Some(row) = db.query_one_raw(statement(db, sql, vec![workspace_id.into(), key.into()])).await? else {
        return Ok(None);
    };
    let id: String = row.try_get_by_index(0)?;
    let Some(version) = row.try_get_by_index::<Option<i32>>(1)? else { return Ok(None) };
    let compiled = forms.get(db, &id, version).await.map_err(|e| DbErr::Custom(e.message))?;
    let fields = compiled.definition().fields.clone();
    let kinds = engine::report::form_kinds(&fields);
    Ok(Some((id, kinds, fields)))
}

/// `kinds` with the cells of the subtable `rows` as `rows.key`.
fn with_rows(kinds: &[(String, Kind)], fields: &[engine::form::Field], rows: Option<&str>) -> Vec<(String, Kind)> {
    let mut kinds = kinds.to_vec();
    if let Some(rows) = rows {
        kinds.extend(subtable_kinds(engine::form::data_fields(fields).into_iter().map(|(f, _)| f), rows));
    }
    kinds
}

/// Brings the workspace's rollups in line with its dashboards: creates the missing ones
/// (building) and drops the unwanted ones with their cells. Returns how many were created.
pub async fn sync(db: &impl ConnectionTrait, forms: &FormsCache, workspace_id: &str) -> Result<usize, DbErr> {
    crate::audit::lock_chain(db, workspace_id).await?;
    let backend = db.get_database_backend();
    let p = placeholders(backend, 1, 1);
    let offset_sql = format!("SELECT utc_offset_minutes FROM workspaces WHERE id = {}", p[0]);
    let Some(row) = db.query_one_raw(statement(db, offset_sql, vec![workspace_id.into()])).await? else {
        return Ok(0);
    };
    let offset: i32 = row.try_get_by_index(0)?;
    let mut wanted = wanted(db, forms, workspace_id, offset).await?;
    let existing = db
        .query_all_raw(statement(
            db,
            format!("SELECT id, form_id, shape FROM rollups WHERE workspace_id = {}", p[0]),
            vec![workspace_id.into()],
        ))
        .await?;
    for row in existing {
        let id: String = row.try_get_by_index(0)?;
        let form_id: String = row.try_get_by_index(1)?;
        let shape: String = row.try_get_by_index(2)?;
        let keep = serde_json::from_str::<Shape>(&shape).ok().and_then(|shape| {
            let list = wanted.get_mut(&form_id)?;
            let at = list.iter().position(|s| *s == shape)?;
            list.remove(at);
            Some(())
        });
        if keep.is_none() {
            let p = placeholders(backend, 1, 1);
            db.execute_raw(statement(
                db,
                format!("DELETE FROM rollup_cells WHERE rollup_id = {}", p[0]),
                vec![id.clone().into()],
            ))
            .await?;
            db.execute_raw(statement(db, format!("DELETE FROM rollups WHERE id = {}", p[0]), vec![id.into()])).await?;
        }
    }
    let mut created = 0;
    for (form_id, shapes) in wanted {
        for shape in shapes {
            let p = placeholders(backend, 6, 1);
            let sql = format!(
                "INSERT INTO rollups (id, workspace_id, form_id, base, shape, state, compacted_upto, created_at) \
                 VALUES ({}, {}, {}, {}, {}, 'building', 0, {})",
                p[0], p[1], p[2], p[3], p[4], p[5]
            );
            let values = vec![
                crate::identity::new_id().into(),
                workspace_id.into(),
                form_id.clone().into(),
                base_hash(&shape.base).into(),
                serde_json::to_string(&shape).unwrap_or_default().into(),
                crate::identity::now_ms().into(),
            ];
            db.execute_raw(statement(db, sql, values)).await?;
            created += 1;
        }
    }
    Ok(created)
}

/// The rollups a transaction keeps up to date while it changes records of one form. Load
/// them inside that transaction, then [`Maintained::apply`] -1 before an edit or a deletion
/// and +1 after an insert, an edit or a restore.
pub struct Maintained {
    workspace_id: String,
    form_id: String,
    rollups: Vec<Rollup>,
}

impl Maintained {
    /// Takes the workspace's chain lock (see the module's notes) and reads the form's
    /// rollups.
    pub async fn load(db: &impl ConnectionTrait, workspace_id: &str, form_id: &str) -> Result<Maintained, DbErr> {
        crate::audit::lock_chain(db, workspace_id).await?;
        Maintained::load_locked(db, workspace_id, form_id).await
    }

    /// [`Maintained::load`] for a caller that holds the chain lock already (it opened the
    /// workspace's chain in this transaction): one round trip fewer.
    pub async fn load_locked(
        db: &impl ConnectionTrait,
        workspace_id: &str,
        form_id: &str,
    ) -> Result<Maintained, DbErr> {
        let rollups = of_form(db, workspace_id, form_id).await?;
        Ok(Maintained { workspace_id: workspace_id.to_owned(), form_id: form_id.to_owned(), rollups })
    }

    /// Adds (`sign` +1) or removes (-1) the contribution of the records `ids` to every rollup
    /// that covers them.
    pub async fn apply(&self, db: &impl ConnectionTrait, ids: &[String], sign: i32) -> Result<(), DbErr> {
        if ids.is_empty() {
            return Ok(());
        }
        for rollup in &self.rollups {
            let upto = match &rollup.covered {
                Covered::All => None,
                Covered::UpTo(upto) => Some(upto.as_str()),
                Covered::Nothing => continue,
            };
            let records = cells::Records::Ids { ids, upto };
            cells::contribute(db, rollup, &self.workspace_id, &self.form_id, records, sign).await?;
        }
        Ok(())
    }
}

/// The ids of newly inserted records by workspace and form, taken before the insert (which
/// consumes the rows) and applied to the rollups after it.
pub struct Added(BTreeMap<(String, String), Vec<String>>);

impl Added {
    /// From each record's workspace, form and id.
    pub fn of<'a>(records: impl Iterator<Item = (&'a String, &'a String, &'a String)>) -> Added {
        let mut added: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for (workspace, form, id) in records {
            added.entry((workspace.clone(), form.clone())).or_default().push(id.clone());
        }
        Added(added)
    }

    /// Adds the inserted records to their forms' rollups. The caller holds the chain locks
    /// of their workspaces (it opened their audit chains in this transaction).
    pub async fn apply(self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        for ((workspace, form), ids) in self.0 {
            let maintained = Maintained::load_locked(db, &workspace, &form).await?;
            // Bound the bound parameters of one statement on either backend.
            for chunk in ids.chunks(1000) {
                maintained.apply(db, chunk, 1).await?;
            }
        }
        Ok(())
    }
}

/// Folds the cells of rollup `id` into one per key tuple (under the workspace's chain lock,
/// so no writer adds cells meanwhile). Returns how many cells remain.
pub async fn compact(db: &impl ConnectionTrait, workspace_id: &str, id: &str) -> Result<u64, DbErr> {
    crate::audit::lock_chain(db, workspace_id).await?;
    cells::compact(db, id).await
}
