//! Template packs installed per workspace: the version and the exact contents installed,
//! which are the common ancestor of the next upgrade's three-way merge.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, json_binary, string};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PackInstalls {
    Table,
    WorkspaceId,
    PackKey,
    Version,
    Contents,
    InstalledBy,
    InstalledAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PackInstalls::Table)
                    .col(string(PackInstalls::WorkspaceId).string_len(36).not_null())
                    .col(string(PackInstalls::PackKey).string_len(64))
                    .col(string(PackInstalls::Version).string_len(32))
                    .col(json_binary(PackInstalls::Contents))
                    .col(string(PackInstalls::InstalledBy).string_len(36))
                    .col(big_integer(PackInstalls::InstalledAt))
                    .col(big_integer(PackInstalls::UpdatedAt))
                    .primary_key(Index::create().col(PackInstalls::WorkspaceId).col(PackInstalls::PackKey))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PackInstalls::Table).to_owned()).await
    }
}
