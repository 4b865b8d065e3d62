//! Build automation for the Formwork workspace (see `main.rs` for the commands).

pub mod bench;
pub mod run;
pub mod test;
pub mod tidy;
pub mod web;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// `cargo` as invoked by the user (respects `$CARGO`, so rustup's toolchain choice holds).
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(workspace_root());
    command
}

/// Runs a command, echoing it, and fails with its description if it fails.
pub fn step(description: &str, command: &mut Command) -> Result<(), String> {
    eprintln!("\n==> {description}");
    let status = command.status().map_err(|e| format!("{description}: cannot start: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{description}: failed ({status})")) }
}

/// Adds the wasm target when rustup lacks it (the engine and the browser app build for it).
pub fn ensure_wasm_target() -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == "wasm32-unknown-unknown"))
        .unwrap_or(false);
    if installed {
        return Ok(());
    }
    step(
        "install the wasm32-unknown-unknown target",
        Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]),
    )
}
