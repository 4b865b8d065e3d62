//! Compiling a definition: structural checks, rules compiled once, the evaluation order of
//! computed values and conditions, and the JSON Schema validator.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use super::auto_number::{AutoNumberPattern, Date};
use super::check::{check_definition, walk_items};
use super::issue::{Code, Issue, localize};
use super::parse::{parse_partial, pointer};
use super::schema::{Flavour, record_schema};
use super::{Field, FieldKind, FormDefinition, Samples};
use crate::i18n::Lang;
use crate::rules::{Limits, Rule, RuleErrorKind, Sandbox};

/// A definition ready to validate records. Build it once per form version and reuse it.
pub struct CompiledForm {
    pub(super) definition: FormDefinition,
    pub(super) public_schema: Value,
    pub(super) validator: jsonschema::Validator,
    pub(super) sandbox: Sandbox,
    pub(super) root: Level,
}

impl std::fmt::Debug for CompiledForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledForm").field("key", &self.definition.key).finish_non_exhaustive()
    }
}

/// FNV-1a for field keys: short, trusted strings (they come from the definition), looked up
/// once per submitted value, where SipHash's protection against flooding buys nothing.
#[derive(Clone, Copy, Default)]
pub(super) struct KeyHasher;

impl std::hash::BuildHasher for KeyHasher {
    type Hasher = Fnv;
    fn build_hasher(&self) -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

pub(super) struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The data fields of the record, or of one subtable's rows.
pub(super) struct Level {
    pub slots: Vec<Slot>,
    /// Slot indices in evaluation order: every slot after the slots its rules read.
    pub order: Vec<usize>,
    pub index: HashMap<String, usize, KeyHasher>,
    /// For rows: the subtable's `max_rows`.
    pub max_rows: Option<usize>,
    /// What rules of this level read of `parent` (only row levels may read it).
    pub parent_reads: ParentReads,
    /// Whether any slot may take its value from elsewhere than the submission.
    pub fills_in: bool,
    /// The measurement template (see `values::measurement_template`).
    pub measurement: Map<String, Value>,
}

/// The parent fields row rules read: none, some (`parent.qty`), or the whole record (when
/// `parent` is used other than through a property).
pub(super) enum ParentReads {
    None,
    Members(Vec<String>),
    Whole,
}

pub(super) struct Slot {
    pub field: Field,
    /// The conditions of the field and of the layout items around it; all must hold.
    pub visible: Vec<Rule>,
    pub required_if: Option<Rule>,
    pub computed: Option<Rule>,
    pub samples: Option<Rule>,
    pub auto_number: Option<AutoNumberPattern>,
    /// Keys of this level that the slot's rules read; issues on them silence rule failures.
    pub reads: Vec<String>,
    pub rows: Option<Box<Level>>,
    /// Whether the value may come from elsewhere than the submission (a default, a stored
    /// read-only value or auto-number), so that the processing looks for one.
    pub fills_in: bool,
    /// Whether the value gets checks after evaluation beyond the schema (decimals, files).
    pub checked_after: bool,
}

impl Slot {
    pub fn key(&self) -> &str {
        &self.field.key
    }
}

impl Level {
    /// The slot holding `key`. Clients mostly send fields in the definition's order, so the
    /// slot `hint` (the one after the last found) is tried first. A row has few fields:
    /// comparing their keys costs less than hashing the one looked for.
    pub fn slot_of(&self, key: &str, hint: usize) -> Option<usize> {
        if self.slots.get(hint).is_some_and(|slot| slot.key() == key) {
            return Some(hint);
        }
        if self.slots.len() <= 8 {
            self.slots.iter().position(|slot| slot.key() == key)
        } else {
            self.index.get(key).copied()
        }
    }
}

impl CompiledForm {
    /// Parses, checks and compiles a definition with default rule limits.
    pub fn compile(definition: &Value, lang: Lang) -> Result<CompiledForm, Vec<Issue>> {
        CompiledForm::compile_with(definition, Limits::default(), lang)
    }

    pub fn compile_with(definition: &Value, limits: Limits, lang: Lang) -> Result<CompiledForm, Vec<Issue>> {
        let localized = |mut issues: Vec<Issue>| {
            localize(&mut issues, lang);
            issues
        };
        let partial = parse_partial(definition);
        let Some(definition) = partial.definition else { return Err(localized(partial.issues)) };
        if partial.issues.is_empty() {
            return CompiledForm::from_definition(definition, limits).map_err(localized);
        }
        // Report what the rest of the definition gets wrong too.
        let mut issues = partial.issues;
        if let Err(more) = CompiledForm::from_definition(definition, limits) {
            issues.extend(more);
        }
        Err(localized(issues))
    }

    /// Compiles an already parsed definition. Issues come without messages (see
    /// [`localize`]).
    pub fn from_definition(definition: FormDefinition, limits: Limits) -> Result<CompiledForm, Vec<Issue>> {
        let mut issues = check_definition(&definition);
        let sandbox = Sandbox::new(limits);
        let paths = definition_paths(&definition.fields, "/fields");
        let root = build_level(&definition.key, &definition.fields, &paths, None, &sandbox, &mut issues);
        if !issues.is_empty() {
            return Err(issues);
        }
        let public_schema = record_schema(&definition, Flavour::Public);
        let validation_schema = record_schema(&definition, Flavour::Validation);
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&validation_schema)
            .map_err(|error| vec![Issue::new("", Code::InvalidDefinition).param("detail", error.to_string())])?;
        Ok(CompiledForm { definition, public_schema, validator, sandbox, root })
    }

    pub fn definition(&self) -> &FormDefinition {
        &self.definition
    }

    /// The public JSON Schema (draft 2020-12) of stored records, for outside tools.
    pub fn json_schema(&self) -> &Value {
        &self.public_schema
    }

    /// Auto-number fields with their patterns; the server allocates one counter value per
    /// field and [`AutoNumberPattern::scope`] before processing a new record.
    pub fn auto_numbers(&self) -> Vec<(&str, &AutoNumberPattern)> {
        self.root.slots.iter().filter_map(|slot| Some((slot.key(), slot.auto_number.as_ref()?))).collect()
    }

    /// Whether a rule reads an auto-number field. If none does, a record can be processed
    /// before its numbers are drawn and have them filled in afterwards
    /// ([`CompiledForm::fill_auto_numbers`]); otherwise it must be processed with them.
    pub fn rules_read_auto_numbers(&self) -> bool {
        let autos: Vec<&str> = self.auto_numbers().into_iter().map(|(key, _)| key).collect();
        !autos.is_empty()
            && self.root.slots.iter().any(|slot| {
                slot.reads.iter().any(|read| autos.contains(&read.as_str()))
                    || slot.rows.as_ref().is_some_and(|rows| match &rows.parent_reads {
                        ParentReads::None => false,
                        ParentReads::Members(members) => members.iter().any(|m| autos.contains(&m.as_str())),
                        ParentReads::Whole => true,
                    })
            })
    }

    /// Writes the auto-numbers of `sequences` into a processed record that lacks them.
    pub fn fill_auto_numbers(&self, record: &mut Value, today: Date, sequences: &BTreeMap<String, u64>) {
        let numbers = self.auto_number_values(record, today, sequences);
        let Some(object) = record.as_object_mut() else { return };
        for (key, value) in numbers {
            object.insert(key.to_owned(), value);
        }
    }

    /// The values [`CompiledForm::fill_auto_numbers`] adds to `record`, in the order it adds
    /// them (after the record's other fields): for a caller that keeps the record in another
    /// form too (the server writes it out as JSON text before its numbers are drawn).
    pub fn auto_number_values(
        &self,
        record: &Value,
        today: Date,
        sequences: &BTreeMap<String, u64>,
    ) -> Vec<(&str, Value)> {
        let Some(object) = record.as_object() else { return Vec::new() };
        self.auto_numbers()
            .into_iter()
            .filter(|(key, _)| !object.contains_key(*key))
            .filter_map(|(key, pattern)| Some((key, Value::String(pattern.format(today, *sequences.get(key)?)))))
            .collect()
    }

    /// Top-level fields the server must keep unique across records.
    pub fn unique_fields(&self) -> Vec<&str> {
        self.root.slots.iter().filter(|slot| slot.field.common.unique).map(Slot::key).collect()
    }
}

/// Definition paths of items by identity (address), so levels can point issues at the
/// definition.
fn definition_paths(fields: &[Field], path: &str) -> HashMap<*const Field, String> {
    let mut paths = HashMap::new();
    walk_items(fields, path, &mut |field, field_path| {
        paths.insert(field as *const Field, field_path.to_owned());
        if let FieldKind::Subtable(spec) = &field.kind {
            paths.extend(definition_paths(&spec.fields, &pointer(field_path, "fields")));
        }
    });
    paths
}

fn build_level(
    rule_prefix: &str,
    fields: &[Field],
    paths: &HashMap<*const Field, String>,
    parent: Option<&[String]>,
    sandbox: &Sandbox,
    issues: &mut Vec<Issue>,
) -> Level {
    let data = super::data_fields(fields);
    let keys: Vec<String> = data.iter().map(|(field, _)| field.key.clone()).collect();
    let mut variables: Vec<&str> = keys.iter().map(String::as_str).collect();
    if parent.is_some() {
        variables.push("parent");
    }
    let path_of = |field: &Field| paths.get(&(field as *const Field)).cloned().unwrap_or_default();
    let compile = |field: &Field, property: &str, source: &str, issues: &mut Vec<Issue>| -> Option<Rule> {
        let name = format!("{rule_prefix}.{}.{property}", field.key);
        let path = pointer(&path_of(field), property);
        match sandbox.compile(&name, source, &variables) {
            Ok(rule) => {
                check_parent_members(&rule, parent, &path, issues);
                Some(rule)
            }
            Err(error) => {
                issues.push(match error.kind {
                    RuleErrorKind::UnknownVariable { name } => {
                        Issue::new(path, Code::UnknownReference).param("name", name)
                    }
                    _ => Issue::new(path, Code::InvalidExpression).param("detail", detail(&error.to_string())),
                });
                None
            }
        }
    };

    let mut slots = Vec::with_capacity(data.len());
    let mut parent_reads = ParentReads::None;
    for (field, layout) in &data {
        let field = *field;
        let mut visible = Vec::new();
        for item in layout.iter().copied().chain(std::iter::once(field)) {
            if let Some(source) = &item.common.visible_if {
                visible.extend(compile(item, "visible_if", source, issues));
            }
        }
        let required_if = field.common.required_if.as_ref().and_then(|s| compile(field, "required_if", s, issues));
        let computed = match &field.kind {
            FieldKind::Computed(spec) => compile(field, "expr", &spec.expr, issues),
            _ => None,
        };
        let samples = match &field.kind {
            FieldKind::Measurement(spec) => match &spec.samples {
                Some(Samples::Expr(source)) => compile(field, "samples", source, issues),
                _ => None,
            },
            _ => None,
        };
        let auto_number = match &field.kind {
            FieldKind::AutoNumber(spec) => AutoNumberPattern::parse(&spec.pattern).ok(),
            _ => None,
        };
        let rows = match &field.kind {
            FieldKind::Subtable(spec) => {
                let prefix = format!("{rule_prefix}.{}", field.key);
                let mut rows = build_level(&prefix, &spec.fields, paths, Some(&keys), sandbox, issues);
                rows.max_rows = spec.max_rows.map(|max| usize::try_from(max).unwrap_or(usize::MAX));
                Some(Box::new(rows))
            }
            _ => None,
        };
        let rules = visible.iter().chain(&required_if).chain(&computed).chain(&samples);
        let mut reads: Vec<String> = Vec::new();
        for rule in rules {
            for reference in rule.references() {
                if reference.name == "parent" && parent.is_some() {
                    // A member the parent lacks is reported by check_parent_members; read it whole.
                    let member = reference.member.clone().filter(|m| parent.is_some_and(|keys| keys.contains(m)));
                    parent_reads = match (parent_reads, member) {
                        (ParentReads::Whole, _) | (_, None) => ParentReads::Whole,
                        (ParentReads::None, Some(member)) => ParentReads::Members(vec![member]),
                        (ParentReads::Members(mut members), Some(member)) => {
                            if !members.contains(&member) {
                                members.push(member);
                            }
                            ParentReads::Members(members)
                        }
                    };
                } else if keys.contains(&reference.name) && !reads.contains(&reference.name) {
                    reads.push(reference.name.clone());
                }
            }
        }
        // A subtable also waits for the parent fields its rows read.
        if let Some(rows) = &rows {
            for slot in &rows.slots {
                for rule in slot.visible.iter().chain(&slot.required_if).chain(&slot.computed).chain(&slot.samples) {
                    for reference in rule.references() {
                        if let (true, Some(member)) = (reference.name == "parent", &reference.member)
                            && keys.contains(member)
                            && !reads.contains(member)
                        {
                            reads.push(member.clone());
                        }
                    }
                }
            }
        }
        let fills_in = field.common.default.is_some() || field.common.read_only || auto_number.is_some();
        let checked_after = match &field.kind {
            FieldKind::Number(spec) => spec.precision.is_some(),
            FieldKind::Measurement(spec) => spec.precision.is_some(),
            FieldKind::Attachment(spec) => !spec.accept.is_empty(),
            _ => false,
        };
        slots.push(Slot {
            field: strip_children(field),
            visible,
            required_if,
            computed,
            samples,
            auto_number,
            reads,
            rows,
            fills_in,
            checked_after,
        });
    }
    let index: HashMap<String, usize, KeyHasher> = keys.iter().enumerate().map(|(i, k)| (k.clone(), i)).collect();
    let order = evaluation_order(&slots, &index, &data.iter().map(|(f, _)| path_of(f)).collect::<Vec<_>>(), issues);
    let measurement = super::values::measurement_template();
    let fills_in = slots.iter().any(|slot| slot.fills_in);
    Level { slots, order, index, max_rows: None, parent_reads, fills_in, measurement }
}

/// `parent.x` must name a field of the enclosing record.
fn check_parent_members(rule: &Rule, parent: Option<&[String]>, path: &str, issues: &mut Vec<Issue>) {
    let Some(parent_keys) = parent else { return };
    for reference in rule.references() {
        if let (true, Some(member)) = (reference.name == "parent", &reference.member)
            && !parent_keys.contains(member)
        {
            issues.push(Issue::new(path, Code::UnknownReference).param("name", format!("parent.{member}")));
        }
    }
}

/// A slot keeps its own properties; its children live in the nested level.
fn strip_children(field: &Field) -> Field {
    let mut field = field.clone();
    if let FieldKind::Subtable(spec) = &mut field.kind {
        spec.fields.clear();
    }
    field
}

/// Orders slots so that every slot comes after those it reads, reporting each cycle once.
fn evaluation_order(
    slots: &[Slot],
    index: &HashMap<String, usize, KeyHasher>,
    paths: &[String],
    issues: &mut Vec<Issue>,
) -> Vec<usize> {
    let edges: Vec<Vec<usize>> =
        slots.iter().map(|slot| slot.reads.iter().filter_map(|key| index.get(key).copied()).collect()).collect();
    // Depth-first search with colours; a grey node reached again closes a cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        White,
        Grey,
        Black,
    }
    fn visit(
        node: usize,
        edges: &[Vec<usize>],
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
        order: &mut Vec<usize>,
        cycles: &mut Vec<Vec<usize>>,
    ) {
        marks[node] = Mark::Grey;
        stack.push(node);
        for &next in &edges[node] {
            match marks[next] {
                Mark::White => visit(next, edges, marks, stack, order, cycles),
                Mark::Grey => {
                    let start = stack.iter().position(|&n| n == next).unwrap_or(0);
                    cycles.push(stack[start..].to_vec());
                }
                Mark::Black => {}
            }
        }
        stack.pop();
        marks[node] = Mark::Black;
        order.push(node);
    }
    let mut marks = vec![Mark::White; slots.len()];
    let mut order = Vec::with_capacity(slots.len());
    let mut cycles = Vec::new();
    for node in 0..slots.len() {
        if marks[node] == Mark::White {
            visit(node, &edges, &mut marks, &mut Vec::new(), &mut order, &mut cycles);
        }
    }
    for cycle in cycles {
        let first = *cycle.iter().min().unwrap_or(&0);
        let start = cycle.iter().position(|&n| n == first).unwrap_or(0);
        let mut names: Vec<&str> = cycle[start..].iter().chain(&cycle[..start]).map(|&n| slots[n].key()).collect();
        names.push(slots[first].key());
        issues.push(Issue::new(paths[first].clone(), Code::DependencyCycle).param("cycle", names.join(" → ")));
    }
    order
}

/// A rule error's text without the `rule ...:` prefix, which the issue path already gives.
fn detail(message: &str) -> String {
    message.split_once(": ").map_or(message, |(_, rest)| rest).to_owned()
}
