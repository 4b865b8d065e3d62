//! Starting the server, chromedriver and a browser session, and the few actions the flows
//! need: find by `data-test`, type, click, drag with pointer events, wait with a deadline.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

pub const DEADLINE: Duration = Duration::from_secs(20);
pub const ADMIN_PASSWORD: &str = "admin-e2e-password";
pub const QE_PASSWORD: &str = "qe-e2e-password";

pub type Step<T = ()> = Result<T, String>;

/// What the tests need from the machine.
pub struct Machine {
    pub root: PathBuf,
    pub bin: PathBuf,
    pub web: PathBuf,
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

impl Machine {
    /// Everything present, or why not. Under `FORMWORK_REQUIRE_E2E=1` (CI) a missing part
    /// fails the test; otherwise the test is skipped with a loud message.
    pub fn find() -> Option<Machine> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
        let var = |name: &str, default: PathBuf| std::env::var_os(name).map(PathBuf::from).unwrap_or(default);
        let machine = Machine {
            bin: var("FORMWORK_E2E_BIN", root.join("target/debug/formwork")),
            web: var("FORMWORK_E2E_WEB", root.join("target/web")),
            chromium: var("FORMWORK_E2E_CHROMIUM", PathBuf::from("/usr/bin/chromium")),
            chromedriver: var("FORMWORK_E2E_CHROMEDRIVER", PathBuf::from("/usr/bin/chromedriver")),
            root,
        };
        let missing: Vec<String> = [
            (&machine.bin, "the formwork binary"),
            (&machine.web.join("index.html"), "the web bundle (cargo xtask web)"),
            (&machine.chromium, "Chromium"),
            (&machine.chromedriver, "chromedriver"),
        ]
        .iter()
        .filter(|(path, _)| !path.exists())
        .map(|(path, what)| format!("{what} at {}", path.display()))
        .collect();
        if missing.is_empty() {
            return Some(machine);
        }
        let message = format!("browser tests need {}", missing.join(", "));
        if std::env::var("FORMWORK_REQUIRE_E2E").is_ok_and(|v| v == "1") {
            panic!("{message}");
        }
        eprintln!("\n*** SKIPPED: {message}. `cargo xtask test` installs and builds all of it. ***\n");
        None
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn poll<T, F, Fut>(what: &str, mut probe: F) -> Step<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return Ok(value);
        }
        if start.elapsed() > DEADLINE {
            return Err(format!("timed out waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The real server on its own port and data directory.
pub struct Server {
    _child: Child,
    _dir: tempfile::TempDir,
    pub base: String,
}

impl Server {
    pub async fn start(machine: &Machine) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        // The approver exists before the server starts (the CLI writes the same database).
        let status = Command::new(&machine.bin)
            .args([
                "user",
                "create",
                "--username",
                "qe",
                "--display-name",
                "QE Li",
                "--password",
                QE_PASSWORD,
                "--data-dir",
            ])
            .arg(&data)
            .stdout(Stdio::null())
            .status()
            .await
            .unwrap();
        assert!(status.success(), "formwork user create failed");
        let port = free_port();
        let child = Command::new(&machine.bin)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--admin-password", ADMIN_PASSWORD, "--data-dir"])
            .arg(&data)
            .arg("--web-dir")
            .arg(&machine.web)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        poll("the server's /healthz", || {
            let http = http.clone();
            let url = format!("{base}/healthz");
            async move { http.get(url).send().await.ok().filter(|r| r.status().is_success()).map(|_| ()) }
        })
        .await
        .unwrap();
        Server { _child: child, _dir: dir, base }
    }
}

/// A signed-in API client (cookie session + CSRF), for the set-up the flows do not test.
pub struct Api {
    http: reqwest::Client,
    base: String,
    csrf: String,
}

impl Api {
    pub async fn login(base: &str, username: &str, password: &str) -> Api {
        let http = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let response = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "login as {username}: {}", response.status());
        let body: Value = response.json().await.unwrap();
        Api { http, base: base.to_owned(), csrf: body["csrf_token"].as_str().unwrap().to_owned() }
    }

    pub async fn send(&self, method: &str, path: &str, body: Value) -> Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {body}");
        body
    }
}

/// chromedriver and one Chromium session with a fresh profile at a given window size.
pub struct Browser {
    _driver: Child,
    _profile: tempfile::TempDir,
    pub c: Client,
    pub base: String,
    shots: PathBuf,
}

impl Browser {
    pub async fn start(machine: &Machine, base: &str, width: u32, height: u32) -> Browser {
        let port = free_port();
        let driver = Command::new(&machine.chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let http = reqwest::Client::new();
        let status = format!("http://127.0.0.1:{port}/status");
        poll("chromedriver", || {
            let (http, status) = (http.clone(), status.clone());
            async move { http.get(status).send().await.ok().filter(|r| r.status().is_success()).map(|_| ()) }
        })
        .await
        .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        let mut options = json!({
            "binary": machine.chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", format!("--window-size={width},{height}"),
                format!("--user-data-dir={}", profile.path().display()),
            ],
        });
        // Headless windows are at least 500 px wide: a phone's screen is emulated instead.
        if width < 500 {
            options["mobileEmulation"] =
                json!({"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0}});
        }
        caps.insert("goog:chromeOptions".into(), options);
        let c = ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        let shots = machine.root.join("target/e2e-screenshots");
        Browser { _driver: driver, _profile: profile, c, base: base.to_owned(), shots }
    }

    /// Saves a screenshot (after a failure) and says where.
    pub async fn screenshot(&self, name: &str) -> String {
        let _ = std::fs::create_dir_all(&self.shots);
        let path = self.shots.join(format!("{name}.png"));
        match self.c.screenshot().await {
            Ok(png) => {
                let _ = std::fs::write(&path, png);
                format!("screenshot: {}", path.display())
            }
            Err(e) => format!("no screenshot: {e}"),
        }
    }

    pub async fn goto(&self, hash: &str) -> Step {
        self.c.goto(&format!("{}/{hash}", self.base)).await.map_err(|e| format!("goto {hash}: {e}"))
    }

    /// The first element matching the CSS selector, once it exists.
    pub async fn find(&self, css: &str) -> Step<fantoccini::elements::Element> {
        self.c
            .wait()
            .at_most(DEADLINE)
            .for_element(Locator::Css(css))
            .await
            .map_err(|e| format!("no element {css}: {e}"))
    }

    pub async fn click(&self, css: &str) -> Step {
        let element = self.find(css).await?;
        self.c
            .execute(
                "arguments[0].scrollIntoView({block: 'center', inline: 'center'});",
                vec![serde_json::to_value(&element).unwrap()],
            )
            .await
            .map_err(|e| e.to_string())?;
        element.click().await.map_err(|e| format!("click {css}: {e}"))
    }

    /// Replaces the text of an input as a user does (select all, type) and leaves it, which
    /// fires one `change`.
    pub async fn fill(&self, css: &str, text: &str) -> Step {
        let element = self.find(css).await?;
        self.c
            .execute(
                "arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus(); arguments[0].select();",
                vec![serde_json::to_value(&element).unwrap()],
            )
            .await
            .map_err(|e| e.to_string())?;
        element.send_keys(text).await.map_err(|e| format!("type into {css}: {e}"))?;
        self.c
            .execute(
                "arguments[0].dispatchEvent(new Event('change', {bubbles: true})); arguments[0].blur();",
                vec![serde_json::to_value(&element).unwrap()],
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    pub async fn text(&self, css: &str) -> Step<String> {
        self.find(css).await?.text().await.map_err(|e| format!("text of {css}: {e}"))
    }

    /// Waits until the element's text contains `needle`.
    pub async fn wait_text(&self, css: &str, needle: &str) -> Step<String> {
        let last = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let found = poll(&format!("{css} to contain {needle:?}"), || {
            let c = self.c.clone();
            let css = css.to_owned();
            let needle = needle.to_owned();
            let last = last.clone();
            async move {
                let text = c.find(Locator::Css(&css)).await.ok()?.text().await.ok()?;
                *last.lock().unwrap() = text.clone();
                text.contains(&needle).then_some(text)
            }
        })
        .await;
        found.map_err(|e| format!("{e} (last text: {:?})", last.lock().unwrap()))
    }

    /// Waits until the input's value is `value`.
    pub async fn wait_value(&self, css: &str, value: &str) -> Step {
        poll(&format!("{css} to hold {value:?}"), || {
            let c = self.c.clone();
            let (css, value) = (css.to_owned(), value.to_owned());
            async move {
                let got = c
                    .execute(
                        "const e = document.querySelector(arguments[0]); return e ? e.value : null;",
                        vec![json!(css)],
                    )
                    .await
                    .ok()?;
                (got == json!(value)).then_some(())
            }
        })
        .await
    }

    /// Waits until the image has loaded and decoded (the server sent a picture).
    pub async fn wait_loaded_image(&self, css: &str) -> Step {
        poll(&format!("{css} to load"), || {
            let c = self.c.clone();
            let css = css.to_owned();
            async move {
                let width = c
                    .execute(
                        "const i = document.querySelector(arguments[0]); return i && i.complete ? i.naturalWidth : 0;",
                        vec![json!(css)],
                    )
                    .await
                    .ok()?;
                (width.as_u64().unwrap_or(0) > 0).then_some(())
            }
        })
        .await
    }

    /// Waits until no element matches.
    pub async fn wait_gone(&self, css: &str) -> Step {
        poll(&format!("{css} to disappear"), || {
            let c = self.c.clone();
            let css = css.to_owned();
            async move { c.find_all(Locator::Css(&css)).await.ok().filter(Vec::is_empty).map(|_| ()) }
        })
        .await
    }

    pub async fn js(&self, script: &str, args: Vec<Value>) -> Step<Value> {
        self.c.execute(script, args).await.map_err(|e| format!("script failed: {e}"))
    }

    /// Drags with pointer events from the centre of `from` to a point of `to`: its centre,
    /// just inside its bottom edge (`"end"`: the end of a list) or its top (`"top"`: before an
    /// item).
    pub async fn drag(&self, from: &str, to: &str, at: &str) -> Step {
        self.find(from).await?;
        self.find(to).await?;
        let points = self
            .js(
                "const a = document.querySelector(arguments[0]);
                 const b = document.querySelector(arguments[1]);
                 b.scrollIntoView({block: 'center', inline: 'nearest'});
                 a.scrollIntoView({block: 'nearest', inline: 'center'});
                 const ra = a.getBoundingClientRect(), rb = b.getBoundingClientRect();
                 const y = arguments[2] === 'end' ? rb.bottom - 3 : arguments[2] === 'top' ? rb.top + 4 : rb.top + rb.height / 2;
                 return [ra.left + ra.width / 2, ra.top + ra.height / 2, rb.left + rb.width / 2, y, innerHeight];",
                vec![json!(from), json!(to), json!(at)],
            )
            .await?;
        let p: Vec<f64> = points.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        if p[3] < 0.0 || p[3] > p[4] {
            return Err(format!("drop target {to} is outside the viewport (y {} of {})", p[3], p[4]));
        }
        let step = Some(Duration::from_millis(60));
        let mouse = MouseActions::new("mouse".into())
            .then(PointerAction::MoveTo { duration: None, x: p[0].round(), y: p[1].round() })
            .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
            .then(PointerAction::MoveTo { duration: step, x: (p[0] + 12.0).round(), y: (p[1] + 12.0).round() })
            .then(PointerAction::MoveTo {
                duration: step,
                x: ((p[0] + p[2]) / 2.0).round(),
                y: ((p[1] + p[3]) / 2.0).round(),
            })
            .then(PointerAction::MoveTo { duration: step, x: p[2].round(), y: p[3].round() })
            .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
        self.c.perform_actions(mouse).await.map_err(|e| format!("drag {from} -> {to}: {e}"))?;
        self.c.release_actions().await.map_err(|e| e.to_string())
    }

    /// Clicks the middle of an SVG path (an arrow), where a user would.
    pub async fn click_path(&self, css: &str) -> Step {
        self.find(css).await?;
        let point = self
            .js(
                "const p = document.querySelector(arguments[0]);
                 p.scrollIntoView({block: 'center', inline: 'center'});
                 const m = p.getPointAtLength(p.getTotalLength() / 2).matrixTransform(p.getScreenCTM());
                 return [m.x, m.y];",
                vec![json!(css)],
            )
            .await?;
        let (x, y) = (point[0].as_f64().unwrap_or(0.0).round(), point[1].as_f64().unwrap_or(0.0).round());
        let mouse = MouseActions::new("mouse".into())
            .then(PointerAction::MoveTo { duration: None, x, y })
            .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
            .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
        self.c.perform_actions(mouse).await.map_err(|e| format!("click {css}: {e}"))?;
        self.c.release_actions().await.map_err(|e| e.to_string())
    }

    /// The `data-test` values of the elements matching `css`, in document order.
    pub async fn tests_of(&self, css: &str) -> Step<Vec<String>> {
        let value = self
            .js(
                "return [...document.querySelectorAll(arguments[0])].map(e => e.getAttribute('data-test'));",
                vec![json!(css)],
            )
            .await?;
        Ok(value.as_array().unwrap().iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
    }
}
