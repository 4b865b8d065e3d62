//! A pack's sample-data generator: `pack.json`'s `sample` describes records per day and how
//! each field's value is drawn; [`generate`] turns it into records, the same ones for the
//! same seed (the server processes them through the form, so computed fields are real).
//!
//! ```json
//! {"days": 120, "forms": [{"form": "iqc", "per_day": [2, 6],
//!   "fields": {"supplier": {"one_of": ["Acme", "Borg"], "weights": [3, 1]},
//!              "lot_size": {"between": [50, 5000]}, "received_on": {"day": true},
//!              "defects": {"by": "supplier", "cases": {"Borg": {"between": [0, 3]}}, "else": {"value": 0}}},
//!   "rows": {"items": [{"characteristic": {"value": "Length"}, "measured": {"samples": 5, "normal": [10.0, 0.02], "decimals": 3}}]}}]}
//! ```
//!
//! Generators: `value`, `one_of` (+ `weights`), `between` (integers if both bounds are),
//! `normal` (`[mean, sd]`, + `decimals`), `samples` (n normal values as a measurement),
//! `day` (the record's date), `datetime` (a time on that day), `seq` (`"L-{n}"`, a counter
//! per form), `chance` (`p`, `then`, `else`), `by` (on an earlier field's value: `cases`,
//! `else`), `omit` (no value).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::form::{Code, Date, Issue};
use crate::report::{add_days, format_date};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleSpec {
    /// How many days back from today the records span.
    pub days: u32,
    pub forms: Vec<FormSample>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormSample {
    pub form: String,
    /// Records per day, drawn between the two (inclusive).
    pub per_day: [u32; 2],
    /// Field key -> generator, drawn in this order (a `by` may read earlier fields).
    pub fields: Map<String, Value>,
    /// Subtable key -> row templates (field key -> generator), one row each.
    #[serde(default)]
    pub rows: Map<String, Value>,
}

/// A small deterministic generator (xorshift64*), so the same seed gives the same data
/// everywhere, including in the browser.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        // Box-Muller.
        let u = self.unit().max(f64::MIN_POSITIVE);
        let v = self.unit();
        mean + sd * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

fn round(value: f64, decimals: Option<u64>) -> Value {
    match decimals {
        Some(d) => {
            let factor = 10f64.powi(d.min(9) as i32);
            json!((value * factor).round() / factor)
        }
        None => json!(value),
    }
}

fn issue(path: &str, detail: &str) -> Issue {
    Issue::new(path, Code::InvalidDefinition).param("detail", detail)
}

/// Checks every generator of a spec without drawing records.
pub fn check(spec: &SampleSpec) -> Vec<Issue> {
    let mut issues = Vec::new();
    let today = Date { year: 2026, month: 1, day: 1 };
    let mut random = Random(1);
    for (f, form) in spec.forms.iter().enumerate() {
        if form.per_day[0] > form.per_day[1] || form.per_day[1] > 10_000 {
            issues.push(issue(&format!("/sample/forms/{f}/per_day"), "[low, high] with low <= high <= 10000"));
        }
        let mut record = Map::new();
        for (key, generator) in &form.fields {
            match draw(generator, &mut random, today, &record, 1) {
                Ok(Some(value)) => {
                    record.insert(key.clone(), value);
                }
                Ok(None) => {}
                Err(detail) => issues.push(issue(&format!("/sample/forms/{f}/fields/{key}"), &detail)),
            }
        }
        for (table, templates) in &form.rows {
            let Some(templates) = templates.as_array() else {
                issues.push(issue(&format!("/sample/forms/{f}/rows/{table}"), "a list of row templates"));
                continue;
            };
            for (r, template) in templates.iter().enumerate() {
                for (key, generator) in template.as_object().into_iter().flatten() {
                    if let Err(detail) = draw(generator, &mut random, today, &record, 1) {
                        issues.push(issue(&format!("/sample/forms/{f}/rows/{table}/{r}/{key}"), &detail));
                    }
                }
            }
        }
    }
    issues
}

fn number(value: &Value) -> Result<f64, String> {
    value.as_f64().ok_or_else(|| format!("{value} is not a number"))
}

fn draw(
    generator: &Value,
    random: &mut Random,
    day: Date,
    record: &Map<String, Value>,
    n: u64,
) -> Result<Option<Value>, String> {
    let g = generator.as_object().ok_or("a generator is an object")?;
    let decimals = g.get("decimals").and_then(Value::as_u64);
    if let Some(value) = g.get("value") {
        return Ok(Some(value.clone()));
    }
    if g.contains_key("omit") {
        return Ok(None);
    }
    if let Some(options) = g.get("one_of") {
        let options = options.as_array().filter(|o| !o.is_empty()).ok_or("one_of needs a non-empty list")?;
        let weights: Vec<f64> = match g.get("weights") {
            Some(w) => w.as_array().ok_or("weights is a list")?.iter().map(number).collect::<Result<_, _>>()?,
            None => vec![1.0; options.len()],
        };
        if weights.len() != options.len() || weights.iter().any(|w| *w < 0.0) || weights.iter().sum::<f64>() <= 0.0 {
            return Err("one weight (>= 0) per option, not all zero".into());
        }
        let mut pick = random.unit() * weights.iter().sum::<f64>();
        for (option, weight) in options.iter().zip(&weights) {
            if pick < *weight {
                return Ok(Some(option.clone()));
            }
            pick -= weight;
        }
        return Ok(options.last().cloned());
    }
    if let Some(bounds) = g.get("between") {
        let bounds = bounds.as_array().filter(|b| b.len() == 2).ok_or("between needs [low, high]")?;
        if let (Some(low), Some(high)) = (bounds[0].as_u64(), bounds[1].as_u64()) {
            if low > high {
                return Err("between needs low <= high".into());
            }
            return Ok(Some(json!(random.between(low, high))));
        }
        let (low, high) = (number(&bounds[0])?, number(&bounds[1])?);
        if low > high {
            return Err("between needs low <= high".into());
        }
        return Ok(Some(round(low + random.unit() * (high - low), decimals)));
    }
    if let Some(count) = g.get("samples") {
        let count = count.as_u64().filter(|c| (1..=1000).contains(c)).ok_or("samples is a count of 1 to 1000")?;
        let params = g
            .get("normal")
            .and_then(Value::as_array)
            .filter(|p| p.len() == 2)
            .ok_or("samples needs normal: [mean, sd]")?;
        let (mean, sd) = (number(&params[0])?, number(&params[1])?);
        let values: Vec<Value> = (0..count).map(|_| round(random.normal(mean, sd), decimals)).collect();
        return Ok(Some(json!({"values": values})));
    }
    if let Some(params) = g.get("normal") {
        let params = params.as_array().filter(|p| p.len() == 2).ok_or("normal needs [mean, sd]")?;
        return Ok(Some(round(random.normal(number(&params[0])?, number(&params[1])?), decimals)));
    }
    if g.contains_key("day") {
        return Ok(Some(json!(format_date(day))));
    }
    if g.contains_key("datetime") {
        let minutes = random.between(6 * 60, 22 * 60);
        return Ok(Some(json!(format!("{}T{:02}:{:02}:00+08:00", format_date(day), minutes / 60, minutes % 60))));
    }
    if let Some(pattern) = g.get("seq") {
        let pattern = pattern.as_str().ok_or("seq is a pattern with {n}")?;
        return Ok(Some(json!(pattern.replace("{n}", &n.to_string()))));
    }
    if let Some(p) = g.get("chance") {
        let p = number(p)?;
        let branch = if random.unit() < p { g.get("then") } else { g.get("else") };
        return match branch {
            Some(branch) => draw(branch, random, day, record, n),
            None => Ok(None),
        };
    }
    if let Some(field) = g.get("by") {
        let field = field.as_str().ok_or("by names an earlier field")?;
        let key = match record.get(field) {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        let branch = g.get("cases").and_then(|c| c.get(&key)).or_else(|| g.get("else"));
        return match branch {
            Some(branch) => draw(branch, random, day, record, n),
            None => Ok(None),
        };
    }
    Err(format!("unknown generator {generator}"))
}

/// The sample records: `(form, day, data)` for every day of the span ending `today`, oldest
/// first. Invalid generators are reported by [`check`]; here they leave the field out.
pub fn generate(spec: &SampleSpec, today: Date, seed: u64) -> Vec<(String, Date, Value)> {
    let mut random = Random(seed | 1);
    let mut out = Vec::new();
    let mut counters = vec![0u64; spec.forms.len()];
    for back in (0..i64::from(spec.days)).rev() {
        let day = add_days(today, -back);
        for (f, form) in spec.forms.iter().enumerate() {
            let count = random.between(u64::from(form.per_day[0]), u64::from(form.per_day[1].max(form.per_day[0])));
            for _ in 0..count {
                counters[f] += 1;
                let mut record = Map::new();
                for (key, generator) in &form.fields {
                    if let Ok(Some(value)) = draw(generator, &mut random, day, &record, counters[f]) {
                        record.insert(key.clone(), value);
                    }
                }
                for (table, templates) in &form.rows {
                    let rows: Vec<Value> = templates
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|template| {
                            let mut row = Map::new();
                            for (key, generator) in template.as_object().into_iter().flatten() {
                                if let Ok(Some(value)) = draw(generator, &mut random, day, &record, counters[f]) {
                                    row.insert(key.clone(), value);
                                }
                            }
                            Value::Object(row)
                        })
                        .collect();
                    record.insert(table.clone(), Value::Array(rows));
                }
                out.push((form.form.clone(), day, Value::Object(record)));
            }
        }
    }
    out
}
