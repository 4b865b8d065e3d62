//! The app's frame: session, language, routing, the login page and the shell around every
//! other page (workspace switcher, navigation, language switch).

use engine::Lang;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};

use crate::api::Client;
use crate::i18n::tr;
use crate::pages;
use crate::route::{Page, Route};

/// A workspace the user belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct Workspace {
    pub slug: String,
    pub name: String,
    pub roles: Vec<String>,
}

/// The signed-in user.
#[derive(Clone, Debug, PartialEq)]
pub struct Me {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub is_admin: bool,
    pub csrf: Option<String>,
    pub workspaces: Vec<Workspace>,
}

impl Me {
    fn from_json(body: &Value, csrf: Option<String>) -> Me {
        let user = &body["user"];
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let workspaces = body["workspaces"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|w| Workspace {
                        slug: text(w, "slug"),
                        name: text(w, "name"),
                        roles: w["roles"]
                            .as_array()
                            .map(|r| r.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Me {
            id: text(user, "id"),
            username: text(user, "username"),
            display_name: text(user, "display_name"),
            is_admin: user["is_admin"].as_bool().unwrap_or(false),
            csrf: csrf.or_else(|| body["csrf_token"].as_str().map(str::to_owned)),
            workspaces,
        }
    }
}

/// A message shown at the top of the page until the next one (or a click).
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub ok: bool,
    pub text: String,
}

/// What every page reads: the language, the user, where we are.
#[derive(Clone, Copy)]
pub struct Ctx {
    pub lang: RwSignal<Lang>,
    pub me: RwSignal<Option<Me>>,
    /// `/me` has answered (until then we do not know whether to show the login).
    pub ready: RwSignal<bool>,
    pub route: RwSignal<Route>,
    pub notice: RwSignal<Option<Notice>>,
}

impl Ctx {
    /// A translated UI string (tracks the language).
    pub fn t(&self, key: &str) -> &'static str {
        tr(self.lang.get(), key)
    }

    /// The API client for the current session and language.
    pub fn client(&self) -> Client {
        Client {
            csrf: self.me.with_untracked(|m| m.as_ref().and_then(|m| m.csrf.clone())),
            lang: self.lang.get_untracked().tag(),
        }
    }

    /// The current workspace's slug.
    pub fn ws(&self) -> String {
        self.route.with_untracked(|r| r.workspace.clone()).unwrap_or_default()
    }

    /// Navigates within the app.
    pub fn go(&self, page: Page) {
        let route = Route { workspace: Some(self.ws()), page };
        navigate(&route);
    }

    pub fn ok(&self, text: impl Into<String>) {
        self.notice.set(Some(Notice { ok: true, text: text.into() }));
    }

    pub fn fail(&self, text: impl Into<String>) {
        self.notice.set(Some(Notice { ok: false, text: text.into() }));
    }
}

pub fn ctx() -> Ctx {
    expect_context::<Ctx>()
}

/// Sets the fragment; the `hashchange` listener updates the route.
pub fn navigate(route: &Route) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_hash(&route.to_hash());
    }
}

fn current_hash() -> String {
    web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default()
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub fn stored(key: &str) -> Option<String> {
    storage()?.get_item(key).ok()?
}

pub fn store(key: &str, value: Option<&str>) {
    if let Some(storage) = storage() {
        let _ = match value {
            Some(value) => storage.set_item(key, value),
            None => storage.remove_item(key),
        };
    }
}

/// The language chosen before, else the browser's.
fn initial_lang() -> Lang {
    if let Some(tag) = stored("formwork.lang") {
        return Lang::from_tag(&tag);
    }
    let browser = web_sys::window().and_then(|w| w.navigator().language()).unwrap_or_default();
    Lang::from_tag(&browser)
}

#[component]
pub fn App() -> impl IntoView {
    let ctx = Ctx {
        lang: RwSignal::new(initial_lang()),
        me: RwSignal::new(None),
        ready: RwSignal::new(false),
        route: RwSignal::new(Route::parse(&current_hash())),
        notice: RwSignal::new(None),
    };
    provide_context(ctx);
    let handle = window_event_listener(leptos::ev::hashchange, move |_| {
        ctx.route.set(Route::parse(&current_hash()));
        ctx.notice.set(None);
    });
    on_cleanup(move || handle.remove());
    Effect::new(move |_| {
        let lang = ctx.lang.get();
        store("formwork.lang", Some(lang.tag()));
        if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
            let _ = root.set_attribute("lang", lang.tag());
        }
    });
    spawn_local(async move {
        if let Ok(body) = ctx.client().get("/api/v1/me").await {
            ctx.me.set(Some(Me::from_json(&body, None)));
        }
        ctx.ready.set(true);
    });
    // Without a workspace in the fragment, go to the user's first one.
    Effect::new(move |_| {
        let route = ctx.route.get();
        let first = ctx.me.with(|m| m.as_ref().and_then(|m| m.workspaces.first().map(|w| w.slug.clone())));
        if route.workspace.is_none()
            && route.page != Page::Login
            && let Some(first) = first
        {
            navigate(&Route::new(&first, route.page));
        }
    });
    view! {
        {move || {
            if !ctx.ready.get() {
                view! { <p class="loading">{move || ctx.t("loading")}</p> }.into_any()
            } else if ctx.me.with(Option::is_none) {
                view! { <Login/> }.into_any()
            } else {
                view! { <Shell/> }.into_any()
            }
        }}
    }
}

#[component]
fn Login() -> impl IntoView {
    let ctx = ctx();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let body = json!({"username": username.get_untracked(), "password": password.get_untracked()});
            let client = ctx.client();
            match client.post("/api/v1/auth/login", &body).await {
                Ok(login) => {
                    let csrf = login["csrf_token"].as_str().map(str::to_owned);
                    match client.get("/api/v1/me").await {
                        Ok(me) => {
                            ctx.me.set(Some(Me::from_json(&me, csrf)));
                            if ctx.route.get_untracked().page == Page::Login {
                                navigate(&Route::parse(""));
                            }
                        }
                        Err(e) => error.set(Some(e.message)),
                    }
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    view! {
        <main class="login">
            <form class="card login-card" on:submit=submit data-test="login-form">
                <h1>"Formwork"</h1>
                <p class="muted">{move || ctx.t("login.tagline")}</p>
                <label>
                    {move || ctx.t("login.username")}
                    <input data-test="login-username" autocomplete="username" required
                        prop:value=move || username.get()
                        on:input=move |ev| username.set(event_target_value(&ev))/>
                </label>
                <label>
                    {move || ctx.t("login.password")}
                    <input data-test="login-password" type="password" autocomplete="current-password" required
                        prop:value=move || password.get()
                        on:input=move |ev| password.set(event_target_value(&ev))/>
                </label>
                {move || error.get().map(|e| view! { <p class="error" role="alert" data-test="login-error">{e}</p> })}
                <button type="submit" class="primary" data-test="login-submit" disabled=move || busy.get()>
                    {move || ctx.t("login.submit")}
                </button>
                <LangSwitch/>
            </form>
        </main>
    }
}

#[component]
pub fn LangSwitch() -> impl IntoView {
    let ctx = ctx();
    view! {
        <button type="button" class="link lang" data-test="lang-switch"
            aria-label=move || ctx.t("lang.switch")
            on:click=move |_| ctx.lang.update(|l| *l = if *l == Lang::En { Lang::ZhCn } else { Lang::En })>
            {move || if ctx.lang.get() == Lang::En { "中文" } else { "English" }}
        </button>
    }
}

#[component]
fn Shell() -> impl IntoView {
    let ctx = ctx();
    let menu_open = RwSignal::new(false);
    let logout = move |_| {
        spawn_local(async move {
            let _ = ctx.client().post("/api/v1/auth/logout", &json!({})).await;
            ctx.me.set(None);
            navigate(&Route { workspace: None, page: Page::Login });
        });
    };
    let link = move |page: Page, key: &'static str, test: &'static str| {
        let target = page.clone();
        let href = move || Route { workspace: ctx.route.with(|r| r.workspace.clone()), page: target.clone() }.to_hash();
        let current = move || ctx.route.with(|r| std::mem::discriminant(&r.page) == std::mem::discriminant(&page));
        view! {
            <a href=href data-test=test class:active=current on:click=move |_| menu_open.set(false)>{move || ctx.t(key)}</a>
        }
    };
    let workspaces = move || ctx.me.with(|m| m.as_ref().map(|m| m.workspaces.clone()).unwrap_or_default());
    view! {
        <header class="topbar">
            <a class="brand" href="#/">"Formwork"</a>
            <button class="menu-toggle" data-test="menu-toggle" aria-label=move || ctx.t("nav.menu")
                on:click=move |_| menu_open.update(|o| *o = !*o)>"☰"</button>
            <nav class="nav" class:open=move || menu_open.get() aria-label=move || ctx.t("nav.menu")>
                {link(Page::Forms, "nav.forms", "nav-forms")}
                {link(Page::Inbox, "nav.inbox", "nav-inbox")}
                {link(Page::Workflows, "nav.workflows", "nav-workflows")}
                {link(Page::Dashboards, "nav.dashboards", "nav-dashboards")}
                {link(Page::Search, "nav.search", "nav-search")}
                {link(Page::Trace, "nav.trace", "nav-trace")}
                {link(Page::Admin, "nav.admin", "nav-admin")}
            </nav>
            <div class="top-right">
                <select data-test="workspace-switcher" aria-label=move || ctx.t("nav.workspace")
                    on:change=move |ev| navigate(&Route::new(&event_target_value(&ev), Page::Forms))>
                    {move || workspaces().into_iter().map(|w| {
                        let selected = ctx.route.with(|r| r.workspace.as_deref() == Some(w.slug.as_str()));
                        view! { <option value=w.slug.clone() selected=selected>{w.name.clone()}</option> }
                    }).collect_view()}
                </select>
                <LangSwitch/>
                <span class="user" data-test="current-user">
                    {move || ctx.me.with(|m| m.as_ref().map(|m| m.display_name.clone()).unwrap_or_default())}
                </span>
                <button class="link" data-test="logout" on:click=logout>{move || ctx.t("nav.logout")}</button>
            </div>
        </header>
        {move || ctx.notice.get().map(|n| view! {
            <div class=if n.ok { "notice ok" } else { "notice bad" } role="status" data-test="notice"
                on:click=move |_| ctx.notice.set(None)>{n.text}</div>
        })}
        <main class="page">
            {move || {
                let route = ctx.route.get();
                if route.workspace.is_none() {
                    return view! { <p class="muted">{move || ctx.t("nav.no_workspace")}</p> }.into_any();
                }
                pages::render(route.page)
            }}
        </main>
    }
}
