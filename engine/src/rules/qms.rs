//! Quality functions rules may call, from `engine::qms`:
//!
//! - `aql_plan(lot_size, level, aql)` and `aql_plan(lot_size, level, aql, severity, edition)`
//!   return a map `#{code_letter, plan_letter, n, ac, re, n_to_inspect, inspect_100_percent}`
//!   (defaults: normal severity, ISO 2859-1 / GB/T 2828.1 edition). `aql` may be a string
//!   ("1.0") or a number.
//! - `aql_accept(plan, defects)` is true when the lot is accepted (d <= Ac).
//! - `cp`, `cpk`, `pp`, `ppk(values, lsl, usl)` for individual values (sigma within from the
//!   moving range); `()` as a limit means one-sided; `()` is returned where an index is
//!   undefined (a one-sided Cp, zero spread).
//! - `mean(values)`, `stdev(values)`.
//! - `scorecard(values, metrics, bands)` scores a supplier: `values` maps metric keys to
//!   numbers (`()` for no data), `metrics` is a list of `#{key, weight, best, worst}`, `bands`
//!   of `#{grade, min}`; returns `#{score, grade}` (see `qms::scoring`).
//!
//! Bad input is a rule error with the QMS error's message, like any other runtime error.

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map, Position};

use crate::qms::QmsError;
use crate::qms::aql::{self, Edition, Level, Query, Severity};
use crate::qms::{scoring, spc};

pub fn register(engine: &mut Engine) {
    engine
        .register_fn("aql_plan", |lot: i64, level: &str, aql: Dynamic| aql_plan(lot, level, aql, "normal", "iso2859"));
    engine.register_fn("aql_plan", aql_plan);
    engine.register_fn("aql_accept", aql_accept);
    engine.register_fn("cp", |v: Array, l: Dynamic, u: Dynamic| index(v, l, u, |c| c.cp));
    engine.register_fn("cpk", |v: Array, l: Dynamic, u: Dynamic| index(v, l, u, |c| c.cpk));
    engine.register_fn("pp", |v: Array, l: Dynamic, u: Dynamic| index(v, l, u, |c| c.pp));
    engine.register_fn("ppk", |v: Array, l: Dynamic, u: Dynamic| index(v, l, u, |c| c.ppk));
    engine.register_fn("mean", |v: Array| -> Result<Dynamic, Box<EvalAltResult>> {
        let values = numbers(&v)?;
        if values.is_empty() {
            return Ok(Dynamic::UNIT);
        }
        Ok(Dynamic::from_float(values.iter().sum::<f64>() / values.len() as f64))
    });
    engine.register_fn("scorecard", scorecard);
    engine.register_fn("stdev", |v: Array| -> Result<Dynamic, Box<EvalAltResult>> {
        Ok(spc::stdev(&numbers(&v)?).map(Dynamic::from_float).unwrap_or(Dynamic::UNIT))
    });
}

fn fail(e: QmsError) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(e.message.into(), Position::NONE))
}

fn number(d: &Dynamic) -> Option<f64> {
    d.as_int().map(|i| i as f64).or_else(|_| d.as_float()).ok()
}

fn numbers(values: &Array) -> Result<Vec<f64>, Box<EvalAltResult>> {
    values
        .iter()
        .filter(|v| !v.is_unit())
        .map(|v| number(v).ok_or_else(|| fail(QmsError::new("not_a_number", format!("{v} is not a number")))))
        .collect()
}

fn limit(d: &Dynamic) -> Result<Option<f64>, Box<EvalAltResult>> {
    if d.is_unit() {
        return Ok(None);
    }
    number(d)
        .map(Some)
        .ok_or_else(|| fail(QmsError::new("not_a_number", format!("specification limit {d} is not a number"))))
}

fn aql_plan(lot: i64, level: &str, aql: Dynamic, severity: &str, edition: &str) -> Result<Map, Box<EvalAltResult>> {
    let aql = if aql.is_string() { aql.to_string() } else { number(&aql).map(|n| n.to_string()).unwrap_or_default() };
    let lot_size = u64::try_from(lot)
        .map_err(|_| fail(QmsError::new("lot_size_out_of_range", "the lot size must be positive")))?;
    let query = Query {
        lot_size,
        level: Level::parse(level).map_err(fail)?,
        aql,
        severity: Severity::parse(severity).map_err(fail)?,
        edition: Edition::parse(edition).map_err(fail)?,
    };
    let plan = aql::plan(&query).map_err(fail)?;
    let mut map = Map::new();
    map.insert("code_letter".into(), plan.code_letter.into());
    map.insert("plan_letter".into(), plan.plan_letter.into());
    map.insert("n".into(), Dynamic::from_int(plan.n.into()));
    map.insert("ac".into(), Dynamic::from_int(plan.ac.into()));
    map.insert("re".into(), Dynamic::from_int(plan.re.into()));
    map.insert("n_to_inspect".into(), Dynamic::from_int(plan.n_to_inspect.min(i64::MAX as u64) as i64));
    map.insert("inspect_100_percent".into(), plan.inspect_100_percent.into());
    Ok(map)
}

fn aql_accept(plan: Map, defects: i64) -> Result<bool, Box<EvalAltResult>> {
    let ac = plan
        .get("ac")
        .and_then(|d| d.as_int().ok())
        .ok_or_else(|| fail(QmsError::new("invalid_plan", "the plan has no integer \"ac\"")))?;
    Ok(defects <= ac)
}

fn index(
    values: Array,
    lsl: Dynamic,
    usl: Dynamic,
    pick: fn(&spc::Capability) -> Option<f64>,
) -> Result<Dynamic, Box<EvalAltResult>> {
    let capability = spc::capability_of_individuals(&numbers(&values)?, limit(&lsl)?, limit(&usl)?).map_err(fail)?;
    Ok(pick(&capability).filter(|v| v.is_finite()).map(Dynamic::from_float).unwrap_or(Dynamic::UNIT))
}

fn scorecard(values: Map, metrics: Array, bands: Array) -> Result<Map, Box<EvalAltResult>> {
    let text =
        |m: &Map, key: &str| m.get(key).and_then(|v| v.clone().into_immutable_string().ok()).map(|s| s.to_string());
    let num = |m: &Map, key: &str| m.get(key).and_then(number);
    let bad = |what: &str| fail(QmsError::new("invalid_scorecard", format!("each {what}")));
    let metrics = metrics
        .iter()
        .map(|m| {
            let m = m.read_lock::<Map>().ok_or_else(|| bad("metric is a map #{key, weight, best, worst}"))?;
            Ok(scoring::Metric {
                key: text(&m, "key").ok_or_else(|| bad("metric has a key"))?,
                weight: num(&m, "weight").ok_or_else(|| bad("metric has a numeric weight"))?,
                best: num(&m, "best").ok_or_else(|| bad("metric has a numeric best"))?,
                worst: num(&m, "worst").ok_or_else(|| bad("metric has a numeric worst"))?,
            })
        })
        .collect::<Result<Vec<_>, Box<EvalAltResult>>>()?;
    let bands = bands
        .iter()
        .map(|b| {
            let b = b.read_lock::<Map>().ok_or_else(|| bad("band is a map #{grade, min}"))?;
            Ok(scoring::Band {
                grade: text(&b, "grade").ok_or_else(|| bad("band has a grade"))?,
                min: num(&b, "min").ok_or_else(|| bad("band has a numeric min"))?,
            })
        })
        .collect::<Result<Vec<_>, Box<EvalAltResult>>>()?;
    let values = values.iter().filter_map(|(k, v)| number(v).map(|n| (k.to_string(), n))).collect();
    let score = scoring::Scorecard { metrics, bands }.score(&values).map_err(fail)?;
    let mut out = Map::new();
    out.insert("score".into(), Dynamic::from_float((score.score * 100.0).round() / 100.0));
    out.insert("grade".into(), score.grade.into());
    Ok(out)
}
