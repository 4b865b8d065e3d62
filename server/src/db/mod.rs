//! Opening the database and applying migrations; the entities.

pub mod counters;
pub mod entities;
pub mod group_commit;
pub mod writes;

use std::sync::atomic::Ordering;
use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database as SeaDatabase, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

use crate::config::Database;

/// Connects and brings the schema up to date.
pub async fn open(database: &Database) -> Result<DatabaseConnection, DbErr> {
    let db = connect(database).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}

/// Connects without migrating (for `formwork migrate` and tests).
pub async fn connect(database: &Database) -> Result<DatabaseConnection, DbErr> {
    connect_tuned(database, false).await
}

/// The group-commit writer's connection. On SQLite it never checkpoints the WAL itself:
/// a checkpoint copies the log into the database file and flushes both, which would add
/// two flushes to the commit that happens to cross the threshold, while every submission
/// waits for that writer. [`checkpoints`] does it beside the writer instead.
pub async fn connect_writer(database: &Database) -> Result<DatabaseConnection, DbErr> {
    connect_tuned(database, true).await
}

/// Copies the SQLite log into the database file every quarter second, on a connection of
/// its own, without waiting for readers or writers (`PASSIVE`): the group-commit writer's
/// connection does not (see [`connect_writer`]). Other connections still checkpoint when
/// the log passes SQLite's threshold on their own commits, so the log stays bounded even
/// if this stops. Returns at once on PostgreSQL. Runs until its task is dropped.
pub async fn checkpoints(database: Database, stats: std::sync::Arc<group_commit::Stats>) {
    if !matches!(database, Database::Sqlite { .. }) {
        return;
    }
    let mut every = tokio::time::interval(Duration::from_millis(250));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut db = None;
    loop {
        every.tick().await;
        if db.is_none() {
            db = connect(&database).await.map_err(|error| tracing::warn!(%error, "checkpoints: cannot connect")).ok();
        }
        let Some(connection) = &db else { continue };
        let pragma = Statement::from_string(DbBackend::Sqlite, "PRAGMA wal_checkpoint(PASSIVE)");
        // One row: whether it was blocked, the frames in the log, the frames copied.
        let frames = async {
            let row = connection.query_one_raw(pragma).await?.ok_or_else(|| DbErr::Custom("no row".into()))?;
            Ok::<_, DbErr>((row.try_get_by_index::<i64>(1)?, row.try_get_by_index::<i64>(2)?))
        };
        match frames.await {
            Ok((log, copied)) => {
                let gauge = |value: i64| u64::try_from(value).unwrap_or(0);
                stats.wal_frames.store(gauge(log), Ordering::Relaxed);
                stats.wal_checkpointed_frames.store(gauge(copied), Ordering::Relaxed);
            }
            Err(error) => tracing::warn!(%error, "checkpoint failed"),
        }
    }
}

async fn connect_tuned(database: &Database, writer: bool) -> Result<DatabaseConnection, DbErr> {
    let mut options = match database {
        Database::Sqlite { path } => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", parent.display())))?;
            }
            let mut options = ConnectOptions::new(format!("sqlite://{}?mode=rwc", path.display()));
            // WAL lets readers run beside the writer; FULL makes every acknowledged commit
            // survive a power cut; foreign keys are off in SQLite unless asked for.
            options.map_sqlx_sqlite_opts(move |o| {
                let o = o
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                if writer { o.pragma("wal_autocheckpoint", "0") } else { o }
            });
            options.max_connections(8);
            options
        }
        Database::Postgres { url, schema } => {
            let mut options = ConnectOptions::new(url.clone());
            if let Some(schema) = schema {
                options.set_schema_search_path(schema.clone());
            }
            options.max_connections(16);
            options
        }
    };
    // sqlx pings every connection it hands out by default: a round trip before every
    // transaction and every statement outside one. Only connections idle long enough to have
    // been dropped (by the server, a proxy, a firewall) are pinged.
    options
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire_if_idle_for(Duration::from_secs(30));
    SeaDatabase::connect(options).await
}

/// Begins a transaction that will write. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes fails instead of
/// waiting when another writer committed in between.
pub async fn write_txn(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}
