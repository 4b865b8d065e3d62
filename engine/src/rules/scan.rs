//! A small lexical scan of rule sources that finds the free identifiers a rule reads.
//!
//! The form engine needs each rule's dependencies to order computed fields and to find
//! cycles. rhai exposes its AST only behind the `internals` feature, which we do not enable, so
//! this scan over-approximates: it reports every identifier that is not a keyword, not a
//! property after `.`, not a function name before `(`, and not inside a string or comment. A
//! local `let` that shadows a field name is reported too, which at worst orders a rule later
//! than strictly needed. Whether a name really exists is checked by rhai itself, in strict
//! variables mode, when the rule is compiled.

/// One identifier the rule reads, with the property read from it right after, if any
/// (`parent.lot_size` gives `parent` with member `lot_size`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub name: String,
    pub member: Option<String>,
}

const KEYWORDS: &[&str] = &[
    "true",
    "false",
    "let",
    "const",
    "if",
    "else",
    "switch",
    "do",
    "while",
    "until",
    "loop",
    "for",
    "in",
    "continue",
    "break",
    "return",
    "throw",
    "try",
    "catch",
    "fn",
    "private",
    "this",
    "global",
    "import",
    "export",
    "as",
    "is",
    "Fn",
    "call",
    "curry",
    "type_of",
    "print",
    "debug",
    "eval",
    "is_def_var",
    "is_def_fn",
    "is_shared",
    "spawn",
    "thread",
    "go",
    "sync",
    "async",
    "await",
    "yield",
    "static",
    "shared",
    "var",
    "with",
    "module",
    "package",
    "super",
    "new",
    "use",
    "void",
    "null",
    "nil",
    "goto",
    "exit",
    "match",
    "case",
    "public",
    "protected",
    "new",
    "default",
];

/// Words that cannot be field keys: rhai keywords and reserved words, and the names the
/// form engine itself puts into a rule's scope.
pub fn is_reserved(word: &str) -> bool {
    KEYWORDS.contains(&word) || matches!(word, "parent" | "record" | "row" | "id" | "null")
}

/// Lists the free identifiers of `source` in order of appearance, without duplicates.
pub fn references(source: &str) -> Vec<Reference> {
    let mut scanner = Scanner { chars: source.chars().collect(), pos: 0, out: Vec::new() };
    scanner.code(false);
    scanner.out
}

struct Scanner {
    chars: Vec<char>,
    pos: usize,
    out: Vec<Reference>,
}

impl Scanner {
    fn peek(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    /// Scans code until the end, or, inside a `${ ... }` interpolation, until its closing brace.
    fn code(&mut self, interpolation: bool) {
        let mut depth = 0usize;
        let mut after_dot = false;
        while let Some(c) = self.peek(0) {
            match c {
                '/' if self.peek(1) == Some('/') => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                '/' if self.peek(1) == Some('*') => {
                    self.pos += 2;
                    while self.peek(0).is_some() && !(self.peek(0) == Some('*') && self.peek(1) == Some('/')) {
                        self.pos += 1;
                    }
                    self.pos += 2;
                }
                '"' | '\'' => self.quoted(c),
                '`' => self.template(),
                '{' => {
                    depth += 1;
                    self.pos += 1;
                }
                '}' => {
                    self.pos += 1;
                    if depth == 0 && interpolation {
                        return;
                    }
                    depth = depth.saturating_sub(1);
                }
                '.' => {
                    self.pos += 1;
                    after_dot = true;
                    continue;
                }
                c if c.is_ascii_digit() => {
                    // Numbers, including `1.5e3` and `0x1F`; a `.` followed by a digit stays part of it.
                    while self.peek(0).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                        || (self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()))
                    {
                        self.pos += 1;
                    }
                }
                c if c.is_alphabetic() || c == '_' => {
                    let name = self.identifier();
                    let is_call = self.next_non_space() == Some('(');
                    if !after_dot && !is_call && !self.is_map_key() && !KEYWORDS.contains(&name.as_str()) {
                        let member = self.member();
                        let reference = Reference { name, member };
                        if !self.out.contains(&reference) {
                            self.out.push(reference);
                        }
                    }
                }
                _ => self.pos += 1,
            }
            after_dot = false;
        }
    }

    fn identifier(&mut self) -> String {
        let start = self.pos;
        while self.peek(0).is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn next_non_space(&self) -> Option<char> {
        self.chars[self.pos..].iter().copied().find(|c| !c.is_whitespace())
    }

    /// `name:` (not `name::`) is a key in an object map literal `#{ name: value }`, which
    /// reads nothing.
    fn is_map_key(&self) -> bool {
        let mut rest = self.chars[self.pos..].iter().copied().skip_while(|c| c.is_whitespace());
        rest.next() == Some(':') && rest.next() != Some(':')
    }

    /// Reads `.name` right after an identifier without consuming anything else.
    fn member(&mut self) -> Option<String> {
        let mut look = self.pos;
        while self.chars.get(look).is_some_and(|c| c.is_whitespace()) {
            look += 1;
        }
        if self.chars.get(look) != Some(&'.') {
            return None;
        }
        look += 1;
        while self.chars.get(look).is_some_and(|c| c.is_whitespace()) {
            look += 1;
        }
        let start = look;
        while self.chars.get(look).is_some_and(|c| c.is_alphanumeric() || *c == '_') {
            look += 1;
        }
        (look > start).then(|| self.chars[start..look].iter().collect())
    }

    fn quoted(&mut self, quote: char) {
        self.pos += 1;
        while let Some(c) = self.peek(0) {
            self.pos += 1;
            if c == '\\' {
                self.pos += 1;
            } else if c == quote {
                return;
            }
        }
    }

    fn template(&mut self) {
        self.pos += 1;
        while let Some(c) = self.peek(0) {
            if c == '`' {
                self.pos += 1;
                return;
            }
            if c == '$' && self.peek(1) == Some('{') {
                self.pos += 2;
                self.code(true);
            } else {
                self.pos += 1;
            }
        }
    }
}
