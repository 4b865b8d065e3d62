//! `cargo xtask web`: builds the browser app into `target/web` — the leptos crate for wasm32
//! in the size-optimised `wasm-release` profile, `wasm-bindgen` for its JS glue, `wasm-opt
//! -Oz`, the static files, and a gzip copy of each file, which the server sends to browsers
//! that accept it.
//!
//! The tools come from the registries and are cached outside the clone, under
//! `~/.cache/formwork/tools` (or `$FORMWORK_TOOLS_DIR`), so a new machine installs them once:
//! `wasm-bindgen-cli` at exactly the version in Cargo.lock (the glue and the crate must
//! match), and `wasm-opt` from npm's `binaryen` (Debian's wasm-opt 108 produces wasm that
//! fails at run time; see shared/reference/toolchain.md).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, step, workspace_root};

const BINARYEN_VERSION: &str = "132.0.0";

/// Where the tools are cached.
fn tools_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FORMWORK_TOOLS_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    home.join(".cache/formwork/tools")
}

/// The built app's directory (what `formwork serve --web-dir` takes).
pub fn out_dir() -> PathBuf {
    workspace_root().join("target/web")
}

/// The version of a package in Cargo.lock.
fn locked_version(name: &str) -> Result<String, String> {
    let lock = std::fs::read_to_string(workspace_root().join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let needle = format!("name = \"{name}\"\nversion = \"");
    let start = lock.find(&needle).ok_or_else(|| format!("{name} is not in Cargo.lock"))? + needle.len();
    Ok(lock[start..].split('"').next().unwrap_or_default().to_owned())
}

fn ensure_wasm_bindgen() -> Result<PathBuf, String> {
    let version = locked_version("wasm-bindgen")?;
    let root = tools_dir().join(format!("wasm-bindgen-{version}"));
    let binary = root.join("bin/wasm-bindgen");
    if binary.is_file() {
        return Ok(binary);
    }
    // Not `--locked`: one of the CLI's locked dependencies is gone from the registry.
    step(
        &format!("install wasm-bindgen-cli {version} (once per machine)"),
        cargo().args(["install", "wasm-bindgen-cli", "--version", &version, "--root"]).arg(&root),
    )?;
    Ok(binary)
}

fn ensure_wasm_opt() -> Result<PathBuf, String> {
    let dir = tools_dir().join(format!("binaryen-{BINARYEN_VERSION}"));
    let binary = dir.join("node_modules/.bin/wasm-opt");
    if binary.is_file() {
        return Ok(binary);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    step(
        &format!("install binaryen {BINARYEN_VERSION} from npm (once per machine)"),
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--no-save", &format!("binaryen@{BINARYEN_VERSION}")])
            .current_dir(&dir),
    )?;
    Ok(binary)
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::copy(from, to).map(|_| ()).map_err(|e| format!("copy {} -> {}: {e}", from.display(), to.display()))
}

/// Builds the app and returns its directory.
pub fn build() -> Result<PathBuf, String> {
    crate::ensure_wasm_target()?;
    let bindgen = ensure_wasm_bindgen()?;
    let wasm_opt = ensure_wasm_opt()?;
    // `erase_components` makes leptos type-erase every component's view: far fewer
    // monomorphised render functions, a tenth less to download. (It is a rustc `--cfg`, not
    // a feature; set here so that only this build sees it.)
    step(
        "the browser app for wasm32 (profile wasm-release)",
        cargo()
            .args(["build", "--locked", "-p", "web", "--target", "wasm32-unknown-unknown", "--profile", "wasm-release"])
            .env("RUSTFLAGS", "--cfg erase_components")
            .env_remove("CARGO_ENCODED_RUSTFLAGS"),
    )?;
    let root = workspace_root();
    let staging = root.join("target/web-staging");
    let out = out_dir();
    for dir in [&staging, &out] {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let wasm = root.join("target/wasm32-unknown-unknown/wasm-release/web.wasm");
    step(
        "wasm-bindgen",
        Command::new(&bindgen)
            .args(["--target", "web", "--no-typescript", "--out-name", "formwork", "--out-dir"])
            .arg(&staging)
            .arg(&wasm),
    )?;
    step(
        "wasm-opt -Oz",
        Command::new(&wasm_opt)
            .arg("-Oz")
            .arg(staging.join("formwork_bg.wasm"))
            .arg("-o")
            .arg(out.join("formwork_bg.wasm")),
    )?;
    copy(&staging.join("formwork.js"), &out.join("formwork.js"))?;
    let statics = root.join("web/static");
    for entry in std::fs::read_dir(&statics).map_err(|e| format!("{}: {e}", statics.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if let Some(name) = path.file_name() {
            copy(&path, &out.join(name))?;
        }
    }
    // Compressed copies: brotli for browsers that accept it (every current one, over HTTPS
    // and on localhost), gzip for the rest.
    let (mut plain, mut gzipped, mut brotlied) = (0, 0, 0);
    let files: Vec<PathBuf> =
        std::fs::read_dir(&out).map_err(|e| e.to_string())?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    for path in files {
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let status = Command::new("gzip").args(["-9", "-k", "-f", "-n"]).arg(&path).status();
        if !status.is_ok_and(|s| s.success()) {
            return Err(format!("gzip {} failed", path.display()));
        }
        let mut compressed = Vec::new();
        let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 24, ..Default::default() };
        brotli::BrotliCompress(&mut bytes.as_slice(), &mut compressed, &params).map_err(|e| e.to_string())?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        std::fs::write(out.join(format!("{name}.br")), &compressed).map_err(|e| e.to_string())?;
        plain += bytes.len();
        brotlied += compressed.len();
        gzipped += std::fs::metadata(out.join(format!("{name}.gz"))).map(|m| m.len() as usize).unwrap_or(0);
    }
    println!(
        "web app: {} ({} KiB; {} KiB gzip, {} KiB brotli)",
        out.display(),
        plain / 1024,
        gzipped / 1024,
        brotlied / 1024
    );
    Ok(out)
}

/// Debian's Chromium and chromedriver for the browser tests (never a browser a test tool
/// downloads). Installed with apt when missing; a no-op afterwards.
pub fn ensure_chromium() -> Result<(), String> {
    let present = ["/usr/bin/chromium", "/usr/bin/chromedriver"].iter().all(|p| Path::new(p).exists());
    if present {
        return Ok(());
    }
    let root = Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let apt = |args: &[&str]| {
        let mut command = if root.as_ref().is_ok_and(|r| *r) {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.arg("apt-get");
            sudo
        };
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        command
    };
    step("apt-get update", &mut apt(&["update"]))?;
    step("install Debian's chromium and chromium-driver", &mut apt(&["install", "-y", "chromium", "chromium-driver"]))
}
