//! Checking a report spec against the form and turning it into a typed plan: every field
//! resolved to its kind, relative dates fixed to dates, names resolved to column positions.
//! The server renders the plan to SQL; nothing here reads a clock or a database.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::dates::{add_days, add_months, parse_date, weekday};
use super::spec::{Bucket, ChartKind, Condition, FieldCondition, Function, Op, ReportSpec};
use crate::form::{Code, Date, Field, FieldKind, Issue, data_fields};

/// What kind of values a source holds, which decides how SQL reads and compares them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Number,
    Text,
    Bool,
    /// `YYYY-MM-DD` text.
    Date,
    /// RFC 3339 text with an offset.
    Datetime,
    /// A list of option values (multiselect).
    Multi,
    /// A computed value, typed per record.
    Any,
    /// A measurement's sampled values (an array of numbers); only control charts read them.
    Samples,
}

/// Where a value comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Field {
        key: String,
        kind: Kind,
    },
    /// The record's creation time (milliseconds since the epoch).
    CreatedAt,
    CreatedBy,
}

impl Source {
    pub fn kind(&self) -> Kind {
        match self {
            Source::Field { kind, .. } => *kind,
            Source::CreatedAt => Kind::Datetime,
            Source::CreatedBy => Kind::Text,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    /// `source op value` for one of `values` (more than one only for `in`). `Eq` on a list
    /// source means "contains the option".
    Compare {
        source: Source,
        op: Op,
        values: Vec<Value>,
    },
    Exists {
        source: Source,
        present: bool,
    },
    /// A local-date range, bounds inclusive (`YYYY-MM-DD`).
    Dates {
        source: Source,
        from: Option<String>,
        to: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct PlanDimension {
    pub name: String,
    pub source: Source,
    pub bucket: Option<Bucket>,
    pub top: Option<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Aggregate {
    Count,
    CountDistinct(Source),
    Sum(Source),
    Avg(Source),
    Min(Source),
    Max(Source),
    Rate(Cond),
    Ppm {
        defects: Source,
        units: Source,
    },
    /// The running share of measure `of` in result order (computed after the query).
    CumulativeShare {
        of: usize,
    },
    /// Control charts' subgroup summaries: how many numbers, and the sum of their squares.
    CountOf(Source),
    SumSquares(Source),
}

#[derive(Clone, Debug, PartialEq)]
pub struct PlanMeasure {
    pub name: String,
    pub aggregate: Aggregate,
}

/// A result column: dimension or measure, by position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    Dimension(usize),
    Measure(usize),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub form: String,
    /// The subtable the dataset is flattened over.
    pub rows: Option<String>,
    pub filter: Option<Cond>,
    pub dimensions: Vec<PlanDimension>,
    pub measures: Vec<PlanMeasure>,
    pub sort: Vec<(Column, bool)>,
    pub limit: Option<u32>,
    pub chart: Option<super::spec::Chart>,
}

impl Plan {
    /// The dimension over a list field, whose records count once per chosen option.
    pub fn exploded(&self) -> Option<usize> {
        self.dimensions.iter().position(|d| d.source.kind() == Kind::Multi)
    }

    /// The measurement field whose sampled values the measures read (control charts).
    pub fn sampled(&self) -> Option<&str> {
        self.measures.iter().find_map(|m| match &m.aggregate {
            Aggregate::CountOf(Source::Field { key, kind: Kind::Samples }) => Some(key.as_str()),
            _ => None,
        })
    }

    /// The dimension with a top-N and the measure that ranks it (the first sorted measure,
    /// else the first SQL measure).
    pub fn top(&self) -> Option<(usize, u32, usize)> {
        let (index, dimension) = self.dimensions.iter().enumerate().find(|(_, d)| d.top.is_some())?;
        let by = self
            .sort
            .iter()
            .find_map(|(c, _)| match c {
                Column::Measure(m) if !matches!(self.measures[*m].aggregate, Aggregate::CumulativeShare { .. }) => {
                    Some(*m)
                }
                _ => None,
            })
            .or_else(|| self.measures.iter().position(|m| !matches!(m.aggregate, Aggregate::CumulativeShare { .. })))?;
        Some((index, dimension.top?, by))
    }

    pub fn column_name(&self, column: Column) -> &str {
        match column {
            Column::Dimension(i) => &self.dimensions[i].name,
            Column::Measure(i) => &self.measures[i].name,
        }
    }
}

/// The label of the row that folds the values outside a top-N.
pub const OTHERS: &str = "__others__";

/// The readable top-level data fields of a form and their kinds; containers (subtables,
/// attachments, signatures) are left out.
pub fn field_kinds<'a>(fields: impl IntoIterator<Item = &'a Field>) -> Vec<(String, Kind)> {
    fields
        .into_iter()
        .filter_map(|field| {
            let kind = match &field.kind {
                FieldKind::Number(_) => Kind::Number,
                FieldKind::Boolean(_) => Kind::Bool,
                FieldKind::Date(_) => Kind::Date,
                FieldKind::Datetime(_) => Kind::Datetime,
                FieldKind::Multiselect(_) => Kind::Multi,
                FieldKind::Computed(_) => Kind::Any,
                FieldKind::Measurement(_) => Kind::Samples,
                FieldKind::Text(_)
                | FieldKind::Textarea(_)
                | FieldKind::Select(_)
                | FieldKind::User(_)
                | FieldKind::Relation(_)
                | FieldKind::Lot(_)
                | FieldKind::Barcode(_)
                | FieldKind::AutoNumber(_) => Kind::Text,
                _ => return None,
            };
            Some((field.key.clone(), kind))
        })
        .collect()
}

/// The cells of the subtable `rows` among `fields`, as `rows.key` with their kinds (none when
/// `rows` is not a subtable there).
pub fn subtable_kinds<'a>(fields: impl IntoIterator<Item = &'a Field>, rows: &str) -> Vec<(String, Kind)> {
    let Some(FieldKind::Subtable(table)) = fields.into_iter().find(|f| f.key == rows).map(|f| &f.kind) else {
        return Vec::new();
    };
    let cells = data_fields(&table.fields).into_iter().map(|(f, _)| f);
    field_kinds(cells).into_iter().map(|(key, kind)| (format!("{rows}.{key}"), kind)).collect()
}

/// All top-level data fields of a definition with their kinds.
pub fn form_kinds(fields: &[Field]) -> Vec<(String, Kind)> {
    field_kinds(data_fields(fields).into_iter().map(|(f, _)| f))
}

pub(super) struct Checker<'a> {
    pub(super) fields: &'a [(String, Kind)],
    today: Date,
    pub(super) issues: Vec<Issue>,
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Checks `spec` against the caller's readable fields and plans it. `today` is the date in
/// the workspace's time zone (relative periods are fixed against it).
pub fn plan(spec: &ReportSpec, fields: &[(String, Kind)], today: Date) -> Result<Plan, Vec<Issue>> {
    let mut c = Checker { fields, today, issues: Vec::new() };
    let filter = spec.filter.as_ref().and_then(|f| c.condition("/filter", f));
    let mut names = BTreeSet::new();
    // A dimension's default name is its field path (`supplier_ref.grade`), which the field
    // check covers; written names must be plain keys.
    let mut name = |c: &mut Checker, path: String, name: &str, written: bool| {
        if written && !is_name(name) {
            c.issues.push(Issue::new(path, Code::MalformedKey).param("key", name));
        } else if !names.insert(name.to_owned()) {
            c.issues.push(Issue::new(path, Code::DuplicateKey).param("key", name).param("first", "another column"));
        }
    };
    let mut dimensions = Vec::new();
    for (i, d) in spec.dimensions.iter().enumerate() {
        let path = format!("/dimensions/{i}");
        let dimension_name = d.name.clone().unwrap_or_else(|| d.field.clone());
        name(&mut c, format!("{path}/as"), &dimension_name, d.name.is_some());
        let Some(source) = c.source(&format!("{path}/field"), &d.field) else { continue };
        let dated = matches!(source.kind(), Kind::Date | Kind::Datetime);
        let bucket = match (dated, d.bucket) {
            (true, bucket) => Some(bucket.unwrap_or(Bucket::Day)),
            (false, Some(_)) => {
                c.issues.push(
                    Issue::new(format!("{path}/bucket"), Code::NotApplicable)
                        .param("property", "bucket")
                        .param("type", format!("{:?}", source.kind()).to_lowercase()),
                );
                None
            }
            (false, None) => None,
        };
        if d.top == Some(0) || d.top.is_some_and(|n| n > 1000) {
            c.issues.push(Issue::new(format!("{path}/top"), Code::InvalidValue));
        }
        dimensions.push(PlanDimension { name: dimension_name, source, bucket, top: d.top });
    }
    if dimensions.iter().filter(|d| d.source.kind() == Kind::Multi).count() > 1 {
        c.issues.push(Issue::new("/dimensions", Code::InvalidDefinition).param("detail", "at most one list dimension"));
    }
    if dimensions.iter().filter(|d| d.top.is_some()).count() > 1 {
        c.issues
            .push(Issue::new("/dimensions", Code::InvalidDefinition).param("detail", "at most one top-N dimension"));
    }
    if spec.measures.is_empty() {
        c.issues.push(Issue::new("/measures", Code::Required));
    }
    let mut measures = Vec::new();
    for (i, m) in spec.measures.iter().enumerate() {
        let path = format!("/measures/{i}");
        name(&mut c, format!("{path}/as"), &m.name, true);
        let field = |c: &mut Checker, key: &Option<String>, what: &str, numeric: bool| -> Option<Source> {
            let Some(key) = key else {
                c.issues.push(Issue::new(format!("{path}/{what}"), Code::Required));
                return None;
            };
            let source = c.source(&format!("{path}/{what}"), key)?;
            if numeric && !matches!(source.kind(), Kind::Number | Kind::Any) {
                c.issues.push(Issue::new(format!("{path}/{what}"), Code::WrongType).param("expected", "number"));
                return None;
            }
            Some(source)
        };
        let aggregate = match m.function {
            Function::Count => Some(Aggregate::Count),
            Function::CountDistinct => field(&mut c, &m.field, "field", false).map(Aggregate::CountDistinct),
            Function::Sum => field(&mut c, &m.field, "field", true).map(Aggregate::Sum),
            Function::Avg => field(&mut c, &m.field, "field", true).map(Aggregate::Avg),
            Function::Min => field(&mut c, &m.field, "field", true).map(Aggregate::Min),
            Function::Max => field(&mut c, &m.field, "field", true).map(Aggregate::Max),
            Function::Rate => match &m.when {
                Some(when) => c.condition(&format!("{path}/when"), when).map(Aggregate::Rate),
                None => {
                    c.issues.push(Issue::new(format!("{path}/when"), Code::Required));
                    None
                }
            },
            Function::Ppm => {
                let defects = field(&mut c, &m.defects, "defects", true);
                let units = field(&mut c, &m.units, "units", true);
                defects.zip(units).map(|(defects, units)| Aggregate::Ppm { defects, units })
            }
            Function::CumulativeShare => {
                let of = m.of.as_ref().and_then(|of| spec.measures.iter().position(|other| &other.name == of));
                match of {
                    Some(of) if matches!(spec.measures[of].function, Function::Count | Function::Sum) => {
                        Some(Aggregate::CumulativeShare { of })
                    }
                    _ => {
                        c.issues.push(
                            Issue::new(format!("{path}/of"), Code::UnknownReference)
                                .param("name", m.of.clone().unwrap_or_default()),
                        );
                        None
                    }
                }
            }
        };
        if let Some(aggregate) = aggregate {
            measures.push(PlanMeasure { name: m.name.clone(), aggregate });
        }
    }
    let mut sort = Vec::new();
    for (i, s) in spec.sort.iter().enumerate() {
        let column = dimensions
            .iter()
            .position(|d| d.name == s.by)
            .map(Column::Dimension)
            .or_else(|| measures.iter().position(|m| m.name == s.by).map(Column::Measure));
        match column {
            Some(column) => sort.push((column, s.desc)),
            None => {
                c.issues.push(Issue::new(format!("/sort/{i}/by"), Code::UnknownReference).param("name", s.by.as_str()))
            }
        }
    }
    if spec.limit.is_some_and(|l| l == 0 || l > 10_000) {
        c.issues.push(Issue::new("/limit", Code::InvalidValue));
    }
    if let Some(chart) = &spec.chart {
        let wanted = match chart.kind {
            ChartKind::Kpi | ChartKind::Gauge => Some((0, "no dimension")),
            ChartKind::Pie | ChartKind::Pareto | ChartKind::Funnel => Some((1, "one dimension")),
            ChartKind::StackedBar | ChartKind::StackedArea | ChartKind::Pivot => Some((2, "two dimensions")),
            _ => None,
        };
        if let Some((count, text)) = wanted
            && spec.dimensions.len() != count
        {
            c.issues.push(
                Issue::new("/chart/kind", Code::InvalidDefinition).param("detail", format!("this chart needs {text}")),
            );
        }
    }
    let mut limit = spec.limit;
    if let Some(chart) = spec.chart.as_ref().filter(|chart| chart.kind.is_control()) {
        super::control::plan(&mut c, chart, &dimensions, &mut measures);
        // The latest subgroups: newest first for the limit, the chart puts them in order.
        sort = vec![(Column::Dimension(0), true)];
        limit = Some(spec.limit.unwrap_or(super::control::DEFAULT_SUBGROUPS));
    }
    if let Some(rows) = &spec.rows
        && !fields.iter().any(|(k, _)| k.strip_prefix(rows.as_str()).is_some_and(|rest| rest.starts_with('.')))
    {
        c.issues.push(Issue::new("/rows", Code::UnknownField).param("field", rows.as_str()));
    }
    if !c.issues.is_empty() {
        return Err(c.issues);
    }
    Ok(Plan {
        form: spec.form.clone(),
        rows: spec.rows.clone(),
        filter,
        dimensions,
        measures,
        sort,
        limit,
        chart: spec.chart.clone(),
    })
}

impl Checker<'_> {
    pub(super) fn source(&mut self, path: &str, key: &str) -> Option<Source> {
        match key {
            "created_at" => return Some(Source::CreatedAt),
            "created_by" => return Some(Source::CreatedBy),
            _ => {}
        }
        match self.fields.iter().find(|(k, _)| k == key) {
            Some((_, Kind::Samples)) => {
                self.issues.push(
                    Issue::new(path, Code::NotApplicable)
                        .param("property", "measurement")
                        .param("type", "report field"),
                );
                None
            }
            Some((key, kind)) => Some(Source::Field { key: key.clone(), kind: *kind }),
            None => {
                self.issues.push(Issue::new(path, Code::UnknownField).param("field", key));
                None
            }
        }
    }

    fn condition(&mut self, path: &str, condition: &Condition) -> Option<Cond> {
        match condition {
            Condition::And { and } => self.all(path, "and", and).map(Cond::And),
            Condition::Or { or } => self.all(path, "or", or).map(Cond::Or),
            Condition::Not { not } => self.condition(&format!("{path}/not"), not).map(|c| Cond::Not(Box::new(c))),
            Condition::Field(field) => self.field_condition(path, field),
        }
    }

    fn all(&mut self, path: &str, word: &str, list: &[Condition]) -> Option<Vec<Cond>> {
        let planned: Vec<Option<Cond>> =
            list.iter().enumerate().map(|(i, c)| self.condition(&format!("{path}/{word}/{i}"), c)).collect();
        planned.into_iter().collect()
    }

    fn wrong(&mut self, path: &str, expected: &str) -> Option<Cond> {
        self.issues.push(Issue::new(format!("{path}/value"), Code::WrongType).param("expected", expected));
        None
    }

    fn field_condition(&mut self, path: &str, condition: &FieldCondition) -> Option<Cond> {
        let source = self.source(&format!("{path}/field"), &condition.field)?;
        let value = &condition.value;
        if condition.op == Op::Exists {
            let Some(present) = value.as_bool() else { return self.wrong(path, "boolean") };
            return Some(Cond::Exists { source, present });
        }
        let kind = source.kind();
        if matches!(kind, Kind::Date | Kind::Datetime) {
            return self.date_condition(path, source, condition.op, value);
        }
        if matches!(condition.op, Op::Relative) {
            return self.wrong(path, "date");
        }
        let values: Vec<Value> = match condition.op {
            Op::In => match value.as_array() {
                Some(list) if !list.is_empty() && list.len() <= 1000 => list.clone(),
                _ => return self.wrong(path, "multiselect"),
            },
            Op::Between => {
                let bounds = value.as_array().filter(|b| b.len() == 2);
                let Some(bounds) = bounds else { return self.wrong(path, "number") };
                let mut parts = Vec::new();
                for (op, bound) in [(Op::Gte, &bounds[0]), (Op::Lte, &bounds[1])] {
                    if !bound.is_null() {
                        parts.push(self.field_condition(
                            path,
                            &FieldCondition { field: condition.field.clone(), op, value: bound.clone() },
                        )?);
                    }
                }
                return Some(Cond::And(parts));
            }
            _ => vec![value.clone()],
        };
        let fits = |v: &Value| match kind {
            Kind::Number => v.is_number(),
            Kind::Bool => v.is_boolean(),
            Kind::Text | Kind::Multi => v.is_string(),
            Kind::Any => v.is_string() || v.is_number() || v.is_boolean(),
            Kind::Date | Kind::Datetime | Kind::Samples => false,
        };
        if !values.iter().all(fits) {
            let expected = match kind {
                Kind::Number => "number",
                Kind::Bool => "boolean",
                _ => "text",
            };
            return self.wrong(path, expected);
        }
        let allowed = match kind {
            Kind::Bool => matches!(condition.op, Op::Eq | Op::Ne | Op::In),
            Kind::Multi => matches!(condition.op, Op::Eq | Op::Ne | Op::In),
            Kind::Number => !matches!(condition.op, Op::Contains),
            _ => true,
        };
        if !allowed {
            self.issues.push(
                Issue::new(format!("{path}/op"), Code::NotApplicable)
                    .param("property", format!("{:?}", condition.op).to_lowercase())
                    .param("type", format!("{kind:?}").to_lowercase()),
            );
            return None;
        }
        Some(Cond::Compare { source, op: condition.op, values })
    }

    fn date_condition(&mut self, path: &str, source: Source, op: Op, value: &Value) -> Option<Cond> {
        let date = |v: &Value| v.as_str().and_then(parse_date);
        let range = |from: Option<Date>, to: Option<Date>| Cond::Dates {
            source: source.clone(),
            from: from.map(format_date),
            to: to.map(format_date),
        };
        let one = || date(value);
        Some(match op {
            Op::Relative => {
                let Some((from, to)) = value.as_str().and_then(|name| relative(name, self.today)) else {
                    self.issues.push(Issue::new(format!("{path}/value"), Code::InvalidValue));
                    return None;
                };
                range(Some(from), Some(to))
            }
            Op::Between => {
                let bounds = value.as_array().filter(|b| b.len() == 2);
                let Some(bounds) = bounds else { return self.wrong(path, "date") };
                let parse = |v: &Value| if v.is_null() { Ok(None) } else { date(v).map(Some).ok_or(()) };
                match (parse(&bounds[0]), parse(&bounds[1])) {
                    (Ok(from), Ok(to)) => range(from, to),
                    _ => return self.wrong(path, "date"),
                }
            }
            Op::Eq | Op::Ne | Op::Lt | Op::Lte | Op::Gt | Op::Gte => {
                let Some(day) = one() else { return self.wrong(path, "date") };
                match op {
                    Op::Eq => range(Some(day), Some(day)),
                    Op::Ne => Cond::Not(Box::new(range(Some(day), Some(day)))),
                    Op::Lt => range(None, Some(add_days(day, -1))),
                    Op::Lte => range(None, Some(day)),
                    Op::Gt => range(Some(add_days(day, 1)), None),
                    _ => range(Some(day), None),
                }
            }
            Op::In | Op::Contains | Op::Exists => {
                self.issues.push(
                    Issue::new(format!("{path}/op"), Code::NotApplicable)
                        .param("property", format!("{op:?}").to_lowercase())
                        .param("type", "date"),
                );
                return None;
            }
        })
    }
}

pub fn format_date(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year, date.month, date.day)
}

/// The inclusive date range a relative period names, seen from `today`.
pub fn relative(name: &str, today: Date) -> Option<(Date, Date)> {
    let month_start = Date { day: 1, ..today };
    let quarter_start = Date { month: (today.month - 1) / 3 * 3 + 1, day: 1, ..today };
    let year_start = Date { month: 1, day: 1, ..today };
    let week_start = add_days(today, -i64::from(weekday(today)));
    Some(match name {
        "today" => (today, today),
        "yesterday" => (add_days(today, -1), add_days(today, -1)),
        "this_week" => (week_start, add_days(week_start, 6)),
        "last_week" => (add_days(week_start, -7), add_days(week_start, -1)),
        "this_month" => (month_start, add_days(add_months(month_start, 1), -1)),
        "last_month" => (add_months(month_start, -1), add_days(month_start, -1)),
        "this_quarter" => (quarter_start, add_days(add_months(quarter_start, 3), -1)),
        "last_quarter" => (add_months(quarter_start, -3), add_days(quarter_start, -1)),
        "this_year" => (year_start, Date { month: 12, day: 31, ..today }),
        "last_year" => (Date { year: today.year - 1, ..year_start }, Date { year: today.year - 1, month: 12, day: 31 }),
        other => {
            let rest = other.strip_prefix("last_")?;
            let (count, unit) = rest.split_once('_')?;
            let count: i64 = count.parse().ok().filter(|n| (1..=3660).contains(n))?;
            match unit {
                "days" => (add_days(today, 1 - count), today),
                "months" => (add_months(add_days(today, 1), -(count as i32)), today),
                _ => return None,
            }
        }
    })
}
