//! The first schema: workspaces, users and memberships, sessions and API tokens, forms and
//! their immutable versions, records, auto-number counters and the hash-chained audit log.
//!
//! Identifiers are text (UUID v7, time-ordered, so that keyset pagination by id follows
//! creation order); times are milliseconds since the Unix epoch (one integer type on both
//! databases, compared and indexed cheaply); JSON documents are JSONB on PostgreSQL.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, boolean, integer, integer_null, json_binary, string, string_null, text_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Workspaces {
    Table,
    Id,
    Slug,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    DisplayName,
    PasswordHash,
    IsAdmin,
    Disabled,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    WorkspaceId,
    UserId,
    Roles,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    CsrfToken,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    WorkspaceId,
    UserId,
    Name,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Forms {
    Table,
    Id,
    WorkspaceId,
    Key,
    Draft,
    LatestVersion,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum FormVersions {
    Table,
    FormId,
    Version,
    Definition,
    PublishedBy,
    PublishedAt,
}

#[derive(DeriveIden)]
enum Records {
    Table,
    Id,
    WorkspaceId,
    FormId,
    FormVersion,
    Data,
    Version,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Counters {
    Table,
    WorkspaceId,
    Name,
    Value,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    WorkspaceId,
    Seq,
    At,
    Actor,
    Action,
    ObjectType,
    ObjectId,
    Changes,
    Reason,
    PrevHash,
    Hash,
}

fn id(column: impl IntoIden) -> ColumnDef {
    string(column).string_len(36).not_null().primary_key().to_owned()
}

fn reference(column: impl IntoIden) -> ColumnDef {
    string(column).string_len(36).not_null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Workspaces::Table)
                    .col(id(Workspaces::Id))
                    .col(string(Workspaces::Slug).string_len(64).unique_key())
                    .col(string(Workspaces::Name))
                    .col(big_integer(Workspaces::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(id(Users::Id))
                    .col(string(Users::Username).string_len(64).unique_key())
                    .col(string(Users::DisplayName))
                    .col(string(Users::PasswordHash))
                    .col(boolean(Users::IsAdmin))
                    .col(boolean(Users::Disabled))
                    .col(big_integer(Users::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .col(reference(Memberships::WorkspaceId))
                    .col(reference(Memberships::UserId))
                    .col(json_binary(Memberships::Roles))
                    .col(big_integer(Memberships::CreatedAt))
                    .primary_key(Index::create().col(Memberships::WorkspaceId).col(Memberships::UserId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Memberships::Table, Memberships::WorkspaceId)
                            .to(Workspaces::Table, Workspaces::Id),
                    )
                    .foreign_key(
                        ForeignKey::create().from(Memberships::Table, Memberships::UserId).to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(string(Sessions::Id).string_len(64).not_null().primary_key())
                    .col(reference(Sessions::UserId))
                    .col(string(Sessions::CsrfToken))
                    .col(big_integer(Sessions::CreatedAt))
                    .col(big_integer(Sessions::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create().from(Sessions::Table, Sessions::UserId).to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(id(ApiTokens::Id))
                    .col(reference(ApiTokens::WorkspaceId))
                    .col(reference(ApiTokens::UserId))
                    .col(string(ApiTokens::Name))
                    .col(string(ApiTokens::TokenHash).string_len(64).unique_key())
                    .col(big_integer(ApiTokens::CreatedAt))
                    .col(big_integer_null(ApiTokens::ExpiresAt))
                    .col(big_integer_null(ApiTokens::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiTokens::Table, ApiTokens::WorkspaceId)
                            .to(Workspaces::Table, Workspaces::Id),
                    )
                    .foreign_key(
                        ForeignKey::create().from(ApiTokens::Table, ApiTokens::UserId).to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Forms::Table)
                    .col(id(Forms::Id))
                    .col(reference(Forms::WorkspaceId))
                    .col(string(Forms::Key).string_len(64))
                    .col(json_binary(Forms::Draft))
                    .col(integer_null(Forms::LatestVersion))
                    .col(big_integer(Forms::CreatedAt))
                    .col(big_integer(Forms::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Forms::Table, Forms::WorkspaceId)
                            .to(Workspaces::Table, Workspaces::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("forms_workspace_key")
                    .table(Forms::Table)
                    .col(Forms::WorkspaceId)
                    .col(Forms::Key)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FormVersions::Table)
                    .col(reference(FormVersions::FormId))
                    .col(integer(FormVersions::Version))
                    .col(json_binary(FormVersions::Definition))
                    .col(reference(FormVersions::PublishedBy))
                    .col(big_integer(FormVersions::PublishedAt))
                    .primary_key(Index::create().col(FormVersions::FormId).col(FormVersions::Version))
                    .foreign_key(
                        ForeignKey::create()
                            .from(FormVersions::Table, FormVersions::FormId)
                            .to(Forms::Table, Forms::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Records::Table)
                    .col(id(Records::Id))
                    .col(reference(Records::WorkspaceId))
                    .col(reference(Records::FormId))
                    .col(integer(Records::FormVersion))
                    .col(json_binary(Records::Data))
                    .col(integer(Records::Version))
                    .col(reference(Records::CreatedBy))
                    .col(big_integer(Records::CreatedAt))
                    .col(big_integer(Records::UpdatedAt))
                    .col(big_integer_null(Records::DeletedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Records::Table, Records::WorkspaceId)
                            .to(Workspaces::Table, Workspaces::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Records::Table, (Records::FormId, Records::FormVersion))
                            .to(FormVersions::Table, (FormVersions::FormId, FormVersions::Version)),
                    )
                    .to_owned(),
            )
            .await?;
        // Lists walk one form's records in id (creation) order.
        manager
            .create_index(
                Index::create()
                    .name("records_form_id")
                    .table(Records::Table)
                    .col(Records::FormId)
                    .col(Records::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Counters::Table)
                    .col(reference(Counters::WorkspaceId))
                    .col(string(Counters::Name))
                    .col(big_integer(Counters::Value))
                    .primary_key(Index::create().col(Counters::WorkspaceId).col(Counters::Name))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(reference(AuditLog::WorkspaceId))
                    .col(big_integer(AuditLog::Seq))
                    .col(big_integer(AuditLog::At))
                    .col(string(AuditLog::Actor))
                    .col(string(AuditLog::Action))
                    .col(string(AuditLog::ObjectType))
                    .col(string(AuditLog::ObjectId))
                    .col(json_binary(AuditLog::Changes))
                    .col(text_null(AuditLog::Reason))
                    .col(string_null(AuditLog::PrevHash))
                    .col(string(AuditLog::Hash))
                    .primary_key(Index::create().col(AuditLog::WorkspaceId).col(AuditLog::Seq))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            Counters::Table.into_iden(),
            Records::Table.into_iden(),
            FormVersions::Table.into_iden(),
            Forms::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            Sessions::Table.into_iden(),
            Memberships::Table.into_iden(),
            Users::Table.into_iden(),
            Workspaces::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
