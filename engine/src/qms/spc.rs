//! Shewhart control charts (X-bar/R, X-bar/S, I-MR, p, np, c, u) and process capability
//! (Cp, Cpk, Pp, Ppk), with the constants of `spc_constants.json`.
//!
//! Every chart is returned as points with a centre line and per-point limits (p and u limits
//! vary with the sample size), so the run rules and the charts treat all kinds alike. By
//! default the exact constants are used (the reference recommends them for software);
//! `Constants::Published` reproduces hand calculations with the printed 3-decimal tables.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::QmsError;
use super::rules::{self, RuleSet, Violation};

const CONSTANTS_JSON: &str = include_str!("../../data/spc_constants.json");

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Constants {
    #[default]
    Exact,
    Published,
}

/// The constants for one subgroup size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    pub a2: f64,
    pub a3: f64,
    pub b3: f64,
    pub b4: f64,
    pub d3: f64,
    pub d4: f64,
    pub d2: f64,
    pub c4: f64,
}

struct Table {
    exact: BTreeMap<usize, Row>,
    published: BTreeMap<usize, Row>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| load(CONSTANTS_JSON).expect("the embedded spc_constants.json has the documented layout"))
}

fn load(text: &str) -> Result<Table, String> {
    let root: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut exact = BTreeMap::new();
    let mut published = BTreeMap::new();
    for (n, values) in root["constants"].as_object().ok_or("constants")? {
        let n: usize = n.parse().map_err(|_| format!("subgroup size {n}"))?;
        let row = |v: &Value| -> Result<Row, String> {
            let get = |k: &str| v[k].as_f64().ok_or(format!("n={n} {k}"));
            Ok(Row {
                a2: get("A2")?,
                a3: get("A3")?,
                b3: get("B3")?,
                b4: get("B4")?,
                d3: get("D3")?,
                d4: get("D4")?,
                d2: get("d2")?,
                c4: get("c4")?,
            })
        };
        published.insert(n, row(values)?);
        exact.insert(n, row(&values["exact"])?);
    }
    Ok(Table { exact, published })
}

/// The constants for subgroup size `n` (2..=25).
pub fn constants(n: usize, set: Constants) -> Result<Row, QmsError> {
    let t = table();
    let rows = match set {
        Constants::Exact => &t.exact,
        Constants::Published => &t.published,
    };
    rows.get(&n).copied().ok_or_else(|| {
        QmsError::new("subgroup_size_out_of_range", format!("subgroup size {n} is outside the tabulated 2..=25"))
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    Xbar,
    R,
    S,
    I,
    Mr,
    P,
    Np,
    C,
    U,
}

/// One control chart: a point per subgroup or sample with its limits.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Chart {
    pub kind: ChartKind,
    pub points: Vec<f64>,
    pub center: f64,
    /// Per point; equal for every point unless the sample sizes differ (p, u).
    pub ucl: Vec<f64>,
    pub lcl: Vec<f64>,
    /// Run-rule violations, filled by `flag`.
    pub violations: Vec<Violation>,
}

impl Chart {
    fn constant(kind: ChartKind, points: Vec<f64>, center: f64, ucl: f64, lcl: f64) -> Chart {
        let k = points.len();
        Chart { kind, points, center, ucl: vec![ucl; k], lcl: vec![lcl; k], violations: Vec::new() }
    }

    /// Applies a rule set. Zones come from the upper limit (sigma = (UCL - CL) / 3), which
    /// stays meaningful where a lower limit was clipped at zero.
    pub fn flag(mut self, set: RuleSet) -> Chart {
        let sigmas: Vec<f64> = self.ucl.iter().map(|u| (u - self.center) / 3.0).collect();
        self.violations = rules::check(set, &self.points, self.center, &sigmas);
        self
    }
}

/// A variables chart pair: the location chart and its dispersion chart, with the within
/// subgroup sigma they estimate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Pair {
    pub location: Chart,
    pub dispersion: Chart,
    pub sigma_within: f64,
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Sample standard deviation (divisor n - 1).
pub fn stdev(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let m = mean(values);
    Some((values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt())
}

fn check_finite(values: impl IntoIterator<Item = f64>) -> Result<(), QmsError> {
    if values.into_iter().all(f64::is_finite) {
        Ok(())
    } else {
        Err(QmsError::new("not_a_number", "every value must be a finite number"))
    }
}

fn subgroup_size(subgroups: &[Vec<f64>]) -> Result<usize, QmsError> {
    let Some(first) = subgroups.first() else {
        return Err(QmsError::new("too_few_points", "a chart needs at least one subgroup"));
    };
    let n = first.len();
    if let Some(i) = subgroups.iter().position(|s| s.len() != n) {
        return Err(QmsError::new(
            "unequal_subgroups",
            format!(
                "subgroup {} has {} values but the first has {n}; X-bar charts need equal subgroups",
                i + 1,
                subgroups[i].len()
            ),
        ));
    }
    check_finite(subgroups.iter().flatten().copied())?;
    Ok(n)
}

/// X-bar and R charts.
pub fn xbar_r(subgroups: &[Vec<f64>], set: Constants) -> Result<Pair, QmsError> {
    let n = subgroup_size(subgroups)?;
    let means: Vec<f64> = subgroups.iter().map(|s| mean(s)).collect();
    let ranges: Vec<f64> = subgroups
        .iter()
        .map(|s| s.iter().copied().fold(f64::MIN, f64::max) - s.iter().copied().fold(f64::MAX, f64::min))
        .collect();
    xbar_r_of(means, ranges, n, set)
}

/// X-bar and R charts from each subgroup's mean and range (subgroups of size `n`), for
/// callers that aggregated the subgroups elsewhere (a report's SQL).
pub fn xbar_r_of(means: Vec<f64>, ranges: Vec<f64>, n: usize, set: Constants) -> Result<Pair, QmsError> {
    let c = constants(n, set)?;
    if means.is_empty() {
        return Err(QmsError::new("too_few_points", "a chart needs at least one subgroup"));
    }
    check_finite(means.iter().chain(&ranges).copied())?;
    let grand = mean(&means);
    let rbar = mean(&ranges);
    Ok(Pair {
        location: Chart::constant(ChartKind::Xbar, means, grand, grand + c.a2 * rbar, grand - c.a2 * rbar),
        dispersion: Chart::constant(ChartKind::R, ranges, rbar, c.d4 * rbar, c.d3 * rbar),
        sigma_within: rbar / c.d2,
    })
}

/// X-bar and S charts.
pub fn xbar_s(subgroups: &[Vec<f64>], set: Constants) -> Result<Pair, QmsError> {
    let n = subgroup_size(subgroups)?;
    let means: Vec<f64> = subgroups.iter().map(|s| mean(s)).collect();
    let sds: Vec<f64> = subgroups.iter().map(|s| stdev(s).unwrap_or(0.0)).collect();
    xbar_s_of(means, sds, n, set)
}

/// X-bar and S charts from each subgroup's mean and standard deviation.
pub fn xbar_s_of(means: Vec<f64>, sds: Vec<f64>, n: usize, set: Constants) -> Result<Pair, QmsError> {
    let c = constants(n, set)?;
    if means.is_empty() {
        return Err(QmsError::new("too_few_points", "a chart needs at least one subgroup"));
    }
    check_finite(means.iter().chain(&sds).copied())?;
    let grand = mean(&means);
    let sbar = mean(&sds);
    Ok(Pair {
        location: Chart::constant(ChartKind::Xbar, means, grand, grand + c.a3 * sbar, grand - c.a3 * sbar),
        dispersion: Chart::constant(ChartKind::S, sds, sbar, c.b4 * sbar, c.b3 * sbar),
        sigma_within: sbar / c.c4,
    })
}

/// Individuals and moving-range (span 2) charts.
pub fn imr(values: &[f64], set: Constants) -> Result<Pair, QmsError> {
    if values.len() < 2 {
        return Err(QmsError::new("too_few_points", "an I-MR chart needs at least two values"));
    }
    check_finite(values.iter().copied())?;
    let c = constants(2, set)?;
    let ranges: Vec<f64> = values.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    let mrbar = mean(&ranges);
    let xbar = mean(values);
    let sigma = mrbar / c.d2;
    Ok(Pair {
        location: Chart::constant(ChartKind::I, values.to_vec(), xbar, xbar + 3.0 * sigma, xbar - 3.0 * sigma),
        dispersion: Chart::constant(ChartKind::Mr, ranges, mrbar, c.d4 * mrbar, 0.0),
        sigma_within: sigma,
    })
}

/// One attribute sample: a count and the sample size it came from.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub count: f64,
    pub size: f64,
}

fn check_samples(samples: &[Sample], counts_within_size: bool) -> Result<(), QmsError> {
    if samples.is_empty() {
        return Err(QmsError::new("too_few_points", "a chart needs at least one sample"));
    }
    check_finite(samples.iter().flat_map(|s| [s.count, s.size]))?;
    if let Some(i) =
        samples.iter().position(|s| s.size <= 0.0 || s.count < 0.0 || (counts_within_size && s.count > s.size))
    {
        return Err(QmsError::new(
            "invalid_sample",
            format!(
                "sample {} has count {} of size {}; sizes must be positive and counts between 0 and the size",
                i + 1,
                samples[i].count,
                samples[i].size
            ),
        ));
    }
    Ok(())
}

/// Fraction defective; limits per sample size.
pub fn p(samples: &[Sample]) -> Result<Chart, QmsError> {
    check_samples(samples, true)?;
    let pbar = samples.iter().map(|s| s.count).sum::<f64>() / samples.iter().map(|s| s.size).sum::<f64>();
    let half = |n: f64| 3.0 * (pbar * (1.0 - pbar) / n).sqrt();
    Ok(Chart {
        kind: ChartKind::P,
        points: samples.iter().map(|s| s.count / s.size).collect(),
        center: pbar,
        ucl: samples.iter().map(|s| pbar + half(s.size)).collect(),
        lcl: samples.iter().map(|s| (pbar - half(s.size)).max(0.0)).collect(),
        violations: Vec::new(),
    })
}

/// Number defective at a constant sample size.
pub fn np(samples: &[Sample]) -> Result<Chart, QmsError> {
    check_samples(samples, true)?;
    let n = samples[0].size;
    if samples.iter().any(|s| s.size != n) {
        return Err(QmsError::new(
            "unequal_samples",
            "an np chart needs one sample size; use a p chart for varying sizes",
        ));
    }
    let pbar = samples.iter().map(|s| s.count).sum::<f64>() / (n * samples.len() as f64);
    let center = n * pbar;
    let half = 3.0 * (n * pbar * (1.0 - pbar)).sqrt();
    Ok(Chart::constant(
        ChartKind::Np,
        samples.iter().map(|s| s.count).collect(),
        center,
        center + half,
        (center - half).max(0.0),
    ))
}

/// Nonconformities per sample at a constant area of opportunity.
pub fn c(counts: &[f64]) -> Result<Chart, QmsError> {
    let samples: Vec<Sample> = counts.iter().map(|&count| Sample { count, size: 1.0 }).collect();
    check_samples(&samples, false)?;
    let cbar = mean(counts);
    let half = 3.0 * cbar.sqrt();
    Ok(Chart::constant(ChartKind::C, counts.to_vec(), cbar, cbar + half, (cbar - half).max(0.0)))
}

/// Nonconformities per unit; limits per sample size.
pub fn u(samples: &[Sample]) -> Result<Chart, QmsError> {
    check_samples(samples, false)?;
    let ubar = samples.iter().map(|s| s.count).sum::<f64>() / samples.iter().map(|s| s.size).sum::<f64>();
    let half = |n: f64| 3.0 * (ubar / n).sqrt();
    Ok(Chart {
        kind: ChartKind::U,
        points: samples.iter().map(|s| s.count / s.size).collect(),
        center: ubar,
        ucl: samples.iter().map(|s| ubar + half(s.size)).collect(),
        lcl: samples.iter().map(|s| (ubar - half(s.size)).max(0.0)).collect(),
        violations: Vec::new(),
    })
}

/// Process capability. `cp`/`pp` need both limits; with one limit, `cpk`/`ppk` are that
/// side's index.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Capability {
    pub mean: f64,
    pub sigma_within: f64,
    pub sigma_overall: f64,
    pub cp: Option<f64>,
    pub cpk: Option<f64>,
    pub pp: Option<f64>,
    pub ppk: Option<f64>,
}

pub fn capability(
    values: &[f64],
    sigma_within: f64,
    lsl: Option<f64>,
    usl: Option<f64>,
) -> Result<Capability, QmsError> {
    check_finite(values.iter().copied())?;
    let sigma_overall =
        stdev(values).ok_or_else(|| QmsError::new("too_few_points", "capability needs at least two values"))?;
    capability_of(mean(values), sigma_within, sigma_overall, lsl, usl)
}

/// Capability from the process mean and both sigmas, for callers that summarised the values
/// elsewhere.
pub fn capability_of(
    m: f64,
    sigma_within: f64,
    sigma_overall: f64,
    lsl: Option<f64>,
    usl: Option<f64>,
) -> Result<Capability, QmsError> {
    check_finite([m, sigma_within, sigma_overall].into_iter().chain(lsl).chain(usl))?;
    if lsl.is_none() && usl.is_none() {
        return Err(QmsError::new("no_specification", "capability needs a lower or an upper specification limit"));
    }
    if let (Some(l), Some(u)) = (lsl, usl)
        && l >= u
    {
        return Err(QmsError::new(
            "invalid_specification",
            format!("the lower limit {l} is not below the upper limit {u}"),
        ));
    }
    let index = |sigma: f64| -> (Option<f64>, Option<f64>) {
        if sigma <= 0.0 {
            return (None, None);
        }
        let spread = lsl.zip(usl).map(|(l, u)| (u - l) / (6.0 * sigma));
        let upper = usl.map(|u| (u - m) / (3.0 * sigma));
        let lower = lsl.map(|l| (m - l) / (3.0 * sigma));
        let k = match (upper, lower) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        (spread, k)
    };
    let (cp, cpk) = index(sigma_within);
    let (pp, ppk) = index(sigma_overall);
    Ok(Capability { mean: m, sigma_within, sigma_overall, cp, cpk, pp, ppk })
}

/// Capability of individual values, sigma within from the moving range (I-MR).
pub fn capability_of_individuals(values: &[f64], lsl: Option<f64>, usl: Option<f64>) -> Result<Capability, QmsError> {
    let pair = imr(values, Constants::Exact)?;
    capability(values, pair.sigma_within, lsl, usl)
}
