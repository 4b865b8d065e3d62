//! Supplier scoring: weighted metrics -> a 0..100 score -> a grade band, configured per
//! workspace.
//!
//! Each metric maps its value linearly onto 0..100 points between `worst` (0 points) and
//! `best` (100 points), clamped, so both "higher is better" (pass rate) and "lower is better"
//! (PPM, response days) are expressed by which end is which. A metric without data this
//! period does not count as zero: the remaining weights are renormalised and the metric is
//! listed as missing, so a supplier with no 8D this month is not punished for it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::QmsError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub key: String,
    pub weight: f64,
    /// The value worth 100 points.
    pub best: f64,
    /// The value worth 0 points.
    pub worst: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub grade: String,
    /// The lowest score (inclusive) of this grade.
    pub min: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    pub metrics: Vec<Metric>,
    /// Any order; the highest band whose `min` the score reaches applies.
    pub bands: Vec<Band>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Part {
    pub key: String,
    pub value: f64,
    pub points: f64,
    /// Weight after renormalisation, as a share of 1.
    pub weight: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Score {
    pub score: f64,
    pub grade: String,
    pub parts: Vec<Part>,
    pub missing: Vec<String>,
}

impl Scorecard {
    /// Checks the card itself: weights positive, `best != worst`, unique keys, bands present
    /// with distinct minimums.
    pub fn check(&self) -> Result<(), QmsError> {
        if self.metrics.is_empty() {
            return Err(QmsError::new("invalid_scorecard", "a scorecard needs at least one metric"));
        }
        for (i, m) in self.metrics.iter().enumerate() {
            if !(m.weight.is_finite() && m.weight > 0.0) {
                return Err(QmsError::new("invalid_scorecard", format!("metric {:?} needs a positive weight", m.key)));
            }
            if !(m.best.is_finite() && m.worst.is_finite()) || m.best == m.worst {
                return Err(QmsError::new(
                    "invalid_scorecard",
                    format!("metric {:?} needs different finite best and worst values", m.key),
                ));
            }
            if self.metrics[..i].iter().any(|o| o.key == m.key) {
                return Err(QmsError::new("invalid_scorecard", format!("metric {:?} appears twice", m.key)));
            }
        }
        if self.bands.is_empty() {
            return Err(QmsError::new("invalid_scorecard", "a scorecard needs at least one grade band"));
        }
        for (i, b) in self.bands.iter().enumerate() {
            if !b.min.is_finite() || self.bands[..i].iter().any(|o| o.min == b.min || o.grade == b.grade) {
                return Err(QmsError::new(
                    "invalid_scorecard",
                    format!("grade band {:?} repeats a grade or a minimum", b.grade),
                ));
            }
        }
        Ok(())
    }

    pub fn score(&self, values: &BTreeMap<String, f64>) -> Result<Score, QmsError> {
        self.check()?;
        if let Some(unknown) = values.keys().find(|k| !self.metrics.iter().any(|m| &m.key == *k)) {
            return Err(QmsError::new("unknown_metric", format!("{unknown:?} is not a metric of this scorecard")));
        }
        let present: Vec<(&Metric, f64)> =
            self.metrics.iter().filter_map(|m| values.get(&m.key).filter(|v| v.is_finite()).map(|v| (m, *v))).collect();
        let missing: Vec<String> = self
            .metrics
            .iter()
            .filter(|m| !present.iter().any(|(p, _)| p.key == m.key))
            .map(|m| m.key.clone())
            .collect();
        let total_weight: f64 = present.iter().map(|(m, _)| m.weight).sum();
        if present.is_empty() {
            return Err(QmsError::new("no_metric_values", "none of the scorecard's metrics has a value"));
        }
        let parts: Vec<Part> = present
            .iter()
            .map(|(m, value)| Part {
                key: m.key.clone(),
                value: *value,
                points: (100.0 * (value - m.worst) / (m.best - m.worst)).clamp(0.0, 100.0),
                weight: m.weight / total_weight,
            })
            .collect();
        let score = parts.iter().map(|p| p.points * p.weight).sum::<f64>();
        let grade = self
            .bands
            .iter()
            .filter(|b| score + 1e-9 >= b.min)
            .max_by(|a, b| a.min.total_cmp(&b.min))
            .or_else(|| self.bands.iter().min_by(|a, b| a.min.total_cmp(&b.min)))
            .map(|b| b.grade.clone())
            .unwrap_or_default();
        Ok(Score { score, grade, parts, missing })
    }
}
