//! `formwork backup --to FILE`: a consistent copy of the SQLite database while the server
//! keeps running (`VACUUM INTO` reads one snapshot; writers are not blocked for long).

use std::path::PathBuf;

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use server::config::{Config, Database, Settings};

#[derive(clap::Args)]
pub struct BackupArgs {
    /// Where to write the copy (must not exist yet).
    #[arg(long)]
    pub to: PathBuf,
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Settings,
}

pub async fn backup(config: Config, args: BackupArgs) -> Result<(), String> {
    if !matches!(config.database, Database::Sqlite { .. }) {
        return Err("backup copies the embedded SQLite database; back PostgreSQL up with pg_dump".to_owned());
    }
    if args.to.exists() {
        return Err(format!("{} exists; choose a new file", args.to.display()));
    }
    let target = args.to.to_str().ok_or("the target path is not UTF-8")?.to_owned();
    let db = server::db::open(&config.database).await.map_err(|e| format!("database: {e}"))?;
    db.execute_raw(Statement::from_sql_and_values(DbBackend::Sqlite, "VACUUM INTO ?", [target.into()]))
        .await
        .map_err(|e| format!("backup: {e}"))?;
    println!("backup written to {}", args.to.display());
    Ok(())
}
