//! The template packs Formwork ships (DESIGN §10), as data: each pack is a folder under
//! `packs/` (`pack.json`, `forms/`, `workflows/`, `dashboards/`), embedded in the binary so
//! that `formwork pack install` needs no files beside it.

use engine::form::Issue;
use engine::pack::{Kind, Pack};
use serde_json::Value;

/// One file of a pack: its kind and its text.
type File = (Kind, &'static str);

macro_rules! files {
    ($pack:literal: $($kind:ident $name:literal),* $(,)?) => {
        (
            include_str!(concat!("../packs/", $pack, "/pack.json")),
            &[$((Kind::$kind, include_str!(concat!("../packs/", $pack, "/", $name)))),*] as &[File],
        )
    };
}

/// Every pack's manifest and files.
fn sources() -> Vec<(&'static str, &'static [File])> {
    vec![
        files!("qms-base": Form "forms/supplier.json", Form "forms/part.json"),
        files!("ncr": Form "forms/ncr.json", Workflow "workflows/ncr-mrb.json", Dashboard "dashboards/ncr-overview.json"),
        files!("iqc": Form "forms/iqc.json", Workflow "workflows/iqc-reject.json", Dashboard "dashboards/iqc-overview.json"),
        files!("ipqc": Form "forms/ipqc.json", Form "forms/fqc.json", Form "forms/shipment.json", Workflow "workflows/ipqc-alert.json",
            Dashboard "dashboards/ipqc-spc.json"),
        files!("eightd": Form "forms/eightd.json", Workflow "workflows/eightd-steps.json", Dashboard "dashboards/eightd-kpi.json"),
        files!("supplier-eval": Form "forms/scorecard.json", Workflow "workflows/scorecard-approval.json",
            Dashboard "dashboards/supplier-ranking.json"),
        files!("cockpit": Dashboard "dashboards/supplier-quality-cockpit.json"),
    ]
}

fn parse(text: &str) -> Result<Value, Vec<Issue>> {
    serde_json::from_str(text)
        .map_err(|e| vec![Issue::new("", engine::form::Code::InvalidDefinition).param("detail", e.to_string())])
}

/// The shipped packs, in dependency order (a pack's dependencies come before it).
pub fn library() -> Result<Vec<Pack>, Vec<Issue>> {
    sources()
        .into_iter()
        .map(|(manifest, files)| {
            let objects =
                files.iter().map(|(kind, text)| parse(text).map(|v| (*kind, v))).collect::<Result<Vec<_>, _>>()?;
            Pack::new(&parse(manifest)?, objects)
        })
        .collect()
}
