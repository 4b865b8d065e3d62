//! `cargo xtask <command>`: the project's automation, in Rust.
//!
//! - `test`  — everything CI runs: format check, clippy, every test, the wasm build of `engine`.
//! - `bench` — the benchmarks, in release mode.
//! - `run`   — build and start `formwork serve` (SQLite in ./formwork-data, port 8080).
//! - `web`   — build the browser app into target/web.
//! - `tidy`  — the workspace invariants of ARCHITECTURE.md (also run as a test).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => xtask::test::run(),
        Some("bench") => xtask::bench::run(&args[1..]),
        Some("run") => xtask::run::run(&args[1..]),
        Some("web") => xtask::web::build().map(|_| ()),
        Some("tidy") => xtask::tidy::check_all(&xtask::workspace_root()).map_err(|problems| problems.join("\n")),
        _ => Err("usage: cargo xtask <test|bench|run|web|tidy>".to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
