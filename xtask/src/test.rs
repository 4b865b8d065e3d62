//! `cargo xtask test`: everything CI runs, in the order that fails fastest: format, clippy,
//! the browser app's build, every test (the browser tests in real Chromium included), the
//! engine's wasm build.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::{cargo, step};

pub fn run() -> Result<(), String> {
    step("format check", cargo().args(["fmt", "--all", "--", "--check"]))?;
    step("clippy", cargo().args(["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"]))?;
    // The browser tests need the built app and Debian's Chromium; here they must not skip.
    let web = crate::web::build()?;
    crate::web::ensure_chromium()?;
    let (passed, failed) = tests(&web)?;
    crate::ensure_wasm_target()?;
    // The browser will run the engine's validation and computed fields: prove it builds.
    step(
        "engine for wasm32-unknown-unknown",
        cargo().args(["build", "--locked", "-p", "engine", "--target", "wasm32-unknown-unknown"]),
    )?;
    // The plain closing line CI reads: the totals of every test binary above.
    println!("tests: {passed} passed, {failed} failed");
    Ok(())
}

/// Runs every test, echoing the output and adding up the `test result:` lines.
fn tests(web: &std::path::Path) -> Result<(u64, u64), String> {
    eprintln!("\n==> tests");
    let mut child = cargo()
        .args(["test", "--workspace", "--locked"])
        .env("FORMWORK_REQUIRE_E2E", "1")
        .env("FORMWORK_E2E_WEB", web)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cargo test: cannot start: {e}"))?;
    let (mut passed, mut failed) = (0, 0);
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
            if let Some(summary) = line.strip_prefix("test result: ") {
                passed += count(summary, " passed");
                failed += count(summary, " failed");
            }
        }
    }
    let status = child.wait().map_err(|e| format!("cargo test: {e}"))?;
    if !status.success() {
        return Err(format!("tests failed ({passed} passed, {failed} failed)"));
    }
    if passed == 0 {
        return Err("no test ran".to_owned());
    }
    Ok((passed, failed))
}

/// The number before `label` in a summary like `ok. 61 passed; 0 failed; ...`.
fn count(summary: &str, label: &str) -> u64 {
    summary
        .split(';')
        .find_map(|part| {
            part.trim().trim_start_matches("ok. ").trim_start_matches("FAILED. ").strip_suffix(label.trim_start())
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}
