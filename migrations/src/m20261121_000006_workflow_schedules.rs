//! Workflows started on a schedule: one row per published workflow whose trigger is a
//! schedule. A round is due at `next_at`; it walks the form's records in id order in pages,
//! keeping its place in `cursor` so that a round cut short by a crash resumes where it
//! stopped instead of starting instances twice.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, string, string_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WorkflowSchedules {
    Table,
    WorkflowId,
    WorkspaceId,
    NextAt,
    Cursor,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WorkflowSchedules::Table)
                    .col(string(WorkflowSchedules::WorkflowId).string_len(36).primary_key())
                    .col(string(WorkflowSchedules::WorkspaceId).string_len(36))
                    .col(big_integer(WorkflowSchedules::NextAt))
                    .col(string_null(WorkflowSchedules::Cursor).string_len(36))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("workflow_schedules_due")
                    .table(WorkflowSchedules::Table)
                    .col(WorkflowSchedules::NextAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(WorkflowSchedules::Table).to_owned()).await
    }
}
