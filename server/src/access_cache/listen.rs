//! Across processes on one PostgreSQL: a request that may have changed access announces it
//! (`NOTIFY formwork_access`) before it answers, and every process listens and drops its
//! cache when it hears it — so a token revoked on one server is refused by the others a few
//! milliseconds later, not only once the time to live has passed. The time to live stays as
//! the bound for what cannot be heard: a lost listening connection (the cache is dropped
//! whenever it reconnects, as announcements may have been missed meanwhile) and other
//! processes on SQLite (the `formwork` CLI).

use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

use super::AccessCache;

const CHANNEL: &str = "formwork_access";

/// Tells the other processes to drop their caches (PostgreSQL; nothing to do on SQLite).
pub async fn announce(db: &DatabaseConnection) {
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let sql = format!("SELECT pg_notify('{CHANNEL}', '')");
    if let Err(error) = db.execute_raw(Statement::from_string(DbBackend::Postgres, sql)).await {
        // The others fall back on the time to live.
        tracing::warn!(%error, "could not announce an access change to other processes");
    }
}

/// Listens for other processes' announcements until the pool closes (PostgreSQL only).
pub fn start(db: &DatabaseConnection, cache: Arc<AccessCache>) {
    if db.get_database_backend() != DbBackend::Postgres || cache.ttl.is_zero() {
        return;
    }
    let pool = db.get_postgres_connection_pool().clone();
    tokio::spawn(async move {
        loop {
            let mut listener = match PgListener::connect_with(&pool).await {
                Ok(listener) => listener,
                Err(sea_orm::sqlx::Error::PoolClosed) => return,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for access changes; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Err(error) = listener.listen(CHANNEL).await {
                tracing::warn!(%error, "cannot listen for access changes; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            // Whatever was announced before we listened is unknown.
            cache.invalidate();
            loop {
                match listener.try_recv().await {
                    Ok(Some(_)) => cache.invalidate(),
                    // Reconnected: announcements may have been missed meanwhile.
                    Ok(None) => cache.invalidate(),
                    Err(sea_orm::sqlx::Error::PoolClosed) => return,
                    Err(error) => {
                        tracing::warn!(%error, "listening for access changes failed; reconnecting");
                        cache.invalidate();
                        break;
                    }
                }
            }
        }
    });
}
