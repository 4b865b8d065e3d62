//! Attachments: files uploaded for attachment fields (photos from the line, certificates),
//! stored under the data directory; the row says whose they are and, once a record refers to
//! them, which record's readers may fetch them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, string, string_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Attachments {
    Table,
    Id,
    WorkspaceId,
    RecordId,
    Name,
    ContentType,
    Size,
    Sha256,
    UploadedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Attachments::Table)
                    .col(string(Attachments::Id).string_len(64).primary_key())
                    .col(string(Attachments::WorkspaceId).string_len(36))
                    .col(string_null(Attachments::RecordId).string_len(36))
                    .col(string(Attachments::Name).string_len(200))
                    .col(string(Attachments::ContentType).string_len(100))
                    .col(big_integer(Attachments::Size))
                    .col(string(Attachments::Sha256).string_len(64))
                    .col(string(Attachments::UploadedBy).string_len(36))
                    .col(big_integer(Attachments::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("attachments_record")
                    .table(Attachments::Table)
                    .col(Attachments::WorkspaceId)
                    .col(Attachments::RecordId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Attachments::Table).to_owned()).await
    }
}
