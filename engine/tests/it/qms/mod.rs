//! engine::qms: sampling plans and switching, control charts and capability, run rules,
//! supplier scoring, and the rule functions over them.

mod aql;
mod rule_functions;
mod runs;
mod scoring;
mod spc;
mod switching;

/// The embedded tables must be the reference's, byte for byte, wherever the reference is
/// present beside the project (it is on every development machine; a bare clone has only the
/// embedded copies).
#[test]
fn embedded_tables_are_the_reference_files() {
    let reference = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference");
    if !reference.is_dir() {
        return;
    }
    for name in ["aql_z14.json", "aql_examples.json", "spc_constants.json", "spc_examples.json"] {
        let ours = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(name)).unwrap();
        let theirs = std::fs::read(reference.join(name)).unwrap();
        assert!(ours == theirs, "engine/data/{name} differs from shared/reference/{name}");
    }
}
