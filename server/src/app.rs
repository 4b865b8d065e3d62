//! The application: state shared by handlers, and the router with its middleware.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use sea_orm::{DatabaseConnection, DbBackend};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::auth::LoginLimiter;
use crate::authz::Authz;
use crate::config::Config;
use crate::db::group_commit::GroupCommit;
use crate::forms_cache::FormsCache;
use crate::metrics::Metrics;
use crate::workflows::{Runner, WorkflowCache};

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub login_limiter: Arc<LoginLimiter>,
    pub authz: Arc<Authz>,
    pub forms: Arc<FormsCache>,
    pub metrics: Arc<Metrics>,
    /// The writer that batches record submissions into shared commits.
    pub writes: GroupCommit,
    /// Starts and moves workflow instances.
    pub runner: Runner,
    /// The client connectors call out with.
    pub http: reqwest::Client,
    /// Verified against when a username does not exist, so that answers take as long.
    pub dummy_password_hash: Arc<String>,
    /// The template packs this binary ships.
    pub packs: Arc<Vec<engine::pack::Pack>>,
    /// The workspaces' full-text indexes.
    pub search: Arc<crate::search::Search>,
    /// The browser app, when the server was given one.
    pub web: Option<Arc<crate::web::WebBundle>>,
    /// Callers, workspaces and forms read by recent requests.
    pub access_cache: Arc<crate::access_cache::AccessCache>,
}

impl AppState {
    /// The state of one server; starts the group-commit writer, so it must be called on a
    /// tokio runtime.
    pub fn new(db: DatabaseConnection, config: Config) -> AppState {
        let dummy = crate::identity::hash_password(&crate::identity::new_secret()).unwrap_or_default();
        let forms = Arc::new(FormsCache::default());
        let search = Arc::new(crate::search::Search::new(&config.data_dir));
        let web = config.web_dir.as_deref().and_then(|dir| match crate::web::WebBundle::load(dir) {
            Ok(bundle) => Some(Arc::new(bundle)),
            Err(error) => {
                tracing::warn!(dir = %dir.display(), %error, "the browser app could not be read; serving the API only");
                None
            }
        });
        let access_cache = Arc::new(crate::access_cache::AccessCache::new(config.access_cache_ttl));
        crate::access_cache::listen::start(&db, access_cache.clone());
        AppState {
            writes: GroupCommit::start(config.database.clone(), access_cache.clone()),
            access_cache,
            runner: Runner { workflows: Arc::new(WorkflowCache::default()), forms: forms.clone(), nested: false },
            http: reqwest::Client::new(),
            db,
            config: Arc::new(config),
            login_limiter: Arc::new(LoginLimiter::default()),
            // The schema and default policies ship with the binary; a test proves they load.
            authz: Arc::new(Authz::new().expect("the shipped Cedar schema and policies are valid")),
            forms,
            metrics: Arc::new(Metrics::default()),
            dummy_password_hash: Arc::new(dummy),
            // The shipped packs are data compiled in; the library's tests check them.
            packs: Arc::new(crate::packs::library()),
            search,
            web,
        }
    }

    /// Starts the timer and outbox workers of this process; they stop when `stop` turns true.
    pub fn start_workers(&self, worker: &str, stop: tokio::sync::watch::Receiver<bool>) {
        tokio::spawn(crate::workflows::timers::run(self.db.clone(), self.runner.clone(), stop.clone()));
        tokio::spawn(crate::workflows::schedules::run(self.db.clone(), self.runner.clone(), stop.clone()));
        tokio::spawn(crate::trace::run(self.db.clone(), self.forms.clone(), stop.clone()));
        tokio::spawn(crate::reports::rollups::run(self.db.clone(), self.forms.clone(), stop.clone()));
        tokio::spawn(crate::search::run(self.db.clone(), self.forms.clone(), self.search.clone(), stop.clone()));
        tokio::spawn(crate::workflows::outbox::run(
            self.db.clone(),
            self.runner.clone(),
            self.http.clone(),
            worker.to_owned(),
            stop,
        ));
    }

    pub fn backend(&self) -> &'static str {
        match self.db.get_database_backend() {
            DbBackend::Postgres => "postgres",
            DbBackend::Sqlite => "sqlite",
            _ => "other",
        }
    }
}

/// Drops the access cache after every request that may have changed access, once it has
/// finished (committed or not).
async fn forget_access(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let changes = crate::access_cache::may_change_access(request.method(), request.uri().path());
    let response = next.run(request).await;
    if changes {
        state.access_cache.invalidate();
        crate::access_cache::listen::announce(&state.db).await;
    }
    response
}

/// Ends a request that takes longer than `timeout` with the API's error shape.
async fn with_timeout(
    timeout: std::time::Duration,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => crate::error::ApiError::new("timeout", "the request took too long").into_response(),
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP application for `state`: routes, body limit, timeout, request ids, tracing.
pub fn app(state: AppState) -> Router {
    let body_limit = state.config.body_limit;
    let timeout = state.config.request_timeout;
    let metrics_state = state.clone();
    let cache_state = state.clone();
    crate::routes::router(state)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(move |request, next| with_timeout(timeout, request, next)))
        // Outside the timeout, so that a write cut short by it still drops the cache.
        .layer(axum::middleware::from_fn_with_state(cache_state, forget_access))
        .layer(axum::middleware::from_fn_with_state(metrics_state, crate::metrics::track))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
