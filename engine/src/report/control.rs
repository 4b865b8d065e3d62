//! Control charts as report charts. The report's one dimension is the subgroup (a time
//! bucket, a lot, a shift); the database aggregates each subgroup and `engine::qms` computes
//! the limits and flags the run rules from those aggregates, so no individual value travels.
//!
//! Variables charts (`xbar_r`, `xbar_s`, `i_mr`) get hidden measures over `chart.field`: the
//! count, mean, minimum, maximum and sum of squares of its numbers per subgroup (a
//! measurement contributes every sampled value). X-bar charts need one subgroup size: the most
//! common size is used and other subgroups are listed as `excluded`. `i_mr` charts one point
//! per subgroup (its mean; one value per subgroup is the usual use). Attribute charts (`p`,
//! `np`, `c`, `u`) read two of the report's own measures, named by `chart.count` and
//! `chart.size`. Data that cannot make a chart (too few subgroups, subgroups of one) gives
//! the chart an `error` instead of failing the whole report, so a dashboard still shows the
//! rest.

use serde_json::{Value, json};

use super::plan::{Aggregate, Checker, Kind, Plan, PlanDimension, PlanMeasure, Source};
use super::shape::ResultRow;
use super::spec::{Chart, ChartKind};
use crate::form::{Code, Issue};
use crate::qms::QmsError;
use crate::qms::rules::RuleSet;
use crate::qms::spc::{self, Constants, Pair, Sample};

pub const DEFAULT_SUBGROUPS: u32 = 100;

/// Names of the hidden measures; user names cannot start with an underscore.
const HIDDEN: [&str; 5] = ["__n", "__mean", "__min", "__max", "__sumsq"];

pub fn is_hidden(name: &str) -> bool {
    name.starts_with("__")
}

pub(super) fn plan(c: &mut Checker<'_>, chart: &Chart, dimensions: &[PlanDimension], measures: &mut Vec<PlanMeasure>) {
    if dimensions.len() != 1 {
        c.issues.push(
            Issue::new("/dimensions", Code::InvalidDefinition)
                .param("detail", "a control chart needs one dimension: the subgroup"),
        );
    }
    match chart.kind {
        ChartKind::XbarR | ChartKind::XbarS | ChartKind::IMr => {
            let Some(key) = &chart.field else {
                c.issues.push(Issue::new("/chart/field", Code::Required));
                return;
            };
            let Some((key, kind)) = c.fields.iter().find(|(k, _)| k == key).cloned() else {
                c.issues.push(Issue::new("/chart/field", Code::UnknownField).param("field", key.as_str()));
                return;
            };
            if !matches!(kind, Kind::Number | Kind::Samples | Kind::Any) {
                c.issues.push(Issue::new("/chart/field", Code::WrongType).param("expected", "number"));
                return;
            }
            let source = Source::Field { key, kind };
            let aggregates = [
                Aggregate::CountOf(source.clone()),
                Aggregate::Avg(source.clone()),
                Aggregate::Min(source.clone()),
                Aggregate::Max(source.clone()),
                Aggregate::SumSquares(source),
            ];
            for (name, aggregate) in HIDDEN.into_iter().zip(aggregates) {
                measures.push(PlanMeasure { name: name.into(), aggregate });
            }
        }
        _ => {
            let mut reference = |what: &str, value: &Option<String>| match value {
                None => c.issues.push(Issue::new(format!("/chart/{what}"), Code::Required)),
                Some(name) if !measures.iter().any(|m| &m.name == name) => c
                    .issues
                    .push(Issue::new(format!("/chart/{what}"), Code::UnknownReference).param("name", name.as_str())),
                Some(_) => {}
            };
            reference("count", &chart.count);
            if chart.kind != ChartKind::C {
                reference("size", &chart.size);
            }
        }
    }
    if let (Some(l), Some(u)) = (chart.lsl, chart.usl)
        && l >= u
    {
        c.issues.push(Issue::new("/chart/usl", Code::InvalidValue));
    }
}

fn measure(plan: &Plan, row: &ResultRow, name: &str) -> Option<f64> {
    plan.measures.iter().position(|m| m.name == name).and_then(|i| row.measures[i])
}

fn failure(kind: ChartKind, error: QmsError) -> Value {
    json!({"kind": kind, "error": {"code": error.code, "message": error.message}})
}

/// The chart-ready control chart over the finished rows (newest first, as planned).
pub fn shape(plan: &Plan, chart: &Chart, rows: &[ResultRow]) -> Value {
    let rules = chart.rules.unwrap_or_default();
    let ordered: Vec<&ResultRow> = rows.iter().rev().filter(|r| r.dimensions[0].is_some()).collect();
    match chart.kind {
        ChartKind::XbarR | ChartKind::XbarS | ChartKind::IMr => variables(plan, chart, rules, &ordered),
        _ => attributes(plan, chart, rules, &ordered),
    }
    .unwrap_or_else(|error| failure(chart.kind, error))
}

struct Subgroup<'a> {
    label: &'a str,
    n: f64,
    mean: f64,
    min: f64,
    max: f64,
    sumsq: f64,
}

impl Subgroup<'_> {
    fn sd(&self) -> f64 {
        if self.n < 2.0 {
            return 0.0;
        }
        ((self.sumsq - self.n * self.mean * self.mean) / (self.n - 1.0)).max(0.0).sqrt()
    }
}

fn pair_json(pair: Pair, rules: RuleSet) -> Vec<Value> {
    [pair.location.flag(rules), pair.dispersion.flag(rules)].into_iter().map(|c| json!(c)).collect()
}

fn variables(plan: &Plan, chart: &Chart, rules: RuleSet, rows: &[&ResultRow]) -> Result<Value, QmsError> {
    let groups: Vec<Subgroup> = rows
        .iter()
        .filter_map(|r| {
            let get = |name| measure(plan, r, name);
            Some(Subgroup {
                label: r.dimensions[0].as_deref()?,
                n: get("__n").filter(|n| *n > 0.0)?,
                mean: get("__mean")?,
                min: get("__min")?,
                max: get("__max")?,
                sumsq: get("__sumsq")?,
            })
        })
        .collect();
    // The most common subgroup size (the larger on a tie) is the chart's.
    let mut sizes: Vec<(u64, usize)> = Vec::new();
    for g in &groups {
        let n = g.n as u64;
        match sizes.iter_mut().find(|(size, _)| *size == n) {
            Some((_, count)) => *count += 1,
            None => sizes.push((n, 1)),
        }
    }
    let n = sizes.iter().max_by_key(|(size, count)| (*count, *size)).map_or(0, |(size, _)| *size);
    let (used, excluded): (Vec<&Subgroup>, Vec<&Subgroup>) = if chart.kind == ChartKind::IMr {
        (groups.iter().collect(), Vec::new())
    } else {
        groups.iter().partition(|g| g.n as u64 == n)
    };
    let means: Vec<f64> = used.iter().map(|g| g.mean).collect();
    let (pair, subgroup_size) = match chart.kind {
        ChartKind::XbarR => {
            (spc::xbar_r_of(means, used.iter().map(|g| g.max - g.min).collect(), n as usize, Constants::Exact)?, n)
        }
        ChartKind::XbarS => {
            (spc::xbar_s_of(means, used.iter().map(|g| g.sd()).collect(), n as usize, Constants::Exact)?, n)
        }
        _ => (spc::imr(&means, Constants::Exact)?, 1),
    };
    // Overall spread from the subgroups' sums: every individual value counts once.
    let total: f64 = used.iter().map(|g| g.n).sum();
    let grand = used.iter().map(|g| g.mean * g.n).sum::<f64>() / total;
    let sumsq: f64 = used.iter().map(|g| g.sumsq).sum();
    let overall = ((sumsq - total * grand * grand) / (total - 1.0)).max(0.0).sqrt();
    let capability = if chart.lsl.is_some() || chart.usl.is_some() {
        let sigma_overall =
            if chart.kind == ChartKind::IMr { spc::stdev(&pair.location.points).unwrap_or(0.0) } else { overall };
        let process_mean = if chart.kind == ChartKind::IMr { pair.location.center } else { grand };
        json!(spc::capability_of(process_mean, pair.sigma_within, sigma_overall, chart.lsl, chart.usl)?)
    } else {
        Value::Null
    };
    Ok(json!({
        "kind": chart.kind,
        "field": chart.field,
        "rules": rules,
        "categories": used.iter().map(|g| g.label).collect::<Vec<_>>(),
        "subgroup_size": subgroup_size,
        "sigma_within": pair.sigma_within,
        "charts": pair_json(pair, rules),
        "excluded": excluded.iter().map(|g| json!({"label": g.label, "n": g.n})).collect::<Vec<_>>(),
        "capability": capability,
    }))
}

fn attributes(plan: &Plan, chart: &Chart, rules: RuleSet, rows: &[&ResultRow]) -> Result<Value, QmsError> {
    let count = chart.count.as_deref().unwrap_or_default();
    let size = chart.size.as_deref();
    let mut labels = Vec::new();
    let mut samples = Vec::new();
    for r in rows {
        let Some(c) = measure(plan, r, count) else { continue };
        let s = match size {
            Some(name) if chart.kind != ChartKind::C => match measure(plan, r, name) {
                Some(s) => s,
                None => continue,
            },
            _ => 1.0,
        };
        labels.push(r.dimensions[0].as_deref().unwrap_or_default());
        samples.push(Sample { count: c, size: s });
    }
    let computed = match chart.kind {
        ChartKind::P => spc::p(&samples)?,
        ChartKind::Np => spc::np(&samples)?,
        ChartKind::U => spc::u(&samples)?,
        _ => spc::c(&samples.iter().map(|s| s.count).collect::<Vec<_>>())?,
    };
    Ok(json!({
        "kind": chart.kind,
        "rules": rules,
        "categories": labels,
        "sizes": samples.iter().map(|s| s.size).collect::<Vec<_>>(),
        "charts": [computed.flag(rules)],
    }))
}
