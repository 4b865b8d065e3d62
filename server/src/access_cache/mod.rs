//! What every request reads before it can do anything — its caller (token or session and
//! user), its workspace with the caller's roles and the workspace's policies, and for a
//! submission the form and its published workflows — remembered per process for a short time.
//!
//! Three reads per request were most of a submission's round trips to the database. An
//! entry is used only while it is younger than the configured time to live *and* no request
//! of this process that may change access (anything but record traffic, see
//! [`may_change_access`]) has finished since it was read: such a request bumps the
//! generation after it has committed, which drops every entry at once. An entry is tagged
//! with the generation read *before* its database read, so a read that raced a change is
//! never used. Within one process a revoked token, a removed member, changed policies or a
//! new form version are therefore seen by the next request; on PostgreSQL other processes
//! hear of it within milliseconds ([`listen`]); anything they cannot hear of (the
//! `formwork` CLI, which does not announce, a lost listening connection, SQLite) within the
//! time to live (1 s unless configured; 0 turns the cache off).

pub mod listen;

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::http::Method;

/// Past this many entries a map starts over (bounded memory; a factory has hundreds of
/// users and tokens, not hundreds of thousands).
const CAPACITY: usize = 10_000;

pub struct AccessCache {
    ttl: Duration,
    generation: AtomicU64,
    pub tokens: Memo<String, crate::auth::TokenAndUser>,
    pub sessions: Memo<String, crate::auth::SessionAndUser>,
    pub workspaces: Memo<(String, String), crate::access::Resolved>,
    pub forms: Memo<(String, String), crate::routes::forms::Latest>,
    /// The published workflows of a form (by workspace and form key), which the group
    /// commit reads for every batch that submits a record of it.
    pub workflows: Memo<(String, String), std::sync::Arc<Vec<crate::db::entities::workflow::Model>>>,
}

impl AccessCache {
    pub fn new(ttl: Duration) -> AccessCache {
        AccessCache {
            ttl,
            generation: AtomicU64::new(0),
            tokens: Memo::default(),
            sessions: Memo::default(),
            workspaces: Memo::default(),
            forms: Memo::default(),
            workflows: Memo::default(),
        }
    }

    /// The generation to tag a database read with; read it before reading the database.
    pub fn generation(&self) -> Generation {
        Generation(self.generation.load(Ordering::Acquire))
    }

    /// Drops every entry (lazily): called after a request that may have changed access.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The entry for `key` if it is still good.
    pub fn get<K: Eq + Hash, V: Clone>(&self, memo: &Memo<K, V>, key: &K) -> Option<V> {
        if self.ttl.is_zero() {
            return None;
        }
        let current = self.generation.load(Ordering::Acquire);
        let entries = memo.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (value, generation, at) = entries.get(key)?;
        (*generation == current && at.elapsed() < self.ttl).then(|| value.clone())
    }

    /// Remembers `value`, read from the database after `generation` was taken.
    pub fn put<K: Eq + Hash, V>(&self, memo: &Memo<K, V>, key: K, value: V, generation: Generation) {
        if self.ttl.is_zero() || generation.0 != self.generation.load(Ordering::Acquire) {
            return;
        }
        let mut entries = memo.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(key, (value, generation.0, Instant::now()));
    }
}

/// The generation a database read was made under.
#[derive(Clone, Copy, Debug)]
pub struct Generation(u64);

pub struct Memo<K, V> {
    entries: Mutex<HashMap<K, (V, u64, Instant)>>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo { entries: Mutex::new(HashMap::new()) }
    }
}

/// Whether a request may change who can do what (and so must drop the cache when it ends).
/// Reads never do; of the writes only record traffic is known not to — records, their
/// attachments, tasks and instances, reports and dashboards, search — and every other write
/// (sessions, tokens, users, members, roles, policies, workspaces, forms, packs, anything
/// added later) counts as one that may.
pub fn may_change_access(method: &Method, path: &str) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    // ["", "api", "v1", "workspaces", "{ws}", area, ...]
    if segments.len() < 6 || segments[1..4] != ["api", "v1", "workspaces"] {
        return true;
    }
    let record_traffic = matches!(
        segments[5],
        "records" | "attachments" | "tasks" | "instances" | "reports" | "dashboards" | "search" | "trace"
    );
    // `/forms/{form}/records`: a submission.
    let submission = segments[5] == "forms" && segments.len() == 8 && segments[7] == "records";
    !(record_traffic || submission)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_record_traffic_keeps_the_cache() {
        let keeps = [
            (Method::POST, "/api/v1/workspaces/acme/forms/iqc/records"),
            (Method::PATCH, "/api/v1/workspaces/acme/records/r1"),
            (Method::POST, "/api/v1/workspaces/acme/records/r1/restore"),
            (Method::POST, "/api/v1/workspaces/acme/tasks/t1/decide"),
            (Method::GET, "/api/v1/workspaces/acme/members"),
            (Method::POST, "/api/v1/workspaces/acme/reports/run"),
        ];
        for (method, path) in keeps {
            assert!(!may_change_access(&method, path), "{method} {path}");
        }
        let drops = [
            (Method::POST, "/api/v1/auth/logout"),
            (Method::POST, "/api/v1/workspaces"),
            (Method::PUT, "/api/v1/workspaces/acme/members/u1"),
            (Method::DELETE, "/api/v1/workspaces/acme/tokens/t1"),
            (Method::POST, "/api/v1/workspaces/acme/forms/records/publish"),
            (Method::PUT, "/api/v1/workspaces/acme/policies"),
            (Method::POST, "/api/v1/workspaces/acme/packs/iqc/install"),
            (Method::PATCH, "/api/v1/workspaces/acme"),
            // Published workflows are cached too (the group commit starts them).
            (Method::POST, "/api/v1/workspaces/acme/workflows/approval/publish"),
        ];
        for (method, path) in drops {
            assert!(may_change_access(&method, path), "{method} {path}");
        }
    }
}
