//! Configuration: built once at start from flags > environment > `formwork.toml`, validated,
//! and passed down. Nothing reads the environment after this.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Where the data lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    /// The embedded default: one SQLite file (WAL mode, full durability).
    Sqlite { path: PathBuf },
    /// `DATABASE_URL=postgres://...`; `schema` (tests) sets the search path.
    Postgres { url: String, schema: Option<String> },
}

#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database: Database,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    pub request_timeout: Duration,
    /// The first administrator's password; generated and printed once when absent.
    pub admin_password: Option<String>,
    /// A bearer token that may read `/metrics` (for Prometheus); admins may read it anyway.
    pub metrics_token: Option<String>,
    /// On start, create the demo workspace (every pack, demo users, months of sample data)
    /// unless it exists.
    pub demo: bool,
    /// The built browser app (`cargo xtask web` writes it to `target/web`); without it the
    /// server answers the API only and `/` says how to build the app.
    pub web_dir: Option<PathBuf>,
    /// How long a process may reuse what it read about a caller, workspace or form (see
    /// `access_cache`); changes made through this process are seen at once regardless.
    pub access_cache_ttl: Duration,
}

/// What may be set, from any source. Every field optional; the file rejects unknown keys.
#[derive(Clone, Debug, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    pub listen: Option<String>,
    /// Data directory (SQLite database, search index) [default: ./formwork-data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// `postgres://...` for PostgreSQL; absent for the embedded SQLite database.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Largest request body in bytes [default: 2097152].
    #[arg(long)]
    pub body_limit: Option<usize>,
    /// Request timeout in seconds [default: 30].
    #[arg(long)]
    pub request_timeout: Option<u64>,
    /// Password of the administrator created on first start [default: generated, printed once].
    #[arg(long)]
    pub admin_password: Option<String>,
    /// Bearer token for scraping /metrics [default: none; installation admins only].
    #[arg(long)]
    pub metrics_token: Option<String>,
    /// Create a demo workspace with every template pack, demo users and sample data.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub demo: Option<bool>,
    /// Directory of the built browser app [default: `web` beside the binary, if it exists].
    #[arg(long)]
    pub web_dir: Option<PathBuf>,
    /// Milliseconds a caller's token or session, roles and policies may be reused before they
    /// are read again; changes made through this server apply at once, changes made by
    /// another process within this time; 0 reads them on every request [default: 1000].
    #[arg(long)]
    pub access_cache_ms: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Settings {
    /// Reads the `FORMWORK_*` variables and `DATABASE_URL` from `env`.
    pub fn from_env(env: &HashMap<String, String>) -> Result<Settings, ConfigError> {
        let parse = |name: &str| -> Result<Option<u64>, ConfigError> {
            env.get(name)
                .map(|v| v.parse::<u64>().map_err(|_| ConfigError(format!("{name}={v} is not a whole number"))))
                .transpose()
        };
        Ok(Settings {
            listen: env.get("FORMWORK_LISTEN").cloned(),
            data_dir: env.get("FORMWORK_DATA_DIR").map(PathBuf::from),
            database_url: env.get("DATABASE_URL").cloned(),
            body_limit: parse("FORMWORK_BODY_LIMIT")?.map(|v| v as usize),
            request_timeout: parse("FORMWORK_REQUEST_TIMEOUT")?,
            admin_password: env.get("FORMWORK_ADMIN_PASSWORD").cloned(),
            metrics_token: env.get("FORMWORK_METRICS_TOKEN").cloned(),
            demo: env.get("FORMWORK_DEMO").map(|v| matches!(v.as_str(), "1" | "true" | "yes")),
            web_dir: env.get("FORMWORK_WEB_DIR").map(PathBuf::from),
            access_cache_ms: parse("FORMWORK_ACCESS_CACHE_MS")?,
        })
    }

    /// Parses `formwork.toml`; unknown keys are errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Settings, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError(format!("{}: {e}", origin.display())))
    }

    /// Fills what `self` leaves open from `lower`.
    pub fn or(self, lower: Settings) -> Settings {
        Settings {
            listen: self.listen.or(lower.listen),
            data_dir: self.data_dir.or(lower.data_dir),
            database_url: self.database_url.or(lower.database_url),
            body_limit: self.body_limit.or(lower.body_limit),
            request_timeout: self.request_timeout.or(lower.request_timeout),
            admin_password: self.admin_password.or(lower.admin_password),
            metrics_token: self.metrics_token.or(lower.metrics_token),
            demo: self.demo.or(lower.demo),
            web_dir: self.web_dir.or(lower.web_dir),
            access_cache_ms: self.access_cache_ms.or(lower.access_cache_ms),
        }
    }
}

impl Config {
    /// Merges flags > environment > file and validates the result.
    pub fn build(
        flags: Settings,
        env: &HashMap<String, String>,
        file: Option<(&str, &Path)>,
    ) -> Result<Config, ConfigError> {
        let file = match file {
            Some((text, origin)) => Settings::from_toml(text, origin)?,
            None => Settings::default(),
        };
        let settings = flags.or(Settings::from_env(env)?).or(file);
        let listen_text = settings.listen.unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let listen: SocketAddr =
            listen_text.parse().map_err(|_| ConfigError(format!("listen address {listen_text:?} is not host:port")))?;
        let data_dir = settings.data_dir.unwrap_or_else(|| PathBuf::from("formwork-data"));
        let database = match settings.database_url {
            None => Database::Sqlite { path: data_dir.join("formwork.sqlite") },
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Database::Postgres { url, schema: None }
            }
            Some(url) => match url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
                Some(path) if !path.is_empty() => Database::Sqlite { path: PathBuf::from(path) },
                _ => return Err(ConfigError("DATABASE_URL must be postgres://... or sqlite://PATH".to_owned())),
            },
        };
        let body_limit = settings.body_limit.unwrap_or(2 * 1024 * 1024);
        if body_limit < 1024 {
            return Err(ConfigError(format!("body limit {body_limit} is below 1024 bytes")));
        }
        let timeout = settings.request_timeout.unwrap_or(30);
        if timeout == 0 {
            return Err(ConfigError("request timeout must be at least 1 second".to_owned()));
        }
        if settings.admin_password.as_ref().is_some_and(|p| p.chars().count() < 10) {
            return Err(ConfigError("the admin password needs at least 10 characters".to_owned()));
        }
        let access_cache_ms = settings.access_cache_ms.unwrap_or(1000);
        if access_cache_ms > 60_000 {
            return Err(ConfigError(format!(
                "access cache of {access_cache_ms} ms is above 60000: revocations would take too long to reach other processes"
            )));
        }
        Ok(Config {
            listen,
            data_dir,
            database,
            body_limit,
            request_timeout: Duration::from_secs(timeout),
            admin_password: settings.admin_password,
            metrics_token: settings.metrics_token,
            demo: settings.demo.unwrap_or(false),
            web_dir: settings.web_dir.or_else(default_web_dir),
            access_cache_ttl: Duration::from_millis(access_cache_ms),
        })
    }
}

/// `web` beside the running binary, where an installation puts the app next to `formwork`.
fn default_web_dir() -> Option<PathBuf> {
    let dir = std::env::current_exe().ok()?.parent()?.join("web");
    dir.join("index.html").is_file().then_some(dir)
}
