//! Auto-number patterns such as `NCR-{yyyy}-{seq:4}` or `IQC-{yyyy}{MM}-{seq:4}`.
//!
//! The engine formats numbers; the server owns the counter. A sequence restarts whenever the
//! date parts of the pattern change, so the counter is kept per [`AutoNumberPattern::scope`]:
//! `IQC-{yyyy}{MM}-{seq:4}` counts per month, `NCR-{yyyy}-{seq:4}` per year, and a pattern
//! without date parts never restarts.
//!
//! Tokens: `{yyyy}` `{yy}` `{MM}` `{dd}` and `{seq}` / `{seq:N}` (zero-padded to N digits,
//! 1..=12). Literal braces are written `{{` and `}}`.

use std::fmt::Write as _;

/// A calendar date, supplied by the caller (the engine never reads the clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// Parses `YYYY-MM-DD`, checking the day against the month (and leap years).
    pub fn parse(text: &str) -> Option<Date> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let year: i32 = text[0..4].parse().ok()?;
        let month: u8 = text[5..7].parse().ok()?;
        let day: u8 = text[8..10].parse().ok()?;
        let date = Date { year, month, day };
        ((1..=12).contains(&month) && day >= 1 && day <= date.days_in_month()).then_some(date)
    }

    fn days_in_month(self) -> u8 {
        match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            _ if (self.year % 4 == 0 && self.year % 100 != 0) || self.year % 400 == 0 => 29,
            _ => 28,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Literal(String),
    Year4,
    Year2,
    Month,
    Day,
    Seq(usize),
}

/// A parsed pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AutoNumberPattern {
    tokens: Vec<Token>,
}

impl AutoNumberPattern {
    /// Parses a pattern; it must contain exactly one `{seq}` token.
    pub fn parse(pattern: &str) -> Result<AutoNumberPattern, String> {
        let mut tokens = Vec::new();
        let mut literal = String::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => return Err("unmatched “}”; write “}}” for a literal brace".to_owned()),
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => return Err(format!("unclosed “{{{name}”")),
                        }
                    }
                    if !literal.is_empty() {
                        tokens.push(Token::Literal(std::mem::take(&mut literal)));
                    }
                    tokens.push(match name.as_str() {
                        "yyyy" => Token::Year4,
                        "yy" => Token::Year2,
                        "MM" => Token::Month,
                        "dd" => Token::Day,
                        "seq" => Token::Seq(1),
                        _ => match name.strip_prefix("seq:").map(str::parse::<usize>) {
                            Some(Ok(width)) if (1..=12).contains(&width) => Token::Seq(width),
                            Some(_) => return Err(format!("“{{{name}}}”: the width must be 1 to 12")),
                            None => return Err(format!("unknown token “{{{name}}}”; use yyyy, yy, MM, dd or seq:N")),
                        },
                    });
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            tokens.push(Token::Literal(literal));
        }
        match tokens.iter().filter(|t| matches!(t, Token::Seq(_))).count() {
            1 => Ok(AutoNumberPattern { tokens }),
            0 => Err("the pattern needs a {seq} token".to_owned()),
            _ => Err("the pattern may hold only one {seq} token".to_owned()),
        }
    }

    /// The key under which the counter runs for `date`: the pattern's date parts, so that
    /// a monthly pattern restarts every month. Empty for patterns without date parts.
    pub fn scope(&self, date: Date) -> String {
        let mut scope = String::new();
        for token in &self.tokens {
            match token {
                Token::Year4 | Token::Year2 => {
                    let _ = write!(scope, "{:04}", date.year);
                }
                Token::Month => {
                    let _ = write!(scope, "-{:02}", date.month);
                }
                Token::Day => {
                    let _ = write!(scope, "-{:02}", date.day);
                }
                Token::Literal(_) | Token::Seq(_) => {}
            }
        }
        scope
    }

    /// Formats the number for `date` and the counter value `seq` (which starts at 1).
    pub fn format(&self, date: Date, seq: u64) -> String {
        // Digits are pushed directly: `write!` costs more than the rest of a record's
        // processing spends on the number.
        let mut out = String::with_capacity(32);
        for token in &self.tokens {
            match token {
                Token::Literal(text) => out.push_str(text),
                Token::Year4 => match u64::try_from(date.year) {
                    Ok(year) => push_padded(&mut out, year, 4),
                    Err(_) => {
                        let _ = write!(out, "{:04}", date.year);
                    }
                },
                Token::Year2 => push_padded(&mut out, u64::from(date.year.rem_euclid(100).unsigned_abs()), 2),
                Token::Month => push_padded(&mut out, u64::from(date.month), 2),
                Token::Day => push_padded(&mut out, u64::from(date.day), 2),
                Token::Seq(width) => push_padded(&mut out, seq, *width),
            }
        }
        out
    }
}

/// Pushes `value` in decimal, left-padded with zeros to `width` digits (like `{:0width$}`).
fn push_padded(out: &mut String, value: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = value;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let written = digits.len() - start;
    out.extend(std::iter::repeat_n('0', width.saturating_sub(written)));
    out.extend(digits[start..].iter().map(|&digit| char::from(digit)));
}
