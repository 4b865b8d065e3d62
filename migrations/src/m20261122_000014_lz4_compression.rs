//! PostgreSQL: the large `jsonb` values — records' data, audit entries' changes, workflow
//! instances' state, outbox payloads — compressed with lz4 instead of pglz.
//!
//! A record of the example IQC form is about 3 KB of `jsonb`, past the size at which
//! PostgreSQL compresses a value, and so is the audit entry of its creation (a copy of every
//! value). pglz compression was a visible part of the database's work per submission; lz4
//! inserted 200 such records in about a third less time and decompresses faster for lists
//! and reports. Values already stored keep their compression until rewritten. A server built
//! without lz4 keeps pglz, and SQLite has nothing to change.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [(&str, &str); 4] =
    [("records", "data"), ("audit_log", "changes"), ("workflow_instances", "state"), ("outbox", "payload")];

async fn set_compression(manager: &SchemaManager<'_>, method: &str) -> Result<(), DbErr> {
    let db = manager.get_connection();
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let supported = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)",
        ))
        .await?
        .is_some();
    if !supported {
        return Ok(());
    }
    for (table, column) in COLUMNS {
        let sql = format!("ALTER TABLE \"{table}\" ALTER COLUMN \"{column}\" SET COMPRESSION {method}");
        db.execute_unprepared(&sql).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_compression(manager, "lz4").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_compression(manager, "pglz").await
    }
}
