//! Processing a submitted record: normalise, evaluate conditions and computed values in
//! dependency order, judge measurements, validate against the compiled JSON Schema, then run
//! the checks JSON Schema cannot express. Every problem is reported at once.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};

use super::auto_number::{AutoNumberPattern, Date};
use super::compile::{CompiledForm, Level, ParentReads, Slot};
use super::issue::{Code, Issue, localize};
use super::schema_errors::map_schema_error;
use super::tracked::{Base, SlotState, Tracked};
use super::values::{extra_checks, judge, measurement_of, without_places};
use super::{FieldKind, MeasurementSpec, Samples};
use crate::i18n::Lang;
use crate::rules::fast::member;
use crate::rules::{Rule, RuleError, RuleErrorKind, Sandbox, expect_bool};

/// What the caller knows that the engine must not look up itself.
#[derive(Clone, Debug, Default)]
pub struct RecordContext<'a> {
    pub lang: Lang,
    /// The stored record this submission replaces, for updates. Read-only and auto-number
    /// values are kept from it, and defaults apply only when it is absent (a new record).
    pub previous: Option<&'a Value>,
    /// Today in the workspace's time zone, for auto-numbers.
    pub today: Option<Date>,
    /// Counter values the server allocated, by auto-number field key.
    pub sequences: BTreeMap<String, u64>,
    /// The server itself writes (a workflow action, an import): read-only fields take the
    /// values given, as they are read-only to people, not to the system (an ERP return
    /// number, a closing date).
    pub system: bool,
}

/// The processed record (with computed values, judgements and auto-numbers) and every issue.
/// The record is meant to be stored only when `issues` is empty.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub record: Value,
    pub issues: Vec<Issue>,
    /// Pointers of the fields (and rows' fields) that `visible_if` hid: a form filler does not
    /// show them.
    pub hidden: Vec<String>,
    /// Pointers of the fields that `required_if` made required (those required always say
    /// so in the definition).
    pub required_now: Vec<String>,
}

impl Outcome {
    pub fn is_valid(&self) -> bool {
        self.issues.is_empty()
    }
}

/// A rule that failed while evaluating; reported only if the fields it reads are fine,
/// because a wrong input usually makes the rule fail too and one message is enough.
struct RuleFailure {
    path: String,
    reads: Vec<String>,
    error: RuleError,
}

struct Run<'a> {
    sandbox: &'a Sandbox,
    ctx: &'a RecordContext<'a>,
    issues: Vec<Issue>,
    failures: Vec<RuleFailure>,
    hidden: Vec<String>,
    required_now: Vec<String>,
    /// Slot-state buffers, one per nesting depth, reused across rows.
    pool: Vec<Vec<SlotState>>,
    /// Answers of the current subtable's rules that read only `parent`, by rule (compared by
    /// address, never dereferenced): the same for every row, so each runs once.
    parent_answers: Vec<(*const Rule, Result<Value, RuleError>)>,
}

impl CompiledForm {
    /// Validates and completes a submitted record.
    pub fn process(&self, input: &Value, ctx: &RecordContext<'_>) -> Outcome {
        self.process_owned(input.clone(), ctx)
    }

    /// Like [`CompiledForm::process`], taking the submitted value: a server that has just
    /// parsed a request body saves copying it.
    pub fn process_owned(&self, input: Value, ctx: &RecordContext<'_>) -> Outcome {
        let mut run = Run {
            sandbox: &self.sandbox,
            ctx,
            issues: Vec::new(),
            failures: Vec::new(),
            hidden: Vec::new(),
            required_now: Vec::new(),
            pool: Vec::new(),
            parent_answers: Vec::new(),
        };
        let Value::Object(object) = input else {
            let mut issues = vec![Issue::new("", Code::NotAnObject)];
            localize(&mut issues, ctx.lang);
            return Outcome { record: Value::Object(Map::new()), issues, hidden: Vec::new(), required_now: Vec::new() };
        };
        let previous = ctx.previous.and_then(Value::as_object);
        let record = run.level(&self.root, object, previous, None, Base::Root);
        let record = Value::Object(record);

        // Most records are valid; collecting errors is only worth it when there are some.
        let schema_errors =
            if self.validator.is_valid(&record) { None } else { Some(self.validator.iter_errors(&record)) };
        for error in schema_errors.into_iter().flatten() {
            let kind = error.kind();
            let path = error.instance_path().as_str().to_owned();
            map_schema_error(&self.root, &path, kind, error.instance(), &mut run.issues);
        }
        let failures = std::mem::take(&mut run.failures);
        for failure in failures {
            let blamed = failure.reads.iter().any(|read| {
                run.issues.iter().any(|issue| issue.path == *read || issue.path.starts_with(&format!("{read}/")))
            });
            if !blamed {
                run.issues.push(rule_issue(&failure.path, &failure.error));
            }
        }
        // One message per problem: a missing value needs no other complaint, and a value of
        // the wrong type needs no list of the options it also fails.
        let mut seen = HashSet::new();
        run.issues.retain(|issue| seen.insert((issue.path.clone(), issue.code)));
        for dominant in [Code::Required, Code::WrongType] {
            let paths: HashSet<String> =
                run.issues.iter().filter(|i| i.code == dominant).map(|i| i.path.clone()).collect();
            run.issues.retain(|issue| issue.code == dominant || !paths.contains(&issue.path));
        }
        localize(&mut run.issues, ctx.lang);
        Outcome { record, issues: run.issues, hidden: run.hidden, required_now: run.required_now }
    }

    /// Like [`CompiledForm::process`], as a `Result`.
    pub fn validate(&self, input: &Value, ctx: &RecordContext<'_>) -> Result<Value, Vec<Issue>> {
        let outcome = self.process(input, ctx);
        if outcome.issues.is_empty() { Ok(outcome.record) } else { Err(outcome.issues) }
    }
}

fn rule_issue(path: &str, error: &RuleError) -> Issue {
    let text = error.to_string();
    let detail = text.split_once(": ").map_or(text.as_str(), |(_, rest)| rest);
    let mut issue = Issue::new(path, Code::RuleFailed).param("rule", error.rule.as_str()).param("detail", detail);
    if let RuleErrorKind::LimitExceeded { limit, value } = &error.kind {
        issue = issue.param("limit", *limit).param("limit_value", *value);
    }
    issue
}

impl Run<'_> {
    /// Processes one record or row. `parent` is, for rows, the enclosing record's fields that
    /// the row rules read.
    ///
    /// This runs for every row, so its code is kept small: what is rare (issues, defaults,
    /// auto-numbers, subtables) lives in functions of its own, out of the way of the
    /// instruction cache.
    fn level(
        &mut self,
        level: &Level,
        record: Map<String, Value>,
        previous: Option<&Map<String, Value>>,
        parent: Option<&Value>,
        base: Base<'_>,
    ) -> Map<String, Value> {
        // Work on the submitted map itself: most values pass through untouched.
        let states = self.pool.pop().unwrap_or_default();
        let (issues, system) = (&mut self.issues, self.ctx.system);
        let mut hint = 0;
        let mut record = Tracked::new(record, level.slots.len(), states, |key, value| {
            let Some(index) = level.slot_of(key, hint) else {
                unknown_field(issues, base, key);
                return None;
            };
            hint = index + 1;
            let slot = &level.slots[index];
            // The server decides server-owned and read-only values.
            let read_only = slot.field.common.read_only && !system;
            let keep = !(slot.field.kind.is_server_owned() || read_only)
                && normalize(&slot.field.kind, value, &level.measurement);
            keep.then_some(index)
        });
        if level.fills_in {
            self.fill_in(level, &mut record, previous);
        }
        for &index in &level.order {
            self.slot(level, index, &mut record, previous, parent, base);
        }
        for (index, slot) in level.slots.iter().enumerate() {
            let state = record.states[index];
            if state.required || slot.checked_after {
                self.check(slot, state, record.get(index), base);
            }
        }
        let (record, states) = record.finish();
        self.pool.push(states);
        record
    }

    /// Values that come from elsewhere than the submission: stored read-only values and
    /// auto-numbers on updates, defaults on new records.
    #[inline(never)]
    fn fill_in(&self, level: &Level, record: &mut Tracked, previous: Option<&Map<String, Value>>) {
        for (index, slot) in level.slots.iter().enumerate().filter(|(_, s)| s.fills_in) {
            let key = slot.key();
            let kept = (slot.field.common.read_only && !self.ctx.system) || slot.auto_number.is_some();
            if kept && let Some(value) = previous.and_then(|p| p.get(key)) {
                record.set(index, key, value.clone());
                continue;
            }
            if previous.is_none()
                && !record.has(index)
                && let Some(default) = &slot.field.common.default
            {
                record.set(index, key, default.clone());
            }
        }
    }

    /// One slot, in evaluation order: visibility, computed value, auto-number, rows,
    /// judgement, conditional requirement.
    fn slot(
        &mut self,
        level: &Level,
        index: usize,
        record: &mut Tracked,
        previous: Option<&Map<String, Value>>,
        parent: Option<&Value>,
        base: Base<'_>,
    ) {
        let slot = &level.slots[index];
        let key = slot.key();
        for rule in &slot.visible {
            // A failing condition (None) keeps the field: dropping data on an error is worse.
            if self.eval_bool(level, rule, slot, record, parent, base) == Some(false) {
                record.states[index].visible = false;
            }
        }
        if !record.states[index].visible {
            record.remove(index);
            self.hidden.push(base.pointer(key));
            return;
        }
        if let Some(rule) = &slot.computed {
            match self.eval(level, rule, slot, record, parent, base) {
                Some(Value::Null) | None => record.remove(index),
                Some(value) => record.set(index, key, value),
            }
        }
        if let Some(pattern) = &slot.auto_number {
            self.auto_number(pattern, index, key, record);
        }
        if let Some(rows) = &slot.rows
            && let Some(Value::Array(_)) = record.get(index)
        {
            self.rows(level, rows, index, key, record, previous, base);
        }
        if let FieldKind::Measurement(spec) = &slot.field.kind {
            let expected = self.sample_count(level, spec, slot, record, parent, base);
            if let Some(value) = record.get_mut(index) {
                judge(spec, value, expected, base, key, &mut self.issues);
            }
        }
        if let Some(rule) = &slot.required_if {
            let required = self.eval_bool(level, rule, slot, record, parent, base).unwrap_or(false);
            record.states[index].required = required;
            if required {
                self.required_now.push(base.pointer(key));
            }
        }
        record.states[index].required |= slot.field.common.required;
    }

    #[inline(never)]
    fn auto_number(&self, pattern: &AutoNumberPattern, index: usize, key: &str, record: &mut Tracked) {
        if !record.has(index)
            && let (Some(today), Some(seq)) = (self.ctx.today, self.ctx.sequences.get(key))
        {
            record.set(index, key, Value::String(pattern.format(today, *seq)));
        }
    }

    /// The checks after evaluation: a required value present, and what the schema cannot
    /// express (decimals, file types).
    #[inline(never)]
    fn check(&mut self, slot: &Slot, state: SlotState, value: Option<&Value>, base: Base<'_>) {
        if state.visible && state.required && !slot.field.kind.is_server_owned() && is_empty(value) {
            self.issues.push(Issue::new(base.pointer(slot.key()), Code::Required));
        }
        if let Some(value) = value {
            extra_checks(slot, value, base, &mut self.issues);
        }
    }

    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn rows(
        &mut self,
        level: &Level,
        rows: &Level,
        index: usize,
        key: &str,
        record: &mut Tracked,
        previous: Option<&Map<String, Value>>,
        base: Base<'_>,
    ) {
        // Row rules see only the parent fields they read, gathered once for all rows. Hidden
        // and empty computed fields are tombstones (`null`) until the level finishes; rules
        // never see them. Nor do they see the empty places of a measurement not judged yet
        // (rows reading the whole parent do not wait for every parent field).
        let present = |(key, value): (&String, &Value)| {
            if value.is_null() {
                return None;
            }
            let measurement = level
                .slot_of(key, 0)
                .is_some_and(|slot| matches!(level.slots[slot].field.kind, FieldKind::Measurement(_)));
            let value = match value {
                Value::Object(object) if measurement => Value::Object(without_places(object)),
                other => other.clone(),
            };
            Some((key.clone(), value))
        };
        let parent = match &rows.parent_reads {
            ParentReads::None => None,
            ParentReads::Whole => Some(Value::Object(record.map.iter().filter_map(present).collect())),
            ParentReads::Members(members) => Some(Value::Object(
                members.iter().filter_map(|m| present(record.map.get_key_value(m.as_str())?)).collect(),
            )),
        };
        let previous_rows = previous.and_then(|p| p.get(key)).and_then(Value::as_array);
        let path = base.pointer(key);
        let outer_answers = std::mem::take(&mut self.parent_answers);
        let Some(Value::Array(items)) = record.get_mut(index) else { return };
        // Rows past `max_rows` are neither evaluated nor checked: the record is rejected anyway,
        // and a client must not make the server run rules, or list issues, over an unbounded
        // list. The returned record is not stored when it has issues, so it may be cut.
        if let Some(max_rows) = rows.max_rows
            && items.len() > max_rows
        {
            items.truncate(max_rows);
            self.issues.push(Issue::new(&path, Code::TooManyRows).param("max_rows", max_rows as u64));
        }
        for (row_index, row) in items.iter_mut().enumerate() {
            // Rows that are not objects are left to the schema, which reports their type.
            let Value::Object(row_object) = row else { continue };
            let previous_row = previous_rows.and_then(|r| r.get(row_index)).and_then(Value::as_object);
            let taken = std::mem::take(row_object);
            *row_object = self.level(rows, taken, previous_row, parent.as_ref(), Base::Row(&path, row_index));
        }
        self.parent_answers = outer_answers;
        // Unique columns: no two rows hold the same value.
        for slot in rows.slots.iter().filter(|s| s.field.common.unique) {
            let mut first_row: Vec<(&Value, usize)> = Vec::new();
            for (row_index, row) in items.iter().enumerate() {
                let Some(value) = row.as_object().and_then(|row| member(row, slot.key())) else { continue };
                match first_row.iter().find(|(seen, _)| *seen == value) {
                    Some((_, first)) => self.issues.push(
                        Issue::new(format!("{path}/{row_index}/{}", slot.key()), Code::DuplicateValue)
                            .param("row", (*first + 1) as u64),
                    ),
                    None => first_row.push((value, row_index)),
                }
            }
        }
    }

    fn sample_count(
        &mut self,
        level: &Level,
        spec: &MeasurementSpec,
        slot: &Slot,
        record: &Tracked,
        parent: Option<&Value>,
        base: Base<'_>,
    ) -> Option<u64> {
        match (&spec.samples, &slot.samples) {
            (Some(Samples::Fixed(n)), _) => Some(*n),
            (Some(Samples::Expr(_)), Some(rule)) => match self.eval(level, rule, slot, record, parent, base)? {
                Value::Number(n) if n.as_u64().is_some() => n.as_u64(),
                other => {
                    let found = match other {
                        Value::Number(_) => "a negative or decimal number",
                        Value::String(_) => "string",
                        Value::Bool(_) => "bool",
                        Value::Null => "()",
                        Value::Array(_) => "array",
                        Value::Object(_) => "map",
                    };
                    let kind =
                        RuleErrorKind::WrongResultType { expected: "a whole number >= 0", found: found.to_owned() };
                    self.fail(slot, base, RuleError { rule: rule.name().to_owned(), kind });
                    None
                }
            },
            _ => None,
        }
    }

    fn eval(
        &mut self,
        level: &Level,
        rule: &Rule,
        slot: &Slot,
        record: &Tracked,
        parent: Option<&Value>,
        base: Base<'_>,
    ) -> Option<Value> {
        let result = self.answer(level, rule, record, parent);
        self.settle(slot, base, result)
    }

    fn eval_bool(
        &mut self,
        level: &Level,
        rule: &Rule,
        slot: &Slot,
        record: &Tracked,
        parent: Option<&Value>,
        base: Base<'_>,
    ) -> Option<bool> {
        let result = self.answer(level, rule, record, parent).and_then(|value| expect_bool(rule, value));
        self.settle(slot, base, result)
    }

    fn answer(
        &mut self,
        level: &Level,
        rule: &Rule,
        record: &Tracked,
        parent: Option<&Value>,
    ) -> Result<Value, RuleError> {
        // Rules are pure: a row rule that reads only the parent answers the same for every row.
        let parent_only = parent.is_some() && rule.reads_only(level.slots.len()..);
        if parent_only && let Some((_, answer)) = self.parent_answers.iter().find(|(r, _)| std::ptr::eq(*r, rule)) {
            return answer.clone();
        }
        let answer = self.sandbox.eval_json(rule, &variables(level, record, parent));
        if parent_only {
            self.parent_answers.push((rule, answer.clone()));
        }
        answer
    }

    /// Keeps a rule's answer, or records its failure (reported later unless its inputs are
    /// already wrong).
    fn settle<T>(&mut self, slot: &Slot, base: Base<'_>, result: Result<T, RuleError>) -> Option<T> {
        result.map_err(|error| self.fail(slot, base, error)).ok()
    }

    #[cold]
    #[inline(never)]
    fn fail(&mut self, slot: &Slot, base: Base<'_>, error: RuleError) {
        let reads = slot.reads.iter().map(|key| base.pointer(key)).collect();
        self.failures.push(RuleFailure { path: base.pointer(slot.key()), reads, error });
    }
}

#[cold]
#[inline(never)]
fn unknown_field(issues: &mut Vec<Issue>, base: Base<'_>, key: &str) {
    issues.push(Issue::new(base.pointer(key), Code::UnknownField).param("field", key));
}

/// A rule's variables: the level's slots in order, then `parent` (see compile.rs).
fn variables<'a>(
    level: &'a Level,
    record: &'a Tracked,
    parent: Option<&'a Value>,
) -> impl Fn(usize) -> Option<&'a Value> + 'a {
    move |position| if position < level.slots.len() { record.get(position) } else { parent }
}

/// Cleans a submitted value in place and says whether to keep it: `null` and blank text mean
/// "no value"; scanned codes are trimmed; a measurement may be sent as a bare list or number
/// of values, and only its values are taken from the client. A bare list becomes a copy of
/// `measurement` (the level's template) holding it.
fn normalize(kind: &FieldKind, value: &mut Value, measurement: &Map<String, Value>) -> bool {
    match (kind, &mut *value) {
        (_, Value::Null) => false,
        (FieldKind::Lot(_) | FieldKind::Barcode(_), Value::String(text)) => {
            if text.trim().len() != text.len() {
                *text = text.trim().to_owned();
            }
            !text.is_empty()
        }
        // Blank text is no answer: it neither satisfies `required` nor fails `min_length`.
        (_, Value::String(text)) => !is_blank(text),
        (FieldKind::Measurement(_), Value::Array(values)) => {
            let values = std::mem::take(values);
            *value = measurement_of(measurement, values);
            true
        }
        (FieldKind::Measurement(_), Value::Number(_)) => {
            let number = value.take();
            *value = measurement_of(measurement, vec![number]);
            true
        }
        (FieldKind::Measurement(_), Value::Object(object)) => {
            object.retain(|key, _| !matches!(key.as_str(), "judgements" | "result"));
            true
        }
        _ => true,
    }
}

/// Whether text is empty or only white space. Most text starts with a visible ASCII
/// character, which settles it without decoding the rest.
fn is_blank(text: &str) -> bool {
    match text.as_bytes().first() {
        None => true,
        Some(&byte) if byte > b' ' && byte < 0x80 => false,
        Some(_) => text.trim().is_empty(),
    }
}

fn is_empty(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => is_blank(s),
        Some(Value::Array(items)) => items.is_empty(),
        Some(Value::Object(object)) => {
            member(object, "values").and_then(Value::as_array).is_some_and(Vec::is_empty) || object.is_empty()
        }
        _ => false,
    }
}
