//! `formwork reindex [--workspace SLUG]`: derives the traceability links and the full-text
//! index again from the records, with progress (after a bulk import that bypassed the API, or
//! a lost index directory). Run it with the server stopped, or it waits for the index lock.

use std::path::PathBuf;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use server::config::{Config, Settings};
use server::db::entities::workspace;

#[derive(clap::Args)]
pub struct ReindexArgs {
    /// Only this workspace (by slug); all workspaces without it.
    #[arg(long)]
    pub workspace: Option<String>,
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Settings,
}

pub async fn run(config: Config, args: ReindexArgs) -> Result<(), String> {
    let db = server::db::open(&config.database).await.map_err(|e| format!("database: {e}"))?;
    let mut query = workspace::Entity::find();
    if let Some(slug) = &args.workspace {
        query = query.filter(workspace::Column::Slug.eq(slug.as_str()));
    }
    let workspaces = query.all(&db).await.map_err(|e| e.to_string())?;
    if workspaces.is_empty() {
        return Err(format!("no workspace {}", args.workspace.as_deref().unwrap_or("at all")));
    }
    let forms = server::forms_cache::FormsCache::default();
    let search = server::search::Search::new(&config.data_dir);
    for ws in workspaces {
        let slug = ws.slug.clone();
        let done = server::trace::rebuild(&db, &forms, &ws.id, |n| {
            if n % 10_000 == 0 {
                println!("{slug}: {n} records");
            }
        })
        .await
        .map_err(|e| format!("{slug}: {}", e.message))?;
        println!("{slug}: {done} records linked");
        let done = server::search::rebuild(&db, &forms, &search, &ws.id, |n| {
            if n % 10_000 == 0 && n > 0 {
                println!("{slug}: {n} records indexed");
            }
        })
        .await
        .map_err(|e| format!("{slug}: {}", e.message))?;
        println!("{slug}: {done} records indexed for search");
    }
    Ok(())
}
