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
    // A bug must not leave a silently dead page: say so, and log what happened.
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&info.to_string().into());
        if let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) {
            let _ = body.insert_adjacent_html(
                "afterbegin",
                "<div class=\"notice bad\" role=\"alert\">Formwork stopped because of an error; please reload the page. \
                 Formwork 出错已停止，请刷新页面。</div>",
            );
        }
    }));
    leptos::mount::mount_to_body(app::App);
}
