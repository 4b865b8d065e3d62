//! Every string of the UI in English and Simplified Chinese. Keys are looked up at run time;
//! a test reads the sources and proves that every key the app uses is here, in both
//! languages.

use engine::Lang;

/// (key, English, 简体中文)
const TEXTS: &[(&str, &str, &str)] = &[
    ("loading", "Loading…", "加载中…"),
    ("save", "Save", "保存"),
    ("cancel", "Cancel", "取消"),
    ("close", "Close", "关闭"),
    ("yes", "Yes", "是"),
    ("no", "No", "否"),
    ("lang.switch", "Switch language", "切换语言"),
    ("login.tagline", "Quality management, built by your factory", "由工厂自己搭建的质量管理系统"),
    ("login.username", "Username", "用户名"),
    ("login.password", "Password", "密码"),
    ("login.submit", "Sign in", "登录"),
    ("nav.menu", "Menu", "菜单"),
    ("nav.forms", "Forms", "表单"),
    ("nav.inbox", "Inbox", "待办"),
    ("nav.dashboards", "Dashboards", "仪表盘"),
    ("nav.search", "Search", "搜索"),
    ("nav.trace", "Traceability", "追溯"),
    ("nav.admin", "Admin", "管理"),
    ("nav.workspace", "Workspace", "工作区"),
    ("nav.logout", "Sign out", "退出"),
    ("nav.no_workspace", "You are not a member of any workspace yet.", "您还不是任何工作区的成员。"),
    ("page.not_found", "This page does not exist.", "页面不存在。"),
    ("forms.title", "Forms", "表单"),
    ("forms.new", "New form", "新建表单"),
    ("forms.none", "No forms yet.", "还没有表单。"),
    ("forms.published", "published", "已发布"),
    ("forms.draft_only", "draft only", "仅草稿"),
    ("forms.design", "Design", "设计"),
    ("forms.fill", "Fill in", "填写"),
    ("forms.records", "Records", "记录"),
    ("forms.key", "Key", "标识"),
    (
        "forms.key_help",
        "Lowercase letters, digits and _; it cannot change later.",
        "小写字母、数字和下划线，创建后不可修改。",
    ),
    ("forms.name_en", "Name (English)", "名称（英文）"),
    ("forms.name_zh", "Name (Chinese)", "名称（中文）"),
    ("forms.create", "Create and design", "创建并设计"),
    ("design.undo", "Undo", "撤销"),
    ("design.redo", "Redo", "重做"),
    ("design.preview", "Preview", "预览"),
    ("design.versions", "Versions", "版本"),
    ("design.save", "Save draft", "保存草稿"),
    ("design.saved", "Draft saved", "草稿已保存"),
    ("design.publish", "Publish", "发布"),
    ("design.published", "Published", "已发布"),
    ("design.restored", "Loaded into the draft:", "已载入草稿："),
    ("design.unsaved", "Unsaved changes", "有未保存的修改"),
    ("design.all_saved", "All changes saved", "所有修改已保存"),
    ("design.palette", "Fields", "字段"),
    ("design.canvas", "Form layout", "表单布局"),
    ("design.drop_here", "Drag fields here", "将字段拖到这里"),
    ("design.drag", "Drag to move", "拖动以移动"),
    ("design.remove", "Remove", "删除"),
    ("design.properties", "Properties", "属性"),
    ("design.select_hint", "Select a field to edit its properties.", "选择一个字段以编辑其属性。"),
    ("design.problems", "Problems", "问题"),
    ("design.no_problems", "The form compiles.", "表单可以编译。"),
    ("design.first_version", "This is the first version.", "这是第一个版本。"),
    ("design.compatible", "Every stored record stays valid.", "所有已存记录仍然有效。"),
    ("design.needs_attention", "Some changes need attention.", "部分修改需要注意。"),
    ("design.change_path", "Field", "字段"),
    ("design.change_kind", "Change", "变更"),
    ("design.stored_problems", "stored values would no longer validate.", "条已存数据将不再通过校验。"),
    ("design.confirm_publish", "Publish this version", "发布此版本"),
    ("prop.key", "Key", "标识"),
    (
        "prop.key_invalid",
        "Use lowercase letters, digits and _, starting with a letter.",
        "请使用以字母开头的小写字母、数字和下划线。",
    ),
    ("prop.key_taken", "Another field has this key.", "已有字段使用此标识。"),
    ("prop.label_en", "Label (English)", "标签（英文）"),
    ("prop.label_zh", "Label (Chinese)", "标签（中文）"),
    ("prop.help_en", "Help (English)", "说明（英文）"),
    ("prop.help_zh", "Help (Chinese)", "说明（中文）"),
    ("prop.required", "Required", "必填"),
    ("prop.read_only", "Read-only", "只读"),
    ("prop.max_length", "Maximum length", "最大长度"),
    ("prop.pattern", "Pattern (regular expression)", "格式（正则表达式）"),
    ("prop.integer", "Whole numbers only", "仅整数"),
    ("prop.min", "Minimum", "最小值"),
    ("prop.max", "Maximum", "最大值"),
    ("prop.precision", "Decimal places", "小数位数"),
    ("prop.unit", "Unit", "单位"),
    ("prop.options", "Options", "选项"),
    ("prop.options_help", "One per line: value | English | 中文", "每行一个：值 | English | 中文"),
    ("prop.nominal", "Nominal", "名义值"),
    ("prop.lsl", "Lower limit (LSL)", "下限（LSL）"),
    ("prop.usl", "Upper limit (USL)", "上限（USL）"),
    ("prop.samples", "Samples", "样本数"),
    ("prop.expr", "Expression", "表达式"),
    ("prop.number_pattern", "Number pattern", "编号规则"),
    ("prop.target_form", "Related form", "关联表单"),
    ("prop.min_rows", "Minimum rows", "最少行数"),
    ("prop.max_rows", "Maximum rows", "最多行数"),
    ("prop.max_files", "Maximum files", "最多文件数"),
    ("prop.visible_if", "Visible if (rule)", "显示条件（规则）"),
    ("prop.required_if", "Required if (rule)", "必填条件（规则）"),
    ("prop.compiles", "Compiles", "可以编译"),
    ("prop.trace", "Traceability", "追溯"),
    ("prop.trace_none", "not traced", "不追溯"),
    ("prop.trace_produces", "the record produces this lot", "记录产出此批次"),
    ("prop.trace_consumes", "the record consumes this lot", "记录消耗此批次"),
    ("prop.trace_refers", "the record refers to this lot", "记录引用此批次"),
    ("fill.required", "required", "必填"),
    ("fill.add_row", "Add row", "添加行"),
    ("fill.remove_row", "Remove", "删除"),
    ("fill.clear", "Clear", "清除"),
    ("fill.submit", "Submit", "提交"),
    ("fill.submitted", "Submitted:", "已提交："),
    ("fill.fix_errors", "Please correct the marked fields.", "请修正标记的字段。"),
    ("fill.draft_saved", "Your draft is kept on this device until you submit.", "草稿保存在本设备上，直到提交。"),
    ("fill.not_published", "This form has no published version yet.", "此表单尚未发布版本。"),
    ("fill.assigned_on_submit", "assigned on submit", "提交时生成"),
    ("fill.take_photo", "Take or choose photos", "拍照或选择图片"),
    ("fill.add_files", "Add files", "添加文件"),
    ("fill.scan", "Scan with the camera", "用相机扫码"),
    ("fill.no_code", "No code found in the picture.", "图片中未识别到条码。"),
    ("records.title", "Records", "记录"),
    ("records.filter_field", "Field", "字段"),
    ("records.filter_op", "Condition", "条件"),
    ("records.filter_value", "Value", "值"),
    ("records.apply", "Apply", "应用"),
    ("records.columns", "Columns", "列"),
    ("records.count", "records", "条记录"),
    ("records.created", "Created", "创建时间"),
    ("records.more", "Load more", "加载更多"),
    ("records.form_version", "Form version", "表单版本"),
    ("records.workflow", "Workflow", "流程"),
    ("records.no_workflow", "No workflow ran on this record.", "此记录没有流程。"),
    ("records.history", "History", "历史"),
    ("records.changes", "Changes", "变更"),
    ("inbox.title", "My tasks", "我的待办"),
    ("inbox.empty", "Nothing to decide.", "没有待处理的任务。"),
    ("inbox.due", "due", "截止"),
    ("inbox.open_record", "Open the record", "打开记录"),
    ("inbox.comment", "Comment", "意见"),
    ("inbox.approve", "Approve", "同意"),
    ("inbox.reject", "Reject", "驳回"),
    ("inbox.more", "Return, delegate, add a signer", "退回、转交、加签"),
    ("inbox.target", "Delegate to / add as signer", "转交给 / 加签人"),
    ("inbox.return_to", "Return to", "退回到"),
    ("inbox.position", "Add signer", "加签位置"),
    ("inbox.after", "after me", "在我之后"),
    ("inbox.before", "before me", "在我之前"),
    ("inbox.return", "Return", "退回"),
    ("inbox.delegate", "Delegate", "转交"),
    ("inbox.add_signer", "Add signer", "加签"),
    ("inbox.decided", "Decision recorded", "已处理"),
    ("dash.title", "Dashboards", "仪表盘"),
    ("dash.none", "No dashboards yet.", "还没有仪表盘。"),
    ("dash.new", "New dashboard", "新建仪表盘"),
    ("dash.export", "Export the widget's table", "导出组件数据表"),
    ("dash.from", "From", "从"),
    ("dash.to", "To", "到"),
    ("dash.values_hint", "values, comma-separated", "多个值用逗号分隔"),
    ("dash.add_widget", "Add widget", "添加组件"),
    ("dash.title_en", "Title (English)", "标题（英文）"),
    ("dash.title_zh", "Title (Chinese)", "标题（中文）"),
    ("dash.form", "Form", "表单"),
    ("dash.dimension", "Group by", "分组"),
    ("dash.bucket", "Time bucket", "时间粒度"),
    ("dash.series", "Series", "系列"),
    ("dash.measure", "Measure", "指标"),
    ("dash.measure_field", "Of field", "字段"),
    ("dash.chart", "Chart", "图表"),
    ("dash.widget_added", "Widget added", "已添加组件"),
    ("search.title", "Search", "搜索"),
    ("search.hint", "Words, a lot number, a record number…", "关键词、批次号、单号…"),
    ("search.go", "Search", "搜索"),
    ("search.none", "Nothing found.", "没有找到结果。"),
    ("trace.title", "Lot traceability", "批次追溯"),
    ("trace.lot", "Lot number", "批次号"),
    ("trace.direction", "Direction", "方向"),
    ("trace.backward", "Backward (where from)", "反向（来源）"),
    ("trace.forward", "Forward (where used)", "正向（去向）"),
    ("trace.depth", "Depth", "深度"),
    ("trace.go", "Trace", "追溯"),
    ("trace.none", "No records carry this lot.", "没有记录包含此批次。"),
    ("type.text", "Text", "单行文本"),
    ("type.textarea", "Multi-line text", "多行文本"),
    ("type.number", "Number", "数字"),
    ("type.select", "Select", "单选"),
    ("type.multiselect", "Multi-select", "多选"),
    ("type.boolean", "Yes / No", "是/否"),
    ("type.date", "Date", "日期"),
    ("type.datetime", "Date & time", "日期时间"),
    ("type.user", "User", "人员"),
    ("type.relation", "Related record", "关联记录"),
    ("type.lot", "Lot number", "批次号"),
    ("type.barcode", "Barcode", "条码"),
    ("type.attachment", "Attachment", "附件"),
    ("type.signature", "Signature", "签名"),
    ("type.subtable", "Subtable", "子表"),
    ("type.measurement", "Measurement", "测量值"),
    ("type.computed", "Computed", "计算字段"),
    ("type.auto_number", "Auto-number", "自动编号"),
    ("type.section", "Section", "分组"),
    ("type.columns", "Columns", "分栏"),
    ("nav.workflows", "Workflows", "流程"),
    ("flow.title", "Workflows", "流程"),
    ("flow.new", "New workflow", "新建流程"),
    ("flow.node_kind", "Node type", "节点类型"),
    ("flow.add_node", "Add node", "添加节点"),
    ("flow.connect", "Connect", "连线"),
    ("flow.connect_from", "Click the node the arrow starts from.", "请点击连线的起点节点。"),
    ("flow.connect_to", "Now click the node it goes to.", "请点击连线的终点节点。"),
    ("flow.valid", "The workflow is consistent.", "流程定义一致。"),
    ("flow.otherwise", "otherwise (default)", "否则（默认）"),
    ("flow.trigger", "Trigger", "触发"),
    ("flow.trigger_on", "Starts when", "何时开始"),
    ("flow.field", "Field", "字段"),
    ("flow.to_value", "Changes to (optional)", "变为（可选）"),
    ("flow.every", "Every (ISO 8601 duration, e.g. P1D)", "每隔（ISO 8601 时长，如 P1D）"),
    ("flow.when", "Condition (rule)", "条件（规则）"),
    ("flow.select_hint", "Select a node or an arrow.", "请选择一个节点或连线。"),
    ("flow.roles", "Roles", "角色"),
    ("flow.users", "Users", "用户"),
    ("flow.user_field", "User field of the record", "记录中的人员字段"),
    ("flow.submitter", "The submitter", "提交人"),
    ("flow.mode", "Approval mode", "审批方式"),
    ("flow.required", "Approvals needed (ratio)", "所需同意数（比例）"),
    ("flow.on_reject", "On rejection go to", "驳回后转到"),
    ("flow.sla_after", "SLA (ISO 8601, e.g. PT8H)", "时限（ISO 8601，如 PT8H）"),
    ("flow.sla_then", "When overdue", "超时后"),
    ("flow.editable_fields", "Fields the approver may edit", "审批人可编辑的字段"),
    ("flow.script", "Script", "脚本"),
    ("flow.error_field", "Field for call errors", "调用错误字段"),
    ("flow.after", "Wait (ISO 8601)", "等待（ISO 8601）"),
    ("flow.until_field", "Until the date in", "直到字段中的日期"),
    ("flow.outcome", "Outcome", "结果"),
    ("flow.kind.start", "Start", "开始"),
    ("flow.kind.end", "End", "结束"),
    ("flow.kind.approval", "Approval", "审批"),
    ("flow.kind.condition", "Condition", "条件"),
    ("flow.kind.parallel", "Parallel", "并行"),
    ("flow.kind.join", "Join", "汇合"),
    ("flow.kind.action", "Action", "动作"),
    ("flow.kind.timer", "Timer", "定时"),
    ("admin.title", "Administration", "管理"),
    ("admin.members", "Members and roles", "成员与角色"),
    ("admin.roles", "Roles", "角色"),
    ("admin.edit", "Edit", "编辑"),
    ("admin.remove", "Remove", "移除"),
    ("admin.saved", "Saved", "已保存"),
    ("admin.packs", "Template packs", "模板包"),
    ("admin.install", "Install…", "安装…"),
    ("admin.upgrade", "Upgrade…", "升级…"),
    ("admin.uninstall", "Uninstall", "卸载"),
    ("admin.installed", "Installed", "已安装"),
    ("admin.uninstalled", "Uninstalled", "已卸载"),
    ("admin.plan", "What will change", "将要进行的修改"),
    ("admin.apply", "Apply", "应用"),
    ("admin.ours", "this factory", "本厂"),
    ("admin.theirs", "new pack", "新模板"),
    ("admin.keep_ours", "keep this factory's", "保留本厂修改"),
    ("admin.take_theirs", "take the pack's", "采用模板版本"),
    ("admin.outbox", "Outbox", "发件箱"),
    ("admin.retry", "Retry", "重试"),
    ("admin.retried", "Queued again", "已重新排队"),
    ("admin.connectors", "Connectors", "连接器"),
    ("admin.test", "Test connection", "测试连接"),
    ("admin.connector_name", "Name", "名称"),
    ("admin.connector_kind", "Kind", "类型"),
    ("admin.connector_config", "Settings (JSON)", "配置（JSON）"),
    ("admin.config_json", "The settings must be JSON.", "配置必须是 JSON。"),
    ("admin.secret", "Secret (write-only)", "密钥（只写）"),
    ("admin.audit", "Audit trail", "审计日志"),
    ("admin.verify", "Verify the chain", "校验哈希链"),
    ("admin.chain_ok", "The audit chain is intact", "审计链完整"),
    ("admin.chain_broken", "The audit chain is broken", "审计链已损坏"),
];

/// A field type's name in the designer (the engine's type labels are phrased for error
/// messages: "a number").
pub fn type_name(lang: Lang, type_name: &str) -> &'static str {
    tr(lang, &format!("type.{type_name}"))
}

/// The text of `key` in `lang`; a missing key shows as itself (and fails the test below).
pub fn tr(lang: Lang, key: &str) -> &'static str {
    match TEXTS.iter().find(|(k, _, _)| *k == key) {
        Some((_, en, zh)) => {
            if lang == Lang::ZhCn {
                zh
            } else {
                en
            }
        }
        None => "⚠",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `"area.key"` literal in the sources and every `t("key")` call.
    fn used_keys() -> Vec<String> {
        let mut keys = Vec::new();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut stack = vec![std::path::PathBuf::from(dir)];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            if path.ends_with("i18n.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for part in text.split('"').skip(1).step_by(2) {
                let prefixes = [
                    "admin.", "dash.", "design.", "fill.", "forms.", "inbox.", "lang.", "login.", "nav.", "page.",
                    "prop.", "records.", "search.", "trace.", "type.", "flow.",
                ];
                if prefixes.iter().any(|p| part.starts_with(p))
                    && part.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
                {
                    keys.push(part.to_owned());
                }
            }
            for (i, _) in text.match_indices(".t(\"") {
                let rest = &text[i + 4..];
                if let Some(end) = rest.find('"') {
                    keys.push(rest[..end].to_owned());
                }
            }
        }
        keys.sort();
        keys.dedup();
        keys
    }

    #[test]
    fn every_used_key_is_translated() {
        let used = used_keys();
        assert!(used.len() > 100, "the scan found only {} keys", used.len());
        let missing: Vec<&String> = used.iter().filter(|k| !TEXTS.iter().any(|(t, _, _)| t == k)).collect();
        assert!(missing.is_empty(), "untranslated keys: {missing:?}");
    }

    #[test]
    fn the_table_is_complete_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for (key, en, zh) in TEXTS {
            assert!(seen.insert(*key), "{key} twice");
            assert!(!en.is_empty() && !zh.is_empty(), "{key} lacks a translation");
            assert!(en != zh || key.starts_with("nav.brand"), "{key}: the Chinese text is the English one");
        }
        assert_eq!(tr(Lang::ZhCn, "nav.inbox"), "待办");
        for kind in ["start", "end", "approval", "condition", "parallel", "join", "action", "timer"] {
            assert_ne!(tr(Lang::En, &format!("flow.kind.{kind}")), "⚠", "{kind}");
        }
        for kind in engine::form::FIELD_TYPES {
            assert_ne!(type_name(Lang::En, kind), "⚠", "{kind}");
            assert_ne!(type_name(Lang::ZhCn, kind), "⚠", "{kind}");
        }
        assert_eq!(tr(Lang::En, "nav.inbox"), "Inbox");
    }
}
