//! The rule fast path: which rules take it, and that it always agrees with rhai.

use engine::rules::Sandbox;
use proptest::prelude::*;
use serde_json::{Value, json};

const VARIABLES: &[&str] = &["a", "b", "c", "m", "rows"];

type Answers = (Result<Value, String>, Result<Value, String>, bool);

fn eval_both(source: &str, values: &Value) -> Option<Answers> {
    let sandbox = Sandbox::default();
    let rule = sandbox.compile("fast.test", source, VARIABLES).ok()?;
    let lookup = |i: usize| values.get(VARIABLES[i]);
    let fast = sandbox.eval_json(&rule, &lookup).map_err(|e| e.to_string());
    let slow = sandbox.eval_json_with_rhai(&rule, &lookup).map_err(|e| e.to_string());
    Some((fast, slow, rule.has_fast_path()))
}

#[test]
fn common_rules_take_the_fast_path() {
    let sandbox = Sandbox::default();
    let fast = [
        "result == \"reject\"",
        "defects > 0",
        "defects <= ac && !urgent",
        "if defects > ac || ng > 0 { \"reject\" } else { \"accept\" }",
        "if a < 3 { a } else if a < 10 { 10 } else { 100 }",
        "type_of(measure) == \"map\" && measure.result == \"ng\"",
        "count_where(items, \"item_result\", \"ng\")",
        "sum_of(items, \"qty\") * 1.5 - (a % 7)",
        "parent.sample_size",
        "-a + 1_000",
        "()",
    ];
    let names = ["result", "defects", "ac", "urgent", "ng", "a", "measure", "items", "parent"];
    for source in fast {
        let rule = sandbox.compile("r", source, &names).unwrap();
        assert!(rule.has_fast_path(), "{source} should take the fast path");
    }
    let slow = [
        "let x = a; x",
        "a.len()",
        "items[0]",
        "for r in items { } 1",
        "a ?? 1",
        "`${a}`",
        "max(a, 1)",
        "a ** 2",
        "1e3",
        "0x10",
        "a // comment",
        "items.filter(|r| r.ok).len()",
        "a; a",
    ];
    for source in slow {
        let rule = sandbox.compile("r", source, &names).unwrap();
        assert!(!rule.has_fast_path(), "{source} should be left to rhai");
    }
}

#[test]
fn specialised_comparisons_are_rewritten() {
    use engine::rules::fast::{Expr, Op, Place, parse};
    let vars = ["method", "measure", "defects"];
    let check = |source: &str, expected: Expr| assert_eq!(parse(source, &vars), Some(expected), "{source}");
    check("method != \"visual\"", Expr::StrCmp(Place::Var(0), true, "visual".into()));
    check("measure.result == \"ng\"", Expr::StrCmp(Place::Member(1, "result".into()), false, "ng".into()));
    check("type_of(measure) == \"map\"", Expr::TypeIs(Place::Var(1), false, "map".into()));
    check("defects > 0", Expr::IntCmp(Op::Gt, Place::Var(2), 0));
    // Other shapes stay general.
    check("\"ng\" == method", Expr::Bin(Op::Eq, Box::new(Expr::Str("ng".into())), Box::new(Expr::Var(0))));
    check("defects + 1", Expr::Bin(Op::Add, Box::new(Expr::Var(2)), Box::new(Expr::Int(1))));
}

#[test]
fn fast_and_rhai_agree_on_edge_cases() {
    let values = json!({
        "a": 9223372036854775807_i64, "b": 0, "c": 2.5, "m": {"x": 1, "s": "文"},
        "rows": [{"k": 1}, {"k": 2.0}, {"k": "1"}, {"j": 1}, 7]
    });
    let cases = [
        "a + 1",
        "a * 2",
        "-a - 2",
        "a / b",
        "a % b",
        "c / 0.0",
        "c % 0.0",
        "1 / 2",
        "-7 / 2",
        "-7 % 3",
        "a == c",
        "1 == 1.0",
        "1 == \"1\"",
        "() == ()",
        "() == 0",
        "true == 1",
        "\"a\" < \"b\"",
        "\"b\" < \"a\"",
        "m.x",
        "m.nope",
        "m.s + \"x\"",
        "c.x",
        "!a",
        "a && true",
        "false && a",
        "true || a",
        "if a { 1 } else { 2 }",
        "if b == 0 { 1 }",
        "type_of(m)",
        "type_of(rows)",
        "type_of(c)",
        "type_of(())",
        "type_of(\"\")",
        "count_where(rows, \"k\", 1)",
        "count_where(rows, \"k\", \"1\")",
        "count_where(rows, \"j\", ())",
        "count_where(a, \"k\", 1)",
        "sum_of(rows, \"k\")",
        "sum_of(rows, \"j\")",
        "sum_of(rows, \"zz\")",
        "1.5 + 1",
        "0.1 + 0.2",
        "2 > 1.5",
        "c >= 2.5",
        "m",
        "rows",
        // The specialised comparisons (see `specialised_comparisons_are_rewritten`).
        "type_of(m) == \"map\"",
        "type_of(m.x) != \"i64\"",
        "type_of(m.nope) == \"()\"",
        "type_of(c.x) == \"map\"",
        "m.s == \"文\"",
        "m.nope != \"a\"",
        "m.x == \"1\"",
        "c.x == \"a\"",
        "b != \"0\"",
        "a > 3",
        "a >= 9223372036854775807",
        "c > 2",
        "c == 2",
        "m.x < 2",
        "m.nope > 0",
        "m.s <= 1",
        "b == 0",
    ];
    for source in cases {
        let (fast, slow, _) = eval_both(source, &values).unwrap_or_else(|| panic!("{source} does not compile"));
        assert_eq!(fast, slow, "{source}");
    }
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        (0i64..20).prop_map(|i| i.to_string()),
        Just("9223372036854775807".to_owned()),
        prop::sample::select(vec!["0.5", "1.5", "2.0", "0.1", "100.25"]).prop_map(str::to_owned),
        prop::sample::select(vec!["\"a\"", "\"b\"", "\"ng\"", "\"\"", "\"文本\"", "\"map\"", "\"i64\"", "\"()\""])
            .prop_map(str::to_owned),
        Just("true".to_owned()),
        Just("false".to_owned()),
        Just("()".to_owned()),
        prop::sample::select(vec!["a", "b", "c", "m", "rows", "m.x", "m.y", "m.s"]).prop_map(str::to_owned),
    ]
}

fn expression() -> impl Strategy<Value = String> {
    literal().prop_recursive(5, 40, 3, |inner| {
        let ops = prop::sample::select(vec!["+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||"]);
        prop_oneof![
            (inner.clone(), ops.clone(), inner.clone()).prop_map(|(l, op, r)| format!("({l} {op} {r})")),
            (inner.clone(), ops, inner.clone()).prop_map(|(l, op, r)| format!("{l} {op} {r}")),
            inner.clone().prop_map(|e| format!("!{e}")),
            inner.clone().prop_map(|e| format!("-{e}")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, t, e)| format!("if {c} {{ {t} }} else {{ {e} }}")),
            inner.clone().prop_map(|e| format!("type_of({e})")),
            (prop::sample::select(vec!["\"k\"", "\"j\""]), inner.clone())
                .prop_map(|(f, e)| format!("count_where(rows, {f}, {e})")),
            prop::sample::select(vec!["\"k\"", "\"j\""]).prop_map(|f| format!("sum_of(rows, {f})")),
        ]
    })
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..5).prop_map(Value::from),
        prop_oneof![Just(i64::MAX), Just(i64::MIN)].prop_map(Value::from),
        prop::sample::select(vec![0.0, 0.5, -1.5, 2.0, 1e300]).prop_map(Value::from),
        prop::sample::select(vec!["a", "ng", "", "文本"]).prop_map(Value::from),
    ]
}

fn values() -> impl Strategy<Value = Value> {
    let row = (scalar(), scalar()).prop_map(|(k, j)| json!({"k": k, "j": j}));
    (scalar(), scalar(), scalar(), scalar(), scalar(), prop::collection::vec(row, 0..4))
        .prop_map(|(a, b, c, x, s, rows)| json!({"a": a, "b": b, "c": c, "m": {"x": x, "s": s}, "rows": rows}))
}

/// 2,000 cases by default; `FORMWORK_PROPTEST_CASES` raises it for a deeper search.
fn cases() -> u32 {
    std::env::var("FORMWORK_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Whatever the expression and the values, the fast path answers exactly as rhai does.
    #[test]
    fn the_fast_path_agrees_with_rhai(source in expression(), values in values()) {
        if let Some((fast, slow, _)) = eval_both(&source, &values) {
            prop_assert_eq!(fast, slow, "{}", source);
        }
    }
}

/// Guards the property above against passing vacuously: most generated cases must really be
/// answered by the fast path rather than handed to rhai.
#[test]
fn the_agreement_property_exercises_the_fast_path() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut answered, mut total) = (0, 0);
    for _ in 0..500 {
        let source = expression().new_tree(&mut runner).unwrap().current();
        let values = values().new_tree(&mut runner).unwrap().current();
        let Some(expr) = engine::rules::fast::parse(&source, VARIABLES) else { continue };
        total += 1;
        let lookup = |i: usize| values.get(VARIABLES[i]);
        if engine::rules::fast::eval(&expr, &lookup).is_some() {
            answered += 1;
        }
    }
    assert!(total > 450, "only {total} of 500 generated expressions parse on the fast path");
    assert!(answered * 4 > total, "the fast path answered only {answered} of {total}");
}
