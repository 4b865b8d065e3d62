//! A workspace's own Cedar policies, added to the defaults for that workspace only.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, string, text};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WorkspacePolicies {
    Table,
    WorkspaceId,
    Text,
    UpdatedAt,
    UpdatedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WorkspacePolicies::Table)
                    .col(string(WorkspacePolicies::WorkspaceId).string_len(36).not_null().primary_key())
                    .col(text(WorkspacePolicies::Text))
                    .col(big_integer(WorkspacePolicies::UpdatedAt))
                    .col(string(WorkspacePolicies::UpdatedBy))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(WorkspacePolicies::Table).to_owned()).await
    }
}
