//! A fast path for the common shape of form rules.
//!
//! Most rules in forms are small expressions — `result == "reject"`, `defects > ac`,
//! `if a > b { "x" } else { "y" }`, `count_where(items, "item_result", "ng")`. Running them
//! through rhai means converting the record's JSON into rhai values and building a scope for
//! each evaluation, which costs far more than the expression itself. This module parses that
//! subset once, at compile time, and evaluates it directly on the record's JSON.
//!
//! It never decides anything rhai would decide differently: whenever it meets a case it does
//! not model exactly (a type combination, an overflow, a division by zero, a text over the
//! size limit), it answers `None` and the caller runs the rule through rhai, which gives the
//! canonical result or error. A property test checks the two agree on generated expressions.

use std::borrow::Cow;

use serde_json::{Map, Value};

mod parse;

pub use parse::parse;

/// A parsed expression of the supported subset.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Unit,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A variable, by its position in the rule's variable list.
    Var(usize),
    Prop(Box<Expr>, String),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    TypeOf(Box<Expr>),
    CountWhere(Box<Expr>, Box<Expr>, Box<Expr>),
    SumOf(Box<Expr>, Box<Expr>),
    // The commonest comparisons, rewritten after parsing (see `parse::specialize`) so that
    // they read the record's value in place instead of walking three nodes. Each answers
    // exactly as the `Bin` it replaces.
    /// `place == "text"`, or `!=` when the flag is set.
    StrCmp(Place, bool, String),
    /// `type_of(place) == "name"`, or `!=` when the flag is set.
    TypeIs(Place, bool, String),
    /// `place <op> integer` for a comparison `op`.
    IntCmp(Op, Place, i64),
}

/// What a specialised comparison reads: a variable, or a member of a variable's map.
#[derive(Clone, Debug, PartialEq)]
pub enum Place {
    Var(usize),
    Member(usize, String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// A value during fast evaluation; arrays and maps stay borrowed from the record.
#[derive(Clone, Debug)]
pub enum V<'a> {
    Unit,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    Array(&'a [Value]),
    Map(&'a Map<String, Value>),
}

impl<'a> V<'a> {
    pub fn from_json(value: &'a Value) -> V<'a> {
        match value {
            Value::Null => V::Unit,
            Value::Bool(b) => V::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => V::Int(i),
                None => V::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => V::Str(Cow::Borrowed(s)),
            Value::Array(items) => V::Array(items),
            Value::Object(map) => V::Map(map),
        }
    }

    fn from_place(value: Option<&'a Value>) -> V<'a> {
        value.map_or(V::Unit, V::from_json)
    }

    pub fn into_json(self) -> Value {
        match self {
            V::Unit => Value::Null,
            V::Bool(b) => Value::Bool(b),
            V::Int(i) => Value::from(i),
            V::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
            V::Str(s) => Value::String(s.into_owned()),
            V::Array(items) => Value::Array(items.to_vec()),
            V::Map(map) => Value::Object(map.clone()),
        }
    }
}

/// A member of a JSON object. Small objects (rows, measurements) are scanned: comparing a
/// few keys costs less than hashing the one looked for with SipHash, as `serde_json`'s
/// order-preserving maps do.
pub fn member<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if map.len() <= 8 { map.iter().find_map(|(k, v)| (k == key).then_some(v)) } else { map.get(key) }
}

/// Evaluates `expr`, reading variables through `lookup`; `None` means "ask rhai".
pub fn eval<'a, L: Fn(usize) -> Option<&'a Value>>(expr: &'a Expr, lookup: &L) -> Option<V<'a>> {
    Some(match expr {
        Expr::Unit => V::Unit,
        Expr::Bool(b) => V::Bool(*b),
        Expr::Int(i) => V::Int(*i),
        Expr::Float(f) => V::Float(*f),
        Expr::Str(s) => V::Str(Cow::Borrowed(s)),
        Expr::Var(position) => lookup(*position).map_or(V::Unit, V::from_json),
        Expr::Prop(base, name) => match eval(base, lookup)? {
            V::Map(map) => member(map, name).map_or(V::Unit, V::from_json),
            _ => return None,
        },
        Expr::Not(inner) => match eval(inner, lookup)? {
            V::Bool(b) => V::Bool(!b),
            _ => return None,
        },
        Expr::Neg(inner) => match eval(inner, lookup)? {
            V::Int(i) => V::Int(i.checked_neg()?),
            V::Float(f) => V::Float(-f),
            _ => return None,
        },
        Expr::And(left, right) => match eval(left, lookup)? {
            V::Bool(false) => V::Bool(false),
            V::Bool(true) => match eval(right, lookup)? {
                V::Bool(b) => V::Bool(b),
                _ => return None,
            },
            _ => return None,
        },
        Expr::Or(left, right) => match eval(left, lookup)? {
            V::Bool(true) => V::Bool(true),
            V::Bool(false) => match eval(right, lookup)? {
                V::Bool(b) => V::Bool(b),
                _ => return None,
            },
            _ => return None,
        },
        Expr::Bin(op, left, right) => {
            let left = eval(left, lookup)?;
            let right = eval(right, lookup)?;
            binary(*op, left, right)?
        }
        Expr::If(condition, then, otherwise) => match eval(condition, lookup)? {
            V::Bool(true) => eval(then, lookup)?,
            V::Bool(false) => eval(otherwise, lookup)?,
            _ => return None,
        },
        Expr::TypeOf(inner) => V::Str(Cow::Borrowed(type_name(&eval(inner, lookup)?))),
        Expr::CountWhere(rows, field, value) => count_where(rows, field, value, lookup)?,
        Expr::SumOf(rows, field) => sum_of(rows, field, lookup)?,
        Expr::StrCmp(at, negate, text) => match place(at, lookup)? {
            Some(Value::String(value)) => V::Bool((value == text) != *negate),
            other => {
                let op = if *negate { Op::Ne } else { Op::Eq };
                binary(op, V::from_place(other), V::Str(Cow::Borrowed(text)))?
            }
        },
        Expr::TypeIs(at, negate, name) => V::Bool((type_name(&V::from_place(place(at, lookup)?)) == name) != *negate),
        Expr::IntCmp(op, at, n) => {
            let value = place(at, lookup)?;
            match value.and_then(Value::as_i64) {
                Some(x) => V::Bool(compare(*op, x.cmp(n))?),
                None => binary(*op, V::from_place(value), V::Int(*n))?,
            }
        }
    })
}

/// The value at `place`: `Some(None)` when there is none (rhai's `()`), `None` when rhai
/// must decide (a member of something that is not a map).
fn place<'a, L: Fn(usize) -> Option<&'a Value>>(place: &'a Place, lookup: &L) -> Option<Option<&'a Value>> {
    match place {
        Place::Var(position) => Some(lookup(*position)),
        Place::Member(position, name) => match lookup(*position) {
            Some(Value::Object(map)) => Some(member(map, name)),
            _ => None,
        },
    }
}

/// What rhai's `type_of` answers for a value.
fn type_name(value: &V<'_>) -> &'static str {
    match value {
        V::Unit => "()",
        V::Bool(_) => "bool",
        V::Int(_) => "i64",
        V::Float(_) => "f64",
        V::Str(_) => "string",
        V::Array(_) => "array",
        V::Map(_) => "map",
    }
}

fn count_where<'a, L: Fn(usize) -> Option<&'a Value>>(
    rows: &'a Expr,
    field: &'a Expr,
    value: &'a Expr,
    lookup: &L,
) -> Option<V<'a>> {
    let (V::Array(rows), V::Str(field)) = (eval(rows, lookup)?, eval(field, lookup)?) else {
        return None;
    };
    let value = eval(value, lookup)?;
    let mut count = 0;
    for row in rows {
        if let Value::Object(row) = row
            && let Some(cell) = member(row, field.as_ref())
            && helper_equal(&V::from_json(cell), &value)?
        {
            count += 1;
        }
    }
    Some(V::Int(count))
}

fn sum_of<'a, L: Fn(usize) -> Option<&'a Value>>(rows: &'a Expr, field: &'a Expr, lookup: &L) -> Option<V<'a>> {
    let (V::Array(rows), V::Str(field)) = (eval(rows, lookup)?, eval(field, lookup)?) else {
        return None;
    };
    let cells = rows.iter().filter_map(|row| member(row.as_object()?, field.as_ref()));
    let mut int_sum: Option<i64> = Some(0);
    let mut float_sum = 0.0;
    for cell in cells {
        match V::from_json(cell) {
            V::Int(i) => {
                int_sum = int_sum.and_then(|s| s.checked_add(i));
                float_sum += i as f64;
            }
            V::Float(f) => {
                int_sum = None;
                float_sum += f;
            }
            _ => {}
        }
    }
    let all_ints = rows
        .iter()
        .filter_map(|row| member(row.as_object()?, field.as_ref()))
        .all(|cell| !matches!(V::from_json(cell), V::Float(_)));
    match (all_ints, int_sum) {
        (true, Some(sum)) => Some(V::Int(sum)),
        (true, None) => None,
        (false, _) => Some(V::Float(float_sum)),
    }
}

fn binary<'a>(op: Op, left: V<'a>, right: V<'a>) -> Option<V<'a>> {
    use V::{Bool, Float, Int, Str, Unit};
    Some(match (op, left, right) {
        (Op::Add, Int(a), Int(b)) => Int(a.checked_add(b)?),
        (Op::Sub, Int(a), Int(b)) => Int(a.checked_sub(b)?),
        (Op::Mul, Int(a), Int(b)) => Int(a.checked_mul(b)?),
        (Op::Div, Int(a), Int(b)) if b != 0 => Int(a.checked_div(b)?),
        (Op::Rem, Int(a), Int(b)) if b != 0 => Int(a.checked_rem(b)?),
        (op @ (Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Rem), a, b) => {
            let (a, b) = (number(&a)?, number(&b)?);
            match op {
                Op::Add => Float(a + b),
                Op::Sub => Float(a - b),
                Op::Mul => Float(a * b),
                Op::Div if b != 0.0 => Float(a / b),
                Op::Rem if b != 0.0 => Float(a % b),
                _ => return None,
            }
        }
        (op, Int(a), Int(b)) => Bool(compare(op, a.cmp(&b))?),
        (op, a @ (Int(_) | Float(_)), b @ (Int(_) | Float(_))) => Bool(float_compare(op, number(&a)?, number(&b)?)?),
        // Equality compares lengths first; only ordering needs a byte-wise comparison.
        (Op::Eq, Str(a), Str(b)) => Bool(a == b),
        (Op::Ne, Str(a), Str(b)) => Bool(a != b),
        (op, Str(a), Str(b)) => Bool(compare(op, a.as_ref().cmp(b.as_ref()))?),
        (Op::Eq, Bool(a), Bool(b)) => Bool(a == b),
        (Op::Ne, Bool(a), Bool(b)) => Bool(a != b),
        (Op::Eq, Unit, Unit) => Bool(true),
        (Op::Ne, Unit, Unit) => Bool(false),
        _ => return None,
    })
}

fn number(value: &V<'_>) -> Option<f64> {
    match value {
        V::Int(i) => Some(*i as f64),
        V::Float(f) => Some(*f),
        _ => None,
    }
}

/// Comparisons involving a decimal, as rhai makes them when built with its checks: equal
/// within a relative `f64::EPSILON` (and within an absolute one when either side is 0).
fn float_compare(op: Op, x: f64, y: f64) -> Option<bool> {
    let max = if x * y == 0.0 { 1.0 } else { x.abs().max(y.abs()) };
    if max == 0.0 {
        return Some(matches!(op, Op::Eq | Op::Ge | Op::Le));
    }
    Some(match op {
        Op::Eq => (x - y).abs() / max <= f64::EPSILON,
        Op::Ne => (x - y).abs() / max > f64::EPSILON,
        Op::Gt => (x - y) / max > f64::EPSILON,
        Op::Ge => (x - y) / max > -f64::EPSILON,
        Op::Lt => (y - x) / max > f64::EPSILON,
        Op::Le => (y - x) / max > -f64::EPSILON,
        _ => return None,
    })
}

fn compare(op: Op, ordering: std::cmp::Ordering) -> Option<bool> {
    use std::cmp::Ordering::{Equal, Greater, Less};
    Some(match op {
        Op::Eq => ordering == Equal,
        Op::Ne => ordering != Equal,
        Op::Lt => ordering == Less,
        Op::Le => ordering != Greater,
        Op::Gt => ordering == Greater,
        Op::Ge => ordering != Less,
        _ => return None,
    })
}

/// Equality as the `count_where` helper defines it (see `helpers.rs`): same kind and value,
/// numbers compared numerically; anything else is not equal.
fn helper_equal(a: &V<'_>, b: &V<'_>) -> Option<bool> {
    Some(match (a, b) {
        (V::Unit, V::Unit) => true,
        (V::Bool(x), V::Bool(y)) => x == y,
        (V::Int(x), V::Int(y)) => x == y,
        (V::Int(_) | V::Float(_), V::Int(_) | V::Float(_)) => number(a)? == number(b)?,
        (V::Str(x), V::Str(y)) => x == y,
        (V::Array(_) | V::Map(_), _) | (_, V::Array(_) | V::Map(_)) => return None,
        _ => false,
    })
}
