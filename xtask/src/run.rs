//! `cargo xtask run [ARGS]`: builds and starts `formwork serve` with zero configuration (an
//! embedded SQLite database in `./formwork-data`, http://127.0.0.1:8080). Extra arguments go to
//! `formwork serve`.

use crate::{cargo, step};

pub fn run(extra: &[String]) -> Result<(), String> {
    step(
        "formwork serve",
        cargo().args(["run", "--locked", "-p", "server", "--bin", "formwork", "--", "serve"]).args(extra),
    )
}
