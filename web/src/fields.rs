//! One input per field type, bound to a place (a JSON pointer) in the record being filled.

use leptos::prelude::*;
use serde_json::{Map, Value, json};

use crate::pages::text_of;

/// The value at `pointer` (`""` is the whole record).
pub fn get_at(data: &Value, pointer: &str) -> Value {
    data.pointer(pointer).cloned().unwrap_or(Value::Null)
}

/// Sets (or with `Null`, removes) the value at `pointer`, creating the objects on the way.
/// Array indexes must exist already (rows are added by their own button).
pub fn set_at(data: &mut Value, pointer: &str, value: Value) {
    let mut parts: Vec<String> = pointer.split('/').skip(1).map(|p| p.replace("~1", "/").replace("~0", "~")).collect();
    let Some(last) = parts.pop() else {
        *data = value;
        return;
    };
    let mut here = data;
    for part in parts {
        if !here.is_object() && !here.is_array() {
            *here = Value::Object(Map::new());
        }
        here = match here {
            Value::Object(map) => map.entry(part).or_insert(Value::Null),
            Value::Array(list) => match part.parse::<usize>().ok().and_then(|i| list.get_mut(i)) {
                Some(item) => item,
                None => return,
            },
            _ => return,
        };
    }
    if !here.is_object() && !here.is_array() {
        *here = Value::Object(Map::new());
    }
    match here {
        Value::Object(map) => {
            if value.is_null() {
                map.remove(&last);
            } else {
                map.insert(last, value);
            }
        }
        Value::Array(list) => {
            if let Some(slot) = last.parse::<usize>().ok().and_then(|i| list.get_mut(i)) {
                *slot = value;
            }
        }
        _ => {}
    }
}

/// Everything a field's input needs: where it writes, what the engine made of the record.
#[derive(Clone, Copy)]
pub struct Binding {
    pub data: RwSignal<Value>,
    /// The record as the engine processed it (computed values, judgements).
    pub processed: Memo<Value>,
    pub touched: RwSignal<Vec<String>>,
}

impl Binding {
    fn value(&self, pointer: &str) -> Value {
        // `try_`: an upload may finish after the form was left.
        self.data.try_with(|d| get_at(d, pointer)).unwrap_or(Value::Null)
    }

    fn set(&self, pointer: &str, value: Value) {
        self.data.update(|d| set_at(d, pointer, value));
        let pointer = pointer.to_owned();
        self.touched.update(|t| {
            if !t.contains(&pointer) {
                t.push(pointer);
            }
        });
    }
}

fn text_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// A number as JSON, or `Null` for an empty input; text that is no number stays text so that
/// the engine reports it (the input type already prevents most of that).
fn parse_number(text: &str, integer: bool) -> Value {
    let text = text.trim();
    if text.is_empty() {
        return Value::Null;
    }
    if integer && let Ok(n) = text.parse::<i64>() {
        return json!(n);
    }
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() => json!(n),
        _ => json!(text),
    }
}

/// The input for one data field at `pointer`.
pub fn input(field: &Value, pointer: String, id: String, bind: Binding) -> AnyView {
    let kind = field["type"].as_str().unwrap_or_default().to_owned();
    let read_only = field["read_only"].as_bool().unwrap_or(false);
    let p = pointer.clone();
    let text = move || text_value(&bind.value(&p));
    match kind.as_str() {
        "relation" if !read_only => relation(field, pointer, id, bind),
        "user" if !read_only => user(pointer, id, bind),
        "text" | "user" | "relation" | "lot" | "barcode" => {
            let p = pointer.clone();
            let scan = matches!(kind.as_str(), "lot" | "barcode");
            let camera = (scan && !read_only && barcode_detector()).then(|| scan_button(pointer.clone(), bind));
            view! {
                <span class="with-unit">
                <input id=id type="text" disabled=read_only prop:value=text
                    inputmode=if scan { "text" } else { "" }
                    autocomplete="off"
                    // A scanner types the code and presses Enter: keep the form from submitting.
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Enter" { ev.prevent_default(); }
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        bind.set(&p, if v.is_empty() { Value::Null } else { json!(v) });
                    }/>
                {camera}
                </span>
            }
            .into_any()
        }
        "textarea" => {
            let p = pointer.clone();
            view! {
                <textarea id=id rows="3" disabled=read_only prop:value=text
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        bind.set(&p, if v.is_empty() { Value::Null } else { json!(v) });
                    }></textarea>
            }
            .into_any()
        }
        "number" => {
            let p = pointer.clone();
            let integer = field["integer"].as_bool().unwrap_or(false);
            let unit = field["unit"].as_str().unwrap_or_default().to_owned();
            view! {
                <span class="with-unit">
                    <input id=id type="number" step="any" inputmode="decimal" disabled=read_only prop:value=text
                        on:change=move |ev| bind.set(&p, parse_number(&event_target_value(&ev), integer))/>
                    {(!unit.is_empty()).then(|| view! { <span class="unit">{unit.clone()}</span> })}
                </span>
            }
            .into_any()
        }
        "date" | "datetime" => {
            let p = pointer.clone();
            let datetime = kind == "datetime";
            view! {
                <input id=id type=if datetime { "datetime-local" } else { "date" } disabled=read_only
                    prop:value=move || {
                        let t = text();
                        if datetime { local_from_rfc3339(&t) } else { t }
                    }
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        let v = if datetime { rfc3339_from_local(&v) } else { v };
                        bind.set(&p, if v.is_empty() { Value::Null } else { json!(v) });
                    }/>
            }
            .into_any()
        }
        "select" => {
            let p = pointer.clone();
            let options = field["options"].as_array().cloned().unwrap_or_default();
            view! {
                <select id=id disabled=read_only on:change=move |ev| {
                    let v = event_target_value(&ev);
                    bind.set(&p, if v.is_empty() { Value::Null } else { json!(v) });
                }>
                    <option value="">"—"</option>
                    {options.into_iter().map(|o| {
                        let value = o["value"].as_str().unwrap_or_default().to_owned();
                        let label = { let l = text_of(&o["label"]); if l.is_empty() { value.clone() } else { l } };
                        let v = value.clone();
                        let text = text.clone();
                        let selected = move || text() == v;
                        view! { <option value=value selected=selected>{label}</option> }
                    }).collect_view()}
                </select>
            }
            .into_any()
        }
        "multiselect" => {
            let options = field["options"].as_array().cloned().unwrap_or_default();
            view! {
                <div class="choices" id=id>
                    {options.into_iter().map(|o| {
                        let value = o["value"].as_str().unwrap_or_default().to_owned();
                        let label = { let l = text_of(&o["label"]); if l.is_empty() { value.clone() } else { l } };
                        let (p, p2, v, v2) = (pointer.clone(), pointer.clone(), value.clone(), value.clone());
                        let checked = move || bind.value(&p).as_array().is_some_and(|a| a.iter().any(|x| x == &json!(v)));
                        view! {
                            <label class="choice">
                                <input type="checkbox" disabled=read_only prop:checked=checked on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    let mut list: Vec<Value> = bind.value(&p2).as_array().cloned().unwrap_or_default();
                                    list.retain(|x| x != &json!(v2));
                                    if on { list.push(json!(v2)); }
                                    bind.set(&p2, if list.is_empty() { Value::Null } else { Value::Array(list) });
                                }/>
                                {label}
                            </label>
                        }
                    }).collect_view()}
                </div>
            }
            .into_any()
        }
        "boolean" => {
            let name = format!("b{}", pointer.replace('/', "_"));
            let choice = move |value: bool, label: &'static str| {
                let (p, p2) = (pointer.clone(), pointer.clone());
                view! {
                    <label class="choice">
                        <input type="radio" name=name.clone() disabled=read_only
                            prop:checked=move || bind.value(&p) == json!(value)
                            on:change=move |_| bind.set(&p2, json!(value))/>
                        {move || crate::app::ctx().t(label)}
                    </label>
                }
            };
            view! { <div class="choices" id=id>{choice(true, "yes")}{choice(false, "no")}</div> }.into_any()
        }
        "measurement" => measurement(field, pointer, id, bind),
        "computed" => {
            let p = pointer.clone();
            view! {
                <output id=id class="computed" data-test="computed-value">
                    {move || bind.processed.with(|r| crate::pages::cell(&get_at(r, &p)))}
                </output>
            }
            .into_any()
        }
        "auto_number" => {
            let p = pointer.clone();
            view! {
                <output id=id class="computed">
                    {move || {
                        let v = text();
                        if v.is_empty() { crate::app::ctx().t("fill.assigned_on_submit").to_owned() } else { v }
                    }}
                    {move || { let _ = &p; }}
                </output>
            }
            .into_any()
        }
        "signature" => crate::filler::signature(pointer, id, bind),
        "attachment" => attachments(field, pointer, id, bind, read_only),
        _ => view! { <span class="muted">{kind.clone()}</span> }.into_any(),
    }
}

/// Files: the camera (on phones `capture` opens it directly) or any file, uploaded at once;
/// pictures show as thumbnails, every file links to itself.
fn attachments(field: &Value, pointer: String, id: String, bind: Binding, read_only: bool) -> AnyView {
    use wasm_bindgen::JsCast;
    let ctx = crate::app::ctx();
    let accept = field["accept"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","))
        .unwrap_or_default();
    let images = accept.split(',').all(|a| a.trim().starts_with("image/")) && !accept.is_empty();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let p = pointer.clone();
    let files = move || bind.value(&p).as_array().cloned().unwrap_or_default();
    let p = pointer.clone();
    let add = move |ev: leptos::ev::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
        let Some(list) = input.files() else { return };
        let chosen: Vec<web_sys::File> = (0..list.length()).filter_map(|i| list.get(i)).collect();
        input.set_value("");
        let (p, ws) = (p.clone(), ctx.ws());
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            for file in chosen {
                match ctx.client().upload(&crate::api::ws_path(&ws, "/attachments"), &file).await {
                    Ok(stored) => {
                        let mut list = bind.value(&p).as_array().cloned().unwrap_or_default();
                        list.push(stored);
                        bind.set(&p, Value::Array(list));
                    }
                    Err(e) => error.set(Some(format!("{}: {}", file.name(), e.message))),
                }
            }
            busy.set(false);
        });
    };
    let p = pointer.clone();
    view! {
        <div class="attachments" id=id>
            <ul class="files">
                {move || files().into_iter().enumerate().map(|(i, f)| {
                    let url = crate::api::ws_path(&ctx.ws(), &format!("/attachments/{}", f["id"].as_str().unwrap_or_default()));
                    let name = f["name"].as_str().unwrap_or_default().to_owned();
                    let picture = f["content_type"].as_str().is_some_and(|t| t.starts_with("image/"));
                    let p = p.clone();
                    view! {
                        <li data-test="attachment">
                            {picture.then(|| view! { <img src=url.clone() alt=name.clone() class="thumb"/> })}
                            <a href=url target="_blank" rel="noopener">{name.clone()}</a>
                            {(!read_only).then(|| view! {
                                <button type="button" class="link danger" aria-label=move || ctx.t("design.remove") on:click=move |_| {
                                    let mut list = bind.value(&p).as_array().cloned().unwrap_or_default();
                                    if i < list.len() { list.remove(i); }
                                    bind.set(&p, if list.is_empty() { Value::Null } else { Value::Array(list) });
                                }>"✕"</button>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {(!read_only).then(|| view! {
                <label class="upload">
                    {move || if busy.get() { ctx.t("loading") } else if images { ctx.t("fill.take_photo") } else { ctx.t("fill.add_files") }}
                    <input type="file" multiple=true accept=accept.clone() data-test="file-input"
                        capture=if images { "environment" } else { "" } on:change=add/>
                </label>
            })}
            {move || error.get().map(|e| view! { <p class="field-error">{e}</p> })}
        </div>
    }
    .into_any()
}

/// A related record, picked from the target form's newest records by their display field
/// (or their first text field); the record id is what is stored.
fn relation(field: &Value, pointer: String, id: String, bind: Binding) -> AnyView {
    let ctx = crate::app::ctx();
    let target = field["form"].as_str().unwrap_or_default().to_owned();
    let shown = field["display_field"].as_str().map(str::to_owned);
    let choices = RwSignal::new(Vec::<(String, String)>::new());
    leptos::task::spawn_local(async move {
        let path = crate::api::ws_path(&ctx.ws(), &format!("/forms/{target}/records?limit=200&order=desc"));
        if let Ok(body) = ctx.client().get(&path).await {
            let list = body["items"].as_array().cloned().unwrap_or_default();
            choices.set(
                list.iter()
                    .map(|r| {
                        let rid = r["id"].as_str().unwrap_or_default().to_owned();
                        let data = &r["data"];
                        let label = shown
                            .as_ref()
                            .and_then(|k| data[k].as_str().map(str::to_owned))
                            .or_else(|| {
                                data.as_object().and_then(|o| o.values().find_map(|v| v.as_str().map(str::to_owned)))
                            })
                            .unwrap_or_else(|| rid.clone());
                        (rid, label)
                    })
                    .collect(),
            );
        }
    });
    let (p1, p2) = (pointer.clone(), pointer);
    view! {
        <select id=id data-test="relation-select" on:change=move |ev| {
            let v = event_target_value(&ev);
            bind.set(&p2, if v.is_empty() { Value::Null } else { json!(v) });
        }>
            <option value="">"—"</option>
            {move || {
                let current = text_value(&bind.value(&p1));
                choices.get().into_iter().map(|(rid, label)| {
                    let selected = rid == current;
                    view! { <option value=rid selected=selected>{label}</option> }
                }).collect_view()
            }}
        </select>
    }
    .into_any()
}

/// A user of the workspace, picked by name; the user id is what is stored.
fn user(pointer: String, id: String, bind: Binding) -> AnyView {
    let ctx = crate::app::ctx();
    let members = RwSignal::new(Vec::<(String, String)>::new());
    leptos::task::spawn_local(async move {
        if let Ok(body) = ctx.client().get(&crate::api::ws_path(&ctx.ws(), "/members")).await {
            let text = |m: &Value, k: &str| m[k].as_str().unwrap_or_default().to_owned();
            members.set(
                body["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| {
                        let name = text(m, "display_name");
                        (text(m, "id"), if name.is_empty() { text(m, "username") } else { name })
                    })
                    .collect(),
            );
        }
    });
    let (p1, p2) = (pointer.clone(), pointer);
    view! {
        <select id=id data-test="user-select" on:change=move |ev| {
            let v = event_target_value(&ev);
            bind.set(&p2, if v.is_empty() { Value::Null } else { json!(v) });
        }>
            <option value="">"—"</option>
            {move || {
                let current = text_value(&bind.value(&p1));
                members.get().into_iter().map(|(uid, name)| {
                    let selected = uid == current;
                    view! { <option value=uid selected=selected>{name}</option> }
                }).collect_view()
            }}
        </select>
    }
    .into_any()
}

/// The browser can read barcodes from pictures (Chrome on Android, Safari; not desktop Linux).
fn barcode_detector() -> bool {
    web_sys::window().is_some_and(|w| js_sys::Reflect::has(&w, &"BarcodeDetector".into()).unwrap_or(false))
}

/// Reads the first barcode in a picture with the browser's `BarcodeDetector`.
async fn detect_code(file: web_sys::File) -> Option<String> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let window = web_sys::window()?;
    let class: js_sys::Function = js_sys::Reflect::get(&window, &"BarcodeDetector".into()).ok()?.dyn_into().ok()?;
    let detector = js_sys::Reflect::construct(&class, &js_sys::Array::new()).ok()?;
    let bitmap = JsFuture::from(window.create_image_bitmap_with_blob(&file).ok()?).await.ok()?;
    let detect: js_sys::Function = js_sys::Reflect::get(&detector, &"detect".into()).ok()?.dyn_into().ok()?;
    let promise: js_sys::Promise = detect.call1(&detector, &bitmap).ok()?.dyn_into().ok()?;
    let found: js_sys::Array = JsFuture::from(promise).await.ok()?.dyn_into().ok()?;
    js_sys::Reflect::get(&found.get(0), &"rawValue".into()).ok()?.as_string()
}

/// A camera button beside a lot or barcode input (a scanner's keyboard input works anyway).
fn scan_button(pointer: String, bind: Binding) -> AnyView {
    use wasm_bindgen::JsCast;
    let ctx = crate::app::ctx();
    view! {
        <label class="scan link" title=move || ctx.t("fill.scan")>"📷"
            <input type="file" accept="image/*" capture="environment" aria-label=move || ctx.t("fill.scan") on:change=move |ev| {
                let file = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()).and_then(|i| i.files()).and_then(|f| f.get(0));
                let p = pointer.clone();
                if let Some(file) = file {
                    leptos::task::spawn_local(async move {
                        match detect_code(file).await {
                            Some(code) => bind.set(&p, json!(code)),
                            None => ctx.fail(ctx.t("fill.no_code")),
                        }
                    });
                }
            }/>
        </label>
    }
    .into_any()
}

/// Sample inputs with each value's and the overall OK/NG judged live by the engine.
fn measurement(field: &Value, pointer: String, id: String, bind: Binding) -> AnyView {
    let fixed = field["samples"].as_u64();
    let unit = field["unit"].as_str().unwrap_or_default().to_owned();
    let limits = {
        let n = |k: &str| field[k].as_f64().map(|v| v.to_string()).unwrap_or_else(|| "—".into());
        format!("{} {} / {} {} / {} {}", "LSL", n("lsl"), "NOM", n("nominal"), "USL", n("usl"))
    };
    let values_pointer = format!("{pointer}/values");
    let count = {
        let vp = values_pointer.clone();
        move || {
            let stored = bind.value(&vp).as_array().map_or(0, Vec::len);
            fixed.map_or(stored.max(1), |f| f as usize).max(1)
        }
    };
    let (p1, p2) = (pointer.clone(), pointer.clone());
    view! {
        <div class="measurement" id=id>
            <div class="samples">
                {move || (0..count()).map(|i| {
                    let vp = values_pointer.clone();
                    let (vp2, p) = (vp.clone(), p1.clone());
                    let judged = move || bind.processed.with(|r| get_at(r, &format!("{p}/judgements/{i}")).as_str().map(str::to_owned));
                    view! {
                        <span class="sample">
                            <input type="number" step="any" inputmode="decimal" aria-label=format!("#{}", i + 1)
                                data-test=format!("sample-{i}")
                                prop:value=move || text_value(&bind.value(&format!("{vp}/{i}")))
                                on:change=move |ev| {
                                    let v = parse_number(&event_target_value(&ev), false);
                                    let mut list: Vec<Value> = bind.value(&vp2).as_array().cloned().unwrap_or_default();
                                    while list.len() <= i { list.push(Value::Null); }
                                    list[i] = v;
                                    while list.last().is_some_and(Value::is_null) { list.pop(); }
                                    let object = if list.is_empty() { Value::Null } else { json!({"values": list}) };
                                    bind.set(vp2.trim_end_matches("/values"), object);
                                }/>
                            {move || judged().map(|j| view! { <span class=format!("judge {j}")>{j.to_uppercase()}</span> })}
                        </span>
                    }
                }).collect_view()}
                {(!unit.is_empty()).then(|| view! { <span class="unit">{unit.clone()}</span> })}
            </div>
            <small class="muted">{limits}</small>
            {move || bind.processed.with(|r| get_at(r, &format!("{p2}/result")).as_str().map(str::to_owned)).map(|j| view! {
                <span class=format!("judge overall {j}") data-test="measurement-result">{j.to_uppercase()}</span>
            })}
        </div>
    }
    .into_any()
}

/// `2026-11-21T08:30:00Z` shown in a `datetime-local` input as local time.
fn local_from_rfc3339(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(text));
    if date.get_time().is_nan() {
        return String::new();
    }
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes()
    )
}

/// A `datetime-local` value (local time) as RFC 3339 in UTC.
fn rfc3339_from_local(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(text));
    if date.get_time().is_nan() {
        return String::new();
    }
    date.to_iso_string().as_string().unwrap_or_default().replace(".000Z", "Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_at_creates_and_removes() {
        let mut data = json!({});
        set_at(&mut data, "/a", json!(1));
        set_at(&mut data, "/m/values", json!([1, 2]));
        assert_eq!(data, json!({"a": 1, "m": {"values": [1, 2]}}));
        set_at(&mut data, "/a", Value::Null);
        assert_eq!(data, json!({"m": {"values": [1, 2]}}));
        let mut rows = json!({"items": [{"x": 1}]});
        set_at(&mut rows, "/items/0/y", json!("z"));
        set_at(&mut rows, "/items/5/y", json!("lost"));
        assert_eq!(rows, json!({"items": [{"x": 1, "y": "z"}]}));
    }

    #[test]
    fn numbers_parse_for_their_field() {
        assert_eq!(parse_number(" 12 ", true), json!(12));
        assert_eq!(parse_number("1.5", false), json!(1.5));
        assert_eq!(parse_number("", false), Value::Null);
        assert_eq!(parse_number("abc", false), json!("abc"));
    }
}
