//! `cargo xtask run [ARGS]`: builds and starts `formwork serve --demo` with zero configuration
//! (an embedded SQLite database in `./formwork-data`, http://127.0.0.1:8080, and on first start
//! the demo workspace with every template pack and sample data). Extra arguments go to
//! `formwork serve`.

use crate::{cargo, step};

pub fn run(extra: &[String]) -> Result<(), String> {
    step(
        "formwork serve",
        cargo().args(["run", "--locked", "-p", "server", "--bin", "formwork", "--", "serve", "--demo"]).args(extra),
    )
}
