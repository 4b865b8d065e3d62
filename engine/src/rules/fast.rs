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

/// Parses `source` if it is entirely within the subset and reads only `variables`.
pub fn parse(source: &str, variables: &[&str]) -> Option<Expr> {
    let tokens = tokenize(source)?;
    let variables = variables.iter().map(|v| (*v).to_owned()).collect();
    let mut parser = Parser { tokens, pos: 0, depth: 0, variables };
    let expr = parser.statement()?;
    (parser.pos == parser.tokens.len()).then_some(expr)
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Int(i64),
    Float(f64),
    Str(String),
    Ident(String),
    Sym(&'static str),
}

const SYMBOLS: &[&str] =
    &["==", "!=", "<=", ">=", "&&", "||", "<", ">", "+", "-", "*", "/", "%", "!", "(", ")", "{", "}", ".", ","];

fn tokenize(source: &str) -> Option<Vec<Token>> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
                i += 1;
            }
            let mut float = false;
            if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
                float = true;
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
                    i += 1;
                }
            }
            // Exponents, hex and suffixes are left to rhai.
            if i < bytes.len() && (bytes[i].is_ascii_alphabetic() || bytes[i] == b'.') {
                return None;
            }
            let text: String = source[start..i].chars().filter(|&c| c != '_').collect();
            tokens.push(if float { Token::Float(text.parse().ok()?) } else { Token::Int(text.parse().ok()?) });
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            tokens.push(Token::Ident(source[start..i].to_owned()));
        } else if c == b'"' {
            i += 1;
            let mut text = String::new();
            loop {
                let rest = source.get(i..)?;
                let ch = rest.chars().next()?;
                i += ch.len_utf8();
                match ch {
                    '"' => break,
                    '\\' => {
                        let escaped = source.get(i..)?.chars().next()?;
                        i += escaped.len_utf8();
                        text.push(match escaped {
                            '"' => '"',
                            '\\' => '\\',
                            'n' => '\n',
                            't' => '\t',
                            _ => return None,
                        });
                    }
                    '\n' => return None,
                    ch => text.push(ch),
                }
            }
            tokens.push(Token::Str(text));
        } else {
            let symbol = SYMBOLS.iter().find(|s| source[i..].starts_with(**s))?;
            // `//` and `/*` comments, `**`, `??`, `..` and friends are left to rhai.
            let next = bytes.get(i + symbol.len()).copied();
            if matches!((*symbol, next), ("/", Some(b'/' | b'*')) | ("*", Some(b'*')) | (".", Some(b'.')))
                || source[i..].starts_with("??")
                || source[i..].starts_with("?.")
            {
                return None;
            }
            tokens.push(Token::Sym(symbol));
            i += symbol.len();
        }
    }
    Some(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    variables: Vec<String>,
}

impl Parser {
    fn peek_sym(&self, symbol: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Sym(s)) if *s == symbol)
    }

    fn eat_sym(&mut self, symbol: &str) -> bool {
        let found = self.peek_sym(symbol);
        if found {
            self.pos += 1;
        }
        found
    }

    fn expect_sym(&mut self, symbol: &str) -> Option<()> {
        self.eat_sym(symbol).then_some(())
    }

    fn peek_ident(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Ident(w)) if w == word)
    }

    /// The expression of a whole script or block. There a leading `if` is a statement, which
    /// ends at its closing brace (`if a { 1 } else { 2 } || x` is two statements in rhai), so
    /// it must be all there is.
    fn statement(&mut self) -> Option<Expr> {
        if self.peek_ident("if") {
            self.depth += 1;
            let statement = self.primary();
            self.depth -= 1;
            return statement;
        }
        self.expr()
    }

    fn expr(&mut self) -> Option<Expr> {
        self.depth += 1;
        // Deeper expressions are rhai's to refuse or run.
        if self.depth > 32 {
            return None;
        }
        let result = self.or();
        self.depth -= 1;
        result
    }

    fn or(&mut self) -> Option<Expr> {
        let mut left = self.and()?;
        while self.eat_sym("||") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Some(left)
    }

    fn and(&mut self) -> Option<Expr> {
        let mut left = self.equality()?;
        while self.eat_sym("&&") {
            left = Expr::And(Box::new(left), Box::new(self.equality()?));
        }
        Some(left)
    }

    fn binary(&mut self, ops: &[(&str, Op)], next: fn(&mut Parser) -> Option<Expr>) -> Option<Expr> {
        let mut left = next(self)?;
        'outer: loop {
            for (symbol, op) in ops {
                if self.eat_sym(symbol) {
                    left = Expr::Bin(*op, Box::new(left), Box::new(next(self)?));
                    continue 'outer;
                }
            }
            return Some(left);
        }
    }

    fn equality(&mut self) -> Option<Expr> {
        self.binary(&[("==", Op::Eq), ("!=", Op::Ne)], Parser::relational)
    }

    fn relational(&mut self) -> Option<Expr> {
        self.binary(&[("<=", Op::Le), (">=", Op::Ge), ("<", Op::Lt), (">", Op::Gt)], Parser::additive)
    }

    fn additive(&mut self) -> Option<Expr> {
        self.binary(&[("+", Op::Add), ("-", Op::Sub)], Parser::multiplicative)
    }

    fn multiplicative(&mut self) -> Option<Expr> {
        self.binary(&[("*", Op::Mul), ("/", Op::Div), ("%", Op::Rem)], Parser::unary)
    }

    fn unary(&mut self) -> Option<Expr> {
        if self.eat_sym("!") {
            return Some(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat_sym("-") {
            return Some(Expr::Neg(Box::new(self.unary()?)));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Option<Expr> {
        let mut expr = self.primary()?;
        while self.eat_sym(".") {
            match self.tokens.get(self.pos) {
                Some(Token::Ident(name)) => {
                    let name = name.clone();
                    self.pos += 1;
                    // Method calls are rhai's.
                    if self.peek_sym("(") {
                        return None;
                    }
                    expr = Expr::Prop(Box::new(expr), name);
                }
                _ => return None,
            }
        }
        Some(expr)
    }

    fn primary(&mut self) -> Option<Expr> {
        let token = self.tokens.get(self.pos)?.clone();
        self.pos += 1;
        match token {
            Token::Int(i) => Some(Expr::Int(i)),
            Token::Float(f) => Some(Expr::Float(f)),
            Token::Str(s) => Some(Expr::Str(s)),
            Token::Sym("(") => {
                if self.eat_sym(")") {
                    return Some(Expr::Unit);
                }
                let inner = self.expr()?;
                self.expect_sym(")")?;
                Some(inner)
            }
            Token::Ident(word) => match word.as_str() {
                "true" => Some(Expr::Bool(true)),
                "false" => Some(Expr::Bool(false)),
                "if" => self.if_rest(),
                "type_of" | "count_where" | "sum_of" => {
                    self.expect_sym("(")?;
                    let mut args = vec![self.expr()?];
                    while self.eat_sym(",") {
                        args.push(self.expr()?);
                    }
                    self.expect_sym(")")?;
                    let mut args = args.into_iter().map(Box::new);
                    let mut next = || args.next();
                    let call = match (word.as_str(), next(), next(), next(), next()) {
                        ("type_of", Some(a), None, None, None) => Expr::TypeOf(a),
                        ("count_where", Some(a), Some(b), Some(c), None) => Expr::CountWhere(a, b, c),
                        ("sum_of", Some(a), Some(b), None, None) => Expr::SumOf(a, b),
                        _ => return None,
                    };
                    Some(call)
                }
                _ if crate::rules::is_reserved(&word) && word != "parent" => None,
                _ => {
                    // Calls of other functions are rhai's.
                    if self.peek_sym("(") {
                        return None;
                    }
                    Some(Expr::Var(self.variables.iter().position(|v| *v == word)?))
                }
            },
            _ => None,
        }
    }

    fn block(&mut self) -> Option<Expr> {
        self.expect_sym("{")?;
        let inner = self.statement()?;
        self.expect_sym("}")?;
        Some(inner)
    }

    fn if_rest(&mut self) -> Option<Expr> {
        let condition = self.expr()?;
        let then = self.block()?;
        let otherwise = if self.peek_ident("else") {
            self.pos += 1;
            if self.peek_ident("if") {
                self.pos += 1;
                self.if_rest()?
            } else {
                self.block()?
            }
        } else {
            Expr::Unit
        };
        Some(Expr::If(Box::new(condition), Box::new(then), Box::new(otherwise)))
    }
}

/// A member of a JSON object. Small objects (rows, measurements) are scanned: comparing a
/// few keys costs less than hashing the one looked for with SipHash, as `serde_json`'s
/// order-preserving maps do.
pub fn member<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if map.len() <= 8 { map.iter().find_map(|(k, v)| (k == key).then_some(v)) } else { map.get(key) }
}

/// Evaluates `expr`, reading variables through `lookup`; `None` means "ask rhai".
pub fn eval<'a>(expr: &'a Expr, lookup: &dyn Fn(usize) -> Option<&'a Value>) -> Option<V<'a>> {
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
        Expr::TypeOf(inner) => V::Str(Cow::Borrowed(match eval(inner, lookup)? {
            V::Unit => "()",
            V::Bool(_) => "bool",
            V::Int(_) => "i64",
            V::Float(_) => "f64",
            V::Str(_) => "string",
            V::Array(_) => "array",
            V::Map(_) => "map",
        })),
        Expr::CountWhere(rows, field, value) => count_where(rows, field, value, lookup)?,
        Expr::SumOf(rows, field) => sum_of(rows, field, lookup)?,
    })
}

fn count_where<'a>(
    rows: &'a Expr,
    field: &'a Expr,
    value: &'a Expr,
    lookup: &dyn Fn(usize) -> Option<&'a Value>,
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

fn sum_of<'a>(rows: &'a Expr, field: &'a Expr, lookup: &dyn Fn(usize) -> Option<&'a Value>) -> Option<V<'a>> {
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
