//! The analyzer of searchable text: runs of Chinese, Japanese or Korean characters become
//! overlapping bigrams (a lone character stays one token), which finds words without a
//! dictionary; other letters and digits form words, lower-cased and stemmed as English. The
//! same analyzer reads queries, so "检验" finds "来料检验" and "inspections" finds "inspection".

use tantivy::tokenizer::{Language, LowerCaser, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer};

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

#[derive(Clone, Default)]
pub struct Bigrams;

pub struct BigramStream {
    tokens: Vec<Token>,
    next: usize,
}

impl TokenStream for BigramStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

impl Tokenizer for Bigrams {
    type TokenStream<'a> = BigramStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> BigramStream {
        let mut tokens = Vec::new();
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let end_of = |i: usize| chars.get(i).map_or(text.len(), |(at, _)| *at);
        let mut push = |from: usize, to: usize| {
            let position = tokens.len();
            tokens.push(Token {
                offset_from: from,
                offset_to: to,
                position,
                text: text[from..to].to_owned(),
                position_length: 1,
            });
        };
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i].1;
            if is_cjk(c) {
                let start = i;
                while i < chars.len() && is_cjk(chars[i].1) {
                    i += 1;
                }
                if i - start == 1 {
                    push(chars[start].0, end_of(start + 1));
                }
                for (j, (at, _)) in chars.iter().enumerate().take(i.saturating_sub(1)).skip(start) {
                    push(*at, end_of(j + 2));
                }
            } else if c.is_alphanumeric() {
                let start = i;
                while i < chars.len() && chars[i].1.is_alphanumeric() && !is_cjk(chars[i].1) {
                    i += 1;
                }
                push(chars[start].0, end_of(i));
            } else {
                i += 1;
            }
        }
        BigramStream { tokens, next: 0 }
    }
}

pub const NAME: &str = "formwork";

pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(Bigrams).filter(LowerCaser).filter(Stemmer::new(Language::English)).build()
}

/// The terms the analyzer makes of `text`.
pub fn terms(text: &str) -> Vec<String> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::terms;

    #[test]
    fn chinese_bigrams_and_english_stems() {
        assert_eq!(terms("来料检验"), ["来料", "料检", "检验"]);
        assert_eq!(terms("批"), ["批"]);
        assert_eq!(terms("Inspections of LOT-42: 划伤 scratches"), ["inspect", "of", "lot", "42", "划伤", "scratch"]);
    }
}
