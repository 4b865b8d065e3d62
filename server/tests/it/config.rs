//! Configuration: flags > environment > file, validated once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use server::config::{Config, Database, Settings};

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn zero_configuration_means_sqlite_in_formwork_data_on_8080() {
    let config = Config::build(Settings::default(), &HashMap::new(), None).unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.database, Database::Sqlite { path: PathBuf::from("formwork-data/formwork.sqlite") });
    assert_eq!(config.body_limit, 2 * 1024 * 1024);
    assert_eq!(config.access_cache_ttl, std::time::Duration::from_secs(1));
}

#[test]
fn the_access_cache_is_configurable_and_can_be_turned_off() {
    let config = Config::build(Settings::default(), &env(&[("FORMWORK_ACCESS_CACHE_MS", "0")]), None).unwrap();
    assert!(config.access_cache_ttl.is_zero());
    let file = "access_cache_ms = 250\n";
    let config = Config::build(Settings::default(), &HashMap::new(), Some((file, Path::new("formwork.toml")))).unwrap();
    assert_eq!(config.access_cache_ttl, std::time::Duration::from_millis(250));
}

#[test]
fn flags_beat_environment_beat_file() {
    let file = "listen = \"0.0.0.0:1\"\ndata_dir = \"/from-file\"\nbody_limit = 4096\n";
    let env = env(&[("FORMWORK_LISTEN", "127.0.0.1:2"), ("FORMWORK_DATA_DIR", "/from-env")]);
    let flags = Settings { listen: Some("127.0.0.1:3".into()), ..Settings::default() };
    let config = Config::build(flags, &env, Some((file, Path::new("formwork.toml")))).unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:3");
    assert_eq!(config.data_dir, PathBuf::from("/from-env"));
    assert_eq!(config.body_limit, 4096);
}

#[test]
fn database_url_selects_postgres() {
    let env = env(&[("DATABASE_URL", "postgres://postgres@127.0.0.1/formwork")]);
    let config = Config::build(Settings::default(), &env, None).unwrap();
    assert_eq!(
        config.database,
        Database::Postgres { url: "postgres://postgres@127.0.0.1/formwork".into(), schema: None }
    );
}

#[test]
fn bad_configuration_is_refused_with_a_reason() {
    let check = |flags: Settings, env: HashMap<String, String>, file: Option<&str>, expected: &str| {
        let error = Config::build(flags, &env, file.map(|f| (f, Path::new("formwork.toml")))).unwrap_err();
        assert!(error.0.contains(expected), "{error} should mention {expected}");
    };
    check(Settings::default(), HashMap::new(), Some("listne = \"x\"\n"), "unknown field");
    check(Settings { listen: Some("localhost".into()), ..Settings::default() }, HashMap::new(), None, "host:port");
    check(Settings::default(), env(&[("DATABASE_URL", "mysql://x")]), None, "DATABASE_URL");
    check(Settings::default(), env(&[("FORMWORK_BODY_LIMIT", "lots")]), None, "FORMWORK_BODY_LIMIT");
    check(Settings { request_timeout: Some(0), ..Settings::default() }, HashMap::new(), None, "timeout");
    check(Settings::default(), env(&[("FORMWORK_ACCESS_CACHE_MS", "soon")]), None, "FORMWORK_ACCESS_CACHE_MS");
    check(Settings { access_cache_ms: Some(600_000), ..Settings::default() }, HashMap::new(), None, "access cache");
}
