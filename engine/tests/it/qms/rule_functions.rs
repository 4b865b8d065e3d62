//! `aql_plan`, `aql_accept`, `cpk` and friends as rules call them.

use engine::rules::{RuleErrorKind, Sandbox, to_json};
use serde_json::{Value, json};

fn run(source: &str) -> Result<Value, RuleErrorKind> {
    let sandbox = Sandbox::default();
    let rule = sandbox.compile("qms.rule", source, &[]).map_err(|e| e.kind)?;
    sandbox.eval(&rule, vec![]).map(|v| to_json(&v)).map_err(|e| e.kind)
}

#[test]
fn aql_plan_from_a_rule() {
    let plan = run(r#"aql_plan(500, "II", "1.0")"#).unwrap();
    assert_eq!(plan["code_letter"], json!("H"));
    assert_eq!((plan["n"].clone(), plan["ac"].clone(), plan["re"].clone()), (json!(50), json!(1), json!(2)));
    // A number works as the AQL; severity and edition can be given.
    let plan = run(r#"aql_plan(2000, "II", 1.0, "reduced", "z1.4")"#).unwrap();
    assert_eq!((plan["n"].clone(), plan["ac"].clone(), plan["re"].clone()), (json!(50), json!(1), json!(4)));
    assert_eq!(run(r#"let p = aql_plan(500, "II", "1.0"); aql_accept(p, 1)"#).unwrap(), json!(true));
    assert_eq!(run(r#"let p = aql_plan(500, "II", "1.0"); aql_accept(p, 2)"#).unwrap(), json!(false));
    assert_eq!(run(r#"aql_plan(8, "II", "0.65").inspect_100_percent"#).unwrap(), json!(true));
}

#[test]
fn bad_arguments_are_rule_errors_that_say_what_is_wrong() {
    for (source, needle) in [
        (r#"aql_plan(500, "IV", "1.0")"#, "inspection level"),
        (r#"aql_plan(500, "II", "0.3")"#, "not a preferred value"),
        (r#"aql_plan(-5, "II", "1.0")"#, "lot size"),
        (r#"aql_plan(500, "II", "1.0", "strict", "iso")"#, "severity"),
        (r#"cpk([1.0, 2.0, 3.0], (), ())"#, "specification"),
        (r#"cpk([1.0, "x"], 0.0, 5.0)"#, "not a number"),
    ] {
        match run(source) {
            Err(RuleErrorKind::Runtime { message }) => assert!(message.contains(needle), "{source}: {message}"),
            other => panic!("{source}: expected a runtime error, got {other:?}"),
        }
    }
}

#[test]
fn capability_from_a_rule() {
    // Values 10, 12, 11, 13, 12: MRbar 1.5, sigma within 1.5 / 1.128379, mean 11.6.
    let cpk = run("cpk([10, 12, 11, 13, 12], 5.0, 17.0)").unwrap().as_f64().unwrap();
    // d2 for n = 2 is exactly 2 / sqrt(pi) = 1.128379.
    let sigma = 1.5 / std::f64::consts::FRAC_2_SQRT_PI;
    // The upper side is nearer: Cpk = (USL - mean) / 3 sigma.
    assert!((cpk - (17.0 - 11.6) / (3.0 * sigma)).abs() < 1e-5, "{cpk}");
    let cp = run("cp([10, 12, 11, 13, 12], 5.0, 17.0)").unwrap().as_f64().unwrap();
    assert!((cp - 12.0 / (6.0 * sigma)).abs() < 1e-5, "{cp}");
    // One-sided: Cp is undefined, Cpk is the upper index.
    assert_eq!(run("cp([10, 12, 11, 13, 12], (), 17.0)").unwrap(), Value::Null);
    assert!(run("ppk([10, 12, 11, 13, 12], (), 17.0)").unwrap().as_f64().unwrap() > 0.0);
    assert_eq!(run("mean([1, 2, 3])").unwrap(), json!(2.0));
    assert_eq!(run("stdev([2, 4, 4, 4, 5, 5, 7, 9])").unwrap().as_f64().unwrap(), (32.0f64 / 7.0).sqrt());
}

#[test]
fn scorecard_from_a_rule() {
    let source = r#"scorecard(#{pass: 98.0, ppm: 1000, days: ()},
        [#{key: "pass", weight: 60, best: 100.0, worst: 90.0}, #{key: "ppm", weight: 40, best: 0, worst: 5000}, #{key: "days", weight: 10, best: 1, worst: 11}],
        [#{grade: "A", min: 90}, #{grade: "B", min: 80}, #{grade: "C", min: 70}, #{grade: "D", min: 0}])"#;
    // pass 98 -> 80 points, ppm 1000 -> 80; no 8D data: its weight is left out.
    assert_eq!(run(source).unwrap(), json!({"score": 80.0, "grade": "B"}));
    match run(r#"scorecard(#{}, [#{key: "x"}], [])"#) {
        Err(RuleErrorKind::Runtime { message }) => assert!(message.contains("numeric weight"), "{message}"),
        other => panic!("{other:?}"),
    }
}
