//! Quality-management arithmetic: acceptance sampling (ISO 2859-1 / ANSI/ASQ Z1.4 / GB/T
//! 2828.1), statistical process control (control limits, capability, run rules) and supplier
//! scoring.
//!
//! The tables are the standards' numbers, embedded from `engine/data/` (verbatim copies of
//! `shared/reference/`, checked byte for byte by a test) and parsed once on first use. They
//! are constants, not configuration, which is why a process-wide `OnceLock` holds them.

pub mod aql;
pub mod rules;
pub mod scoring;
pub mod spc;
pub mod switching;

use serde::Serialize;

/// A problem with the caller's input. `code` is stable and names the problem; `message`
/// says what was wrong in English (the server renders codes, not these messages, to users
/// who asked for another language).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QmsError {
    pub code: &'static str,
    pub message: String,
}

impl QmsError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> QmsError {
        QmsError { code, message: message.into() }
    }
}

impl std::fmt::Display for QmsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for QmsError {}
