//! Sampling plans: the reference's worked examples, Table I for every level, arrows followed
//! both ways (checked against an independent walk over the printed cells), 100 % inspection,
//! both editions and all three severities.

use engine::qms::aql::{self, Arrow, Decision, Edition, Level, Query, Severity};
use serde_json::Value;

fn query(lot_size: u64, level: Level, aql: &str, severity: Severity, edition: Edition) -> Query {
    Query { lot_size, level, aql: aql.into(), severity, edition }
}

/// `(n, ac, re)` of a plan.
fn check(q: Query, expected: (u32, u32, u32)) {
    let plan = aql::plan(&q).unwrap_or_else(|e| panic!("{q:?}: {e}"));
    assert_eq!((plan.n, plan.ac, plan.re), expected, "{q:?}");
}

#[test]
fn the_worked_examples_of_the_reference() {
    let examples: Value = serde_json::from_str(include_str!("../../../data/aql_examples.json")).unwrap();
    let examples = examples["examples_normal"].as_array().unwrap();
    assert!(examples.len() >= 4);
    for e in examples {
        for edition in [Edition::Z14, Edition::Iso2859] {
            let q = query(
                e["lot_size"].as_u64().unwrap(),
                Level::parse(e["inspection_level"].as_str().unwrap()).unwrap(),
                e["aql"].as_str().unwrap(),
                Severity::parse(e["severity"].as_str().unwrap()).unwrap(),
                edition,
            );
            let plan = aql::plan(&q).unwrap();
            assert_eq!(plan.code_letter, e["code_letter"].as_str().unwrap(), "{e}");
            assert_eq!(plan.plan_letter, e["plan_letter"].as_str().unwrap(), "{e}");
            assert_eq!(u64::from(plan.n), e["n"].as_u64().unwrap(), "{e}");
            assert_eq!(u64::from(plan.ac), e["ac"].as_u64().unwrap(), "{e}");
            assert_eq!(u64::from(plan.re), e["re"].as_u64().unwrap(), "{e}");
            assert_eq!(plan.inspect_100_percent, e["inspect_100_percent"].as_bool().unwrap(), "{e}");
            assert_eq!(plan.n_to_inspect, e["n_to_inspect"].as_u64().unwrap(), "{e}");
            let arrow = match e["cell"].as_str().unwrap() {
                "arrow up" => Some(Arrow::Up),
                "arrow down" => Some(Arrow::Down),
                _ => None,
            };
            assert_eq!(plan.arrow, arrow, "{e}");
        }
    }
}

#[test]
fn table_one_gives_the_code_letter_for_every_level() {
    // Lot 1,000 (501-1,200) and lot 10,000 (3,201-10,000), as printed in Table I.
    let cases = [
        (1_000, ["C", "C", "E", "F", "G", "J", "K"]),
        (10_000, ["C", "D", "F", "G", "J", "L", "M"]),
        (2, ["A", "A", "A", "A", "A", "A", "B"]),
        (1_000_000, ["D", "E", "H", "K", "N", "Q", "R"]),
    ];
    for (lot, letters) in cases {
        for (level, letter) in Level::ALL.into_iter().zip(letters) {
            assert_eq!(aql::code_letter(lot, level).unwrap(), letter, "lot {lot} level {}", level.as_str());
        }
    }
    assert_eq!(aql::code_letter(1, Level::II).unwrap_err().code, "lot_size_out_of_range");
}

#[test]
fn arrows_are_followed_both_ways_and_special_levels_work() {
    use Edition::*;
    use Severity::*;
    // Arrow up: lot 100 (F) at AQL 1.0 uses E's plan; arrow down: lot 10 (B) at 0.10 uses K's.
    check(query(100, Level::II, "1.0", Normal, Iso2859), (13, 0, 1));
    check(query(10, Level::II, "0.10", Normal, Z14), (125, 0, 1));
    // Special level S-2, lot 1,000 -> C (n 5); at AQL 4.0 the cell points up to B (3, 0/1).
    let plan = aql::plan(&query(1_000, Level::S2, "4.0", Normal, Iso2859)).unwrap();
    assert_eq!((plan.code_letter.as_str(), plan.arrow, plan.n, plan.ac, plan.re), ("C", Some(Arrow::Up), 3, 0, 1));
    // An AQL above 10 is in nonconformities per 100 units and allowed: lot 50 (D) at 65 is 8 -> 10/11.
    check(query(50, Level::II, "65", Normal, Iso2859), (8, 10, 11));
    // Written as a number or without trailing zero, the AQL finds its column.
    check(query(500, Level::II, "1", Normal, Iso2859), (50, 1, 2));
    check(query(500, Level::II, "0.1", Normal, Iso2859), (125, 0, 1));
    assert_eq!(aql::plan(&query(500, Level::II, "0.3", Normal, Iso2859)).unwrap_err().code, "unknown_aql");
    assert_eq!(aql::plan(&query(500, Level::II, "abc", Normal, Iso2859)).unwrap_err().code, "unknown_aql");
}

#[test]
fn tightened_and_reduced_and_the_two_editions() {
    use Edition::*;
    use Severity::*;
    // Lot 1,000 at level II is J: normal 80 2/3, tightened 80 1/2.
    check(query(1_000, Level::II, "1.0", Normal, Z14), (80, 2, 3));
    check(query(1_000, Level::II, "1.0", Tightened, Z14), (80, 1, 2));
    check(query(1_000, Level::II, "1.0", Tightened, Iso2859), (80, 1, 2));
    // Reduced K at 1.0: Z1.4 prints 50 1/4 (the gap Ac < d < Re reinstates normal),
    // ISO 2859-1 uses Re = Ac + 1 throughout.
    check(query(2_000, Level::II, "1.0", Reduced, Z14), (50, 1, 4));
    check(query(2_000, Level::II, "1.0", Reduced, Iso2859), (50, 2, 3));
    // The one tightened cell where the editions differ: letter A at AQL 10.
    check(query(2, Level::II, "10", Tightened, Z14), (8, 1, 2));
    check(query(2, Level::II, "10", Tightened, Iso2859), (2, 0, 1));
    // Decisions, including the Z1.4 reduced gap.
    let plan = aql::plan(&query(2_000, Level::II, "1.0", Reduced, Z14)).unwrap();
    assert_eq!(
        [0, 1, 2, 3, 4, 9].map(|d| plan.decide(d)),
        [
            Decision::Accept,
            Decision::Accept,
            Decision::AcceptReinstateNormal,
            Decision::AcceptReinstateNormal,
            Decision::Reject,
            Decision::Reject
        ]
    );
}

#[test]
fn a_sample_as_large_as_the_lot_means_every_unit() {
    // Lot 8 at level II is A (n 2); at AQL 0.65 the arrow leads down to n = 20 > 8.
    let plan = aql::plan(&query(8, Level::II, "0.65", Severity::Normal, Edition::Iso2859)).unwrap();
    assert!(plan.inspect_100_percent);
    assert_eq!((plan.n, plan.n_to_inspect), (20, 8));
    let plan = aql::plan(&query(3, Level::II, "6.5", Severity::Normal, Edition::Iso2859)).unwrap();
    assert_eq!((plan.n, plan.n_to_inspect, plan.inspect_100_percent), (2, 2, false));
}

/// For every lot-size band, level, AQL, severity and edition, the plan equals what walking
/// the arrows over the printed Ac/Re cells of the raw table gives: up means the nearest
/// printed cell above in the same column, down the nearest below.
#[test]
fn every_plan_matches_an_independent_walk_over_the_printed_cells() {
    let raw: Value = serde_json::from_str(include_str!("../../../data/aql_z14.json")).unwrap();
    let lots: Vec<u64> = raw["table_I_code_letters"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["lot_min"].as_u64().unwrap())
        .collect();
    let resolved = |cell: &Value| {
        let r = &cell["resolved"];
        (r["n"].as_u64().unwrap(), r["ac"].as_u64().unwrap(), r["re"].as_u64().unwrap())
    };
    let mut checked = 0;
    let mut noted = 0;
    for (edition, key) in
        [(Edition::Z14, "ansi_asq_z1_4__mil_std_105e"), (Edition::Iso2859, "iso_2859_1_1999__gb_t_2828_1_2012")]
    {
        for severity in Severity::ALL {
            let table = &raw["tables"][key][severity.as_str()];
            let sizes = &raw["sample_size_by_letter"][severity.as_str()];
            let letters: Vec<&str> = sizes.as_object().unwrap().keys().map(String::as_str).collect();
            let mut letters = letters;
            letters.sort_by_key(|l| sizes[*l].as_u64().unwrap() * 100 + u64::from(l.as_bytes()[0]));
            for aql_value in raw["aql_values"].as_array().unwrap() {
                let aql_text = aql_value.as_str().unwrap();
                for &lot in &lots {
                    for level in Level::ALL {
                        let start = aql::code_letter(lot, level).unwrap();
                        let mut i = letters.iter().position(|l| *l == start).unwrap();
                        let found = loop {
                            let cell = &table[letters[i]][aql_text];
                            if let (Some(ac), Some(re)) = (cell["ac"].as_u64(), cell["re"].as_u64()) {
                                break (sizes[letters[i]].as_u64().unwrap(), ac, re);
                            }
                            if cell.get("note").is_some() {
                                // Z1.4 reduced rows A-C share n = 2 and the plan, printed
                                // in one of them: nothing to walk.
                                noted += 1;
                                break resolved(cell);
                            }
                            match cell["arrow"].as_str() {
                                Some("down") => i += 1,
                                Some("up") => i -= 1,
                                other => panic!(
                                    "{key} {severity:?} {} {aql_text}: no plan and no arrow ({other:?})",
                                    letters[i]
                                ),
                            }
                        };
                        let plan = aql::plan(&query(lot, level, aql_text, severity, edition)).unwrap();
                        assert_eq!(
                            (u64::from(plan.n), u64::from(plan.ac), u64::from(plan.re)),
                            found,
                            "{key} {severity:?} lot {lot} {level:?} {aql_text}"
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 2 * 3 * 26 * 15 * 7);
    assert!(noted < checked / 20, "{noted} of {checked} plans could not be walked");
}
