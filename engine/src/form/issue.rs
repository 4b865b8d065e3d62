//! Structured problems: a JSON pointer, a stable snake_case code, parameters, and a message
//! in the caller's language. Record validation and definition validation share this shape,
//! which is also the `errors` array of the API's `validation_failed` body.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::i18n::Lang;

/// Stable codes. They name the problem, never an HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    // Records.
    NotAnObject,
    UnknownField,
    Required,
    WrongType,
    NotInteger,
    BelowMin,
    AboveMax,
    TooManyDecimals,
    TooShort,
    TooLong,
    PatternMismatch,
    InvalidOption,
    DuplicateOption,
    TooFewItems,
    TooManyItems,
    InvalidDate,
    InvalidDatetime,
    TooFewRows,
    TooManyRows,
    DuplicateValue,
    TooManyFiles,
    FileTooLarge,
    FileTypeNotAccepted,
    WrongSampleCount,
    RuleFailed,
    InvalidValue,
    NotEditable,
    NotUnique,
    // Definitions.
    InvalidDefinition,
    UnknownFieldType,
    DuplicateKey,
    MalformedKey,
    ReservedKey,
    InvalidExpression,
    UnknownReference,
    DependencyCycle,
    MinGreaterThanMax,
    LslGreaterThanUsl,
    NominalOutsideLimits,
    OptionWithoutValue,
    DuplicateOptionValue,
    InvalidPattern,
    InvalidDefault,
    NotAllowedHere,
    NotApplicable,
    EmptyContainer,
    TopLevelOnly,
    // Workflow definitions.
    StartCount,
    UnknownNode,
    EdgeCount,
    MissingDefault,
    Unreachable,
    NoPathToEnd,
    UnmatchedJoin,
    UnknownForm,
    UnknownRole,
    UnknownConnector,
    InvalidDuration,
    NoAssignees,
}

impl Code {
    /// The wire name, e.g. `above_max`.
    pub fn as_str(self) -> &'static str {
        // The table below is checked against serde's names by a test.
        CODE_NAMES.iter().find(|(code, _)| *code == self).map_or("invalid_value", |(_, name)| name)
    }

    /// Codes only workflow definitions produce (the rest come from forms and records).
    pub fn for_workflows(self) -> bool {
        matches!(
            self,
            Code::StartCount
                | Code::UnknownNode
                | Code::EdgeCount
                | Code::MissingDefault
                | Code::Unreachable
                | Code::NoPathToEnd
                | Code::UnmatchedJoin
                | Code::UnknownForm
                | Code::UnknownRole
                | Code::UnknownConnector
                | Code::InvalidDuration
                | Code::NoAssignees
        )
    }

    /// Every code, for tests and documentation.
    pub fn all() -> impl Iterator<Item = Code> {
        CODE_NAMES.iter().map(|(code, _)| *code)
    }
}

const CODE_NAMES: &[(Code, &str)] = &[
    (Code::NotAnObject, "not_an_object"),
    (Code::UnknownField, "unknown_field"),
    (Code::Required, "required"),
    (Code::WrongType, "wrong_type"),
    (Code::NotInteger, "not_integer"),
    (Code::BelowMin, "below_min"),
    (Code::AboveMax, "above_max"),
    (Code::TooManyDecimals, "too_many_decimals"),
    (Code::TooShort, "too_short"),
    (Code::TooLong, "too_long"),
    (Code::PatternMismatch, "pattern_mismatch"),
    (Code::InvalidOption, "invalid_option"),
    (Code::DuplicateOption, "duplicate_option"),
    (Code::TooFewItems, "too_few_items"),
    (Code::TooManyItems, "too_many_items"),
    (Code::InvalidDate, "invalid_date"),
    (Code::InvalidDatetime, "invalid_datetime"),
    (Code::TooFewRows, "too_few_rows"),
    (Code::TooManyRows, "too_many_rows"),
    (Code::DuplicateValue, "duplicate_value"),
    (Code::TooManyFiles, "too_many_files"),
    (Code::FileTooLarge, "file_too_large"),
    (Code::FileTypeNotAccepted, "file_type_not_accepted"),
    (Code::WrongSampleCount, "wrong_sample_count"),
    (Code::RuleFailed, "rule_failed"),
    (Code::InvalidValue, "invalid_value"),
    (Code::NotEditable, "not_editable"),
    (Code::NotUnique, "not_unique"),
    (Code::InvalidDefinition, "invalid_definition"),
    (Code::UnknownFieldType, "unknown_field_type"),
    (Code::DuplicateKey, "duplicate_key"),
    (Code::MalformedKey, "malformed_key"),
    (Code::ReservedKey, "reserved_key"),
    (Code::InvalidExpression, "invalid_expression"),
    (Code::UnknownReference, "unknown_reference"),
    (Code::DependencyCycle, "dependency_cycle"),
    (Code::MinGreaterThanMax, "min_greater_than_max"),
    (Code::LslGreaterThanUsl, "lsl_greater_than_usl"),
    (Code::NominalOutsideLimits, "nominal_outside_limits"),
    (Code::OptionWithoutValue, "option_without_value"),
    (Code::DuplicateOptionValue, "duplicate_option_value"),
    (Code::InvalidPattern, "invalid_pattern"),
    (Code::InvalidDefault, "invalid_default"),
    (Code::NotAllowedHere, "not_allowed_here"),
    (Code::NotApplicable, "not_applicable"),
    (Code::EmptyContainer, "empty_container"),
    (Code::TopLevelOnly, "top_level_only"),
    (Code::StartCount, "start_count"),
    (Code::UnknownNode, "unknown_node"),
    (Code::EdgeCount, "edge_count"),
    (Code::MissingDefault, "missing_default"),
    (Code::Unreachable, "unreachable"),
    (Code::NoPathToEnd, "no_path_to_end"),
    (Code::UnmatchedJoin, "unmatched_join"),
    (Code::UnknownForm, "unknown_form"),
    (Code::UnknownRole, "unknown_role"),
    (Code::UnknownConnector, "unknown_connector"),
    (Code::InvalidDuration, "invalid_duration"),
    (Code::NoAssignees, "no_assignees"),
];

/// One problem with a record or a definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    /// JSON pointer into the record (or the definition) — `""` is the whole document.
    pub path: String,
    pub code: Code,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub params: Map<String, Value>,
    pub message: String,
}

impl Issue {
    /// An issue without its message yet; [`localize`] writes the message.
    pub fn new(path: impl Into<String>, code: Code) -> Issue {
        Issue { path: path.into(), code, params: Map::new(), message: String::new() }
    }

    pub fn param(mut self, name: &str, value: impl Into<Value>) -> Issue {
        self.params.insert(name.to_owned(), value.into());
        self
    }

    /// The message in `lang`, from the code and the parameters.
    pub fn render(&self, lang: Lang) -> String {
        let template = template(self.code, lang);
        let mut out = String::with_capacity(template.len() + 16);
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let Some(end) = rest[start..].find('}') else { break };
            let name = &rest[start + 1..start + end];
            out.push_str(&param_text(self.params.get(name), name, lang));
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// Writes every issue's message in `lang`.
pub fn localize(issues: &mut [Issue], lang: Lang) {
    for issue in issues {
        issue.message = issue.render(lang);
    }
}

fn param_text(value: Option<&Value>, name: &str, lang: Lang) -> String {
    match value {
        None => String::new(),
        Some(Value::String(s)) if name == "expected" || name == "type" || name == "parent" => {
            type_label(s, lang).to_owned()
        }
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items.iter().map(|v| param_text(Some(v), "", lang)).collect::<Vec<_>>().join(", "),
        Some(other) => other.to_string(),
    }
}

/// A field type's name for people.
pub fn type_label(type_name: &str, lang: Lang) -> &str {
    let zh = match type_name {
        "text" => ("text", "文本"),
        "textarea" => ("multi-line text", "多行文本"),
        "number" => ("a number", "数字"),
        "integer" => ("a whole number", "整数"),
        "select" => ("one of the options", "单选项"),
        "multiselect" => ("a list of options", "多选项"),
        "boolean" => ("yes or no", "是/否"),
        "date" => ("a date", "日期"),
        "datetime" => ("a date and time", "日期时间"),
        "user" => ("a user", "用户"),
        "relation" => ("a related record", "关联记录"),
        "lot" => ("a lot number", "批次号"),
        "barcode" => ("a barcode", "条码"),
        "attachment" => ("a list of files", "附件"),
        "signature" => ("a signature", "签名"),
        "subtable" => ("a table of rows", "子表"),
        "measurement" => ("measured values", "测量值"),
        "computed" => ("computed", "计算字段"),
        "auto_number" => ("auto-number", "自动编号"),
        "section" => ("section", "分组"),
        "columns" => ("columns", "分栏"),
        "form" => ("form", "表单"),
        "row" => ("a row (an object)", "行（对象）"),
        other => (other, other),
    };
    match lang {
        Lang::En => zh.0,
        Lang::ZhCn => zh.1,
    }
}

fn template(code: Code, lang: Lang) -> &'static str {
    let (en, zh) = match code {
        Code::NotAnObject => ("The record must be a JSON object.", "记录必须是一个 JSON 对象。"),
        Code::UnknownField => ("“{field}” is not a field of this form.", "“{field}”不是此表单的字段。"),
        Code::Required => ("This field is required.", "此项为必填项。"),
        Code::WrongType => ("Expected {expected}.", "应为{expected}。"),
        Code::NotInteger => ("Must be a whole number.", "必须是整数。"),
        Code::BelowMin => ("Must be at least {min}.", "不能小于 {min}。"),
        Code::AboveMax => ("Must be at most {max}.", "不能大于 {max}。"),
        Code::TooManyDecimals => ("At most {precision} decimal places.", "最多保留 {precision} 位小数。"),
        Code::TooShort => ("At least {min_length} characters.", "至少 {min_length} 个字符。"),
        Code::TooLong => ("At most {max_length} characters.", "最多 {max_length} 个字符。"),
        Code::PatternMismatch => ("Does not match the required format {pattern}.", "格式不正确，应符合 {pattern}。"),
        Code::InvalidOption => ("“{value}” is not one of the options.", "“{value}”不是可选项。"),
        Code::DuplicateOption => ("An option is chosen more than once.", "选项重复。"),
        Code::TooFewItems => ("Choose at least {min_items}.", "至少选择 {min_items} 项。"),
        Code::TooManyItems => ("Choose at most {max_items}.", "最多选择 {max_items} 项。"),
        Code::InvalidDate => ("Not a valid date (YYYY-MM-DD).", "日期无效（格式为 YYYY-MM-DD）。"),
        Code::InvalidDatetime => (
            "Not a valid date and time (e.g. 2026-11-21T08:30:00+08:00).",
            "日期时间无效（例如 2026-11-21T08:30:00+08:00）。",
        ),
        Code::TooFewRows => ("At least {min_rows} rows.", "至少需要 {min_rows} 行。"),
        Code::TooManyRows => ("At most {max_rows} rows.", "最多 {max_rows} 行。"),
        Code::DuplicateValue => ("The same value as row {row}.", "与第 {row} 行的值重复。"),
        Code::TooManyFiles => ("At most {max_files} files.", "最多上传 {max_files} 个文件。"),
        Code::FileTooLarge => ("The file is larger than {max_size} bytes.", "文件大小超过 {max_size} 字节。"),
        Code::FileTypeNotAccepted => {
            ("This file type is not accepted ({accept}).", "不接受此文件类型（允许：{accept}）。")
        }
        Code::WrongSampleCount => {
            ("Expected {expected} values, got {actual}.", "应有 {expected} 个测量值，实际为 {actual} 个。")
        }
        Code::RuleFailed => ("The rule “{rule}” failed: {detail}", "规则“{rule}”执行失败：{detail}"),
        Code::InvalidValue => ("Invalid value.", "值无效。"),
        Code::NotEditable => ("Your roles may not change this field.", "您的角色无权修改此字段。"),
        Code::NotUnique => ("Another record already has the value {value}.", "其他记录已使用值 {value}。"),
        Code::InvalidDefinition => ("Invalid definition: {detail}", "定义无效：{detail}"),
        Code::UnknownFieldType => ("Unknown field type “{type}”.", "未知的字段类型“{type}”。"),
        Code::DuplicateKey => ("The key “{key}” is already used at {first}.", "键“{key}”已在 {first} 使用。"),
        Code::MalformedKey => (
            "The key “{key}” must start with a lowercase letter and hold only a-z, 0-9 and _ (at most 64 characters).",
            "键“{key}”必须以小写字母开头，只能包含 a-z、0-9 和 _（最多 64 个字符）。",
        ),
        Code::ReservedKey => ("“{key}” is a reserved word and cannot be a key.", "“{key}”是保留字，不能用作键。"),
        Code::InvalidExpression => ("The expression does not compile: {detail}", "表达式无法编译：{detail}"),
        Code::UnknownReference => {
            ("The expression refers to “{name}”, which is not a field here.", "表达式引用了此处不存在的字段“{name}”。")
        }
        Code::DependencyCycle => {
            ("These fields depend on each other in a cycle: {cycle}.", "以下字段之间存在循环依赖：{cycle}。")
        }
        Code::MinGreaterThanMax => {
            ("The minimum ({min}) is greater than the maximum ({max}).", "最小值（{min}）大于最大值（{max}）。")
        }
        Code::LslGreaterThanUsl => {
            ("LSL ({lsl}) is greater than USL ({usl}).", "规格下限（{lsl}）大于规格上限（{usl}）。")
        }
        Code::NominalOutsideLimits => {
            ("The nominal value {nominal} lies outside the limits.", "名义值 {nominal} 超出规格限。")
        }
        Code::OptionWithoutValue => ("An option has no value.", "选项缺少值。"),
        Code::DuplicateOptionValue => ("The option value “{value}” appears twice.", "选项值“{value}”重复。"),
        Code::InvalidPattern => ("Invalid pattern: {detail}", "格式模式无效：{detail}"),
        Code::InvalidDefault => {
            ("The default value is not valid for this field: {detail}", "默认值对此字段无效：{detail}")
        }
        Code::NotAllowedHere => ("A {type} field is not allowed inside {parent}.", "{parent}中不允许使用{type}字段。"),
        Code::NotApplicable => ("“{property}” has no effect on a {type} field.", "“{property}”对{type}字段无效。"),
        Code::EmptyContainer => ("This {type} needs at least one entry.", "此{type}至少需要一项。"),
        Code::TopLevelOnly => ("“{property}” applies to top-level fields only.", "“{property}”仅适用于顶层字段。"),
        Code::StartCount => (
            "A workflow needs exactly one start node; found {count}.",
            "流程必须有且只有一个开始节点，实际为 {count} 个。",
        ),
        Code::UnknownNode => ("There is no node “{node}”.", "不存在节点“{node}”。"),
        Code::EdgeCount => (
            "The node “{node}” needs {expected} outgoing edges; it has {actual}.",
            "节点“{node}”应有 {expected} 条出边，实际为 {actual} 条。",
        ),
        Code::MissingDefault => (
            "The condition “{node}” needs exactly one default edge; it has {count}.",
            "条件节点“{node}”必须有且只有一条默认分支，实际为 {count} 条。",
        ),
        Code::Unreachable => {
            ("The node “{node}” cannot be reached from the start.", "从开始节点无法到达节点“{node}”。")
        }
        Code::NoPathToEnd => ("No path leads from “{node}” to an end.", "从“{node}”没有通往结束节点的路径。"),
        Code::UnmatchedJoin => (
            "Parallel branches at “{node}” do not meet in one join: {detail}.",
            "“{node}”处的并行分支未汇合到同一个汇聚节点：{detail}。",
        ),
        Code::UnknownForm => ("There is no form “{form}” in this workspace.", "此工作区中不存在表单“{form}”。"),
        Code::UnknownRole => ("There is no role “{role}” in this workspace.", "此工作区中不存在角色“{role}”。"),
        Code::UnknownConnector => {
            ("There is no connector (or operation) “{connector}”.", "不存在连接器（或操作）“{connector}”。")
        }
        Code::InvalidDuration => ("Invalid duration: {detail}.", "时长无效：{detail}。"),
        Code::NoAssignees => ("The approval “{node}” has no assignees.", "审批节点“{node}”没有审批人。"),
    };
    match lang {
        Lang::En => en,
        Lang::ZhCn => zh,
    }
}
