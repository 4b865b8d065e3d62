//! Opening the database and applying migrations; the entities.

pub mod counters;
pub mod entities;
pub mod group_commit;
pub mod writes;

use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database as SeaDatabase, DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
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
    let mut options = match database {
        Database::Sqlite { path } => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", parent.display())))?;
            }
            let mut options = ConnectOptions::new(format!("sqlite://{}?mode=rwc", path.display()));
            // WAL lets readers run beside the writer; FULL makes every acknowledged commit
            // survive a power cut; foreign keys are off in SQLite unless asked for.
            options.map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
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
