//! Workspace invariants (ARCHITECTURE.md), checked from `cargo metadata` and the manifests.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Crates that do I/O or bring a runtime, a database, HTTP or search: `engine` must not reach
/// any of them, even transitively.
const IO_CRATES: &[&str] = &[
    "tokio",
    "mio",
    "socket2",
    "hyper",
    "axum",
    "reqwest",
    "ureq",
    "sea-orm",
    "sqlx",
    "rusqlite",
    "libsqlite3-sys",
    "tantivy",
    "tower",
    "tower-http",
    "rustls",
    "native-tls",
    "openssl",
];

/// Crates that only `server` may depend on directly.
const SERVER_ONLY: &[&str] =
    &["axum", "tokio", "sea-orm", "sea-orm-migration", "tantivy", "tower-http", "cedar-policy"];

/// rhai features that would remove the sandbox's limits or its number types.
const FORBIDDEN_RHAI_FEATURES: &[&str] = &["unchecked", "only_i32", "no_float", "no_function"];

pub fn check_all(root: &Path) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let host = metadata(root, None).map_err(|e| vec![e])?;
    let wasm = metadata(root, Some("wasm32-unknown-unknown")).map_err(|e| vec![e])?;
    check_layout(&host, &mut problems);
    check_engine_is_pure(&wasm, &mut problems);
    check_engine_is_pure(&host, &mut problems);
    check_direct_dependencies(&host, &mut problems);
    check_rhai_features(&host, &mut problems);
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

pub fn metadata(root: &Path, platform: Option<&str>) -> Result<Value, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(root).args(["metadata", "--format-version", "1", "--locked"]);
    if let Some(platform) = platform {
        command.args(["--filter-platform", platform]);
    }
    let output = command.output().map_err(|e| format!("cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("cargo metadata output: {e}"))
}

fn packages_by_id(metadata: &Value) -> HashMap<&str, &Value> {
    metadata["packages"].as_array().into_iter().flatten().filter_map(|p| Some((p["id"].as_str()?, p))).collect()
}

fn workspace_members(metadata: &Value) -> Vec<&Value> {
    let packages = packages_by_id(metadata);
    metadata["workspace_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|id| packages.get(id.as_str()?).copied())
        .collect()
}

/// Each member lives in a folder named like the crate and uses the workspace lints.
fn check_layout(metadata: &Value, problems: &mut Vec<String>) {
    for package in workspace_members(metadata) {
        let name = package["name"].as_str().unwrap_or_default();
        let manifest = Path::new(package["manifest_path"].as_str().unwrap_or_default());
        let folder = manifest.parent().and_then(Path::file_name).and_then(|f| f.to_str()).unwrap_or_default();
        if folder != name {
            problems.push(format!("crate `{name}` lives in folder `{folder}`; name them alike"));
        }
        let text = std::fs::read_to_string(manifest).unwrap_or_default();
        if !text.contains("[lints]\nworkspace = true") {
            problems.push(format!("crate `{name}` does not use the workspace lints"));
        }
    }
}

/// The transitive normal dependencies of `engine` contain no I/O crate.
fn check_engine_is_pure(metadata: &Value, problems: &mut Vec<String>) {
    let packages = packages_by_id(metadata);
    let nodes: HashMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let Some(engine) = workspace_members(metadata).into_iter().find(|p| p["name"] == "engine") else {
        problems.push("no `engine` crate in the workspace".to_owned());
        return;
    };
    let mut seen = BTreeSet::new();
    let mut stack = vec![engine["id"].as_str().unwrap_or_default()];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        let Some(node) = nodes.get(id) else { continue };
        for dep in node["deps"].as_array().into_iter().flatten() {
            let normal = dep["dep_kinds"].as_array().into_iter().flatten().any(|k| k["kind"].is_null());
            if normal {
                stack.push(dep["pkg"].as_str().unwrap_or_default());
            }
        }
    }
    for id in seen {
        let name = packages.get(id).and_then(|p| p["name"].as_str()).unwrap_or_default();
        if IO_CRATES.contains(&name) {
            problems.push(format!("`engine` depends on `{name}` (I/O); engine must stay pure"));
        }
    }
}

/// Direct dependencies: only `server` talks HTTP/SQL/search; nothing depends on `server`;
/// casbin is never used.
fn check_direct_dependencies(metadata: &Value, problems: &mut Vec<String>) {
    for package in workspace_members(metadata) {
        let name = package["name"].as_str().unwrap_or_default();
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            let dep_name = dep["name"].as_str().unwrap_or_default();
            if dep_name == "casbin" {
                problems.push(format!("`{name}` depends on casbin, which strips rhai of its limits"));
            }
            if dep_name == "server" {
                problems.push(format!("`{name}` depends on `server`; only the binary may"));
            }
            let is_dev = dep["kind"].as_str() == Some("dev");
            let allowed =
                name == "server" || name == "e2e" || (name == "migrations" && dep_name == "sea-orm-migration");
            if SERVER_ONLY.contains(&dep_name) && !allowed && !is_dev {
                problems.push(format!("`{name}` depends on `{dep_name}`; only `server` may"));
            }
        }
    }
}

fn check_rhai_features(metadata: &Value, problems: &mut Vec<String>) {
    let packages = packages_by_id(metadata);
    for node in metadata["resolve"]["nodes"].as_array().into_iter().flatten() {
        let id = node["id"].as_str().unwrap_or_default();
        if packages.get(id).and_then(|p| p["name"].as_str()) != Some("rhai") {
            continue;
        }
        for feature in node["features"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if FORBIDDEN_RHAI_FEATURES.contains(&feature) {
                problems.push(format!("rhai is built with `{feature}`, which weakens the rule sandbox"));
            }
        }
    }
}
