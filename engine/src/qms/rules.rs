//! Run rules for special causes: the eight Nelson rules and the four Western Electric rules
//! (numbering as in `spc_constants.json`: WE1 = 3 sigma, WE2 = 2 of 3 beyond 2 sigma, WE3 =
//! 4 of 5 beyond 1 sigma, WE4 = 8 in a row on one side).
//!
//! A violation is reported at the point that completes the pattern, and that point must be
//! part of it (for "2 of 3 beyond 2 sigma" the flagged point is itself beyond 2 sigma, on the
//! same side), as Minitab's tests do. Each point's distance from the centre is measured in its
//! own sigma, so charts with varying limits (p, u) are checked correctly.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleSet {
    #[default]
    Nelson,
    WesternElectric,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub set: RuleSet,
    pub rule: u8,
    /// Index of the point that completes the pattern.
    pub point: usize,
}

/// Checks every rule of `set`; violations ordered by point, then rule.
pub fn check(set: RuleSet, points: &[f64], center: f64, sigmas: &[f64]) -> Vec<Violation> {
    let z: Vec<f64> = points.iter().zip(sigmas).map(|(x, s)| if *s > 0.0 { (x - center) / s } else { 0.0 }).collect();
    let side = |i: usize| z[i].partial_cmp(&0.0).map(|o| o as i8).unwrap_or(0);
    let mut out = Vec::new();
    let mut push = |rule: u8, point: usize| out.push(Violation { set, rule, point });
    for i in 0..points.len() {
        let run = |len: usize, pred: &dyn Fn(usize) -> bool| i + 1 >= len && (i + 1 - len..=i).all(pred);
        let same_side = |len: usize| side(i) != 0 && run(len, &|j| side(j) == side(i));
        // `k` of the last `m` points beyond `limit` sigma on the flagged point's side.
        let k_of_m = |k: usize, m: usize, limit: f64| {
            let s = f64::from(side(i));
            s != 0.0 && z[i] * s > limit && ((i + 1).saturating_sub(m)..=i).filter(|&j| z[j] * s > limit).count() >= k
        };
        let beyond_3 = z[i].abs() > 3.0;
        match set {
            RuleSet::Nelson => {
                if beyond_3 {
                    push(1, i);
                }
                if same_side(9) {
                    push(2, i);
                }
                if i >= 5
                    && ((i - 5..i).all(|j| points[j + 1] > points[j]) || (i - 5..i).all(|j| points[j + 1] < points[j]))
                {
                    push(3, i);
                }
                if i >= 13
                    && (i - 11..=i).all(|j| {
                        let a = points[j] - points[j - 1];
                        let b = points[j - 1] - points[j - 2];
                        (a > 0.0 && b < 0.0) || (a < 0.0 && b > 0.0)
                    })
                {
                    push(4, i);
                }
                if k_of_m(2, 3, 2.0) {
                    push(5, i);
                }
                if k_of_m(4, 5, 1.0) {
                    push(6, i);
                }
                if run(15, &|j| z[j].abs() < 1.0) {
                    push(7, i);
                }
                if run(8, &|j| z[j].abs() > 1.0) {
                    push(8, i);
                }
            }
            RuleSet::WesternElectric => {
                if beyond_3 {
                    push(1, i);
                }
                if k_of_m(2, 3, 2.0) {
                    push(2, i);
                }
                if k_of_m(4, 5, 1.0) {
                    push(3, i);
                }
                if same_side(8) {
                    push(4, i);
                }
            }
        }
    }
    out
}
