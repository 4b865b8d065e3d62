//! The report spec as the designer (or an API client) writes it (DESIGN §7).
//!
//! ```json
//! {"form": "iqc",
//!  "filter": {"and": [{"field": "received_on", "op": "relative", "value": "last_30_days"},
//!                     {"not": {"field": "supplier", "op": "in", "value": ["sup-0003"]}}]},
//!  "dimensions": [{"field": "supplier", "top": 10}],
//!  "measures": [{"fn": "count", "as": "lots"},
//!               {"fn": "rate", "when": {"field": "result", "op": "eq", "value": "accept"}, "as": "pass_rate"}],
//!  "sort": [{"by": "pass_rate", "desc": true}], "limit": 20, "chart": {"kind": "ranking"}}
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSpec {
    /// The dataset: a form's records. Fields are named by key; `relation.key` reads a field
    /// of the record a relation field points to.
    pub form: String,
    /// Flattens the dataset over this subtable: one row per subtable row, whose cells are
    /// named `subtable.key` (the record's own fields repeat on each of its rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Condition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<Dimension>,
    pub measures: Vec<Measure>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sort: Vec<SortBy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<Chart>,
}

/// A filter: and/or/not over field conditions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Condition {
    And { and: Vec<Condition> },
    Or { or: Vec<Condition> },
    Not { not: Box<Condition> },
    Field(FieldCondition),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldCondition {
    /// A field key, or `created_at` / `created_by`.
    pub field: String,
    pub op: Op,
    #[serde(default)]
    pub value: Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
    /// `value` is a list.
    In,
    /// Case-insensitive substring of a text.
    Contains,
    /// `value` is true (has a value) or false.
    Exists,
    /// `value` is `[from, to]`, both inclusive, either may be null.
    Between,
    /// `value` names a period relative to today in the workspace's time zone:
    /// `today`, `yesterday`, `this_week`, `last_week`, `this_month`, `last_month`,
    /// `this_quarter`, `last_quarter`, `this_year`, `last_year`, `last_N_days`, `last_N_months`.
    Relative,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dimension {
    pub field: String,
    /// For dates, datetimes and `created_at`: the time bucket (default `day`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<Bucket>,
    /// Keep the top N values (by the first sort measure, else the first measure, descending)
    /// and fold the rest into "others".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<u32>,
    /// The column's name in the result (default: the field key).
    #[serde(default, rename = "as", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    #[serde(rename = "fn")]
    pub function: Function,
    /// The field of `count_distinct`, `sum`, `avg`, `min`, `max`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The condition of `rate` (share of records that meet it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// `ppm`: defects / units x 1,000,000 (sums of the two fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defects: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<String>,
    /// `cumulative_share`: the measure (by name) whose running share this is, in sort order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of: Option<String>,
    #[serde(rename = "as")]
    pub name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
    Rate,
    Ppm,
    CumulativeShare,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SortBy {
    /// A dimension's or a measure's name.
    pub by: String,
    #[serde(default)]
    pub desc: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chart {
    pub kind: ChartKind,
    /// Gauge bounds and target, KPI target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<f64>,
    /// Control charts `xbar_r`, `xbar_s`, `i_mr`: the measured field (a number or a
    /// measurement, whose sampled values all count). The one dimension is the subgroup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Control charts `p`, `np`, `c`, `u`: the measure (by name) counting defectives or
    /// nonconformities per subgroup, and the one giving the sample size (not for `c`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// Run rules flagged on control charts (default Nelson).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<crate::qms::rules::RuleSet>,
    /// Specification limits for capability on variables control charts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lsl: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usl: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    Kpi,
    Bar,
    StackedBar,
    Line,
    Area,
    StackedArea,
    Pie,
    Pareto,
    Funnel,
    Gauge,
    Ranking,
    Pivot,
    Table,
    /// Control charts (`engine::qms::spc`), the latest `limit` subgroups (default 100).
    XbarR,
    XbarS,
    IMr,
    P,
    Np,
    C,
    U,
}

impl ChartKind {
    pub fn is_control(self) -> bool {
        matches!(
            self,
            ChartKind::XbarR
                | ChartKind::XbarS
                | ChartKind::IMr
                | ChartKind::P
                | ChartKind::Np
                | ChartKind::C
                | ChartKind::U
        )
    }
}
