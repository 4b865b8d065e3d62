//! `cargo xtask bench [engine|http]`: runs the benchmarks in release mode (both without an
//! argument). Results go to standard output; `docs/BENCHMARKS.md` records them with the
//! machine they ran on.

use crate::{cargo, step};

pub fn run(extra: &[String]) -> Result<(), String> {
    let which = extra.first().map(String::as_str);
    if matches!(which, None | Some("engine")) {
        let mut command = cargo();
        command.args(["bench", "--locked", "-p", "engine", "--bench", "engine"]);
        step("engine benchmarks (release)", &mut command)?;
    }
    if matches!(which, None | Some("http")) {
        let mut command = cargo();
        command.args(["bench", "--locked", "-p", "server", "--bench", "http"]);
        step("HTTP benchmarks: the release server on SQLite and PostgreSQL", &mut command)?;
    }
    match which {
        None | Some("engine") | Some("http") => Ok(()),
        Some(other) => Err(format!("unknown benchmark {other:?}: engine or http")),
    }
}
