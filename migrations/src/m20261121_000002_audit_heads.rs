//! The head of each workspace's audit chain (last sequence number and hash), written in the
//! same transaction as every entry, so that deleting the newest entries is detected too.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, string};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditHeads {
    Table,
    WorkspaceId,
    Seq,
    Hash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditHeads::Table)
                    .col(string(AuditHeads::WorkspaceId).string_len(36).not_null().primary_key())
                    .col(big_integer(AuditHeads::Seq))
                    .col(string(AuditHeads::Hash))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AuditHeads::Table).to_owned()).await
    }
}
