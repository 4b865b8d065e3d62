//! The workspace invariants of ARCHITECTURE.md hold.

#[test]
fn workspace_invariants_hold() {
    if let Err(problems) = xtask::tidy::check_all(&xtask::workspace_root()) {
        panic!("workspace invariants broken:\n{}", problems.join("\n"));
    }
}

#[test]
fn the_checks_would_catch_an_impure_engine() {
    // Guard against a check that passes vacuously: the host metadata must show the engine
    // and its real dependencies (rhai, jsonschema) so that a forbidden one would be seen.
    let metadata = xtask::tidy::metadata(&xtask::workspace_root(), None).expect("cargo metadata");
    let names: Vec<&str> = metadata["packages"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
    for expected in ["engine", "rhai", "jsonschema", "server", "xtask"] {
        assert!(names.contains(&expected), "{expected} missing from cargo metadata");
    }
}
