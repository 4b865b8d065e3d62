//! Single sampling plans by attributes.
//!
//! Lot size and inspection level give the sample-size code letter (Table I); the code letter,
//! the AQL and the severity (normal, tightened, reduced) give the plan from the master table of
//! the chosen edition, after following any arrow. Both editions and all three severities are
//! the data in `aql_z14.json`; nothing here restates a table cell.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::QmsError;

const TABLES_JSON: &str = include_str!("../../data/aql_z14.json");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Edition {
    /// ANSI/ASQ Z1.4 (tables unchanged from MIL-STD-105E).
    #[serde(rename = "z1.4", alias = "ansi", alias = "mil-std-105e")]
    Z14,
    /// ISO 2859-1:1999, adopted identically as GB/T 2828.1-2012.
    #[serde(rename = "iso2859", alias = "gb2828", alias = "iso")]
    Iso2859,
}

impl Edition {
    fn table_key(self) -> &'static str {
        match self {
            Edition::Z14 => "ansi_asq_z1_4__mil_std_105e",
            Edition::Iso2859 => "iso_2859_1_1999__gb_t_2828_1_2012",
        }
    }

    pub fn parse(text: &str) -> Result<Edition, QmsError> {
        serde_json::from_value(Value::String(text.to_owned())).map_err(|_| {
            QmsError::new("unknown_edition", format!("unknown edition {text:?}; use \"z1.4\" or \"iso2859\""))
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Level {
    #[serde(rename = "S-1")]
    S1,
    #[serde(rename = "S-2")]
    S2,
    #[serde(rename = "S-3")]
    S3,
    #[serde(rename = "S-4")]
    S4,
    #[serde(rename = "I")]
    I,
    #[serde(rename = "II")]
    II,
    #[serde(rename = "III")]
    III,
}

impl Level {
    pub const ALL: [Level; 7] = [Level::S1, Level::S2, Level::S3, Level::S4, Level::I, Level::II, Level::III];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::S1 => "S-1",
            Level::S2 => "S-2",
            Level::S3 => "S-3",
            Level::S4 => "S-4",
            Level::I => "I",
            Level::II => "II",
            Level::III => "III",
        }
    }

    pub fn parse(text: &str) -> Result<Level, QmsError> {
        Level::ALL.into_iter().find(|l| l.as_str().eq_ignore_ascii_case(text.trim())).ok_or_else(|| {
            QmsError::new(
                "unknown_inspection_level",
                format!("unknown inspection level {text:?}; use S-1..S-4, I, II or III"),
            )
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Normal,
    Tightened,
    Reduced,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Normal, Severity::Tightened, Severity::Reduced];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Normal => "normal",
            Severity::Tightened => "tightened",
            Severity::Reduced => "reduced",
        }
    }

    pub fn parse(text: &str) -> Result<Severity, QmsError> {
        Severity::ALL.into_iter().find(|s| s.as_str() == text).ok_or_else(|| {
            QmsError::new("unknown_severity", format!("unknown severity {text:?}; use normal, tightened or reduced"))
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrow {
    Up,
    Down,
}

/// The plan to use for one lot.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    pub edition: Edition,
    pub severity: Severity,
    pub level: Level,
    /// The AQL column as printed ("1.0", "0.10", "10").
    pub aql: String,
    pub lot_size: u64,
    /// The code letter Table I gives for the lot size and level.
    pub code_letter: String,
    /// The row that supplies the plan after following an arrow ("A/B/C" where the table
    /// leaves the choice open because those rows share the plan).
    pub plan_letter: String,
    /// Set when the cell printed an arrow rather than Ac/Re.
    pub arrow: Option<Arrow>,
    pub n: u32,
    pub ac: u32,
    pub re: u32,
    /// The sample is at least the lot: inspect every unit.
    pub inspect_100_percent: bool,
    /// `min(n, lot_size)`.
    pub n_to_inspect: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Accept,
    Reject,
    /// Reduced inspection under Z1.4 with Ac < d < Re: the lot is accepted but normal
    /// inspection is reinstated from the next lot.
    AcceptReinstateNormal,
}

/// The decision for `defects` nonconforming items (or nonconformities) in a sample inspected
/// under acceptance number `ac` and rejection number `re`.
pub fn decide(ac: u32, re: u32, defects: u32) -> Decision {
    if defects <= ac {
        Decision::Accept
    } else if defects >= re {
        Decision::Reject
    } else {
        Decision::AcceptReinstateNormal
    }
}

impl Plan {
    /// The decision for `defects` nonconforming items (or nonconformities) in the sample.
    pub fn decide(&self, defects: u32) -> Decision {
        decide(self.ac, self.re, defects)
    }
}

struct CodeRow {
    lot_min: u64,
    lot_max: Option<u64>,
    letters: [String; 7],
}

#[derive(Clone)]
struct Cell {
    arrow: Option<Arrow>,
    letter: String,
    n: u32,
    ac: u32,
    re: u32,
}

struct Tables {
    aql_values: Vec<(String, f64)>,
    code_rows: Vec<CodeRow>,
    cells: HashMap<(Edition, Severity, String, usize), Cell>,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| load(TABLES_JSON).expect("the embedded aql_z14.json has the documented layout"))
}

fn load(text: &str) -> Result<Tables, String> {
    let root: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let aql_values: Vec<(String, f64)> = root["aql_values"]
        .as_array()
        .ok_or("aql_values")?
        .iter()
        .map(|v| {
            let s = v.as_str().ok_or("aql value")?;
            Ok((s.to_owned(), s.parse::<f64>().map_err(|e| e.to_string())?))
        })
        .collect::<Result<_, String>>()?;
    let mut code_rows = Vec::new();
    for row in root["table_I_code_letters"]["rows"].as_array().ok_or("table I")? {
        let letters = Level::ALL.map(|l| row[l.as_str()].as_str().unwrap_or_default().to_owned());
        if letters.iter().any(String::is_empty) {
            return Err("table I row without a letter".into());
        }
        code_rows.push(CodeRow {
            lot_min: row["lot_min"].as_u64().ok_or("lot_min")?,
            lot_max: row["lot_max"].as_u64(),
            letters,
        });
    }
    let mut cells = HashMap::new();
    for edition in [Edition::Z14, Edition::Iso2859] {
        let by_severity = &root["tables"][edition.table_key()];
        for severity in Severity::ALL {
            let rows = by_severity[severity.as_str()].as_object().ok_or("severity table")?;
            for (letter, columns) in rows {
                for (index, (aql, _)) in aql_values.iter().enumerate() {
                    // Some cells of the tightened row S are text: the sources did not
                    // transcribe them because no arrow leads there and Table I never gives S.
                    let Some(cell) = columns.get(aql).filter(|c| c.is_object()) else { continue };
                    let resolved = &cell["resolved"];
                    let number =
                        |key: &str| resolved[key].as_u64().map(|v| v as u32).ok_or(format!("{letter} {aql} {key}"));
                    let arrow = match cell["arrow"].as_str() {
                        Some("up") => Some(Arrow::Up),
                        Some("down") => Some(Arrow::Down),
                        _ => None,
                    };
                    cells.insert(
                        (edition, severity, letter.clone(), index),
                        Cell {
                            arrow,
                            letter: resolved["letter"].as_str().ok_or("resolved letter")?.to_owned(),
                            n: number("n")?,
                            ac: number("ac")?,
                            re: number("re")?,
                        },
                    );
                }
            }
        }
    }
    Ok(Tables { aql_values, code_rows, cells })
}

/// The AQL columns as printed, smallest first.
pub fn aql_values() -> Vec<&'static str> {
    tables().aql_values.iter().map(|(s, _)| s.as_str()).collect()
}

/// Matches an AQL written as "1.0", "1", 1.0 or "0.1" to its printed column.
pub fn aql_column(aql: &str) -> Result<(usize, &'static str), QmsError> {
    let value: f64 = aql.trim().trim_end_matches('%').trim().parse().map_err(|_| unknown_aql(aql))?;
    tables()
        .aql_values
        .iter()
        .enumerate()
        .find(|(_, (_, v))| (v - value).abs() <= v * 1e-9)
        .map(|(i, (s, _))| (i, s.as_str()))
        .ok_or_else(|| unknown_aql(aql))
}

fn unknown_aql(aql: &str) -> QmsError {
    QmsError::new(
        "unknown_aql",
        format!(
            "AQL {aql:?} is not a preferred value; use one of {}",
            tables().aql_values.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>().join(", ")
        ),
    )
}

/// Table I: the sample-size code letter for a lot.
pub fn code_letter(lot_size: u64, level: Level) -> Result<&'static str, QmsError> {
    let index = Level::ALL.iter().position(|l| *l == level).expect("every level is in ALL");
    tables()
        .code_rows
        .iter()
        .find(|row| lot_size >= row.lot_min && row.lot_max.is_none_or(|max| lot_size <= max))
        .map(|row| row.letters[index].as_str())
        .ok_or_else(|| {
            QmsError::new(
                "lot_size_out_of_range",
                format!("lot size {lot_size} is below 2, the smallest lot Table I covers"),
            )
        })
}

/// What a plan is asked for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Query {
    pub lot_size: u64,
    pub level: Level,
    pub aql: String,
    #[serde(default = "normal")]
    pub severity: Severity,
    #[serde(default = "iso")]
    pub edition: Edition,
}

fn normal() -> Severity {
    Severity::Normal
}

fn iso() -> Edition {
    Edition::Iso2859
}

/// The single sampling plan for a lot.
pub fn plan(query: &Query) -> Result<Plan, QmsError> {
    let letter = code_letter(query.lot_size, query.level)?;
    let (column, printed) = aql_column(&query.aql)?;
    plan_at(query, letter, column, printed)
}

fn plan_at(query: &Query, letter: &str, column: usize, printed: &str) -> Result<Plan, QmsError> {
    let cell = tables().cells.get(&(query.edition, query.severity, letter.to_owned(), column)).ok_or_else(|| {
        QmsError::new(
            "no_plan",
            format!("the {} table has no plan for code letter {letter} at AQL {printed}", query.severity.as_str()),
        )
    })?;
    Ok(Plan {
        edition: query.edition,
        severity: query.severity,
        level: query.level,
        aql: printed.to_owned(),
        lot_size: query.lot_size,
        code_letter: letter.to_owned(),
        plan_letter: cell.letter.clone(),
        arrow: cell.arrow,
        n: cell.n,
        ac: cell.ac,
        re: cell.re,
        inspect_100_percent: u64::from(cell.n) >= query.lot_size,
        n_to_inspect: u64::from(cell.n).min(query.lot_size),
    })
}

/// The plan one AQL step tighter (the next smaller column) with the same code letter and
/// severity; `None` at the smallest AQL. ISO 2859-1's switching score asks whether a lot
/// would have been accepted under it.
pub fn tighter_plan(query: &Query) -> Result<Option<Plan>, QmsError> {
    let letter = code_letter(query.lot_size, query.level)?;
    let (column, _) = aql_column(&query.aql)?;
    if column == 0 {
        return Ok(None);
    }
    let printed = tables().aql_values[column - 1].0.as_str();
    plan_at(query, letter, column - 1, printed).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cell_of_every_table_loads() {
        let t = tables();
        assert_eq!(t.aql_values.len(), 26);
        assert_eq!(t.code_rows.len(), 15);
        // 16 letters x 26 columns x 3 severities x 2 editions, plus the tightened row S's
        // transcribed cells.
        assert!(t.cells.len() >= 16 * 26 * 3 * 2, "{}", t.cells.len());
    }
}
