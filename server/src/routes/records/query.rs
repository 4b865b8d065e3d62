//! The record list's query language, parsed against the form definition and rendered to SQL
//! for SQLite and PostgreSQL.
//!
//! - `f.PATH=VALUE` or `f.PATH:OP=VALUE`: PATH is a field key, or a path into a subtable's
//!   rows (`f.items.part=P-1` matches when any row matches), a measurement (`f.width.result=ng`,
//!   `f.width.values:gt=10.2`) or a multiselect (any chosen option). OP is one of `eq` (the
//!   default), `ne`, `lt`, `lte`, `gt`, `gte`, `in` (comma-separated values), `contains`
//!   (case-insensitive text) and `exists` (`true`/`false`).
//! - `sort=FIELD` or `sort=-FIELD` (descending): a top-level number, text-like, boolean, date
//!   field, or `created_at`/`updated_at`. Records without a value come last either way.
//!
//! Field keys are checked against the definition (so only `[a-z0-9_]` reaches the SQL text);
//! every value is a bound parameter.

use engine::form::{Field, FieldKind, data_fields};
use sea_orm::{DbBackend, Value as SqlValue};

/// What a path ends at, which decides how values are typed and compared.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Leaf {
    Number,
    Text,
    Bool,
    /// A computed value: its type is known only per record.
    Any,
    /// A subtable, attachment, signature or measurement as a whole: only `exists`.
    Container,
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    /// Any element of an array.
    Each,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Eq,
    Lt,
    Lte,
    Gt,
    Gte,
    Contains,
    Exists,
}

#[derive(Clone, Debug)]
pub struct Filter {
    steps: Vec<Step>,
    leaf: Leaf,
    op: Op,
    /// The condition is negated as a whole (`ne`, `exists=false`): "no row matches".
    negated: bool,
    /// Alternatives (`in`); one value otherwise.
    values: Vec<String>,
}

/// The sort key: a data field of a scalar type or a record column.
#[derive(Clone, Debug)]
pub enum SortKey {
    Field { key: String, leaf: Leaf },
    Column(&'static str),
}

#[derive(Clone, Debug)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

/// The value of the sort key at the cursor record.
#[derive(Clone, Debug)]
pub enum CursorValue {
    Number(f64),
    Integer(i64),
    Text(String),
    Null,
}

/// Resolves `path` to the steps and leaf it names among `fields` (the caller's readable
/// top-level data fields).
fn resolve(fields: &[&Field], path: &str) -> Result<(Vec<Step>, Leaf), String> {
    let segments: Vec<&str> = path.split('.').collect();
    let mut scope: Vec<&Field> = fields.to_vec();
    let mut steps = Vec::new();
    let mut index = 0;
    loop {
        let segment = segments[index];
        let field = scope.iter().find(|f| f.key == segment).ok_or_else(|| format!("the form has no field {path:?}"))?;
        steps.push(Step::Key(segment.to_owned()));
        let rest = &segments[index + 1..];
        let leaf = match &field.kind {
            FieldKind::Subtable(spec) if !rest.is_empty() => {
                steps.push(Step::Each);
                scope = data_fields(&spec.fields).into_iter().map(|(f, _)| f).collect();
                index += 1;
                continue;
            }
            FieldKind::Measurement(_) => match rest {
                [] => Leaf::Container,
                ["result"] => {
                    steps.push(Step::Key("result".to_owned()));
                    Leaf::Text
                }
                ["values"] => {
                    steps.push(Step::Key("values".to_owned()));
                    steps.push(Step::Each);
                    Leaf::Number
                }
                _ => return Err(format!("a measurement has `result` and `values`, not {path:?}")),
            },
            FieldKind::Multiselect(_) => {
                steps.push(Step::Each);
                Leaf::Text
            }
            FieldKind::Subtable(_) | FieldKind::Attachment(_) | FieldKind::Signature(_) => Leaf::Container,
            FieldKind::Number(_) => Leaf::Number,
            FieldKind::Boolean(_) => Leaf::Bool,
            FieldKind::Computed(_) => Leaf::Any,
            _ => Leaf::Text,
        };
        let consumed = matches!(field.kind, FieldKind::Measurement(_)) && !rest.is_empty();
        if !rest.is_empty() && !consumed {
            return Err(format!("{segment:?} has no parts: {path:?}"));
        }
        return Ok((steps, leaf));
    }
}

/// Parses one `f.` parameter: `name` without the prefix, and its value.
pub fn parse_filter(fields: &[&Field], name: &str, value: &str) -> Result<Filter, String> {
    let (path, op_name) = name.split_once(':').unwrap_or((name, "eq"));
    let (steps, leaf) = resolve(fields, path)?;
    let (op, negated) = match op_name {
        "eq" | "in" => (Op::Eq, false),
        "ne" => (Op::Eq, true),
        "lt" => (Op::Lt, false),
        "lte" => (Op::Lte, false),
        "gt" => (Op::Gt, false),
        "gte" => (Op::Gte, false),
        "contains" => (Op::Contains, false),
        "exists" => match value {
            "true" => (Op::Exists, false),
            "false" => (Op::Exists, true),
            _ => return Err(format!("{name} is true or false")),
        },
        other => return Err(format!("unknown operator {other:?} (eq, ne, lt, lte, gt, gte, in, contains, exists)")),
    };
    let values: Vec<String> =
        if op_name == "in" { value.split(',').map(str::to_owned).collect() } else { vec![value.to_owned()] };
    if values.len() > 100 {
        return Err(format!("{name}: at most 100 values"));
    }
    let allowed = match (leaf, op) {
        (_, Op::Exists) => true,
        (Leaf::Container, _) => false,
        (Leaf::Bool, Op::Eq) => true,
        (Leaf::Bool, _) => false,
        (Leaf::Number, Op::Contains) => false,
        _ => true,
    };
    if !allowed {
        return Err(format!("{op_name} does not apply to {path:?}"));
    }
    if op != Op::Exists {
        for value in &values {
            match leaf {
                Leaf::Number if value.parse::<f64>().is_err() => return Err(format!("{value:?} is not a number")),
                Leaf::Bool if value != "true" && value != "false" => {
                    return Err(format!("{value:?} is not true or false"));
                }
                _ => {}
            }
        }
    }
    Ok(Filter { steps, leaf, op, negated, values })
}

/// Parses `sort=[-]KEY`.
pub fn parse_sort(fields: &[&Field], value: &str) -> Result<Sort, String> {
    let (descending, key) = match value.strip_prefix('-') {
        Some(key) => (true, key),
        None => (false, value),
    };
    let key = match key {
        "created_at" => SortKey::Column("created_at"),
        "updated_at" => SortKey::Column("updated_at"),
        _ => {
            let field = fields.iter().find(|f| f.key == key).ok_or_else(|| format!("the form has no field {key:?}"))?;
            let leaf = match &field.kind {
                FieldKind::Number(_) => Leaf::Number,
                FieldKind::Boolean(_) => Leaf::Bool,
                FieldKind::Subtable(_)
                | FieldKind::Attachment(_)
                | FieldKind::Signature(_)
                | FieldKind::Measurement(_)
                | FieldKind::Multiselect(_)
                | FieldKind::Computed(_) => return Err(format!("records cannot be sorted by {key:?}")),
                _ => Leaf::Text,
            };
            SortKey::Field { key: key.to_owned(), leaf }
        }
    };
    Ok(Sort { key, descending })
}

/// SQL text with its parameters, numbered for the backend.
pub struct Sql {
    backend: DbBackend,
    pub values: Vec<SqlValue>,
    aliases: usize,
}

impl Sql {
    pub fn new(backend: DbBackend) -> Sql {
        Sql { backend, values: Vec::new(), aliases: 0 }
    }

    pub fn param(&mut self, value: impl Into<SqlValue>) -> String {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => format!("${}", self.values.len()),
            // Numbered, so that one parameter may appear twice (the cursor's value).
            _ => format!("?{}", self.values.len()),
        }
    }

    fn postgres(&self) -> bool {
        self.backend == DbBackend::Postgres
    }

    /// The condition of `filter` on the row `records`.
    pub fn filter(&mut self, filter: &Filter) -> String {
        let root = if self.postgres() { "records.data".to_owned() } else { "'$'".to_owned() };
        let inner = self.steps(&filter.steps, root, filter);
        if filter.negated { format!("NOT COALESCE(({inner}), FALSE)") } else { inner }
    }

    /// Walks `steps` from `at` (a jsonb expression on PostgreSQL, a JSON path expression over
    /// `records.data` on SQLite), opening an `EXISTS` over the elements at each `Each`.
    fn steps(&mut self, steps: &[Step], at: String, filter: &Filter) -> String {
        let Some((step, rest)) = steps.split_first() else {
            return self.leaf(&at, filter);
        };
        match step {
            Step::Key(key) => {
                let next = if self.postgres() {
                    format!("({at} -> '{key}')")
                } else if let Some(literal) = at.strip_suffix('\'') {
                    format!("{literal}.{key}'")
                } else {
                    format!("({at} || '.{key}')")
                };
                self.steps(rest, next, filter)
            }
            Step::Each => {
                self.aliases += 1;
                let alias = format!("e{}", self.aliases);
                if self.postgres() {
                    let inner = self.steps(rest, format!("{alias}.v"), filter);
                    format!(
                        "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof({at}) = 'array' \
                         THEN {at} ELSE '[]'::jsonb END) AS {alias}(v) WHERE {inner})"
                    )
                } else {
                    let inner = self.steps(rest, format!("{alias}.fullkey"), filter);
                    format!(
                        "EXISTS (SELECT 1 FROM json_each(records.data, {at}) AS {alias} \
                         WHERE json_type(records.data, {at}) = 'array' AND {inner})"
                    )
                }
            }
        }
    }

    fn leaf(&mut self, at: &str, filter: &Filter) -> String {
        let (type_of, text) = if self.postgres() {
            (format!("jsonb_typeof({at})"), format!("({at} #>> '{{}}')"))
        } else {
            (format!("json_type(records.data, {at})"), format!("json_extract(records.data, {at})"))
        };
        if filter.op == Op::Exists {
            return format!("COALESCE({type_of}, 'null') <> 'null'");
        }
        if self.postgres() && filter.op == Op::Eq && filter.leaf == Leaf::Text {
            // One jsonb comparison: equal jsonb strings are equal bytes, the same answer as
            // the typed test below, and the planner estimates it as it does any expression,
            // so a page walks the id order instead of the table (199 -> 23 ms at 100,000).
            let values: Vec<String> = filter
                .values
                .iter()
                .map(|value| format!("{}::jsonb", self.param(serde_json::Value::String(value.clone()).to_string())))
                .collect();
            return format!("({at} IN ({}))", values.join(", "));
        }
        let alternatives: Vec<String> = filter
            .values
            .iter()
            .map(|value| match filter.leaf {
                Leaf::Number => self.number(&type_of, &text, filter.op, value),
                Leaf::Bool => self.boolean(&type_of, &text, value),
                Leaf::Text | Leaf::Container => self.text(&type_of, &text, filter.op, value),
                Leaf::Any => {
                    let mut any = vec![self.text(&type_of, &text, filter.op, value)];
                    if value.parse::<f64>().is_ok() && filter.op != Op::Contains {
                        any.push(self.number(&type_of, &text, filter.op, value));
                    }
                    if (value == "true" || value == "false") && filter.op == Op::Eq {
                        any.push(self.boolean(&type_of, &text, value));
                    }
                    any.join(" OR ")
                }
            })
            .collect();
        format!("({})", alternatives.join(" OR "))
    }

    fn number(&mut self, type_of: &str, text: &str, op: Op, value: &str) -> String {
        let number: f64 = value.parse().unwrap_or(f64::NAN);
        let param = self.param(number);
        let op = comparison(op);
        if self.postgres() {
            format!("({type_of} = 'number' AND {text}::float8 {op} {param})")
        } else {
            format!("({type_of} IN ('integer', 'real') AND {text} {op} {param})")
        }
    }

    fn text(&mut self, type_of: &str, text: &str, op: Op, value: &str) -> String {
        let param = self.param(value.to_owned());
        let string = if self.postgres() { "string" } else { "text" };
        match op {
            Op::Contains if self.postgres() => {
                format!("({type_of} = '{string}' AND strpos(lower({text}), lower({param})) > 0)")
            }
            Op::Contains => format!("({type_of} = '{string}' AND instr(lower({text}), lower({param})) > 0)"),
            // Byte order on both databases, so pages and ranges agree between them.
            _ if self.postgres() => {
                format!("({type_of} = '{string}' AND {text} COLLATE \"C\" {} {param})", comparison(op))
            }
            _ => format!("({type_of} = '{string}' AND {text} {} {param})", comparison(op)),
        }
    }

    fn boolean(&mut self, type_of: &str, text: &str, value: &str) -> String {
        let param = self.param(value.to_owned());
        if self.postgres() {
            format!("({type_of} = 'boolean' AND {text} = {param})")
        } else {
            format!("({type_of} = {param})")
        }
    }

    /// The SQL expression of a sort key: typed, and NULL where a record has no value of the
    /// field's type.
    pub fn sort_key(&self, key: &SortKey) -> String {
        match key {
            SortKey::Column(column) => (*column).to_owned(),
            SortKey::Field { key, leaf } => match (self.postgres(), leaf) {
                (true, Leaf::Number) => {
                    format!("(CASE WHEN jsonb_typeof(data -> '{key}') = 'number' THEN (data ->> '{key}')::float8 END)")
                }
                (true, Leaf::Bool) => format!(
                    "(CASE WHEN jsonb_typeof(data -> '{key}') = 'boolean' \
                     THEN (CASE WHEN (data ->> '{key}') = 'true' THEN 1 ELSE 0 END)::int8 END)"
                ),
                (true, _) => format!(
                    "(CASE WHEN jsonb_typeof(data -> '{key}') = 'string' THEN (data ->> '{key}') END) COLLATE \"C\""
                ),
                (false, Leaf::Number) => format!(
                    "(CASE WHEN json_type(data, '$.{key}') IN ('integer', 'real') \
                     THEN CAST(json_extract(data, '$.{key}') AS REAL) END)"
                ),
                (false, Leaf::Bool) => {
                    format!("(CASE json_type(data, '$.{key}') WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)")
                }
                (false, _) => {
                    format!("(CASE WHEN json_type(data, '$.{key}') = 'text' THEN json_extract(data, '$.{key}') END)")
                }
            },
        }
    }

    /// Rows after the cursor record (`value` is its sort key, `id` its id), records without
    /// a value last.
    pub fn after(&mut self, sort: &Sort, value: CursorValue, id: &str) -> String {
        let key = self.sort_key(&sort.key);
        let (beyond, id_beyond) = if sort.descending { ("<", "<") } else { (">", ">") };
        let value = match value {
            CursorValue::Null => {
                let id = self.param(id.to_owned());
                return format!("({key} IS NULL AND id {id_beyond} {id})");
            }
            CursorValue::Number(n) => self.param(n),
            CursorValue::Integer(n) => self.param(n),
            CursorValue::Text(t) => self.param(t),
        };
        let id = self.param(id.to_owned());
        format!("({key} {beyond} {value} OR ({key} = {value} AND id {id_beyond} {id}) OR {key} IS NULL)")
    }

    pub fn order_by(&self, sort: &Sort) -> String {
        let key = self.sort_key(&sort.key);
        let dir = if sort.descending { "DESC" } else { "ASC" };
        format!(" ORDER BY ({key} IS NULL) ASC, {key} {dir}, id {dir}")
    }
}

fn comparison(op: Op) -> &'static str {
    match op {
        Op::Lt => "<",
        Op::Lte => "<=",
        Op::Gt => ">",
        Op::Gte => ">=",
        _ => "=",
    }
}
