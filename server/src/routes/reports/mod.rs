//! `/api/v1/workspaces/{ws}/reports/...`: run a report spec (DESIGN §7), drill down from a
//! chart element to its records, export either as CSV or XLSX.
//!
//! A spec is checked against the form as the caller sees it: fields the caller may not read
//! are unknown, so they can neither be shown nor filter or weigh a number; rows outside the
//! caller's row scope never reach a query.

pub mod drill;
pub mod export;

use axum::Json;
use axum::extract::State;
use engine::form::{Field, FieldKind, FieldMask, Issue, data_fields};
use engine::report::{Kind, Plan, ReportSpec, field_kinds, parse_spec, plan, shape, subtable_kinds};
use serde_json::{Value, json};

use crate::access::{ActionKind, InWorkspace, Read};
use crate::app::AppState;
use crate::authz::Action;
use crate::db::entities::form;
use crate::error::ApiError;
use crate::json::AppJson;
use crate::lang::Language;
use crate::reports::OwnedScope;
use crate::routes::records::RowScope;

pub fn invalid(mut issues: Vec<engine::form::Issue>, lang: engine::Lang) -> ApiError {
    engine::form::localize(&mut issues, lang);
    ApiError::new("validation_failed", "the report has problems").with_details(json!({"errors": issues}))
}

/// A report checked for the caller: its plan, the form's readable fields and the records
/// the caller may see (`None`: none at all).
pub struct Prepared {
    pub spec: ReportSpec,
    pub plan: Plan,
    pub kinds: Vec<(String, Kind)>,
    /// Readable top-level fields with their labels in the caller's language.
    pub columns: Vec<(String, String)>,
    pub mask: FieldMask,
    pub form_key: String,
    pub scope: Option<OwnedScope>,
}

/// Parses and prepares a spec given as JSON.
pub async fn prepare_value<A: ActionKind>(
    state: &AppState,
    access: &InWorkspace<A>,
    lang: engine::Lang,
    spec: &Value,
) -> Result<Prepared, ApiError> {
    let spec = parse_spec(spec).map_err(|issues| invalid(issues, lang))?;
    prepare(state, access, lang, spec).await
}

/// A spec planned for the caller, with the form it reads.
pub struct Planned {
    pub plan: Plan,
    pub kinds: Vec<(String, Kind)>,
    pub columns: Vec<(String, String)>,
    pub mask: FieldMask,
    pub form: form::Model,
}

/// The caller's plan of `spec` (problems as issues) and what it needs to run it.
pub async fn plan_for<A: ActionKind>(
    state: &AppState,
    access: &InWorkspace<A>,
    lang: engine::Lang,
    spec: &ReportSpec,
) -> Result<Result<Planned, Vec<Issue>>, ApiError> {
    let form = crate::routes::forms::load(state, access, &state.db, &spec.form, Action::Read).await?;
    let Some(version) = form.latest_version else {
        return Err(ApiError::new("bad_request", "the form has no published version"));
    };
    let compiled = state.forms.get(&state.db, &form.id, version).await?;
    let mask = access.field_mask(&compiled);
    let readable: Vec<&Field> = data_fields(&compiled.definition().fields)
        .into_iter()
        .map(|(f, _)| f)
        .filter(|f| mask.can_read(&f.key))
        .collect();
    let columns =
        readable.iter().map(|f| (f.key.clone(), f.common.label.get(lang).unwrap_or(&f.key).to_owned())).collect();
    let mut kinds = field_kinds(readable.iter().copied());
    // `rows.key`: the cells of the flattened subtable.
    if let Some(rows) = &spec.rows {
        kinds.extend(subtable_kinds(readable.iter().copied(), rows));
    }
    // `relation.key`: fields of the related records, for relations the spec names, when the
    // caller may read every record of the related form (the join cannot apply a narrower
    // row scope) and only the fields the caller may read there.
    let text = serde_json::to_string(spec).unwrap_or_default();
    for field in &readable {
        let FieldKind::Relation(relation) = &field.kind else { continue };
        if !text.contains(&format!("\"{}.", field.key)) {
            continue;
        }
        let Ok(target) = crate::routes::forms::load(state, access, &state.db, &relation.form, Action::Read).await
        else {
            continue;
        };
        let Some(version) = target.latest_version else { continue };
        if crate::routes::records::row_scope(state, access, &target.id) != RowScope::All {
            continue;
        }
        let compiled = state.forms.get(&state.db, &target.id, version).await?;
        let mask = access.field_mask(&compiled);
        let related =
            data_fields(&compiled.definition().fields).into_iter().map(|(f, _)| f).filter(|f| mask.can_read(&f.key));
        kinds.extend(field_kinds(related).into_iter().map(|(key, kind)| (format!("{}.{key}", field.key), kind)));
    }
    let today = crate::clock::today_at(access.workspace.utc_offset_minutes);
    Ok(plan(spec, &kinds, today).map(|plan| Planned { plan, kinds, columns, mask, form }))
}

/// The caller's plan of `spec` and the records it may see.
pub async fn prepare<A: ActionKind>(
    state: &AppState,
    access: &InWorkspace<A>,
    lang: engine::Lang,
    spec: ReportSpec,
) -> Result<Prepared, ApiError> {
    let Planned { plan, kinds, columns, mask, form } =
        plan_for(state, access, lang, &spec).await?.map_err(|issues| invalid(issues, lang))?;
    let scope = match crate::routes::records::row_scope(state, access, &form.id) {
        // Row policies that only Cedar can decide per record cannot be pushed into SQL;
        // answering from a partial set would be wrong, so the report says so.
        RowScope::PerRecord => {
            return Err(ApiError::new(
                "report_not_available",
                "this workspace's own row policies decide per record; reports need a row scope of all or own records",
            ));
        }
        RowScope::Nothing => None,
        scope => Some(OwnedScope {
            workspace_id: access.workspace.id.clone(),
            form_id: form.id.clone(),
            own: (scope == RowScope::Own).then(|| access.caller.user.id.clone()),
            offset_minutes: access.workspace.utc_offset_minutes,
        }),
    };
    Ok(Prepared { spec, plan, kinds, columns, mask, form_key: form.key, scope })
}

/// The report's result: columns, rows and the chart.
pub async fn answer(state: &AppState, prepared: &Prepared) -> Result<Value, ApiError> {
    let Some(scope) = &prepared.scope else { return Ok(shape(&prepared.plan, &[])) };
    let rows = crate::reports::run(&state.db, &prepared.plan, &scope.borrow()).await?;
    Ok(shape(&prepared.plan, &rows))
}

pub async fn run(
    State(state): State<AppState>,
    access: InWorkspace<Read>,
    Language(lang): Language,
    AppJson(spec): AppJson<Value>,
) -> Result<Json<Value>, ApiError> {
    let prepared = prepare_value(&state, &access, lang, &spec).await?;
    Ok(Json(answer(&state, &prepared).await?))
}
