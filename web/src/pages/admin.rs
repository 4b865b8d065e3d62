//! Administration of a workspace: members and roles, template packs (install or upgrade after
//! seeing the plan, uninstall), the outbox (dead letters, retry), connectors and the audit
//! chain's verification.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};

use super::when;
use crate::api::ws_path;
use crate::app::ctx;

#[component]
pub fn Admin() -> impl IntoView {
    let ctx = ctx();
    view! {
        <h1>{move || ctx.t("admin.title")}</h1>
        <div class="admin-grid">
            <Members/>
            <Packs/>
            <Outbox/>
            <Connectors/>
            <AuditCheck/>
        </div>
    }
}

/// After a change: the notice, then `then` (a reload) — or the error. (Called after an
/// await, where there is no reactive owner to look the context up from: it is passed in.)
fn settle(ctx: crate::app::Ctx, result: Result<Value, crate::api::ApiError>, done: &'static str, then: impl FnOnce()) {
    match result {
        Ok(_) => {
            ctx.ok(ctx.t(done));
            then();
        }
        Err(e) => ctx.fail(e.describe()),
    }
}

fn items(body: &Value) -> Vec<Value> {
    body["items"].as_array().cloned().unwrap_or_default()
}

#[component]
fn Members() -> impl IntoView {
    let ctx = ctx();
    let members = RwSignal::new(Vec::<Value>::new());
    let username = RwSignal::new(String::new());
    let roles = RwSignal::new("member".to_owned());
    let reload = move || {
        let ws = ctx.ws();
        spawn_local(async move {
            match ctx.client().get(&ws_path(&ws, "/members")).await {
                Ok(body) => members.set(items(&body)),
                Err(e) => ctx.fail(e.message),
            }
        });
    };
    reload();
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let ws = ctx.ws();
        let list: Vec<String> =
            roles.get_untracked().split(',').map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()).collect();
        let body = json!({"username": username.get_untracked().trim(), "roles": list});
        spawn_local(async move {
            settle(ctx, ctx.client().put(&ws_path(&ws, "/members"), &body).await, "admin.saved", reload);
        });
    };
    view! {
        <section class="card" data-test="admin-members">
            <h2>{move || ctx.t("admin.members")}</h2>
            <table class="table">
                <thead><tr><th>{move || ctx.t("login.username")}</th><th>{move || ctx.t("admin.roles")}</th><th></th></tr></thead>
                <tbody>
                    {move || members.get().into_iter().map(|m| {
                        let name = m["username"].as_str().unwrap_or_default().to_owned();
                        let (n1, n2) = (name.clone(), name.clone());
                        let role_text = m["roles"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default();
                        let rt = role_text.clone();
                        view! {
                            <tr>
                                <td>{name.clone()}<br/><small class="muted">{m["display_name"].as_str().unwrap_or_default().to_owned()}</small></td>
                                <td>{role_text}</td>
                                <td>
                                    <button class="link" on:click=move |_| { username.set(n1.clone()); roles.set(rt.clone()); }>{move || ctx.t("admin.edit")}</button>
                                    <button class="link danger" on:click=move |_| {
                                        let (ws, n) = (ctx.ws(), n2.clone());
                                        spawn_local(async move {
                                            match ctx.client().delete(&ws_path(&ws, &format!("/members/{n}"))).await {
                                                Ok(_) => reload(),
                                                Err(e) => ctx.fail(e.message),
                                            }
                                        });
                                    }>{move || ctx.t("admin.remove")}</button>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <form class="inline-form" on:submit=save>
                <input required aria-label=move || ctx.t("login.username") placeholder=move || ctx.t("login.username") prop:value=move || username.get() on:input=move |ev| username.set(event_target_value(&ev))/>
                <input aria-label=move || ctx.t("admin.roles") placeholder="admin, designer, member, approver, viewer" prop:value=move || roles.get() on:input=move |ev| roles.set(event_target_value(&ev))/>
                <button type="submit">{move || ctx.t("save")}</button>
            </form>
        </section>
    }
}

#[component]
fn Packs() -> impl IntoView {
    let ctx = ctx();
    let library = RwSignal::new(Vec::<Value>::new());
    let installed = RwSignal::new(Vec::<Value>::new());
    let plan = RwSignal::new(None::<(String, Value)>);
    let reload = move || {
        let ws = ctx.ws();
        spawn_local(async move {
            let client = ctx.client();
            if let Ok(body) = client.get("/api/v1/packs").await {
                library.set(items(&body));
            }
            if let Ok(body) = client.get(&ws_path(&ws, "/packs")).await {
                installed.set(items(&body));
            }
        });
    };
    reload();
    // Conflict resolutions chosen in the plan: "kind/key" -> path -> "ours" | "theirs".
    let resolutions = RwSignal::new(serde_json::Map::new());
    let install = move |key: String, dry_run: bool| {
        let ws = ctx.ws();
        let body = json!({"dry_run": dry_run, "resolutions": resolutions.get_untracked()});
        spawn_local(async move {
            match ctx.client().post(&ws_path(&ws, &format!("/packs/{key}/install")), &body).await {
                Ok(body) if dry_run => plan.set(Some((key, body))),
                Ok(_) => {
                    plan.set(None);
                    ctx.ok(ctx.t("admin.installed"));
                    reload();
                }
                Err(e) => ctx.fail(e.describe()),
            }
        });
    };
    let uninstall = move |key: String| {
        let ws = ctx.ws();
        spawn_local(async move {
            let done = ctx.client().post(&ws_path(&ws, &format!("/packs/{key}/uninstall")), &json!({})).await;
            settle(ctx, done, "admin.uninstalled", reload);
        });
    };
    view! {
        <section class="card" data-test="admin-packs">
            <h2>{move || ctx.t("admin.packs")}</h2>
            <table class="table">
                <tbody>
                    {move || library.get().into_iter().map(|p| {
                        let key = p["key"].as_str().unwrap_or_default().to_owned();
                        let state = installed.with(|i| i.iter().find(|x| x["key"] == json!(key)).cloned());
                        let (k1, k2) = (key.clone(), key.clone());
                        view! {
                            <tr data-test=format!("pack-{key}")>
                                <td><strong>{p["name"].as_str().unwrap_or_default().to_owned()}</strong><br/><small class="muted">{p["description"].as_str().unwrap_or_default().to_owned()}</small></td>
                                <td>{match &state {
                                    Some(s) => format!("v{}{}", s["version"].as_str().unwrap_or_default(), if s["upgrade_available"] == json!(true) { " ↑" } else { "" }),
                                    None => String::new(),
                                }}</td>
                                <td>
                                    <button on:click=move |_| install(k1.clone(), true)>{move || if state.is_some() { ctx.t("admin.upgrade") } else { ctx.t("admin.install") }}</button>
                                    {let installed_now = installed.with(|i| i.iter().any(|x| x["key"] == json!(k2)));
                                     installed_now.then(|| { let k = k2.clone(); view! { <button class="link danger" on:click=move |_| uninstall(k.clone())>{move || ctx.t("admin.uninstall")}</button> } })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {move || plan.get().map(|(key, body)| view! {
                <div class="plan" data-test="pack-plan">
                    <h3>{move || ctx.t("admin.plan")}" · "{key.clone()}</h3>
                    {body["packs"].as_array().cloned().unwrap_or_default().into_iter().map(|p| view! {
                        <h4>{p["pack"].as_str().unwrap_or_default().to_owned()}</h4>
                        <ul class="steps">
                            {p["steps"].as_array().cloned().unwrap_or_default().into_iter().map(|s| {
                                let object = format!("{}/{}", s["kind"].as_str().unwrap_or_default(), s["key"].as_str().unwrap_or_default());
                                let action = s["action"].as_str().unwrap_or_default().replace('_', " ");
                                let conflicts = s["conflicts"].as_array().cloned().unwrap_or_default();
                                view! {
                                    <li class=format!("step {}", s["action"].as_str().unwrap_or_default())>
                                        <code>{object.clone()}</code>" · "{action}
                                        {s["reason"].as_str().map(|r| view! { <small class="muted">" — "{r.to_owned()}</small> })}
                                        {conflicts.into_iter().map(|c| {
                                            let path = c["path"].as_str().unwrap_or_default().to_owned();
                                            let (o, pth) = (object.clone(), path.clone());
                                            let show = |v: &Value| if v.is_null() { "—".to_owned() } else { v.to_string() };
                                            view! {
                                                <div class="conflict" data-test="pack-conflict">
                                                    <code>{path.clone()}</code>
                                                    <span>{move || ctx.t("admin.ours")}": "{show(&c["ours"])}</span>
                                                    <span>{move || ctx.t("admin.theirs")}": "{show(&c["theirs"])}</span>
                                                    <select on:change=move |ev| {
                                                        let side = event_target_value(&ev);
                                                        resolutions.update(|r| {
                                                            let entry = r.entry(o.clone()).or_insert_with(|| json!({}));
                                                            entry[pth.as_str()] = json!(side);
                                                        });
                                                    }>
                                                        <option value="">"—"</option>
                                                        <option value="ours">{move || ctx.t("admin.keep_ours")}</option>
                                                        <option value="theirs">{move || ctx.t("admin.take_theirs")}</option>
                                                    </select>
                                                </div>
                                            }
                                        }).collect_view()}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }).collect_view()}
                    <button class="primary" on:click=move |_| install(key.clone(), false)>{move || ctx.t("admin.apply")}</button>
                    <button on:click=move |_| plan.set(None)>{move || ctx.t("cancel")}</button>
                </div>
            })}
        </section>
    }
}

#[component]
fn Outbox() -> impl IntoView {
    let ctx = ctx();
    let rows = RwSignal::new(Vec::<Value>::new());
    let status = RwSignal::new("dead".to_owned());
    let reload = move || {
        let ws = ctx.ws();
        let s = status.get_untracked();
        spawn_local(async move {
            match ctx.client().get(&ws_path(&ws, &format!("/outbox?status={s}"))).await {
                Ok(body) => rows.set(items(&body)),
                Err(e) => ctx.fail(e.message),
            }
        });
    };
    reload();
    view! {
        <section class="card" data-test="admin-outbox">
            <h2>{move || ctx.t("admin.outbox")}</h2>
            <select on:change=move |ev| { status.set(event_target_value(&ev)); reload(); }>
                {["dead", "pending", "done"].into_iter().map(|s| view! { <option value=s>{s}</option> }).collect_view()}
            </select>
            <table class="table">
                <tbody>
                    {move || rows.get().into_iter().map(|r| {
                        let id = r["id"].as_str().unwrap_or_default().to_owned();
                        let dead = r["status"] == json!("dead");
                        view! {
                            <tr>
                                <td>{r["connector"].as_str().unwrap_or_default().to_owned()}" · "{r["operation"].as_str().unwrap_or_default().to_owned()}
                                    <br/><small class="muted">{when(&r["next_attempt_at"])}" · "{r["attempts"].to_string()}"/"{r["max_attempts"].to_string()}</small></td>
                                <td class="error">{r["last_error"].as_str().unwrap_or_default().to_owned()}</td>
                                <td>{dead.then(|| view! { <button on:click=move |_| {
                                    let (ws, id) = (ctx.ws(), id.clone());
                                    spawn_local(async move {
                                        let done = ctx.client().post(&ws_path(&ws, &format!("/outbox/{id}/retry")), &json!({})).await;
                                        settle(ctx, done, "admin.retried", reload);
                                    });
                                }>{move || ctx.t("admin.retry")}</button> })}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn Connectors() -> impl IntoView {
    let ctx = ctx();
    let rows = RwSignal::new(Vec::<Value>::new());
    let results = RwSignal::new(Vec::<(String, bool, String)>::new());
    let name = RwSignal::new(String::new());
    let kind = RwSignal::new("http".to_owned());
    let config = RwSignal::new("{\"url\": \"https://\"}".to_owned());
    let secret = RwSignal::new(String::new());
    let reload = move || {
        let ws = ctx.ws();
        spawn_local(async move {
            if let Ok(body) = ctx.client().get(&ws_path(&ws, "/connectors")).await {
                rows.set(items(&body));
            }
        });
    };
    reload();
    let test = move |name: String| {
        let ws = ctx.ws();
        spawn_local(async move {
            match ctx.client().post(&ws_path(&ws, &format!("/connectors/{name}/test")), &json!({})).await {
                Ok(r) => results.update(|list| {
                    list.retain(|(n, _, _)| n != &name);
                    list.push((name, r["ok"] == json!(true), r["message"].as_str().unwrap_or_default().to_owned()));
                }),
                Err(e) => ctx.fail(e.message),
            }
        });
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(config) = serde_json::from_str::<Value>(&config.get_untracked()) else {
            ctx.fail(ctx.t("admin.config_json"));
            return;
        };
        let n = name.get_untracked();
        let mut body = json!({"name": n, "kind": kind.get_untracked(), "config": config});
        if !secret.get_untracked().is_empty() {
            body["secret"] = json!(secret.get_untracked());
        }
        let exists = rows.with_untracked(|r| r.iter().any(|c| c["name"] == json!(n)));
        let ws = ctx.ws();
        spawn_local(async move {
            let client = ctx.client();
            let saved = if exists {
                client.put(&ws_path(&ws, &format!("/connectors/{n}")), &body).await
            } else {
                client.post(&ws_path(&ws, "/connectors"), &body).await
            };
            settle(ctx, saved, "admin.saved", reload);
        });
    };
    view! {
        <section class="card" data-test="admin-connectors">
            <h2>{move || ctx.t("admin.connectors")}</h2>
            <table class="table">
                <tbody>
                    {move || rows.get().into_iter().map(|c| {
                        let n = c["name"].as_str().unwrap_or_default().to_owned();
                        let (n1, n2, n3) = (n.clone(), n.clone(), n.clone());
                        let (k, cfg) = (c["kind"].as_str().unwrap_or_default().to_owned(), c["config"].to_string());
                        let result = move || results.with(|r| r.iter().find(|(x, _, _)| x == &n3).cloned());
                        view! {
                            <tr data-test=format!("connector-{n}")>
                                <td><strong>{n.clone()}</strong>" · "{k.clone()}
                                    {move || result().map(|(_, ok, message)| view! {
                                        <p class=if ok { "ok-text" } else { "error" } data-test="connector-result">{message}</p>
                                    })}
                                </td>
                                <td>
                                    <button data-test="connector-test" on:click=move |_| test(n1.clone())>{move || ctx.t("admin.test")}</button>
                                    <button class="link" on:click=move |_| { name.set(n2.clone()); kind.set(k.clone()); config.set(cfg.clone()); }>{move || ctx.t("admin.edit")}</button>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <form class="inline-form" on:submit=save>
                <input required aria-label=move || ctx.t("admin.connector_name") placeholder=move || ctx.t("admin.connector_name")
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <select aria-label=move || ctx.t("admin.connector_kind") on:change=move |ev| kind.set(event_target_value(&ev))>
                    {["http", "jsonrpc", "tryton", "smtp"].into_iter().map(|k| view! { <option value=k selected=move || kind.get() == k>{k}</option> }).collect_view()}
                </select>
                <textarea rows="3" aria-label=move || ctx.t("admin.connector_config") prop:value=move || config.get() on:input=move |ev| config.set(event_target_value(&ev))></textarea>
                <input type="password" autocomplete="new-password" aria-label=move || ctx.t("admin.secret") placeholder=move || ctx.t("admin.secret")
                    prop:value=move || secret.get() on:input=move |ev| secret.set(event_target_value(&ev))/>
                <button type="submit">{move || ctx.t("save")}</button>
            </form>
        </section>
    }
}

#[component]
fn AuditCheck() -> impl IntoView {
    let ctx = ctx();
    let result = RwSignal::new(None::<Value>);
    let verify = move |_| {
        let ws = ctx.ws();
        spawn_local(async move {
            match ctx.client().get(&ws_path(&ws, "/audit/verify")).await {
                Ok(body) => result.set(Some(body)),
                Err(e) => ctx.fail(e.message),
            }
        });
    };
    view! {
        <section class="card" data-test="admin-audit">
            <h2>{move || ctx.t("admin.audit")}</h2>
            <button data-test="audit-verify" on:click=verify>{move || ctx.t("admin.verify")}</button>
            {move || result.get().map(|r| {
                let ok = r["ok"] == json!(true);
                view! {
                    <p class=if ok { "ok-text" } else { "error" } data-test="audit-result">
                        {move || if ok { ctx.t("admin.chain_ok") } else { ctx.t("admin.chain_broken") }}
                        " ("{r["entries"].to_string()}")"
                        {r.get("first_broken").map(|b| format!(" #{}", b["seq"]))}
                    </p>
                }
            })}
        </section>
    }
}
