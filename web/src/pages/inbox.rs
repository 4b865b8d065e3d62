//! My open tasks: the record behind each, and the decisions (approve, reject, return to a
//! node, delegate, add a signer) with a comment. Due times show, overdue ones stand out.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};

use super::{cell, when};
use crate::api::ws_path;
use crate::app::ctx;
use crate::route::Page;

#[component]
pub fn Inbox() -> impl IntoView {
    let ctx = ctx();
    let tasks = RwSignal::new(None::<Vec<Value>>);
    let selected = RwSignal::new(None::<Value>);
    let reload = move || {
        let ws = ctx.ws();
        spawn_local(async move {
            match ctx.client().get(&ws_path(&ws, "/tasks?assignee=me&status=open")).await {
                Ok(body) => tasks.set(Some(body["items"].as_array().cloned().unwrap_or_default())),
                Err(e) => ctx.fail(e.message),
            }
        });
    };
    reload();
    let now = js_sys::Date::now();
    view! {
        <h1>{move || ctx.t("inbox.title")}</h1>
        <div class="split">
            <div class="card list-pane">
                {move || match tasks.get() {
                    None => view! { <p class="muted">{move || ctx.t("loading")}</p> }.into_any(),
                    Some(list) if list.is_empty() => view! { <p class="muted" data-test="inbox-empty">{move || ctx.t("inbox.empty")}</p> }.into_any(),
                    Some(list) => view! {
                        <ul class="task-list" data-test="task-list">
                            {list.into_iter().map(|task| {
                                let t = task.clone();
                                let id = task["id"].as_str().unwrap_or_default().to_owned();
                                let overdue = task["due_at"].as_f64().is_some_and(|d| d < now);
                                let is_selected = move || selected.with(|s| s.as_ref().and_then(|s| s["id"].as_str().map(str::to_owned)) == Some(id.clone()));
                                view! {
                                    <li class="task" class:selected=is_selected class:overdue=overdue data-test="task"
                                        on:click=move |_| selected.set(Some(t.clone()))>
                                        <strong>{task["node"].as_str().unwrap_or_default().to_owned()}</strong>
                                        <span class="muted">{when(&task["created_at"])}</span>
                                        {task["due_at"].as_f64().map(|_| view! {
                                            <span class="due" class:overdue=overdue>{move || ctx.t("inbox.due")}" "{when(&task["due_at"])}</span>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }}
            </div>
            <div class="detail-pane">
                {move || selected.get().map(|task| view! { <TaskDetail task=task on_done=move || { selected.set(None); reload(); }/> })}
            </div>
        </div>
    }
}

#[component]
fn TaskDetail(task: Value, on_done: impl Fn() + Send + Sync + Copy + 'static) -> impl IntoView {
    let ctx = ctx();
    let ws = ctx.ws();
    let record = RwSignal::new(None::<Value>);
    let instance = RwSignal::new(None::<Value>);
    let members = RwSignal::new(Vec::<Value>::new());
    let record_id = task["record"].as_str().unwrap_or_default().to_owned();
    {
        let (ws, id) = (ws.clone(), record_id.clone());
        let instance_id = task["instance"].as_str().unwrap_or_default().to_owned();
        spawn_local(async move {
            let client = ctx.client();
            match client.get(&ws_path(&ws, &format!("/records/{id}"))).await {
                Ok(r) => record.set(Some(r)),
                Err(e) => ctx.fail(e.message),
            }
            if let Ok(i) = client.get(&ws_path(&ws, &format!("/workflow-instances/{instance_id}"))).await {
                instance.set(Some(i));
            }
            if let Ok(m) = client.get(&ws_path(&ws, "/members")).await {
                members.set(m["items"].as_array().cloned().unwrap_or_default());
            }
        });
    }
    let current_node = task["node"].as_str().unwrap_or_default().to_owned();
    // A task returns to a node the instance has been through.
    let return_targets = move || {
        instance.with(|i| {
            i.as_ref()
                .and_then(|i| i["state"]["visited"].as_object())
                .map(|v| v.keys().filter(|k| **k != current_node).cloned().collect::<Vec<_>>())
                .unwrap_or_default()
        })
    };
    let comment = RwSignal::new(String::new());
    let target = RwSignal::new(String::new());
    let return_to = RwSignal::new(String::new());
    let position = RwSignal::new("after".to_owned());
    let busy = RwSignal::new(false);
    let task_id = task["id"].as_str().unwrap_or_default().to_owned();
    let decide = move |action: &'static str| {
        let (ws, task_id) = (ws.clone(), task_id.clone());
        move |_| {
            let (ws, task_id) = (ws.clone(), task_id.clone());
            let mut body = json!({"action": action});
            let c = comment.get_untracked();
            if !c.trim().is_empty() {
                body["comment"] = json!(c);
            }
            let t = target.get_untracked();
            match action {
                "return" => body["to"] = json!(return_to.get_untracked()),
                "delegate" => body["to"] = json!(t),
                "add_signer" => {
                    body["users"] = json!([t]);
                    body["position"] = json!(position.get_untracked());
                }
                _ => {}
            }
            busy.set(true);
            spawn_local(async move {
                match ctx.client().post(&ws_path(&ws, &format!("/tasks/{task_id}/decision")), &body).await {
                    Ok(done) => {
                        ctx.ok(format!("{} ({})", ctx.t("inbox.decided"), done["status"].as_str().unwrap_or_default()));
                        on_done();
                    }
                    Err(e) => ctx.fail(e.message),
                }
                busy.set(false);
            });
        }
    };
    let rid = record_id.clone();
    view! {
        <div class="card" data-test="task-detail">
            <h2>{task["node"].as_str().unwrap_or_default().to_owned()}</h2>
            <p><a href="#" data-test="task-record" on:click=move |ev| { ev.prevent_default(); ctx.go(Page::Record(rid.clone())); }>
                {move || ctx.t("inbox.open_record")}</a></p>
            {move || record.get().map(|r| view! {
                <p class="muted">{r["form"].as_str().unwrap_or_default().to_owned()}" · v"{r["form_version"].to_string()}</p>
                <table class="table kv" data-test="task-record-data">
                    <tbody>
                        {r["data"].as_object().cloned().unwrap_or_default().into_iter().map(|(k, v)| view! {
                            <tr><th>{k}</th><td>{cell(&v)}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            <label>{move || ctx.t("inbox.comment")}
                <textarea data-test="decision-comment" rows="2" prop:value=move || comment.get() on:input=move |ev| comment.set(event_target_value(&ev))></textarea>
            </label>
            <div class="actions">
                <button class="primary" data-test="approve" disabled=move || busy.get() on:click=decide("approve")>{move || ctx.t("inbox.approve")}</button>
                <button class="danger" data-test="reject" disabled=move || busy.get() on:click=decide("reject")>{move || ctx.t("inbox.reject")}</button>
            </div>
            <details>
                <summary>{move || ctx.t("inbox.more")}</summary>
                <label>{move || ctx.t("inbox.return_to")}
                    <select data-test="return-to" on:change=move |ev| return_to.set(event_target_value(&ev))>
                        <option value="">"—"</option>
                        {move || return_targets().into_iter().map(|n| view! { <option value=n.clone()>{n.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <label>{move || ctx.t("inbox.target")}
                    <select data-test="decision-target" on:change=move |ev| target.set(event_target_value(&ev))>
                        <option value="">"—"</option>
                        {move || members.get().into_iter().map(|m| view! {
                            <option value=m["id"].as_str().unwrap_or_default().to_owned()>
                                {m["display_name"].as_str().filter(|d| !d.is_empty()).or(m["username"].as_str()).unwrap_or_default().to_owned()}
                            </option>
                        }).collect_view()}
                    </select>
                </label>
                <label>{move || ctx.t("inbox.position")}
                    <select on:change=move |ev| position.set(event_target_value(&ev))>
                        <option value="after">{move || ctx.t("inbox.after")}</option>
                        <option value="before">{move || ctx.t("inbox.before")}</option>
                    </select>
                </label>
                <div class="actions">
                    <button data-test="return" disabled=move || busy.get() || return_to.with(String::is_empty) on:click=decide("return")>{move || ctx.t("inbox.return")}</button>
                    <button data-test="delegate" disabled=move || busy.get() on:click=decide("delegate")>{move || ctx.t("inbox.delegate")}</button>
                    <button data-test="add-signer" disabled=move || busy.get() on:click=decide("add_signer")>{move || ctx.t("inbox.add_signer")}</button>
                </div>
            </details>
            {move || instance.get().map(|i| view! {
                <details data-test="instance-history">
                    <summary>{move || ctx.t("records.history")}</summary>
                    <ol class="timeline">
                        {i["state"]["history"].as_array().cloned().unwrap_or_default().into_iter().map(|h| view! {
                            <li><strong>{h["node"].as_str().unwrap_or_default().to_owned()}</strong>" · "
                                {h["what"].as_str().unwrap_or_default().to_owned()}" · "{when(&h["at"])}
                                {h["comment"].as_str().map(|c| view! { <em>" — "{c.to_owned()}</em> })}</li>
                        }).collect_view()}
                    </ol>
                </details>
            })}
        </div>
    }
}
