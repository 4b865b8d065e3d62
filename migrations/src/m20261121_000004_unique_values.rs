//! Values of top-level `unique` fields, one row per (form, field, value), so that the
//! database itself refuses a second record with the same value, also under concurrency.
//! Values are stored as the SHA-256 of their JSON text, which bounds the key's size.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UniqueValues {
    Table,
    FormId,
    Field,
    ValueHash,
    RecordId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UniqueValues::Table)
                    .col(string(UniqueValues::FormId).string_len(36))
                    .col(string(UniqueValues::Field).string_len(64))
                    .col(string(UniqueValues::ValueHash).string_len(64))
                    .col(string(UniqueValues::RecordId).string_len(36))
                    .primary_key(
                        Index::create().col(UniqueValues::FormId).col(UniqueValues::Field).col(UniqueValues::ValueHash),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("unique_values_record")
                    .table(UniqueValues::Table)
                    .col(UniqueValues::RecordId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(UniqueValues::Table).to_owned()).await
    }
}
