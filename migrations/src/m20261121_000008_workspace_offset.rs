//! A workspace's offset from UTC in minutes (e.g. 480 for China), for reports that bucket
//! and filter by local day, week, month, quarter and year.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::integer;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Workspaces {
    Table,
    UtcOffsetMinutes,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Workspaces::Table)
                    .add_column(integer(Workspaces::UtcOffsetMinutes).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Workspaces::Table).drop_column(Workspaces::UtcOffsetMinutes).to_owned())
            .await
    }
}
