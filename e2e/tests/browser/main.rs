//! The browser app in real headless Chromium (Debian's, driven through chromedriver) against
//! the real `formwork` binary serving the real bundle, at desktop and at phone width.
//!
//! `cargo xtask test` builds the bundle and sets `FORMWORK_REQUIRE_E2E=1`; run alone without
//! a bundle or a browser, the tests say loudly that they were skipped. A failing step saves a
//! screenshot under `target/e2e-screenshots`.

mod flow;
mod harness;
