//! The run rules, each on a series built to break exactly it, with every violation listed.

use engine::qms::rules::{RuleSet, check};

/// `(rule, point)` pairs for a series around centre 0 with sigma 1.
fn flags(set: RuleSet, points: &[f64]) -> Vec<(u8, usize)> {
    check(set, points, 0.0, &vec![1.0; points.len()]).iter().map(|v| (v.rule, v.point)).collect()
}

fn repeat(pattern: &[f64], len: usize) -> Vec<f64> {
    pattern.iter().copied().cycle().take(len).collect()
}

#[test]
fn nelson_rules_one_by_one() {
    use RuleSet::Nelson;
    // 1: beyond 3 sigma, either side.
    assert_eq!(flags(Nelson, &[0.0, 0.5, 3.5, -0.5, -3.2]), vec![(1, 2), (1, 4)]);
    // 2: nine on one side (0.5, 0.6 so that neither a trend nor zone C run interferes).
    let nine = repeat(&[0.5, 0.6, 0.6, 0.5], 9);
    assert_eq!(flags(Nelson, &nine), vec![(2, 8)]);
    assert_eq!(flags(Nelson, &nine[..8]), vec![]);
    // 3: six in a row increasing; five are not enough.
    assert_eq!(flags(Nelson, &[-0.5, -0.3, -0.1, 0.1, 0.3, 0.5]), vec![(3, 5)]);
    assert_eq!(flags(Nelson, &[0.5, 0.3, 0.1, -0.1, -0.3, -0.5, -0.7]), vec![(3, 5), (3, 6)]);
    assert_eq!(flags(Nelson, &[-0.5, -0.3, -0.1, 0.1, 0.3]), vec![]);
    // 4: fourteen alternating; thirteen are not enough.
    let zigzag = repeat(&[0.5, -0.5], 14);
    assert_eq!(flags(Nelson, &zigzag), vec![(4, 13)]);
    assert_eq!(flags(Nelson, &zigzag[..13]), vec![]);
    // 5: two of three beyond 2 sigma on the same side; opposite sides do not count.
    assert_eq!(flags(Nelson, &[2.5, 0.0, 2.2]), vec![(5, 2)]);
    assert_eq!(flags(Nelson, &[2.5, 0.0, -2.2]), vec![]);
    // 6: four of five beyond 1 sigma on one side.
    assert_eq!(flags(Nelson, &[1.5, 1.2, 0.0, 1.4, 1.1]), vec![(6, 4)]);
    assert_eq!(flags(Nelson, &[1.5, 1.2, 0.0, -1.4, 1.1]), vec![]);
    // 7: fifteen within 1 sigma (equal neighbours keep trends and zigzags away).
    let hugging = repeat(&[0.5, 0.5, -0.5, -0.5], 15);
    assert_eq!(flags(Nelson, &hugging), vec![(7, 14)]);
    assert_eq!(flags(Nelson, &hugging[..14]), vec![]);
    // 8: eight beyond 1 sigma on both sides, none in zone C.
    let mixture = repeat(&[1.5, 1.5, -1.5, -1.5], 8);
    assert_eq!(flags(Nelson, &mixture), vec![(8, 7)]);
    assert_eq!(flags(Nelson, &mixture[..7]), vec![]);
}

#[test]
fn western_electric_rules_one_by_one() {
    use RuleSet::WesternElectric as We;
    assert_eq!(flags(We, &[0.0, 3.1]), vec![(1, 1)]);
    assert_eq!(flags(We, &[-2.5, -2.1]), vec![(2, 1)]);
    assert_eq!(flags(We, &[-1.5, -1.2, 0.0, -1.4, -1.1]), vec![(3, 4)]);
    // The handbook's run is eight (Nelson's is nine).
    let eight = repeat(&[0.5, 0.6, 0.6, 0.5], 8);
    assert_eq!(flags(We, &eight), vec![(4, 7)]);
    assert_eq!(flags(RuleSet::Nelson, &eight), vec![]);
}

#[test]
fn varying_limits_use_each_points_own_sigma() {
    // The same distance from the centre is beyond 3 sigma for a large sample (sigma 0.1)
    // and well inside for a small one (sigma 1).
    let found = check(RuleSet::Nelson, &[0.5, 0.5], 0.0, &[1.0, 0.1]);
    assert_eq!(found.iter().map(|v| (v.rule, v.point)).collect::<Vec<_>>(), vec![(1, 1)]);
}

#[test]
fn a_chart_flags_its_own_points() {
    use engine::qms::spc::{self, Constants};
    let mut values = vec![10.0, 10.2, 9.9, 10.1, 9.8, 10.0, 10.1, 9.9];
    values.push(14.0);
    let chart = spc::imr(&values, Constants::Exact).unwrap().location.flag(RuleSet::Nelson);
    assert!(chart.violations.iter().any(|v| v.rule == 1 && v.point == 8), "{:?}", chart.violations);
}
