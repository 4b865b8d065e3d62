//! Rollups: a report's aggregation kept up to date as records change, so that a dashboard
//! widget over a million records reads a few thousand pre-summed cells instead.
//!
//! A rollup's [`Shape`] is the finest grouping a set of reports needs: **keys** (the local day
//! of a dated field, or a field's value) and **parts** (sums that add up across cells: the
//! number of rows, the sum and the count of a number, the rows meeting a condition), over the
//! records that pass a **static filter** (the conditions that do not change with the day or
//! with a dashboard's filter values). The server stores one cell per key tuple and change
//! (added rows count +1, removed ones -1) and periodically folds the cells together.
//!
//! A report is answered from a rollup when the rollup has the same dataset and static filter,
//! every key the report groups or filters on, and every part its measures are made of
//! ([`rewrite`]). Measures that do not decompose into sums (distinct counts, minimum,
//! maximum, control-chart samples) and fields read through relations (the related record may
//! change without the rollup knowing) keep a report on the direct path.

use serde::{Deserialize, Serialize};

use super::plan::{Aggregate, Cond, Kind, Plan, Source};
use super::spec::{Bucket, Op};

/// At most this many keys and parts: the cell table has as many columns.
pub const MAX_KEYS: usize = 8;
pub const MAX_PARTS: usize = 12;

/// One key column of a rollup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Key {
    /// The local day (`YYYY-MM-DD`) of a dated source: every time bucket and date range
    /// derives from it.
    Day(Source),
    /// The local month (`YYYY-MM`) of a dated source: month, quarter and year buckets and
    /// date ranges of whole months derive from it, from a thirtieth of the cells.
    Month(Source),
    /// The value as text, as a dimension reads it (the chosen option of the exploded list).
    Value(Source),
}

/// One summable column of a rollup.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Rows (records, or subtable rows or chosen options where the dataset multiplies them).
    Count,
    /// The sum of a source's numbers.
    Sum(Source),
    /// How many rows hold a number in the source (a sum over none is no value).
    Numbers(Source),
    /// Rows meeting a condition.
    When(Cond),
}

/// What identifies the rows a rollup summarises: the form, how its records are flattened,
/// and the static filter. Two rollups with the same base differ only in keys and parts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Base {
    pub form: String,
    /// The workspace's offset from UTC in minutes, which decides local days.
    pub offset_minutes: i32,
    pub rows: Option<String>,
    pub exploded: Option<Source>,
    pub filter: Vec<Cond>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shape {
    pub base: Base,
    pub keys: Vec<Key>,
    pub parts: Vec<Part>,
}

/// A filter a rollup applies to one of its keys.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyTest {
    /// Local days, bounds inclusive.
    Dates { from: Option<String>, to: Option<String> },
    /// Local months (`YYYY-MM`), bounds inclusive.
    Months { from: Option<String>, to: Option<String> },
    /// One of the texts (or none of them).
    Equals { values: Vec<String>, negate: bool },
}

/// A measure computed from a rollup's parts (indices into [`Shape::parts`]).
#[derive(Clone, Debug, PartialEq)]
pub enum CellMeasure {
    Count {
        count: usize,
    },
    Sum {
        sum: usize,
        numbers: usize,
    },
    Avg {
        sum: usize,
        numbers: usize,
    },
    Rate {
        when: usize,
        count: usize,
    },
    Ppm {
        defects: usize,
        defect_numbers: usize,
        units: usize,
        unit_numbers: usize,
    },
    /// Filled in after the query (cumulative share).
    Later,
}

/// A report dimension over a rollup's key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CellDimension {
    pub key: usize,
    /// The bucket of a dated key.
    pub bucket: Option<Bucket>,
    /// The key holds months, not days.
    pub month: bool,
}

/// A report rewritten over a rollup's cells.
#[derive(Clone, Debug, PartialEq)]
pub struct CellPlan {
    pub dimensions: Vec<CellDimension>,
    pub filters: Vec<(usize, KeyTest)>,
    pub measures: Vec<CellMeasure>,
    /// The part that counts rows: a group with none left is no group.
    pub count: usize,
}

/// What a report needs of a rollup.
#[derive(Clone, Debug, PartialEq)]
pub struct Needs {
    pub base: Base,
    pub keys: Vec<Key>,
    pub parts: Vec<Part>,
    filters: Vec<(Key, KeyTest)>,
}

/// A field read through a relation (`relation.key`, not the flattened subtable's rows).
fn through_relation(source: &Source, rows: Option<&str>) -> bool {
    match source {
        Source::Field { key, .. } => key.split_once('.').is_some_and(|(prefix, _)| Some(prefix) != rows),
        _ => false,
    }
}

/// Whether a condition can be evaluated once, when a record is written: no dates (a
/// relative period moves every day), no relations.
fn is_static(cond: &Cond, rows: Option<&str>) -> bool {
    match cond {
        Cond::And(parts) | Cond::Or(parts) => parts.iter().all(|p| is_static(p, rows)),
        Cond::Not(inner) => is_static(inner, rows),
        Cond::Dates { .. } => false,
        Cond::Compare { source, .. } | Cond::Exists { source, .. } => {
            !through_relation(source, rows) && *source != Source::CreatedAt
        }
    }
}

fn conjuncts(cond: &Cond, out: &mut Vec<Cond>) {
    match cond {
        Cond::And(parts) => parts.iter().for_each(|p| conjuncts(p, out)),
        other => out.push(other.clone()),
    }
}

fn push_unique<T: PartialEq>(list: &mut Vec<T>, item: T) -> usize {
    match list.iter().position(|x| *x == item) {
        Some(i) => i,
        None => {
            list.push(item);
            list.len() - 1
        }
    }
}

/// The key a conjunct filters on, if it can be a key filter.
fn key_filter(cond: &Cond, rows: Option<&str>) -> Option<(Key, KeyTest)> {
    match cond {
        Cond::Dates { source, from, to } if !through_relation(source, rows) => {
            Some((Key::Day(source.clone()), KeyTest::Dates { from: from.clone(), to: to.clone() }))
        }
        Cond::Compare { source, op: op @ (Op::Eq | Op::Ne | Op::In), values } if !through_relation(source, rows) => {
            let text = matches!(source, Source::CreatedBy | Source::Field { kind: Kind::Text, .. });
            let values: Option<Vec<String>> = values.iter().map(|v| v.as_str().map(str::to_owned)).collect();
            match (text, values) {
                (true, Some(values)) if !values.is_empty() => {
                    Some((Key::Value(source.clone()), KeyTest::Equals { values, negate: *op == Op::Ne }))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// What `plan` needs of a rollup (local days at `offset_minutes` east of UTC), or `None`
/// when a rollup cannot answer it.
pub fn needs(plan: &Plan, offset_minutes: i32) -> Option<Needs> {
    let rows = plan.rows.as_deref();
    if plan.sampled().is_some() {
        return None;
    }
    let mut filter = Vec::new();
    let mut filters = Vec::new();
    let mut keys = Vec::new();
    let mut all = Vec::new();
    if let Some(cond) = &plan.filter {
        conjuncts(cond, &mut all);
    }
    for cond in all {
        if let Some((key, test)) = key_filter(&cond, rows) {
            push_unique(&mut keys, key.clone());
            filters.push((key, test));
        } else if is_static(&cond, rows) {
            filter.push(cond);
        } else {
            return None;
        }
    }
    for dimension in &plan.dimensions {
        if through_relation(&dimension.source, rows) {
            return None;
        }
        let dated = matches!(dimension.source.kind(), Kind::Date | Kind::Datetime);
        let key = if dated { Key::Day(dimension.source.clone()) } else { Key::Value(dimension.source.clone()) };
        push_unique(&mut keys, key);
    }
    let mut parts = vec![Part::Count];
    for measure in &plan.measures {
        let number = |source: &Source, parts: &mut Vec<Part>| {
            if through_relation(source, rows) {
                return false;
            }
            push_unique(parts, Part::Sum(source.clone()));
            push_unique(parts, Part::Numbers(source.clone()));
            true
        };
        let ok = match &measure.aggregate {
            Aggregate::Count | Aggregate::CumulativeShare { .. } => true,
            Aggregate::Sum(source) | Aggregate::Avg(source) => number(source, &mut parts),
            Aggregate::Ppm { defects, units } => number(defects, &mut parts) && number(units, &mut parts),
            Aggregate::Rate(cond) if is_static(cond, rows) => {
                push_unique(&mut parts, Part::When(cond.clone()));
                true
            }
            _ => false,
        };
        if !ok {
            return None;
        }
    }
    let exploded = plan.exploded().map(|i| plan.dimensions[i].source.clone());
    let base = Base { form: plan.form.clone(), offset_minutes, rows: plan.rows.clone(), exploded, filter };
    Some(Needs { base, keys, parts, filters })
}

impl Shape {
    /// The same rollup by month instead of by day, when it has day keys: a report by month,
    /// quarter or year over whole months reads it instead.
    pub fn by_month(&self) -> Option<Shape> {
        if !self.keys.iter().any(|k| matches!(k, Key::Day(_))) {
            return None;
        }
        let mut keys = Vec::new();
        for key in &self.keys {
            let key = match key {
                Key::Day(source) => Key::Month(source.clone()),
                other => other.clone(),
            };
            push_unique(&mut keys, key);
        }
        Some(Shape { base: self.base.clone(), keys, parts: self.parts.clone() })
    }

    /// How many cells the rollup holds, roughly, for choosing among rollups that cover a
    /// report: every day key multiplies them by about thirty.
    pub fn weight(&self) -> usize {
        self.keys.iter().map(|k| if matches!(k, Key::Day(_)) { 30 } else { 1 }).sum()
    }
}

/// `YYYY-MM` of a `YYYY-MM-DD` that is the first day of its month.
fn month_start(day: &str) -> Option<String> {
    day.ends_with("-01").then(|| day[..7].to_owned())
}

/// `YYYY-MM` of a `YYYY-MM-DD` that is the last day of its month.
fn month_end(day: &str) -> Option<String> {
    let date = super::dates::parse_date(day)?;
    (super::dates::add_days(date, 1).day == 1).then(|| day[..7].to_owned())
}

impl Needs {
    /// The rollup for these needs and `extra` keys (a dashboard's shared filters), if it
    /// fits the cell table. Extra keys the needs already have are not repeated.
    pub fn shape(&self, extra: &[Key]) -> Option<Shape> {
        let mut keys = self.keys.clone();
        for key in extra {
            push_unique(&mut keys, key.clone());
        }
        (keys.len() <= MAX_KEYS && self.parts.len() <= MAX_PARTS).then(|| Shape {
            base: self.base.clone(),
            keys,
            parts: self.parts.clone(),
        })
    }
}

/// `plan` (whose needs are `needs`) over the cells of `shape`, when the shape covers it.
pub fn rewrite(plan: &Plan, needs: &Needs, shape: &Shape) -> Option<CellPlan> {
    if shape.base != needs.base {
        return None;
    }
    let key = |k: &Key| shape.keys.iter().position(|x| x == k);
    let part = |p: &Part| shape.parts.iter().position(|x| x == p);
    let mut dimensions = Vec::new();
    for dimension in &plan.dimensions {
        let source = &dimension.source;
        let dated = matches!(source.kind(), Kind::Date | Kind::Datetime);
        if !dated {
            dimensions.push(CellDimension { key: key(&Key::Value(source.clone()))?, bucket: None, month: false });
            continue;
        }
        let bucket = dimension.bucket.unwrap_or(Bucket::Day);
        let monthly = matches!(bucket, Bucket::Month | Bucket::Quarter | Bucket::Year);
        let found = match key(&Key::Day(source.clone())) {
            Some(index) => CellDimension { key: index, bucket: Some(bucket), month: false },
            None if monthly => {
                CellDimension { key: key(&Key::Month(source.clone()))?, bucket: Some(bucket), month: true }
            }
            None => return None,
        };
        dimensions.push(found);
    }
    let mut filters = Vec::new();
    for (k, test) in &needs.filters {
        if let Some(index) = key(k) {
            filters.push((index, test.clone()));
            continue;
        }
        // A range of whole months over a month key.
        let (Key::Day(source), KeyTest::Dates { from, to }) = (k, test) else { return None };
        let from = match from {
            Some(day) => Some(month_start(day)?),
            None => None,
        };
        let to = match to {
            Some(day) => Some(month_end(day)?),
            None => None,
        };
        filters.push((key(&Key::Month(source.clone()))?, KeyTest::Months { from, to }));
    }
    let count = part(&Part::Count)?;
    let mut measures = Vec::new();
    for measure in &plan.measures {
        let sum = |s: &Source| Some((part(&Part::Sum(s.clone()))?, part(&Part::Numbers(s.clone()))?));
        measures.push(match &measure.aggregate {
            Aggregate::Count => CellMeasure::Count { count },
            Aggregate::CumulativeShare { .. } => CellMeasure::Later,
            Aggregate::Sum(s) => {
                let (sum, numbers) = sum(s)?;
                CellMeasure::Sum { sum, numbers }
            }
            Aggregate::Avg(s) => {
                let (sum, numbers) = sum(s)?;
                CellMeasure::Avg { sum, numbers }
            }
            Aggregate::Rate(cond) => CellMeasure::Rate { when: part(&Part::When(cond.clone()))?, count },
            Aggregate::Ppm { defects, units } => {
                let (defects, defect_numbers) = sum(defects)?;
                let (units, unit_numbers) = sum(units)?;
                CellMeasure::Ppm { defects, defect_numbers, units, unit_numbers }
            }
            _ => return None,
        });
    }
    Some(CellPlan { dimensions, filters, measures, count })
}
