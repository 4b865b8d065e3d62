//! Switching between normal, tightened and reduced inspection, driven by a supplier-part's
//! lot history in the order the lots were inspected.
//!
//! Common to both editions: normal -> tightened when 2 of 5 or fewer consecutive lots are
//! not accepted; tightened -> normal after 5 consecutive accepted lots; 5 lots not accepted
//! in all while on tightened inspection discontinue inspection until the supplier has
//! improved (then it resumes on tightened); reduced -> normal when a lot is not accepted or
//! production is irregular. Normal -> reduced needs the responsible authority's approval
//! (`reduced_allowed`) and steady production, and then: Z1.4, 10 consecutive accepted lots
//! on normal inspection; ISO 2859-1, a switching score of at least 30 (clause 9.3.3.2:
//! +3 when Ac >= 2 and the lot would have been accepted one AQL step tighter, +2 when
//! Ac <= 1 and the lot is accepted, otherwise back to 0). Z1.4 also reinstates normal
//! inspection after a reduced lot accepted with Ac < d < Re.

use serde::{Deserialize, Serialize};

use super::aql::{Decision, Edition, Plan, Severity};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub edition: Edition,
    /// The responsible authority allows reduced inspection for this supplier-part.
    #[serde(default)]
    pub reduced_allowed: bool,
}

/// One inspected lot, as the switching rules see it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lot {
    /// Nonconforming items (or nonconformities) found in the sample.
    pub defects: u32,
    /// The plan the lot was inspected under.
    pub ac: u32,
    pub re: u32,
    /// Ac of the plan one AQL step tighter; needed for ISO's switching score when Ac >= 2.
    #[serde(default)]
    pub tighter_ac: Option<u32>,
    /// Production was irregular or delayed when this lot was made.
    #[serde(default)]
    pub irregular: bool,
    /// Inspection resumed with this lot after a discontinuation (the supplier's corrective
    /// action was accepted); ignored otherwise.
    #[serde(default)]
    pub resumed: bool,
}

impl Lot {
    pub fn from_plan(plan: &Plan, tighter: Option<&Plan>, defects: u32) -> Lot {
        Lot { defects, ac: plan.ac, re: plan.re, tighter_ac: tighter.map(|p| p.ac), irregular: false, resumed: false }
    }

    fn decision(&self) -> Decision {
        super::aql::decide(self.ac, self.re, self.defects)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub severity: Severity,
    /// Acceptance stopped (5 lots not accepted on tightened inspection) until `resume`.
    pub discontinued: bool,
    /// Consecutive accepted lots at the current severity.
    pub consecutive_accepted: u32,
    /// Results of the last (at most 5) lots on normal inspection, newest last.
    pub recent_normal: Vec<bool>,
    /// ISO 2859-1 switching score.
    pub switching_score: u32,
    /// Lots not accepted since tightened inspection began.
    pub rejected_on_tightened: u32,
}

impl Default for State {
    fn default() -> State {
        State {
            severity: Severity::Normal,
            discontinued: false,
            consecutive_accepted: 0,
            recent_normal: Vec::new(),
            switching_score: 0,
            rejected_on_tightened: 0,
        }
    }
}

impl State {
    fn switch_to(&mut self, severity: Severity) {
        *self = State { severity, ..State::default() };
    }

    /// The supplier has improved: inspection resumes, on tightened inspection.
    pub fn resume(&mut self) {
        self.switch_to(Severity::Tightened);
    }
}

/// The state after one more lot.
pub fn step(policy: Policy, mut state: State, lot: &Lot) -> State {
    if state.discontinued {
        if !lot.resumed {
            // No lot counts while acceptance is discontinued.
            return state;
        }
        state.resume();
    }
    let decision = lot.decision();
    let accepted = decision != Decision::Reject;
    match state.severity {
        Severity::Normal => {
            state.recent_normal.push(accepted);
            if state.recent_normal.len() > 5 {
                state.recent_normal.remove(0);
            }
            if state.recent_normal.iter().filter(|a| !**a).count() >= 2 {
                state.switch_to(Severity::Tightened);
                return state;
            }
            state.consecutive_accepted = if accepted { state.consecutive_accepted + 1 } else { 0 };
            state.switching_score = match (accepted, lot.ac >= 2) {
                (false, _) => 0,
                (true, false) => state.switching_score + 2,
                (true, true) => match lot.tighter_ac {
                    Some(ac) if lot.defects <= ac => state.switching_score + 3,
                    _ => 0,
                },
            };
            let earned = match policy.edition {
                Edition::Z14 => state.consecutive_accepted >= 10,
                Edition::Iso2859 => state.switching_score >= 30,
            };
            if policy.reduced_allowed && earned && !lot.irregular {
                state.switch_to(Severity::Reduced);
            }
        }
        Severity::Tightened => {
            if accepted {
                state.consecutive_accepted += 1;
                if state.consecutive_accepted >= 5 {
                    state.switch_to(Severity::Normal);
                }
            } else {
                state.consecutive_accepted = 0;
                state.rejected_on_tightened += 1;
                if state.rejected_on_tightened >= 5 {
                    state.discontinued = true;
                }
            }
        }
        Severity::Reduced => {
            let reinstate = match decision {
                Decision::Reject => true,
                Decision::AcceptReinstateNormal => policy.edition == Edition::Z14,
                Decision::Accept => lot.irregular,
            };
            if reinstate {
                state.switch_to(Severity::Normal);
            } else {
                state.consecutive_accepted += 1;
            }
        }
    }
    state
}

/// The state after a whole history, oldest lot first.
pub fn replay(policy: Policy, lots: &[Lot]) -> State {
    lots.iter().fold(State::default(), |state, lot| step(policy, state, lot))
}
