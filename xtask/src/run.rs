//! `cargo xtask run [ARGS]`: builds the browser app and the server, and starts `formwork
//! serve --demo` with zero configuration (an embedded SQLite database in `./formwork-data`,
//! http://127.0.0.1:8080, and on first start the demo workspace with every template pack and
//! sample data). Extra arguments go to `formwork serve`.

use crate::{cargo, step};

pub fn run(extra: &[String]) -> Result<(), String> {
    let web = crate::web::build()?;
    step(
        "formwork serve",
        cargo()
            .args(["run", "--locked", "-p", "server", "--bin", "formwork", "--", "serve", "--demo", "--web-dir"])
            .arg(web)
            .args(extra),
    )
}
