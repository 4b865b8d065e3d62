//! The browser app: the files `cargo xtask web` builds (index.html, the wasm module, its JS
//! glue, the stylesheet), read once at start and served from memory beside the API, brotli
//! or gzip copies to browsers that accept them.
//!
//! The app routes by URL fragment (`/#/forms/iqc`), so the server serves only `/` and the
//! bundle's own files; every other path keeps the API's JSON 404.

use std::collections::HashMap;
use std::path::Path;

use axum::body::{Body, Bytes};
use axum::http::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode};

/// What the app may load: its own scripts and wasm (compiled by the browser, hence
/// `wasm-unsafe-eval`), inline styles of charts, photos as data or blob URLs.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob:; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

struct Asset {
    content_type: &'static str,
    // `Bytes`: every response shares the one copy read at start (the wasm is ~1 MB).
    plain: Bytes,
    /// The gzip and brotli files `cargo xtask web` wrote beside it, when there are some.
    gzip: Option<Bytes>,
    brotli: Option<Bytes>,
}

/// The built app, by URL path (`/` is index.html).
#[derive(Default)]
pub struct WebBundle {
    assets: HashMap<String, Asset>,
}

impl WebBundle {
    /// Reads every file of `dir` (not its subdirectories). A directory without index.html is
    /// not an app.
    pub fn load(dir: &Path) -> std::io::Result<WebBundle> {
        let mut assets = HashMap::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else { continue };
            if !path.is_file() || name.ends_with(".gz") || name.ends_with(".br") {
                continue;
            }
            let plain = Bytes::from(std::fs::read(&path)?);
            let gzip = std::fs::read(dir.join(format!("{name}.gz"))).ok().map(Bytes::from);
            let brotli = std::fs::read(dir.join(format!("{name}.br"))).ok().map(Bytes::from);
            let url = if name == "index.html" { "/".to_owned() } else { format!("/{name}") };
            assets.insert(url, Asset { content_type: content_type(&name), plain, gzip, brotli });
        }
        if !assets.contains_key("/") {
            return Err(std::io::Error::new(std::io::ErrorKind::NotFound, "the directory has no index.html"));
        }
        Ok(WebBundle { assets })
    }

    /// The response for `path`, or `None` when the bundle has no such file.
    pub fn respond(&self, path: &str, headers: &HeaderMap) -> Option<Response<Body>> {
        let asset = self.assets.get(path)?;
        let accepts = |coding: &str| {
            headers.get_all(ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
                |part| {
                    let mut pieces = part.split(';');
                    let named = pieces.next().is_some_and(|c| c.trim() == coding);
                    // `q=0` means "not this one"; any other weight still accepts it.
                    let refused = pieces
                        .filter_map(|p| p.trim().strip_prefix("q="))
                        .any(|q| q.trim().parse::<f32>().is_ok_and(|q| q == 0.0));
                    named && !refused
                },
            )
        };
        let mut response = Response::builder()
            .status(StatusCode::OK)
            .header(CONTENT_TYPE, asset.content_type)
            // File names carry no hash: the browser revalidates, which is cheap on one machine.
            .header(CACHE_CONTROL, "no-cache")
            .header(VARY, "accept-encoding")
            .header("x-content-type-options", "nosniff");
        if path == "/" {
            response = response.header("content-security-policy", CONTENT_SECURITY_POLICY);
        }
        let body = match (&asset.brotli, &asset.gzip) {
            (Some(brotli), _) if accepts("br") => {
                response = response.header(CONTENT_ENCODING, HeaderValue::from_static("br"));
                brotli.clone()
            }
            (_, Some(gzip)) if accepts("gzip") => {
                response = response.header(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                gzip.clone()
            }
            _ => asset.plain.clone(),
        };
        response.body(Body::from(body)).ok()
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// The page `/` shows when the server runs without the app.
pub fn missing_page() -> Response<Body> {
    let html = "<!doctype html><meta charset=utf-8><title>Formwork</title>\
        <p>The Formwork API runs here, but the browser app was not built. \
        Build it with <code>cargo xtask web</code> and start the server with \
        <code>--web-dir target/web</code> (or use <code>cargo xtask run</code>).</p>";
    let mut response = Response::new(Body::from(html));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response
}
