//! Rollups (DESIGN §7): per dashboard widget, grouped sums kept up to date in each record
//! write's transaction, so a widget reads thousands of cells instead of a million records.
//!
//! `rollups` holds each rollup's shape (JSON) and state: `building` with the id of the last
//! record summed so far (`built_upto`), then `ready`. `rollup_cells` holds one row per key
//! tuple and change; a compaction folds them (`compacted_upto` is the last cell id folded).
//! The cells' id must grow, hence raw DDL per backend (SQLite's AUTOINCREMENT needs
//! `INTEGER PRIMARY KEY`; PostgreSQL's identity column is `bigint`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const KEYS: usize = 8;
const PARTS: usize = 12;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let pg = manager.get_database_backend() == sea_orm::DbBackend::Postgres;
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE TABLE rollups (id varchar(36) NOT NULL PRIMARY KEY, workspace_id varchar(36) NOT NULL, \
             form_id varchar(36) NOT NULL, base varchar(64) NOT NULL, shape text NOT NULL, state varchar(16) NOT NULL, \
             built_upto varchar(36), compacted_upto bigint NOT NULL DEFAULT 0, created_at bigint NOT NULL)",
        )
        .await?;
        db.execute_unprepared("CREATE INDEX rollups_form ON rollups (workspace_id, form_id)").await?;
        let (id, real) = if pg {
            ("id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "double precision")
        } else {
            ("id INTEGER PRIMARY KEY AUTOINCREMENT", "REAL")
        };
        let keys: Vec<String> = (0..KEYS).map(|i| format!("k{i} text")).collect();
        let parts: Vec<String> = (0..PARTS).map(|i| format!("m{i} {real}")).collect();
        db.execute_unprepared(&format!(
            "CREATE TABLE rollup_cells ({id}, rollup_id varchar(36) NOT NULL, {}, {})",
            keys.join(", "),
            parts.join(", ")
        ))
        .await?;
        db.execute_unprepared("CREATE INDEX rollup_cells_rollup ON rollup_cells (rollup_id, id)").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP TABLE rollup_cells").await?;
        db.execute_unprepared("DROP TABLE rollups").await?;
        Ok(())
    }
}
