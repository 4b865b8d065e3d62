//! `formwork audit verify [--workspace SLUG]`: checks every workspace's hash chain (or one)
//! and reports the first broken link. Exits non-zero when any chain is broken.

use std::path::PathBuf;

use sea_orm::{EntityTrait, QueryOrder};
use server::config::{Config, Settings};
use server::db::entities::workspace;

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Verify the audit hash chains.
    Verify(VerifyArgs),
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Only this workspace (its slug).
    #[arg(long)]
    pub workspace: Option<String>,
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Settings,
}

pub async fn verify(config: Config, args: VerifyArgs) -> Result<(), String> {
    let db = server::db::open(&config.database).await.map_err(|e| format!("database: {e}"))?;
    let workspaces =
        workspace::Entity::find().order_by_asc(workspace::Column::Slug).all(&db).await.map_err(|e| e.to_string())?;
    let mut broken = 0;
    for ws in workspaces.iter().filter(|w| args.workspace.as_ref().is_none_or(|slug| *slug == w.slug)) {
        let result = server::audit::verify(&db, &ws.id).await.map_err(|e| e.to_string())?;
        match &result.first_broken {
            None => println!("{}: ok ({} entries)", ws.slug, result.entries),
            Some(first) => {
                broken += 1;
                println!("{}: BROKEN at entry {}: {}", ws.slug, first.seq, first.reason);
            }
        }
    }
    if broken == 0 { Ok(()) } else { Err(format!("{broken} audit chain(s) broken")) }
}
