//! Parsing the fast path's subset of rhai (see the parent module).

use super::{Expr, Op, Place};

/// Parses `source` if it is entirely within the subset and reads only `variables`.
pub fn parse(source: &str, variables: &[&str]) -> Option<Expr> {
    let tokens = tokenize(source)?;
    let variables = variables.iter().map(|v| (*v).to_owned()).collect();
    let mut parser = Parser { tokens, pos: 0, depth: 0, variables };
    let expr = parser.statement()?;
    (parser.pos == parser.tokens.len()).then(|| specialize(expr))
}

/// Rewrites the commonest comparisons — `method != "visual"`, `measure.result == "ng"`,
/// `type_of(measure) == "map"`, `defects > 0` — into nodes that compare the record's value
/// in place. Walking the three general nodes costs several times more.
fn specialize(expr: Expr) -> Expr {
    let inner = |expr: Box<Expr>| Box::new(specialize(*expr));
    match expr {
        Expr::Bin(op, left, right) => {
            let (left, right) = (specialize(*left), specialize(*right));
            let equality = matches!(op, Op::Eq | Op::Ne);
            let comparison = equality || matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge);
            match (&left, &right) {
                (Expr::TypeOf(of), Expr::Str(name)) if equality && let Some(at) = as_place(of) => {
                    Expr::TypeIs(at, op == Op::Ne, name.clone())
                }
                (_, Expr::Str(text)) if equality && let Some(at) = as_place(&left) => {
                    Expr::StrCmp(at, op == Op::Ne, text.clone())
                }
                (_, Expr::Int(n)) if comparison && let Some(at) = as_place(&left) => Expr::IntCmp(op, at, *n),
                _ => Expr::Bin(op, Box::new(left), Box::new(right)),
            }
        }
        Expr::Prop(base, name) => Expr::Prop(inner(base), name),
        Expr::Not(e) => Expr::Not(inner(e)),
        Expr::Neg(e) => Expr::Neg(inner(e)),
        Expr::And(a, b) => Expr::And(inner(a), inner(b)),
        Expr::Or(a, b) => Expr::Or(inner(a), inner(b)),
        Expr::If(c, t, e) => Expr::If(inner(c), inner(t), inner(e)),
        Expr::TypeOf(e) => Expr::TypeOf(inner(e)),
        Expr::CountWhere(a, b, c) => Expr::CountWhere(inner(a), inner(b), inner(c)),
        Expr::SumOf(a, b) => Expr::SumOf(inner(a), inner(b)),
        leaf => leaf,
    }
}

fn as_place(expr: &Expr) -> Option<Place> {
    match expr {
        Expr::Var(position) => Some(Place::Var(*position)),
        Expr::Prop(base, name) => match **base {
            Expr::Var(position) => Some(Place::Member(position, name.clone())),
            _ => None,
        },
        _ => None,
    }
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
