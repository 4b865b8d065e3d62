//! The switching rules, driven by lot histories.

use engine::qms::aql::{Edition, Severity};
use engine::qms::switching::{Lot, Policy, State, replay, step};

/// A lot under a plan with Ac 1 / Re 2.
fn lot(defects: u32) -> Lot {
    Lot { defects, ac: 1, re: 2, tighter_ac: None, irregular: false, resumed: false }
}

const A: u32 = 0;
const R: u32 = 5;

fn history(defects: &[u32]) -> Vec<Lot> {
    defects.iter().map(|d| lot(*d)).collect()
}

fn check(policy: Policy, defects: &[u32], expected: Severity) -> State {
    let state = replay(policy, &history(defects));
    assert_eq!(state.severity, expected, "{defects:?} under {policy:?}");
    state
}

const ISO: Policy = Policy { edition: Edition::Iso2859, reduced_allowed: true };
const Z14: Policy = Policy { edition: Edition::Z14, reduced_allowed: true };

#[test]
fn normal_to_tightened_on_two_rejections_within_five_lots() {
    check(ISO, &[R, A, A, A, R], Severity::Tightened);
    check(ISO, &[R, R], Severity::Tightened);
    check(ISO, &[R, A, A, A, A, R], Severity::Normal);
    check(Z14, &[A, R, A, R], Severity::Tightened);
}

#[test]
fn tightened_back_to_normal_after_five_accepted() {
    check(ISO, &[R, R, A, A, A, A], Severity::Tightened);
    check(ISO, &[R, R, A, A, A, A, A], Severity::Normal);
    // A rejection restarts the count.
    check(ISO, &[R, R, A, A, A, A, R, A, A, A, A], Severity::Tightened);
}

#[test]
fn five_rejections_on_tightened_discontinue_until_resumed() {
    let state = check(ISO, &[R, R, R, A, R, A, R, R, R], Severity::Tightened);
    assert!(state.discontinued);
    assert_eq!(state.rejected_on_tightened, 5);
    // Further lots change nothing until inspection resumes, on tightened inspection.
    let still = step(ISO, state.clone(), &lot(A));
    assert_eq!(still, state);
    let resumed = step(ISO, state, &Lot { resumed: true, ..lot(A) });
    assert!(!resumed.discontinued);
    assert_eq!(
        (resumed.severity, resumed.consecutive_accepted, resumed.rejected_on_tightened),
        (Severity::Tightened, 1, 0)
    );
}

#[test]
fn z14_reduces_after_ten_accepted_lots_when_allowed() {
    check(Z14, &[A; 9], Severity::Normal);
    check(Z14, &[A; 10], Severity::Reduced);
    check(Policy { reduced_allowed: false, ..Z14 }, &[A; 30], Severity::Normal);
    let mut irregular = history(&[A; 10]);
    irregular[9].irregular = true;
    assert_eq!(replay(Z14, &irregular).severity, Severity::Normal);
}

#[test]
fn iso_switching_score() {
    // Ac 0 or 1: +2 per accepted lot; 30 needs 15 lots.
    let state = check(ISO, &[A; 14], Severity::Normal);
    assert_eq!(state.switching_score, 28);
    check(ISO, &[A; 15], Severity::Reduced);
    // Ac >= 2: +3 only if the lot passes one AQL step tighter, otherwise back to 0.
    let wide = |defects: u32| Lot { defects, ac: 3, re: 4, tighter_ac: Some(2), irregular: false, resumed: false };
    let passes_tighter: Vec<Lot> = (0..9).map(|_| wide(2)).collect();
    assert_eq!(replay(ISO, &passes_tighter).switching_score, 27);
    let mut lots = passes_tighter.clone();
    lots.push(wide(3)); // accepted, but not one step tighter
    assert_eq!(replay(ISO, &lots).switching_score, 0);
    let mut lots = passes_tighter;
    lots.push(wide(1));
    assert_eq!(replay(ISO, &lots).severity, Severity::Reduced);
    // Without the authority's approval nothing is reduced.
    check(Policy { reduced_allowed: false, ..ISO }, &[A; 40], Severity::Normal);
}

#[test]
fn reduced_back_to_normal() {
    let reduced = check(ISO, &[A; 15], Severity::Reduced);
    assert_eq!(step(ISO, reduced.clone(), &lot(R)).severity, Severity::Normal);
    assert_eq!(step(ISO, reduced.clone(), &lot(A)).severity, Severity::Reduced);
    assert_eq!(step(ISO, reduced, &Lot { irregular: true, ..lot(A) }).severity, Severity::Normal);
    // Z1.4's reduced gap: accepted with Ac < d < Re reinstates normal inspection.
    let reduced = check(Z14, &[A; 10], Severity::Reduced);
    let gap = Lot { defects: 2, ac: 1, re: 4, tighter_ac: None, irregular: false, resumed: false };
    assert_eq!(step(Z14, reduced, &gap).severity, Severity::Normal);
}
