//! Formwork's pure domain logic: values in, values out.
//!
//! Invariant: no I/O, no clock, no runtime. This crate builds for `wasm32-unknown-unknown`
//! so the browser validates records and computes fields with the same code as the server.

pub mod form;
pub mod i18n;
pub mod pack;
pub mod qms;
pub mod report;
pub mod rules;
pub mod workflow;

pub use i18n::{I18nText, Lang};
