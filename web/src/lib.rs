//! Formwork's browser app: a leptos client-side app compiled to wasm and served by the
//! `formwork` binary. It talks to the server's JSON API only, and runs the same
//! `engine` as the server for live validation, computed fields and rule feedback.
//!
//! The modules without a browser (`i18n`, `route`, `tree`, `chart_math`) are plain Rust and
//! tested natively; everything that touches the DOM is tested in real Chromium by `e2e`.

pub mod api;
pub mod app;
pub mod chart_math;
pub mod charts;
pub mod designer;
pub mod fields;
pub mod filler;
pub mod i18n;
pub mod pages;
pub mod route;
pub mod tree;
pub mod workflow;

/// Mounts the app on `<body>`.
pub fn start() {
    leptos::mount::mount_to_body(app::App);
}
