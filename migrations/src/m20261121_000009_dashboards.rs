//! Saved dashboards: a grid of report widgets with shared filters, one row per dashboard
//! with its definition as JSON (checked by `engine::report::dashboard` on every write).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, integer, json_binary, string};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Dashboards {
    Table,
    Id,
    WorkspaceId,
    Key,
    Definition,
    Version,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Dashboards::Table)
                    .col(string(Dashboards::Id).string_len(36).not_null().primary_key())
                    .col(string(Dashboards::WorkspaceId).string_len(36).not_null())
                    .col(string(Dashboards::Key).string_len(64))
                    .col(json_binary(Dashboards::Definition))
                    .col(integer(Dashboards::Version))
                    .col(string(Dashboards::CreatedBy).string_len(36))
                    .col(big_integer(Dashboards::CreatedAt))
                    .col(big_integer(Dashboards::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("dashboards_key")
                    .table(Dashboards::Table)
                    .col(Dashboards::WorkspaceId)
                    .col(Dashboards::Key)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Dashboards::Table).to_owned()).await
    }
}
