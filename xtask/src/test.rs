//! `cargo xtask test`: everything CI runs, in the order that fails fastest.

use crate::{cargo, step};

pub fn run() -> Result<(), String> {
    step("format check", cargo().args(["fmt", "--all", "--", "--check"]))?;
    step("clippy", cargo().args(["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"]))?;
    step("tests", cargo().args(["test", "--workspace", "--locked"]))?;
    ensure_wasm_target()?;
    // The browser will run the engine's validation and computed fields: prove it builds.
    step(
        "engine for wasm32-unknown-unknown",
        cargo().args(["build", "--locked", "-p", "engine", "--target", "wasm32-unknown-unknown"]),
    )?;
    eprintln!("\nxtask test: all green");
    Ok(())
}

fn ensure_wasm_target() -> Result<(), String> {
    let installed = std::process::Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == "wasm32-unknown-unknown"))
        .unwrap_or(false);
    if installed {
        return Ok(());
    }
    step(
        "install the wasm32-unknown-unknown target",
        std::process::Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]),
    )
}
