//! The whole path a factory takes through the app, at desktop and at phone width: log in,
//! build a form by dragging (with a subtable and a computed field), publish it, fill it in
//! (an error on the right field, fixed, submitted), approve it from a second user's inbox,
//! see it counted on a dashboard and drill down to it, and read it all in Chinese.

use serde_json::json;

use crate::harness::{ADMIN_PASSWORD, Api, Browser, Machine, QE_PASSWORD, Server, Step};

/// One browser at a time: two Chromiums on two cores make both flows slow and flaky.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn run(name: &str, width: u32, height: u32) {
    let Some(machine) = Machine::find() else { return };
    let _turn = ONE_BROWSER.lock().await;
    let server = Server::start(&machine).await;
    let browser = Browser::start(&machine, &server.base, width, height).await;
    let outcome = flow(&server, &browser, name).await;
    if let Err(problem) = outcome {
        let shot = browser.screenshot(name).await;
        let _ = browser.c.clone().close().await;
        panic!("{name}: {problem}\n{shot}");
    }
    let _ = browser.c.clone().close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desktop() {
    run("desktop", 1280, 900).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone() {
    run("phone", 360, 740).await;
}

async fn login(b: &Browser, username: &str, password: &str) -> Step {
    b.fill("[data-test=login-username]", username).await?;
    b.fill("[data-test=login-password]", password).await?;
    b.click("[data-test=login-submit]").await?;
    b.find("[data-test=workspace-switcher]").await?;
    Ok(())
}

/// Opens a navigation entry; on a phone the menu opens first.
async fn nav(b: &Browser, entry: &str) -> Step {
    let narrow = b.js("return innerWidth < 900;", vec![]).await? == json!(true);
    if narrow {
        b.click("[data-test=menu-toggle]").await?;
    }
    b.click(&format!("[data-test=nav-{entry}]")).await
}

async fn flow(server: &Server, b: &Browser, name: &str) -> Step {
    let ws = format!("e2e-{name}");
    let form = format!("check_{name}");
    let admin = Api::login(&server.base, "admin", ADMIN_PASSWORD).await;
    admin.send("POST", "/api/v1/workspaces", json!({"slug": ws, "name": format!("Plant {name}")})).await;
    admin
        .send(
            "PUT",
            &format!("/api/v1/workspaces/{ws}/members"),
            json!({"username": "qe", "roles": ["approver", "qe"]}),
        )
        .await;

    // The initial load, measured on this first visit with an empty cache.
    b.goto("").await?;
    b.find("[data-test=login-submit]").await?;
    let load = b
        .js(
            "const n = performance.getEntriesByType('navigation')[0];
             const r = performance.getEntriesByType('resource');
             return {interactive_ms: performance.now(), transferred: n.transferSize + r.reduce((s, e) => s + e.transferSize, 0),
                     decoded: n.decodedBodySize + r.reduce((s, e) => s + e.decodedBodySize, 0), width: innerWidth};",
            vec![],
        )
        .await?;
    println!("{name}: initial load {load}");
    if name == "phone" && load["width"].as_f64().is_none_or(|w| w > 400.0) {
        return Err(format!("the phone viewport is {} px wide", load["width"]));
    }

    login(b, "admin", ADMIN_PASSWORD).await?;
    b.goto(&format!("#/w/{ws}/forms")).await?;
    b.click("[data-test=new-form]").await?;
    b.fill("[data-test=new-form-key]", &form).await?;
    b.fill("[data-test=new-form-name-en]", "Line check").await?;
    b.fill("[data-test=new-form-name-zh]", "巡检").await?;
    b.click("[data-test=new-form-create]").await?;
    b.find("[data-test=palette]").await?;

    design(b).await?;

    // Publish: the dialog shows the server's report first.
    b.click("[data-test=publish]").await?;
    b.wait_text("[data-test=compatibility]", "first version").await?;
    b.click("[data-test=confirm-publish]").await?;
    b.wait_text("[data-test=design-status]", "v1").await?;

    workflow(b, &ws, &form).await?;
    dashboard(b, &ws, &form).await?;
    admin_pages(b, &ws, &server.base).await?;

    let record = fill(b, &ws, &form).await?;

    // The approver's inbox.
    b.click("[data-test=logout]").await?;
    b.find("[data-test=login-username]").await?;
    login(b, "qe", QE_PASSWORD).await?;
    b.goto(&format!("#/w/{ws}/forms")).await?;
    nav(b, "inbox").await?;
    b.click("[data-test=task]").await?;
    b.wait_text("[data-test=task-record-data]", "42").await?;
    b.fill("[data-test=decision-comment]", "OK, released").await?;
    b.click("[data-test=approve]").await?;
    b.find("[data-test=inbox-empty]").await?;
    b.goto(&format!("#/w/{ws}/records/{record}")).await?;
    b.wait_text("[data-test=workflow-status]", "approved").await?;
    // The approver may read the record, so the photo too.
    b.wait_loaded_image("[data-test=record-data] [data-test=attachment] img").await?;
    // Full-text search finds it by a word of a subtable row, highlighted.
    b.goto(&format!("#/w/{ws}/search")).await?;
    b.fill("[data-test=search-q]", "visual").await?;
    b.click("[data-test=search-go]").await?;
    b.wait_text("[data-test=search-hit] mark", "visual").await?;
    b.click("[data-test=search-hit]").await?;
    b.wait_text("[data-test=record-id]", &record).await?;
    // The lot the record produces: its backward trace (where it came from) shows the record,
    // and the node opens it.
    b.goto(&format!("#/w/{ws}/trace")).await?;
    b.fill("[data-test=trace-lot]", &format!("LOT-{form}")).await?;
    b.click("[data-test=trace-go]").await?;
    b.click("[data-test=trace-node]").await?;
    b.wait_text("[data-test=record-id]", &record).await?;
    // The form's record list: one record, a filter that excludes it, then opens it.
    b.goto(&format!("#/w/{ws}/forms/{form}/records")).await?;
    b.wait_text("[data-test=records-total]", "1").await?;
    b.find("[data-test=filter-field] option[value=select_1]").await?;
    b.find("[data-test=filter-field]").await?.select_by_value("select_1").await.map_err(|e| e.to_string())?;
    b.fill("[data-test=filter-value]", "b").await?;
    b.click("[data-test=records-apply]").await?;
    b.wait_text("[data-test=records-total]", "0").await?;
    b.fill("[data-test=filter-value]", "a").await?;
    b.click("[data-test=records-apply]").await?;
    b.wait_text("[data-test=records-total]", "1").await?;
    b.click("[data-test=record-row]").await?;
    b.wait_text("[data-test=record-id]", &record).await?;

    // The dashboard counts it; a click on the bar lists it; the row opens it.
    b.goto(&format!("#/w/{ws}/dashboards")).await?;
    b.click("[data-test=dashboard-line]").await?;
    b.wait_text("[data-test=widgets] [data-test=kpi-value]", "1").await?;
    b.click("[data-test=widgets] [data-test=chart-mark]").await?;
    b.wait_text("[data-test=drill-count]", "1").await?;
    b.click("[data-test=drill-record]").await?;
    b.wait_text("[data-test=record-id]", &record).await?;

    // In Chinese: the navigation and the form's own labels.
    b.click("[data-test=lang-switch]").await?;
    b.wait_text("[data-test=record-data]", "数量").await?;
    let narrow = b.js("return innerWidth < 900;", vec![]).await? == json!(true);
    if narrow {
        b.click("[data-test=menu-toggle]").await?;
    }
    b.wait_text("[data-test=nav-inbox]", "待办").await?;
    let overflow = b.js("return document.documentElement.scrollWidth - innerWidth;", vec![]).await?;
    if overflow.as_f64().unwrap_or(0.0) > 1.0 {
        return Err(format!("the page is {overflow} px wider than the screen"));
    }
    Ok(())
}

/// Builds the form in the designer: number (required), select, a subtable with a text field
/// in it, a computed field; checks live compile feedback, undo/redo and reordering.
async fn design(b: &Browser) -> Step {
    let fields = "[data-test=drop-fields]";
    b.drag("[data-test=palette-number]", fields, "end").await?;
    b.find("[data-test=item-number_1]").await?;
    b.fill("[data-test=prop-label-en]", "Quantity").await?;
    b.fill("[data-test=prop-label-zh-CN]", "数量").await?;
    b.click("[data-test=prop-required]").await?;
    b.wait_text("[data-test=item-number_1]", "Quantity *").await?;

    b.drag("[data-test=palette-select]", fields, "end").await?;
    b.find("[data-test=item-select_1]").await?;
    b.drag("[data-test=palette-subtable]", fields, "end").await?;
    b.find("[data-test=item-subtable_1]").await?;
    b.drag("[data-test=palette-text]", "[data-test=drop-fields-2-fields]", "center").await?;
    b.find("[data-test=item-subtable_1] [data-test=item-text_1]").await?;

    b.drag("[data-test=palette-attachment]", fields, "end").await?;
    b.find("[data-test=item-attachment_1]").await?;
    b.drag("[data-test=palette-lot]", fields, "end").await?;
    b.find("[data-test=item-lot_1]").await?;
    b.find("[data-test=prop-trace]").await?.select_by_value("produces").await.map_err(|e| e.to_string())?;
    b.drag("[data-test=palette-computed]", fields, "end").await?;
    b.find("[data-test=item-computed_1]").await?;
    // Live feedback: a rule that does not compile is reported on the spot, then fixed.
    b.fill("[data-test=prop-expr]", "number_1 *").await?;
    b.find("[data-test=prop-problem]").await?;
    b.fill("[data-test=prop-expr]", "if number_1 == () { 0 } else { number_1 * 2 }").await?;
    b.find("[data-test=prop-ok]").await?;
    b.fill("[data-test=prop-label-en]", "Double").await?;
    b.wait_text("[data-test=item-computed_1]", "Double").await?;
    b.click("[data-test=undo]").await?;
    b.wait_text("[data-test=item-computed_1]", "Computed").await?;
    b.click("[data-test=redo]").await?;
    b.wait_text("[data-test=item-computed_1]", "Double").await?;
    b.fill("[data-test=prop-label-zh-CN]", "双倍").await?;

    // Reorder: the computed field's handle dragged onto the top edge of the first item.
    b.drag("[data-test=item-computed_1] [data-test=handle]", "[data-test=item-number_1]", "top").await?;
    let order = b.tests_of("[data-test=drop-fields] > .item").await?;
    if order
        != ["item-computed_1", "item-number_1", "item-select_1", "item-subtable_1", "item-attachment_1", "item-lot_1"]
    {
        return Err(format!("after reordering the fields are {order:?}"));
    }
    b.find("[data-test=problems] .ok-text").await?;
    // The live preview runs the engine in the browser: the computed field follows the number.
    b.click("[data-test=preview-toggle]").await?;
    b.fill("[data-test=preview] [data-test=field-number_1] input", "5").await?;
    b.wait_text("[data-test=preview] [data-test=field-computed_1] [data-test=computed-value]", "10").await?;
    b.click("[data-test=preview-toggle]").await?;
    b.find("[data-test=properties]").await?;
    Ok(())
}

/// Draws the approval workflow in the workflow designer: a new workflow (start -> end), an
/// approval node wired in between, an unknown role refused by the server and shown on the
/// node, then fixed and published.
async fn workflow(b: &Browser, ws: &str, form: &str) -> Step {
    b.goto(&format!("#/w/{ws}/workflows")).await?;
    b.click("[data-test=new-workflow]").await?;
    b.fill("[data-test=new-workflow-key]", "review").await?;
    b.find("[data-test=new-workflow-form]").await?.select_by_value(form).await.map_err(|e| e.to_string())?;
    b.fill("[data-test=new-workflow-name-en]", "Review").await?;
    b.fill("[data-test=new-workflow-name-zh]", "审核").await?;
    b.click("[data-test=new-workflow-create]").await?;
    b.find("[data-test=node-start]").await?;
    b.find("[data-test=edge-start-end]").await?;

    b.click("[data-test=add-node]").await?;
    b.find("[data-test=node-approval_1]").await?;
    b.fill("[data-test=wf-prop-en]", "QE review").await?;
    b.fill("[data-test=wf-prop-zh-CN]", "质量审核").await?;
    b.fill("[data-test=wf-prop-assignees-roles]", "nobody").await?;
    // The straight arrow start -> end goes; two new ones take its place.
    b.click_path("[data-test=edge-start-end] .edge-hit").await?;
    b.find("[data-test=wf-props-edge]").await?;
    b.click("[data-test=remove-selected]").await?;
    b.wait_gone("[data-test=edge-start-end]").await?;
    for (from, to) in [("start", "approval_1"), ("approval_1", "end")] {
        b.click("[data-test=connect]").await?;
        b.click(&format!("[data-test=node-{from}]")).await?;
        b.click(&format!("[data-test=node-{to}]")).await?;
        b.find(&format!("[data-test=edge-{from}-{to}]")).await?;
    }
    b.wait_text("[data-test=workflow-problems]", "consistent").await?;
    // The server knows the workspace's roles: "nobody" is refused, on the node.
    b.click("[data-test=publish-workflow]").await?;
    b.find("[data-test=node-approval_1].bad").await?;
    b.find("[data-test=workflow-problem]").await?;
    b.click("[data-test=node-approval_1]").await?;
    b.fill("[data-test=wf-prop-assignees-roles]", "qe").await?;
    b.wait_gone("[data-test=node-approval_1].bad").await?;
    b.click("[data-test=publish-workflow]").await?;
    b.wait_text("[data-test=workflow-status]", "v1").await?;
    Ok(())
}

/// Builds a dashboard in the browser: created with a KPI widget, then a bar chart added
/// through the widget builder (nothing is counted yet).
async fn dashboard(b: &Browser, ws: &str, form: &str) -> Step {
    b.goto(&format!("#/w/{ws}/dashboards")).await?;
    b.click("[data-test=new-dashboard]").await?;
    b.fill("[data-test=new-dashboard-key]", "line").await?;
    b.fill("[data-test=new-dashboard-name-en]", "Line checks").await?;
    b.fill("[data-test=new-dashboard-name-zh]", "巡检看板").await?;
    widget(b, form, "Checks", "巡检数", None, "kpi").await?;
    b.wait_text("[data-test=widgets] [data-test=kpi-value]", "0").await?;
    b.click("[data-test=edit-dashboard]").await?;
    widget(b, form, "By result", "按结果", Some("select_1"), "bar").await?;
    b.find("[data-test=widgets] .widget:nth-child(2)").await?;
    Ok(())
}

async fn widget(b: &Browser, form: &str, en: &str, zh: &str, dimension: Option<&str>, chart: &str) -> Step {
    b.fill("[data-test=widget-title-en]", en).await?;
    b.fill("[data-test=widget-title-zh]", zh).await?;
    b.find(&format!("[data-test=widget-form] option[value={form}]")).await?;
    b.find("[data-test=widget-form]").await?.select_by_value(form).await.map_err(|e| e.to_string())?;
    if let Some(dimension) = dimension {
        b.find(&format!("[data-test=widget-dimension] option[value={dimension}]")).await?;
        b.find("[data-test=widget-dimension]").await?.select_by_value(dimension).await.map_err(|e| e.to_string())?;
    }
    b.find("[data-test=widget-chart]").await?.select_by_value(chart).await.map_err(|e| e.to_string())?;
    b.click("[data-test=widget-save]").await
}

/// The admin page: a connector created and its connection tested, the audit chain verified.
async fn admin_pages(b: &Browser, ws: &str, base: &str) -> Step {
    b.goto(&format!("#/w/{ws}/admin")).await?;
    let connectors = "[data-test=admin-connectors]";
    b.fill(&format!("{connectors} input[placeholder]"), "hook").await?;
    b.fill(&format!("{connectors} textarea"), &format!("{{\"url\": \"{base}/healthz\"}}")).await?;
    b.click(&format!("{connectors} button[type=submit]")).await?;
    b.click("[data-test=connector-hook] [data-test=connector-test]").await?;
    b.wait_text("[data-test=connector-hook] [data-test=connector-result]", "HTTP 200").await?;
    b.click("[data-test=audit-verify]").await?;
    b.wait_text("[data-test=audit-result]", "intact").await?;
    b.find("[data-test=admin-packs] [data-test=pack-iqc]").await?;
    Ok(())
}

/// Fills the form: submitting without the required number puts the error on that field;
/// with it, the computed value shows and the record is stored. Returns the record id.
async fn fill(b: &Browser, ws: &str, form: &str) -> Step<String> {
    b.goto(&format!("#/w/{ws}/forms/{form}/fill")).await?;
    b.find("[data-test=fill-form]").await?;
    b.click("[data-test=add-row-subtable_1]").await?;
    b.fill("[data-test=field-subtable_1-0-text_1] input", "visual ok").await?;
    b.fill("[data-test=field-lot_1] input", &format!("LOT-{form}")).await?;
    b.find("[data-test=field-select_1] select").await?.select_by_value("a").await.map_err(|e| e.to_string())?;
    // A photo, as a phone's camera would hand it over.
    let photo = std::env::temp_dir().join(format!("formwork-e2e-{form}.png"));
    std::fs::write(&photo, PHOTO).map_err(|e| e.to_string())?;
    let input = b.find("[data-test=field-attachment_1] [data-test=file-input]").await?;
    input.send_keys(&photo.display().to_string()).await.map_err(|e| format!("choose the photo: {e}"))?;
    b.find("[data-test=field-attachment_1] [data-test=attachment] img").await?;
    b.click("[data-test=submit]").await?;
    let error = b.find("[data-test=field-number_1] [data-test=field-error]").await?;
    let message = error.text().await.map_err(|e| e.to_string())?;
    let errors = b.tests_of(".field.invalid").await?;
    if errors != ["field-number_1"] {
        return Err(format!("errors on {errors:?}, expected only the quantity ({message})"));
    }
    b.fill("[data-test=field-number_1] input", "21").await?;
    b.wait_gone("[data-test=field-number_1] [data-test=field-error]").await?;
    b.wait_text("[data-test=field-computed_1] [data-test=computed-value]", "42").await?;
    b.click("[data-test=submit]").await?;
    let id = b.text("[data-test=record-id]").await?;
    if id.is_empty() {
        return Err("the record page shows no id".into());
    }
    b.wait_value("[data-test=record-data] [data-test=field-subtable_1-0-text_1] input", "visual ok").await?;
    b.wait_loaded_image("[data-test=record-data] [data-test=attachment] img").await?;
    Ok(id)
}

/// A 2 x 2 PNG.
const PHOTO: &[u8] = &[
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 2, 0, 0, 0, 2, 8, 2, 0, 0, 0, 253, 212, 154,
    115, 0, 0, 0, 20, 73, 68, 65, 84, 120, 156, 99, 248, 207, 192, 192, 0, 194, 12, 255, 255, 255, 103, 0, 0, 30, 239,
    4, 252, 163, 200, 180, 247, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130,
];
