//! The sandbox: limits, no escape hatches, errors that name the rule and the limit.

use engine::rules::{Limits, RuleErrorKind, Sandbox, to_dynamic, to_json};
use rhai::Dynamic;
use serde_json::json;

fn run(source: &str) -> Result<serde_json::Value, RuleErrorKind> {
    let sandbox = Sandbox::default();
    let rule = sandbox.compile("test.rule", source, &["x"]).map_err(|e| e.kind)?;
    sandbox.eval(&rule, vec![("x", Dynamic::from_int(3))]).map(|v| to_json(&v)).map_err(|e| e.kind)
}

fn limit(source: &str) -> &'static str {
    match run(source) {
        Err(RuleErrorKind::LimitExceeded { limit, .. }) => limit,
        other => panic!("{source}: expected a limit error, got {other:?}"),
    }
}

#[test]
fn an_endless_loop_stops_at_the_operation_limit() {
    assert_eq!(limit("loop { }"), "max_operations");
    assert_eq!(limit("let i = 0; while true { i += 1; } i"), "max_operations");
}

#[test]
fn endless_recursion_stops_at_the_call_depth_limit() {
    assert_eq!(limit("fn down(n) { down(n + 1) } down(0)"), "max_call_levels");
}

#[test]
fn a_huge_string_stops_at_the_size_limit() {
    assert_eq!(limit("let s = \"x\"; loop { s += s; }"), "max_string_size");
    assert_eq!(limit("let a = []; loop { a.push(1); }"), "max_array_size");
    let sandbox = Sandbox::new(Limits { max_map_size: 50, ..Limits::default() });
    let growing = "let m = #{}; let i = 0; loop { m.mixin(#{ x: i }); m[`k${i}`] = i; i += 1; }";
    // Index assignment alone is not checked by rhai while the script runs; the result is.
    let returned = "let m = #{}; let i = 0; while i < 100 { m[`k${i}`] = i; i += 1; } m";
    for source in [growing, returned] {
        let rule = sandbox.compile("map", source, &[]).unwrap();
        let error = sandbox.eval(&rule, vec![]).unwrap_err();
        assert_eq!(error.kind, RuleErrorKind::LimitExceeded { limit: "max_map_size", value: 50 }, "{source}");
    }
}

#[test]
fn deep_expressions_are_refused_at_compile_time() {
    let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
    assert_eq!(limit(&deep), "max_expr_depth");
}

#[test]
fn errors_name_the_rule_and_the_limit() {
    let sandbox = Sandbox::new(Limits { max_operations: 500, ..Limits::default() });
    let rule = sandbox.compile("iqc.result.expr", "loop {}", &[]).unwrap();
    let error = sandbox.eval(&rule, vec![]).unwrap_err();
    assert_eq!(error.rule, "iqc.result.expr");
    assert_eq!(error.kind, RuleErrorKind::LimitExceeded { limit: "max_operations", value: 500 });
    assert_eq!(error.to_string(), "rule `iqc.result.expr`: exceeded the limit max_operations = 500");
}

#[test]
fn zero_limits_are_raised_rather_than_meaning_unlimited() {
    let sandbox = Sandbox::new(Limits { max_operations: 0, ..Limits::default() });
    assert_eq!(sandbox.limits().max_operations, 1);
    let rule = sandbox.compile("r", "loop {}", &[]).unwrap();
    assert!(matches!(sandbox.eval(&rule, vec![]).unwrap_err().kind, RuleErrorKind::LimitExceeded { .. }));
}

#[test]
fn no_escape_hatches() {
    assert!(matches!(run("eval(\"1\")"), Err(RuleErrorKind::Syntax { .. })));
    assert!(matches!(run("import \"fs\" as fs; 1"), Err(RuleErrorKind::Syntax { .. })));
    // No clock: `timestamp()` does not exist under `no_time`.
    assert!(matches!(run("timestamp()"), Err(RuleErrorKind::Runtime { .. })));
    // print and debug go nowhere and do not fail.
    assert_eq!(run("print(\"hi\"); debug(1); x"), Ok(json!(3)));
    // Undeclared variables are compile errors (strict variables).
    assert_eq!(run("y + 1"), Err(RuleErrorKind::UnknownVariable { name: "y".into() }));
}

#[test]
fn decimals_and_mixed_arithmetic_work() {
    assert_eq!(run("1.5 * 2.0"), Ok(json!(3.0)));
    assert_eq!(run("x * 0.5"), Ok(json!(1.5)));
    assert_eq!(run("x / 2"), Ok(json!(1)));
    assert_eq!(run("9_000_000_000 + x"), Ok(json!(9_000_000_003_i64)));
    assert_eq!(run("#{ a: [1, 2.5, \"s\", true, ()] }"), Ok(json!({"a": [1, 2.5, "s", true, null]})));
}

#[test]
fn the_scope_is_fresh_for_every_run() {
    let sandbox = Sandbox::default();
    let rule = sandbox.compile("r", "let total = x; total += 1; total", &["x"]).unwrap();
    for _ in 0..3 {
        assert_eq!(sandbox.eval(&rule, vec![("x", Dynamic::from_int(1))]).unwrap().as_int().unwrap(), 2);
    }
}

#[test]
fn json_round_trips_through_rhai() {
    let value = json!({"n": 1, "f": 1.5, "s": "文本", "b": false, "a": [1, {"k": null}]});
    assert_eq!(to_json(&to_dynamic(&value)), json!({"n": 1, "f": 1.5, "s": "文本", "b": false, "a": [1, {"k": null}]}));
}

#[test]
fn references_are_found_lexically() {
    let names = |source: &str| -> Vec<String> {
        engine::rules::references(source)
            .into_iter()
            .map(|r| match r.member {
                Some(m) => format!("{}.{m}", r.name),
                None => r.name,
            })
            .collect()
    };
    assert_eq!(names("a + b.c * max(d, 2)"), vec!["a", "b.c", "d"]);
    assert_eq!(names("\"a + b\" + c // d\n + e /* f */"), vec!["c", "e"]);
    assert_eq!(names("`x ${ lot_size * 2 } y`"), vec!["lot_size"]);
    assert_eq!(names("if defects <= plan.ac { \"accept\" } else { \"reject\" }"), vec!["defects", "plan.ac"]);
    assert_eq!(names("parent.qty + 1.5e3 + items.len()"), vec!["parent.qty", "items.len"]);
    assert_eq!(names("for r in rows { r.n }"), vec!["r", "rows", "r.n"]);
    // Keys of a map literal read nothing; the values do.
    assert_eq!(names("#{ grade: \"A\", min: score, total : n }"), vec!["score", "n"]);
}

#[test]
fn long_flat_chains_are_refused_at_compile_time() {
    // Chains nest without parentheses. rhai counts their depth, so they are refused before
    // the fast path (which recurses as deep as the chain) ever parses them.
    let chains = [
        format!("x{}", " + x".repeat(20_000)),
        format!("{}true", "!".repeat(20_000)),
        format!("x{}", " == x".repeat(20_000)),
        format!("x > 0{}", " && x > 0".repeat(20_000)),
    ];
    for source in &chains {
        assert_eq!(limit(source), "max_expr_depth");
    }
}
