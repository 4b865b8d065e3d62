//! The rule sandbox: the one place that builds rhai engines (DESIGN §6).
//!
//! Every script a user writes — computed fields, `visible_if`, `required_if`, sample counts,
//! and later workflow conditions and actions — is compiled and run through a [`Sandbox`]. The
//! sandbox starts from `Engine::new_raw()` (no file module resolver, no stdout printing), adds
//! only the standard value packages, and bounds every resource rhai can bound. The crate is
//! built with rhai's `no_time` and `no_module` features, so scripts cannot read the clock or
//! import anything; `eval` is disabled as a symbol.
//!
//! A script is compiled once into a [`Rule`] and evaluated with a fresh scope each time.

pub mod effects;
pub mod fast;
mod helpers;
mod qms;
mod scan;

use std::fmt;

use rhai::{AST, Dynamic, Engine, EvalAltResult, ParseError, ParseErrorType, Scope};
use serde::Serialize;
use serde_json::Value;

pub use scan::{Reference, is_reserved, references};

/// Resource limits of a sandbox. Every field is set (rhai treats 0 as unlimited, so none of
/// these may be 0; [`Sandbox::new`] raises a 0 to 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Operations per evaluation; an endless loop stops here.
    pub max_operations: u64,
    /// Nested function calls; endless recursion stops here.
    pub max_call_levels: usize,
    /// Nesting depth of expressions at the top level and inside functions.
    pub max_expr_depth: usize,
    pub max_function_expr_depth: usize,
    /// Bytes of any string a script builds.
    pub max_string_size: usize,
    /// Elements of any array, entries of any map a script builds.
    pub max_array_size: usize,
    pub max_map_size: usize,
    /// Variables alive at once in a scope, and functions defined in one script.
    pub max_variables: usize,
    pub max_functions: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: 100_000,
            max_call_levels: 24,
            max_expr_depth: 64,
            max_function_expr_depth: 32,
            max_string_size: 64 * 1024,
            max_array_size: 10_000,
            max_map_size: 1_000,
            max_variables: 256,
            max_functions: 32,
        }
    }
}

/// A compiled script, ready to run many times.
#[derive(Clone, Debug)]
pub struct Rule {
    name: String,
    source: String,
    ast: AST,
    references: Vec<Reference>,
    /// The distinct variables the rule reads, as (position in the compile-time variable
    /// list, name): the rhai scope of a run holds exactly these.
    reads: Vec<(usize, String)>,
    fast: Option<fast::Expr>,
}

impl Rule {
    /// The name given at compile time, used in every error (e.g. `items.measure.samples`).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The free identifiers the script reads (see [`references`]).
    pub fn references(&self) -> &[Reference] {
        &self.references
    }

    /// Whether the rule is simple enough for the fast path (see [`fast`]).
    pub fn has_fast_path(&self) -> bool {
        self.fast.is_some()
    }

    /// Whether every variable the rule reads is at one of `positions` of the compile-time
    /// variable list. Rules are pure, so a rule that reads only what does not change gives
    /// the same answer every time.
    pub fn reads_only(&self, positions: std::ops::RangeFrom<usize>) -> bool {
        self.reads.iter().all(|(position, _)| positions.contains(position))
    }
}

/// Why a rule failed to compile or to run.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuleErrorKind {
    /// The source does not parse.
    Syntax { message: String, line: Option<usize>, column: Option<usize> },
    /// The script reads a variable that is not defined (strict variables mode).
    UnknownVariable { name: String },
    /// A sandbox limit was hit; `limit` names the [`Limits`] field.
    LimitExceeded { limit: &'static str, value: u64 },
    /// The script failed while running (wrong types, missing property, `throw`, ...).
    Runtime { message: String },
    /// The script ran but returned the wrong kind of value.
    WrongResultType { expected: &'static str, found: String },
}

/// A rule error names the rule it came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleError {
    pub rule: String,
    #[serde(flatten)]
    pub kind: RuleErrorKind,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule `{}`: ", self.rule)?;
        match &self.kind {
            RuleErrorKind::Syntax { message, line: Some(line), column: Some(column) } => {
                write!(f, "syntax error at line {line}, column {column}: {message}")
            }
            RuleErrorKind::Syntax { message, .. } => write!(f, "syntax error: {message}"),
            RuleErrorKind::UnknownVariable { name } => write!(f, "unknown variable `{name}`"),
            RuleErrorKind::LimitExceeded { limit, value } => write!(f, "exceeded the limit {limit} = {value}"),
            RuleErrorKind::Runtime { message } => write!(f, "{message}"),
            RuleErrorKind::WrongResultType { expected, found } => {
                write!(f, "returned {found}, expected {expected}")
            }
        }
    }
}

impl std::error::Error for RuleError {}

/// A configured rhai engine with every limit set. Cheap to share (`Send + Sync`).
pub struct Sandbox {
    engine: Engine,
    limits: Limits,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::new(Limits::default())
    }
}

impl Sandbox {
    /// The one constructor of rhai engines in Formwork.
    pub fn new(limits: Limits) -> Sandbox {
        let limits = Limits {
            max_operations: limits.max_operations.max(1),
            max_call_levels: limits.max_call_levels.max(1),
            max_expr_depth: limits.max_expr_depth.max(1),
            max_function_expr_depth: limits.max_function_expr_depth.max(1),
            max_string_size: limits.max_string_size.max(1),
            max_array_size: limits.max_array_size.max(1),
            max_map_size: limits.max_map_size.max(1),
            max_variables: limits.max_variables.max(1),
            max_functions: limits.max_functions.max(1),
        };
        let mut engine = Engine::new_raw();
        // Value packages only: strings, arrays, maps, maths, logic. Nothing that reaches the
        // outside exists in rhai under `no_time` + `no_module` except print/debug, silenced here.
        engine
            .register_global_module(rhai::packages::Package::as_shared_module(&rhai::packages::StandardPackage::new()));
        helpers::register(&mut engine);
        qms::register(&mut engine);
        effects::register(&mut engine);
        engine.on_print(|_| {});
        engine.on_debug(|_, _, _| {});
        engine.disable_symbol("eval");
        engine.set_strict_variables(true);
        engine.set_max_operations(limits.max_operations);
        engine.set_max_call_levels(limits.max_call_levels);
        engine.set_max_expr_depths(limits.max_expr_depth, limits.max_function_expr_depth);
        engine.set_max_string_size(limits.max_string_size);
        engine.set_max_array_size(limits.max_array_size);
        engine.set_max_map_size(limits.max_map_size);
        engine.set_max_variables(limits.max_variables);
        engine.set_max_functions(limits.max_functions);
        Sandbox { engine, limits }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Compiles `source` as the rule `name`. Only `variables` may be read (strict variables
    /// mode), so a reference to an unknown field fails here, not at run time.
    pub fn compile(&self, name: &str, source: &str, variables: &[&str]) -> Result<Rule, RuleError> {
        let mut scope = Scope::with_capacity(variables.len());
        for variable in variables {
            scope.push_dynamic(*variable, Dynamic::UNIT);
        }
        let ast = self
            .engine
            .compile_with_scope(&scope, source)
            .map_err(|error| RuleError { rule: name.to_owned(), kind: self.parse_error_kind(&error) })?;
        let references = references(source);
        let mut reads: Vec<(usize, String)> = Vec::new();
        for reference in &references {
            if let Some(position) = variables.iter().position(|v| *v == reference.name)
                && !reads.iter().any(|(p, _)| *p == position)
            {
                reads.push((position, reference.name.clone()));
            }
        }
        let fast = fast::parse(source, variables);
        Ok(Rule { name: name.to_owned(), source: source.to_owned(), ast, references, reads, fast })
    }

    /// Compiles a workflow action: like [`Sandbox::compile`], with `call(` meaning a connector
    /// call (see [`effects`]) and a marker function appended so that [`Sandbox::run_effects`]
    /// can hand the run its own effect list.
    pub fn compile_action(&self, name: &str, source: &str, variables: &[&str]) -> Result<Rule, RuleError> {
        let rewritten = effects::rewrite_calls(source);
        let mut rule = self.compile(name, &rewritten, variables)?;
        let marker = self
            .engine
            .compile(format!("fn {ACTION_MARKER}() {{ }}"))
            .map_err(|error| RuleError { rule: name.to_owned(), kind: self.parse_error_kind(&error) })?;
        rule.ast = rule.ast.merge(&marker);
        rule.source = source.to_owned();
        rule.fast = None;
        Ok(rule)
    }

    /// Runs an action compiled with [`Sandbox::compile_action`] and returns the effects it
    /// requested, in order. A failing run requests nothing.
    pub fn run_effects(&self, rule: &Rule, variables: Vec<(&str, Dynamic)>) -> Result<Vec<effects::Effect>, RuleError> {
        let mut scope = Scope::with_capacity(variables.len());
        for (name, value) in variables {
            scope.push_dynamic(name, value);
        }
        let list = Dynamic::from_array(Vec::new()).into_shared();
        let options = rhai::CallFnOptions::new().eval_ast(true).rewind_scope(true).with_tag(list.clone());
        let _: Dynamic = self
            .engine
            .call_fn_with_options::<Dynamic>(options, &mut scope, &rule.ast, ACTION_MARKER, ())
            .map_err(|error| RuleError { rule: rule.name.clone(), kind: self.eval_error_kind(&error) })?;
        let items = list.flatten_clone().into_array().unwrap_or_default();
        Ok(items.into_iter().filter_map(|item| item.try_cast::<effects::Effect>()).collect())
    }

    /// Runs `rule` with a fresh scope holding exactly `variables`.
    pub fn eval(&self, rule: &Rule, variables: Vec<(&str, Dynamic)>) -> Result<Dynamic, RuleError> {
        let mut scope = Scope::with_capacity(variables.len());
        for (name, value) in variables {
            scope.push_dynamic(name, value);
        }
        let value = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut scope, &rule.ast)
            .map_err(|error| RuleError { rule: rule.name.clone(), kind: self.eval_error_kind(&error) })?;
        // rhai checks sizes when values pass through functions, but not after an index
        // assignment (`m[k] = v` in a loop), so the result is measured once more here.
        self.check_size(&value).map_err(|kind| RuleError { rule: rule.name.clone(), kind })?;
        Ok(value)
    }

    fn check_size(&self, value: &Dynamic) -> Result<(), RuleErrorKind> {
        let limits = &self.limits;
        let exceeded = |limit, value: usize| Err(RuleErrorKind::LimitExceeded { limit, value: value as u64 });
        if value.is_string() {
            let length = value.clone().into_string().map_or(0, |s| s.len());
            if length > limits.max_string_size {
                return exceeded("max_string_size", limits.max_string_size);
            }
        } else if value.is_array() {
            let array = value.clone().into_array().unwrap_or_default();
            if array.len() > limits.max_array_size {
                return exceeded("max_array_size", limits.max_array_size);
            }
            array.iter().try_for_each(|item| self.check_size(item))?;
        } else if value.is_map() {
            let map = value.clone().cast::<rhai::Map>();
            if map.len() > limits.max_map_size {
                return exceeded("max_map_size", limits.max_map_size);
            }
            map.values().try_for_each(|item| self.check_size(item))?;
        }
        Ok(())
    }

    /// Runs `rule` on JSON values: the variable at position `i` of the list given to
    /// [`Sandbox::compile`] is `lookup(i)` (absent ones are `()`). Simple rules take the fast
    /// path; the rest, and every case the fast path does not model exactly, run through rhai.
    pub fn eval_json<'a>(
        &self,
        rule: &'a Rule,
        lookup: &impl Fn(usize) -> Option<&'a Value>,
    ) -> Result<Value, RuleError> {
        if let Some(expr) = &rule.fast
            && let Some(value) = fast::eval(expr, lookup)
            && !matches!(value, fast::V::Array(_) | fast::V::Map(_))
        {
            return Ok(value.into_json());
        }
        self.eval_json_with_rhai(rule, lookup)
    }

    /// Like [`Sandbox::eval_json`], always through rhai (the reference for the fast path).
    pub fn eval_json_with_rhai<'a>(
        &self,
        rule: &Rule,
        lookup: &dyn Fn(usize) -> Option<&'a Value>,
    ) -> Result<Value, RuleError> {
        let variables = rule
            .reads
            .iter()
            .map(|(position, name)| (name.as_str(), lookup(*position).map_or(Dynamic::UNIT, to_dynamic)));
        self.eval(rule, variables.collect()).map(|value| to_json(&value))
    }

    /// Runs a rule that must answer yes or no.
    pub fn eval_bool(&self, rule: &Rule, variables: Vec<(&str, Dynamic)>) -> Result<bool, RuleError> {
        let value = self.eval(rule, variables)?;
        value.as_bool().map_err(|found| RuleError {
            rule: rule.name.clone(),
            kind: RuleErrorKind::WrongResultType { expected: "bool", found: found.to_owned() },
        })
    }

    fn parse_error_kind(&self, error: &ParseError) -> RuleErrorKind {
        let limits = &self.limits;
        match error.err_type() {
            ParseErrorType::VariableUndefined(name) => RuleErrorKind::UnknownVariable { name: name.clone() },
            ParseErrorType::ExprTooDeep => {
                RuleErrorKind::LimitExceeded { limit: "max_expr_depth", value: limits.max_expr_depth as u64 }
            }
            ParseErrorType::TooManyFunctions => {
                RuleErrorKind::LimitExceeded { limit: "max_functions", value: limits.max_functions as u64 }
            }
            ParseErrorType::LiteralTooLarge(..) => {
                RuleErrorKind::LimitExceeded { limit: "max_string_size", value: limits.max_string_size as u64 }
            }
            other => {
                let position = error.position();
                RuleErrorKind::Syntax { message: other.to_string(), line: position.line(), column: position.position() }
            }
        }
    }

    fn eval_error_kind(&self, error: &EvalAltResult) -> RuleErrorKind {
        let limits = &self.limits;
        match error {
            // Errors raised inside a function call arrive wrapped; the cause is what matters.
            EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => self.eval_error_kind(inner),
            EvalAltResult::ErrorTooManyOperations(_) => {
                RuleErrorKind::LimitExceeded { limit: "max_operations", value: limits.max_operations }
            }
            EvalAltResult::ErrorStackOverflow(_) => {
                RuleErrorKind::LimitExceeded { limit: "max_call_levels", value: limits.max_call_levels as u64 }
            }
            EvalAltResult::ErrorTooManyVariables(_) => {
                RuleErrorKind::LimitExceeded { limit: "max_variables", value: limits.max_variables as u64 }
            }
            EvalAltResult::ErrorDataTooLarge(what, _) => {
                let what = what.to_ascii_lowercase();
                let (limit, value) = if what.contains("string") {
                    ("max_string_size", limits.max_string_size)
                } else if what.contains("array") {
                    ("max_array_size", limits.max_array_size)
                } else {
                    ("max_map_size", limits.max_map_size)
                };
                RuleErrorKind::LimitExceeded { limit, value: value as u64 }
            }
            EvalAltResult::ErrorParsing(ParseErrorType::ExprTooDeep, _) => {
                RuleErrorKind::LimitExceeded { limit: "max_expr_depth", value: limits.max_expr_depth as u64 }
            }
            EvalAltResult::ErrorVariableNotFound(name, _) => RuleErrorKind::UnknownVariable { name: name.clone() },
            other => RuleErrorKind::Runtime { message: other.to_string() },
        }
    }
}

/// The function appended to action scripts; it does nothing and is what the run calls.
const ACTION_MARKER: &str = "__formwork_action";

/// The rhai type name of a JSON value, for messages.
/// A rule's answer that must be yes or no.
pub fn expect_bool(rule: &Rule, value: Value) -> Result<bool, RuleError> {
    match value {
        Value::Bool(answer) => Ok(answer),
        other => Err(RuleError {
            rule: rule.name.clone(),
            kind: RuleErrorKind::WrongResultType { expected: "bool", found: json_type_name(&other).to_owned() },
        }),
    }
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "()",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() => "i64",
        Value::Number(_) => "f64",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "map",
    }
}

/// Converts a JSON value into a rhai value (objects become maps, arrays arrays, integers
/// `i64`, other numbers `f64`).
pub fn to_dynamic(value: &Value) -> Dynamic {
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Dynamic::from(s.clone()),
        Value::Array(items) => Dynamic::from_array(items.iter().map(to_dynamic).collect()),
        Value::Object(map) => {
            let map: rhai::Map = map.iter().map(|(k, v)| (k.as_str().into(), to_dynamic(v))).collect();
            Dynamic::from_map(map)
        }
    }
}

/// Converts a rhai value back into JSON. Values that JSON cannot hold (non-finite floats,
/// function pointers, custom types) become `null`; `()` becomes `null` too.
pub fn to_json(value: &Dynamic) -> Value {
    if value.is_unit() {
        return Value::Null;
    }
    if let Ok(b) = value.as_bool() {
        return Value::Bool(b);
    }
    if let Ok(i) = value.as_int() {
        return Value::from(i);
    }
    if let Ok(f) = value.as_float() {
        return serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number);
    }
    if let Ok(c) = value.as_char() {
        return Value::String(c.to_string());
    }
    if value.is_string() {
        return Value::String(value.clone().into_string().unwrap_or_default());
    }
    if value.is_array() {
        let array = value.clone().into_array().unwrap_or_default();
        return Value::Array(array.iter().map(to_json).collect());
    }
    if value.is_map() {
        let map = value.clone().cast::<rhai::Map>();
        return Value::Object(map.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect());
    }
    Value::Null
}
