//! `cargo xtask run`. The HTTP server arrives with its own issue; until then this builds the
//! `formwork` binary and runs `formwork validate` on the example IQC definition and records,
//! so a new user sees the form engine work end to end.

use crate::{cargo, step, workspace_root};

pub fn run() -> Result<(), String> {
    step("build formwork", cargo().args(["build", "--locked", "-p", "server", "--bin", "formwork"]))?;
    let root = workspace_root();
    let binary = root.join("target/debug/formwork");
    let examples = root.join("examples");
    let form = examples.join("forms/iqc.json");
    let runs: [(&str, Vec<String>, bool); 3] = [
        ("check the IQC definition", vec![], true),
        ("validate an accepted IQC record", vec!["--record".into(), "records/iqc-accept.json".into()], true),
        (
            "validate an invalid IQC record (messages in Chinese)",
            vec!["--record".into(), "records/iqc-invalid.json".into(), "--lang".into(), "zh-CN".into()],
            false,
        ),
    ];
    for (description, args, expect_valid) in runs {
        eprintln!("\n==> {description}");
        let status = std::process::Command::new(&binary)
            .current_dir(&examples)
            .arg("validate")
            .arg("--form")
            .arg(&form)
            .args(&args)
            .status()
            .map_err(|e| format!("cannot start formwork: {e}"))?;
        if status.success() != expect_valid {
            return Err(format!("{description}: unexpected exit status {status}"));
        }
    }
    eprintln!("\nThe HTTP server (`formwork serve`) is not built yet; see README.md.");
    Ok(())
}
