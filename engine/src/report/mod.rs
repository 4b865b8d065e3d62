//! Reports (DESIGN §7): the spec, its check and plan against a form, and chart-ready shaping
//! of the aggregated rows the server's SQL returns. Pure: no clock (today is an argument),
//! no database.

mod control;
mod dashboard;
mod dates;
mod plan;
pub mod rollup;
mod shape;
mod spec;

pub use dashboard::{
    Dashboard, FilterKind, SharedFilter, Stage, Widget, bucket_range, drill_conditions, parse_dashboard,
    with_conditions,
};
pub use dates::{add_days, civil_from_days, days_from_civil, parse_date};
pub use plan::{
    Aggregate, Column, Cond, Kind, OTHERS, Plan, PlanDimension, PlanMeasure, Source, field_kinds, form_kinds,
    format_date, plan, relative, subtable_kinds,
};
pub use shape::{ResultRow, finish, shape};
pub use spec::{
    Bucket, Chart, ChartKind, Condition, Dimension, FieldCondition, Function, Measure, Op, ReportSpec, SortBy,
};

/// Parses a spec, with serde's message as the detail of one issue.
pub fn parse_spec(value: &serde_json::Value) -> Result<ReportSpec, Vec<crate::form::Issue>> {
    ReportSpec::deserialize(value).map_err(|error| {
        vec![crate::form::Issue::new("", crate::form::Code::InvalidDefinition).param("detail", error.to_string())]
    })
}

use serde::Deserialize;
