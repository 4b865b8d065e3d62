//! Supplier scorecards: weights, linear points between worst and best, grade bands, missing
//! metrics renormalised, bad cards refused.

use std::collections::BTreeMap;

use engine::qms::scoring::{Band, Metric, Scorecard};

fn card() -> Scorecard {
    let metric = |key: &str, weight: f64, best: f64, worst: f64| Metric { key: key.into(), weight, best, worst };
    Scorecard {
        metrics: vec![
            metric("pass_rate", 40.0, 100.0, 90.0),
            metric("ppm", 30.0, 0.0, 5_000.0),
            metric("on_time", 20.0, 100.0, 80.0),
            metric("response_days", 10.0, 1.0, 11.0),
        ],
        bands: [("A", 90.0), ("B", 80.0), ("C", 70.0), ("D", 0.0)]
            .map(|(g, min)| Band { grade: g.into(), min })
            .to_vec(),
    }
}

fn values(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn a_weighted_score_and_its_grade() {
    // pass 98 -> 80 points; ppm 1,000 -> 80; on time 95 -> 75; response 3 days -> 80.
    let score = card()
        .score(&values(&[("pass_rate", 98.0), ("ppm", 1_000.0), ("on_time", 95.0), ("response_days", 3.0)]))
        .unwrap();
    let expected = 0.4 * 80.0 + 0.3 * 80.0 + 0.2 * 75.0 + 0.1 * 80.0;
    assert!((score.score - expected).abs() < 1e-9, "{}", score.score);
    assert_eq!(score.grade, "C");
    assert!(score.missing.is_empty());
    // Points are clamped: perfect on everything is 100 and grade A; awful is 0 and grade D.
    let best = card()
        .score(&values(&[("pass_rate", 100.0), ("ppm", 0.0), ("on_time", 100.0), ("response_days", 0.5)]))
        .unwrap();
    assert_eq!((best.score, best.grade.as_str()), (100.0, "A"));
    let worst = card()
        .score(&values(&[("pass_rate", 50.0), ("ppm", 90_000.0), ("on_time", 10.0), ("response_days", 40.0)]))
        .unwrap();
    assert_eq!((worst.score, worst.grade.as_str()), (0.0, "D"));
}

#[test]
fn a_missing_metric_is_left_out_not_zero() {
    let score = card().score(&values(&[("pass_rate", 100.0), ("ppm", 0.0), ("on_time", 100.0)])).unwrap();
    assert_eq!(score.missing, vec!["response_days".to_string()]);
    assert!((score.score - 100.0).abs() < 1e-9);
    assert!((score.parts.iter().map(|p| p.weight).sum::<f64>() - 1.0).abs() < 1e-12);
}

#[test]
fn bad_cards_and_values_are_refused() {
    assert_eq!(card().score(&values(&[("typo", 1.0)])).unwrap_err().code, "unknown_metric");
    assert_eq!(card().score(&values(&[])).unwrap_err().code, "no_metric_values");
    let mut bad = card();
    bad.metrics[1].weight = 0.0;
    assert_eq!(bad.check().unwrap_err().code, "invalid_scorecard");
    let mut bad = card();
    bad.metrics[1].best = bad.metrics[1].worst;
    assert_eq!(bad.check().unwrap_err().code, "invalid_scorecard");
    let mut bad = card();
    bad.bands.push(Band { grade: "E".into(), min: 0.0 });
    assert_eq!(bad.check().unwrap_err().code, "invalid_scorecard");
}
