//! A report plan rendered to one aggregate query for SQLite or PostgreSQL. Field keys come
//! from the plan, which took them from the form definition (`[a-z0-9_]` only); every value
//! a user wrote is a bound parameter.

use std::cell::RefCell;
use std::collections::BTreeSet;

use engine::report::{Aggregate, Bucket, Cond, Kind, OTHERS, Op, Plan, Source};
use sea_orm::{DbBackend, Value as SqlValue};
use serde_json::Value;

/// The records a report may see: the form's live records in the caller's row scope.
pub struct Scope<'a> {
    pub workspace_id: &'a str,
    pub form_id: &'a str,
    /// Only the caller's own records.
    pub own: Option<&'a str>,
    /// Minutes east of UTC for local dates.
    pub offset_minutes: i32,
}

pub struct Query {
    backend: DbBackend,
    pub values: Vec<SqlValue>,
    offset: i32,
    /// The subtable whose rows the report flattens (`r`), from the plan.
    rows: Option<String>,
    /// Relation fields whose records the expressions read (`j_<key>`), collected while
    /// rendering; `from` joins them, so it is rendered last.
    joins: RefCell<BTreeSet<String>>,
}

impl Query {
    pub fn new(backend: DbBackend, offset: i32, plan: &Plan) -> Query {
        Query::over(backend, offset, plan.rows.clone())
    }

    /// A query over records flattened over the subtable `rows`, if any.
    pub fn over(backend: DbBackend, offset: i32, rows: Option<String>) -> Query {
        Query { backend, values: Vec::new(), offset, rows, joins: RefCell::default() }
    }

    /// Where a field path's JSON lives and its key there: `key` in the record, `rows.key` in
    /// the flattened subtable row, `relation.key` in the related record (joined).
    fn locate<'p>(&self, path: &'p str) -> (String, &'p str) {
        match path.split_once('.') {
            None => ("records.data".into(), path),
            Some((prefix, key)) if self.rows.as_deref() == Some(prefix) => {
                ((if self.pg() { "r.e" } else { "r.value" }).into(), key)
            }
            Some((prefix, key)) => {
                self.joins.borrow_mut().insert(prefix.to_owned());
                (format!("j_{prefix}.data"), key)
            }
        }
    }

    /// PostgreSQL: the value as `jsonb`.
    fn element(&self, path: &str) -> String {
        let (base, key) = self.locate(path);
        format!("({base} -> '{key}')")
    }

    fn pg(&self) -> bool {
        self.backend == DbBackend::Postgres
    }

    pub fn param(&mut self, value: impl Into<SqlValue>) -> String {
        self.values.push(value.into());
        if self.pg() { format!("${}", self.values.len()) } else { format!("?{}", self.values.len()) }
    }

    fn type_of(&self, path: &str) -> String {
        let (base, key) = self.locate(path);
        if self.pg() { format!("jsonb_typeof({base} -> '{key}')") } else { format!("json_type({base}, '$.{key}')") }
    }

    fn raw_text(&self, path: &str) -> String {
        let (base, key) = self.locate(path);
        if self.pg() { format!("({base} ->> '{key}')") } else { format!("json_extract({base}, '$.{key}')") }
    }

    /// The value as a number, NULL where it is not one.
    pub fn number(&self, source: &Source) -> String {
        if let Source::Field { kind: Kind::Samples, .. } = source {
            // One sampled value of the exploded measurement (see `from`).
            return if self.pg() {
                "(CASE WHEN jsonb_typeof(s.e) = 'number' THEN (s.e #>> '{}')::float8 END)".into()
            } else {
                "(CASE WHEN s.type IN ('integer', 'real') THEN CAST(s.value AS REAL) END)".into()
            };
        }
        let Source::Field { key, .. } = source else { return "NULL".into() };
        let (type_of, raw) = (self.type_of(key), self.raw_text(key));
        if self.pg() {
            format!("(CASE WHEN {type_of} = 'number' THEN {raw}::float8 END)")
        } else {
            format!("(CASE WHEN {type_of} IN ('integer', 'real') THEN CAST({raw} AS REAL) END)")
        }
    }

    /// The value as text (strings only), NULL otherwise.
    fn string(&self, key: &str) -> String {
        let (type_of, raw) = (self.type_of(key), self.raw_text(key));
        let string = if self.pg() { "string" } else { "text" };
        format!("(CASE WHEN {type_of} = '{string}' THEN {raw} END)")
    }

    /// A local timestamp of a dated source (PostgreSQL `timestamp`, SQLite text).
    fn local_time(&self, source: &Source) -> String {
        let offset = self.offset;
        match (self.pg(), source) {
            (true, Source::CreatedAt) => {
                format!(
                    "(to_timestamp(records.created_at / 1000.0) AT TIME ZONE 'UTC' + make_interval(mins => {offset}))"
                )
            }
            (false, Source::CreatedAt) => {
                format!("datetime(records.created_at / 1000, 'unixepoch', '{offset:+} minutes')")
            }
            (true, Source::Field { key, kind: Kind::Date }) => {
                format!("to_date({}, 'YYYY-MM-DD')::timestamp", self.string(key))
            }
            (false, Source::Field { key, kind: Kind::Date }) => self.string(key),
            (true, Source::Field { key, .. }) => {
                format!("({}::timestamptz AT TIME ZONE 'UTC' + make_interval(mins => {offset}))", self.string(key))
            }
            (false, Source::Field { key, .. }) => format!("datetime({}, '{offset:+} minutes')", self.string(key)),
            (_, Source::CreatedBy) => "NULL".into(),
        }
    }

    pub fn bucket(&self, source: &Source, bucket: Bucket) -> String {
        self.format_time(&self.local_time(source), bucket)
    }

    /// A rollup's day key (`YYYY-MM-DD` text) in a bucket: the same labels as [`Self::bucket`].
    pub fn bucket_of_day(&self, day: &str, bucket: Bucket) -> String {
        match bucket {
            Bucket::Day => return day.to_owned(),
            Bucket::Month => return format!("substr({day}, 1, 7)"),
            Bucket::Year => return format!("substr({day}, 1, 4)"),
            _ => {}
        }
        let at = if self.pg() { format!("to_date({day}, 'YYYY-MM-DD')::timestamp") } else { day.to_owned() };
        self.format_time(&at, bucket)
    }

    /// A rollup's month key (`YYYY-MM` text) in a month, quarter or year bucket.
    pub fn bucket_of_month(&self, month: &str, bucket: Bucket) -> String {
        match bucket {
            Bucket::Year => format!("substr({month}, 1, 4)"),
            Bucket::Quarter => {
                format!("(substr({month}, 1, 4) || '-Q' || ((CAST(substr({month}, 6, 2) AS INTEGER) + 2) / 3))")
            }
            _ => month.to_owned(),
        }
    }

    /// A local timestamp (PostgreSQL `timestamp`, SQLite text) as a bucket's label.
    fn format_time(&self, at: &str, bucket: Bucket) -> String {
        if self.pg() {
            let format = match bucket {
                Bucket::Day => "YYYY-MM-DD",
                Bucket::Week => "IYYY-\"W\"IW",
                Bucket::Month => "YYYY-MM",
                Bucket::Quarter => "YYYY-\"Q\"Q",
                Bucket::Year => "YYYY",
            };
            format!("to_char({at}, '{format}')")
        } else {
            match bucket {
                Bucket::Day => format!("strftime('%Y-%m-%d', {at})"),
                Bucket::Week => format!("strftime('%G-W%V', {at})"),
                Bucket::Month => format!("strftime('%Y-%m', {at})"),
                Bucket::Quarter => {
                    format!("(strftime('%Y', {at}) || '-Q' || ((CAST(strftime('%m', {at}) AS INTEGER) + 2) / 3))")
                }
                Bucket::Year => format!("strftime('%Y', {at})"),
            }
        }
    }

    /// A dimension's value as text (a list dimension reads the exploded element `x`).
    pub fn dimension(&self, source: &Source, bucket: Option<Bucket>) -> String {
        if let Some(bucket) = bucket {
            return self.bucket(source, bucket);
        }
        match source {
            Source::CreatedBy => "records.created_by".into(),
            Source::CreatedAt => self.bucket(source, Bucket::Day),
            Source::Field { kind: Kind::Multi, .. } => {
                if self.pg() {
                    "x.v".into()
                } else {
                    "(CASE WHEN x.type = 'text' THEN x.value END)".into()
                }
            }
            Source::Field { key, kind } => {
                let (type_of, raw) = (self.type_of(key), self.raw_text(key));
                match (self.pg(), kind) {
                    (_, Kind::Text | Kind::Date | Kind::Datetime) => self.string(key),
                    (true, _) => format!("(CASE WHEN {type_of} IN ('string', 'number', 'boolean') THEN {raw} END)"),
                    (false, _) => format!(
                        "(CASE {type_of} WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
                         WHEN 'text' THEN {raw} WHEN 'integer' THEN CAST({raw} AS TEXT) \
                         WHEN 'real' THEN CAST({raw} AS TEXT) END)"
                    ),
                }
            }
        }
    }

    /// The FROM clause: records, flattened over the subtable's rows, joined to the related
    /// records the expressions read, with one row per chosen option of a list dimension and
    /// one per sampled value of a charted measurement (a single number is one sample). Render
    /// it after every other part of the query.
    pub fn from(&self, plan: &Plan) -> String {
        let exploded = match plan.exploded().map(|i| &plan.dimensions[i].source) {
            Some(Source::Field { key, .. }) => Some(key.as_str()),
            _ => None,
        };
        self.from_parts(exploded, plan.sampled())
    }

    /// [`Self::from`] for a list field exploded into its options and a sampled measurement.
    pub fn from_parts(&self, exploded: Option<&str>, sampled: Option<&str>) -> String {
        let mut from = String::from("records");
        if let Some(rows) = &self.rows {
            from.push_str(&if self.pg() {
                format!(
                    " CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(records.data -> '{rows}') = 'array' \
                     THEN records.data -> '{rows}' ELSE '[]'::jsonb END) AS r(e)"
                )
            } else {
                format!(
                    " JOIN json_each(CASE WHEN json_type(records.data, '$.{rows}') = 'array' \
                     THEN json_extract(records.data, '$.{rows}') ELSE '[]' END) AS r"
                )
            });
        }
        // The explosions below may read related records too: work them out before the joins.
        let mut tail = String::new();
        if let Some(key) = exploded {
            tail.push_str(&if self.pg() {
                let element = self.element(key);
                format!(
                    " LEFT JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof({element}) = 'array' \
                     THEN {element} ELSE '[]'::jsonb END) AS x(v) ON TRUE"
                )
            } else {
                let (type_of, raw) = (self.type_of(key), self.raw_text(key));
                format!(" LEFT JOIN json_each(CASE WHEN {type_of} = 'array' THEN {raw} ELSE '[]' END) AS x")
            });
        }
        // A measurement is stored as `{"values": [...], ...}` once processed; a bare list or
        // number is accepted too.
        if let Some(key) = sampled {
            tail.push_str(&if self.pg() {
                let element = self.element(key);
                format!(
                    " LEFT JOIN LATERAL jsonb_array_elements(CASE jsonb_typeof({element}) \
                     WHEN 'array' THEN {element} WHEN 'number' THEN jsonb_build_array({element}) \
                     WHEN 'object' THEN CASE WHEN jsonb_typeof({element} -> 'values') = 'array' \
                     THEN {element} -> 'values' ELSE '[]'::jsonb END \
                     ELSE '[]'::jsonb END) AS s(e) ON TRUE"
                )
            } else {
                let (type_of, raw) = (self.type_of(key), self.raw_text(key));
                let (base, inner) = self.locate(key);
                format!(
                    " LEFT JOIN json_each(CASE WHEN {type_of} IN ('array', 'integer', 'real') THEN {raw} \
                     WHEN json_type({base}, '$.{inner}.values') = 'array' THEN json_extract({base}, '$.{inner}.values') \
                     ELSE '[]' END) AS s"
                )
            });
        }
        for relation in self.joins.borrow().iter() {
            // Only live records of the same workspace: an id from elsewhere matches nothing.
            let id = if self.pg() {
                format!("(records.data ->> '{relation}')")
            } else {
                format!("json_extract(records.data, '$.{relation}')")
            };
            from.push_str(&format!(
                " LEFT JOIN records AS j_{relation} ON j_{relation}.id = {id} \
                 AND j_{relation}.workspace_id = records.workspace_id AND j_{relation}.deleted_at IS NULL"
            ));
        }
        from.push_str(&tail);
        from
    }

    pub fn scope(&mut self, scope: &Scope<'_>) -> String {
        let workspace = self.param(scope.workspace_id.to_owned());
        let form = self.param(scope.form_id.to_owned());
        let mut text =
            format!("records.workspace_id = {workspace} AND records.form_id = {form} AND records.deleted_at IS NULL");
        if let Some(user) = scope.own {
            let user = self.param(user.to_owned());
            text.push_str(&format!(" AND records.created_by = {user}"));
        }
        text
    }

    pub fn condition(&mut self, cond: &Cond) -> String {
        match cond {
            Cond::And(parts) if parts.is_empty() => "TRUE".into(),
            Cond::Or(parts) if parts.is_empty() => "FALSE".into(),
            Cond::And(parts) => {
                let parts: Vec<String> = parts.iter().map(|p| self.condition(p)).collect();
                format!("({})", parts.join(" AND "))
            }
            Cond::Or(parts) => {
                let parts: Vec<String> = parts.iter().map(|p| self.condition(p)).collect();
                format!("({})", parts.join(" OR "))
            }
            // A record without the value does not meet the inner condition, so NOT holds.
            Cond::Not(inner) => format!("(NOT COALESCE({}, FALSE))", self.condition(inner)),
            Cond::Exists { source, present } => {
                let test = match source {
                    // An empty list is no value (nothing chosen).
                    Source::Field { key, kind: Kind::Multi } if self.pg() => {
                        let element = self.element(key);
                        format!("(jsonb_typeof({element}) = 'array' AND jsonb_array_length({element}) > 0)")
                    }
                    Source::Field { key, kind: Kind::Multi } => {
                        let (base, inner) = self.locate(key);
                        format!("({} = 'array' AND json_array_length({base}, '$.{inner}') > 0)", self.type_of(key))
                    }
                    Source::Field { key, .. } => format!("(COALESCE({}, 'null') <> 'null')", self.type_of(key)),
                    _ => "TRUE".into(),
                };
                if *present { test } else { format!("(NOT {test})") }
            }
            Cond::Dates { source, from, to } => {
                let day = self.bucket(source, Bucket::Day);
                let mut parts = vec![format!("{day} IS NOT NULL")];
                if let Some(from) = from {
                    let from = self.param(from.clone());
                    parts.push(format!("{day} >= {from}"));
                }
                if let Some(to) = to {
                    let to = self.param(to.clone());
                    parts.push(format!("{day} <= {to}"));
                }
                format!("({})", parts.join(" AND "))
            }
            Cond::Compare { source, op, values } => {
                if *op == Op::Ne {
                    let eq = self.compare(source, Op::Eq, values);
                    return format!("(NOT COALESCE({eq}, FALSE))");
                }
                self.compare(source, *op, values)
            }
        }
    }

    fn compare(&mut self, source: &Source, op: Op, values: &[Value]) -> String {
        let alternatives: Vec<String> = values.iter().map(|value| self.compare_one(source, op, value)).collect();
        format!("({})", alternatives.join(" OR "))
    }

    fn compare_one(&mut self, source: &Source, op: Op, value: &Value) -> String {
        let symbol = match op {
            Op::Lt => "<",
            Op::Lte => "<=",
            Op::Gt => ">",
            Op::Gte => ">=",
            _ => "=",
        };
        let key = match source {
            Source::Field { key, .. } => key.clone(),
            Source::CreatedBy => {
                let param = self.param(value.as_str().unwrap_or_default().to_owned());
                return match op {
                    Op::Contains if self.pg() => format!("(strpos(lower(records.created_by), lower({param})) > 0)"),
                    Op::Contains => format!("(instr(lower(records.created_by), lower({param})) > 0)"),
                    _ => format!("(records.created_by {symbol} {param})"),
                };
            }
            Source::CreatedAt => return "FALSE".into(),
        };
        match (source.kind(), value) {
            (Kind::Multi, Value::String(option)) => {
                let param = self.param(option.clone());
                if self.pg() {
                    let element = self.element(&key);
                    format!("(jsonb_typeof({element}) = 'array' AND {element} ? {param})")
                } else {
                    let (type_of, raw) = (self.type_of(&key), self.raw_text(&key));
                    format!(
                        "EXISTS (SELECT 1 FROM json_each(CASE WHEN {type_of} = 'array' \
                         THEN {raw} ELSE '[]' END) AS o WHERE o.value = {param})"
                    )
                }
            }
            (_, Value::Bool(flag)) => {
                let type_of = self.type_of(&key);
                let param = self.param(flag.to_string());
                if self.pg() {
                    format!("({type_of} = 'boolean' AND {} = {param})", self.raw_text(&key))
                } else {
                    format!("({type_of} = {param})")
                }
            }
            (_, Value::Number(number)) => {
                let param = self.param(number.as_f64().unwrap_or(f64::NAN));
                format!("({} {symbol} {param})", self.number(source))
            }
            (_, Value::String(text)) => {
                let column = self.string(&key);
                let param = self.param(text.clone());
                match op {
                    Op::Contains if self.pg() => format!("(strpos(lower({column}), lower({param})) > 0)"),
                    Op::Contains => format!("(instr(lower({column}), lower({param})) > 0)"),
                    _ if self.pg() => format!("({column} COLLATE \"C\" {symbol} {param})"),
                    _ => format!("({column} {symbol} {param})"),
                }
            }
            _ => "FALSE".into(),
        }
    }

    /// A measure's SQL aggregate, as a float (cumulative shares are filled in afterwards).
    pub fn aggregate(&mut self, aggregate: &Aggregate) -> String {
        let inner = match aggregate {
            Aggregate::Count => "COUNT(*)".into(),
            Aggregate::CountDistinct(source) => format!("COUNT(DISTINCT {})", self.dimension(source, None)),
            Aggregate::Sum(source) => format!("SUM({})", self.number(source)),
            Aggregate::Avg(source) => format!("AVG({})", self.number(source)),
            Aggregate::Min(source) => format!("MIN({})", self.number(source)),
            Aggregate::Max(source) => format!("MAX({})", self.number(source)),
            Aggregate::Rate(cond) => format!("AVG(CASE WHEN {} THEN 1.0 ELSE 0.0 END)", self.condition(cond)),
            Aggregate::Ppm { defects, units } => {
                format!("(SUM({}) * 1000000.0 / NULLIF(SUM({}), 0))", self.number(defects), self.number(units))
            }
            Aggregate::CumulativeShare { .. } => "NULL".into(),
            Aggregate::CountOf(source) => format!("COUNT({})", self.number(source)),
            Aggregate::SumSquares(source) => {
                let value = self.number(source);
                format!("SUM({value} * {value})")
            }
        };
        if self.pg() { format!("CAST({inner} AS float8)") } else { format!("CAST({inner} AS REAL)") }
    }

    /// Folds values outside `top` into the "others" group (NULL stays its own group).
    pub fn folded(&mut self, expression: &str, top: &[String]) -> String {
        if top.is_empty() {
            let others = self.param(OTHERS.to_owned());
            return format!("(CASE WHEN {expression} IS NULL THEN NULL ELSE {others} END)");
        }
        let list: Vec<String> = top.iter().map(|v| self.param(v.clone())).collect();
        let others = self.param(OTHERS.to_owned());
        format!(
            "(CASE WHEN {expression} IS NULL THEN NULL WHEN {expression} IN ({}) THEN {expression} ELSE {others} END)",
            list.join(", ")
        )
    }
}
