//! `formwork validate --form F [--record R]`: checks a definition, and a record against it,
//! printing the processed record or the issues as JSON.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use engine::Lang;
use engine::form::{CompiledForm, Date, RecordContext};
use serde_json::{Value, json};

#[derive(clap::Args)]
pub struct ValidateArgs {
    /// The form definition (JSON file).
    #[arg(long)]
    form: PathBuf,
    /// A record to validate (JSON file, or `-` for standard input).
    #[arg(long)]
    record: Option<PathBuf>,
    /// Language of the messages: `en` or `zh-CN`.
    #[arg(long, default_value = "en")]
    lang: String,
    /// Print the compiled JSON Schema instead of validating a record.
    #[arg(long)]
    schema: bool,
    /// The date used for auto-numbers (YYYY-MM-DD); today (UTC) when absent.
    #[arg(long)]
    today: Option<String>,
    /// The counter value used for auto-numbers.
    #[arg(long, default_value_t = 1)]
    seq: u64,
}

pub fn run(args: &ValidateArgs) -> ExitCode {
    match validate(args) {
        Ok((output, valid)) => {
            println!("{}", serde_json::to_string_pretty(&output).unwrap_or_default());
            if valid { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        Err(message) => {
            eprintln!("formwork validate: {message}");
            ExitCode::from(2)
        }
    }
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| format!("cannot read standard input: {e}"))?;
        text
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?
    };
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}

fn validate(args: &ValidateArgs) -> Result<(Value, bool), String> {
    let lang = Lang::from_tag(&args.lang);
    let definition = read_json(&args.form)?;
    let form = match CompiledForm::compile(&definition, lang) {
        Ok(form) => form,
        Err(issues) => return Ok((json!({"valid": false, "definition_errors": issues}), false)),
    };
    if args.schema {
        return Ok((form.json_schema().clone(), true));
    }
    let Some(record_path) = &args.record else {
        let fields = engine::form::data_fields(&form.definition().fields).len();
        return Ok((json!({"valid": true, "form": form.definition().key, "data_fields": fields}), true));
    };
    let record = read_json(record_path)?;
    let today = match &args.today {
        Some(text) => Date::parse(text).ok_or_else(|| format!("--today {text} is not a date (YYYY-MM-DD)"))?,
        None => server::clock::today_utc(),
    };
    let sequences: BTreeMap<String, u64> =
        form.auto_numbers().into_iter().map(|(key, _)| (key.to_owned(), args.seq)).collect();
    let ctx = RecordContext { lang, previous: None, today: Some(today), sequences, system: false };
    let outcome = form.process(&record, &ctx);
    if outcome.is_valid() {
        Ok((json!({"valid": true, "record": outcome.record}), true))
    } else {
        Ok((json!({"valid": false, "errors": outcome.issues}), false))
    }
}
