//! `cargo xtask bench`: runs the benchmarks in release mode. Results go to standard output;
//! `docs/BENCHMARKS.md` records them with the machine they ran on.

use crate::{cargo, step};

pub fn run(extra: &[String]) -> Result<(), String> {
    let mut command = cargo();
    command.args(["bench", "--locked", "-p", "engine", "--bench", "engine", "--"]).args(extra);
    step("engine benchmarks (release)", &mut command)
}
