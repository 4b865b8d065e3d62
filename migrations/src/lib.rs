//! Formwork's database schema as timestamped migrations, for SQLite and PostgreSQL alike.
//!
//! Each migration is self-contained: it names tables and columns with its own `Iden` enums
//! and never imports the server's entity types, so an old migration keeps working when the
//! entities change.

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_init;
mod m20261121_000002_audit_heads;
mod m20261121_000003_workspace_policies;
mod m20261121_000004_unique_values;
mod m20261121_000005_workflows;
mod m20261121_000006_workflow_schedules;
mod m20261121_000007_user_email;
mod m20261121_000008_workspace_offset;
mod m20261121_000009_dashboards;
mod m20261121_000010_pack_installs;
mod m20261121_000011_lot_links;
mod m20261121_000012_attachments;
mod m20261121_000013_rollups;
mod m20261122_000014_lz4_compression;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_init::Migration),
            Box::new(m20261121_000002_audit_heads::Migration),
            Box::new(m20261121_000003_workspace_policies::Migration),
            Box::new(m20261121_000004_unique_values::Migration),
            Box::new(m20261121_000005_workflows::Migration),
            Box::new(m20261121_000006_workflow_schedules::Migration),
            Box::new(m20261121_000007_user_email::Migration),
            Box::new(m20261121_000008_workspace_offset::Migration),
            Box::new(m20261121_000009_dashboards::Migration),
            Box::new(m20261121_000010_pack_installs::Migration),
            Box::new(m20261121_000011_lot_links::Migration),
            Box::new(m20261121_000012_attachments::Migration),
            Box::new(m20261121_000013_rollups::Migration),
            Box::new(m20261122_000014_lz4_compression::Migration),
        ]
    }
}
