//! Traceability: the lots each live record names in fields marked for tracing, derived from
//! the records after commit by following the audit log (`index_cursors` keeps, per workspace
//! and index, the last audit sequence number applied).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, string};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LotLinks {
    Table,
    WorkspaceId,
    RecordId,
    FormId,
    Field,
    Role,
    Lot,
}

#[derive(DeriveIden)]
enum IndexCursors {
    Table,
    WorkspaceId,
    IndexName,
    Seq,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LotLinks::Table)
                    .col(string(LotLinks::WorkspaceId).string_len(36))
                    .col(string(LotLinks::RecordId).string_len(36))
                    .col(string(LotLinks::FormId).string_len(36))
                    .col(string(LotLinks::Field).string_len(130))
                    .col(string(LotLinks::Role).string_len(16))
                    .col(string(LotLinks::Lot).string_len(128))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("lot_links_lot")
                    .table(LotLinks::Table)
                    .col(LotLinks::WorkspaceId)
                    .col(LotLinks::Lot)
                    .col(LotLinks::Role)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("lot_links_record").table(LotLinks::Table).col(LotLinks::RecordId).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IndexCursors::Table)
                    .col(string(IndexCursors::WorkspaceId).string_len(36))
                    .col(string(IndexCursors::IndexName).string_len(32))
                    .col(big_integer(IndexCursors::Seq))
                    .primary_key(Index::create().col(IndexCursors::WorkspaceId).col(IndexCursors::IndexName))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(IndexCursors::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(LotLinks::Table).to_owned()).await
    }
}
