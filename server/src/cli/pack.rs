//! `formwork pack list|install|upgrade|uninstall`: template packs from the command line,
//! through the same code as the API, with a line per object as it goes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use server::config::{Config, Settings};
use server::db::entities::{user, workspace};
use server::packs::{Options, Side};

#[derive(clap::Subcommand)]
pub enum PackCommand {
    /// The packs this binary ships.
    List(Common),
    /// Install a pack (and the packs it needs) into a workspace.
    Install(InstallArgs),
    /// Move an installed pack to the library's version, keeping the workspace's changes.
    Upgrade(InstallArgs),
    /// Forget a pack in a workspace; with --delete, remove its objects that hold no data.
    Uninstall(UninstallArgs),
}

#[derive(clap::Args, Clone)]
pub struct Common {
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Settings,
}

#[derive(clap::Args)]
pub struct InstallArgs {
    /// The pack's key, e.g. `iqc`.
    pub key: String,
    /// The workspace's slug.
    #[arg(long)]
    pub workspace: String,
    /// The user the changes are recorded as in the audit log.
    #[arg(long = "as", default_value = "admin")]
    pub actor: String,
    /// Show what would change; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Publish form versions even where stored records would not validate.
    #[arg(long)]
    pub confirm: bool,
    /// Resolve a conflict: `form/iqc:/fields/note/label/en=theirs` (or `=ours`); repeatable.
    #[arg(long = "resolve")]
    pub resolutions: Vec<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(clap::Args)]
pub struct UninstallArgs {
    pub key: String,
    #[arg(long)]
    pub workspace: String,
    #[arg(long = "as", default_value = "admin")]
    pub actor: String,
    #[arg(long)]
    pub delete: bool,
    #[command(flatten)]
    pub common: Common,
}

pub fn common(command: &PackCommand) -> Common {
    match command {
        PackCommand::List(c) => c.clone(),
        PackCommand::Install(a) | PackCommand::Upgrade(a) => a.common.clone(),
        PackCommand::Uninstall(a) => a.common.clone(),
    }
}

fn parse_resolutions(items: &[String]) -> Result<BTreeMap<String, BTreeMap<String, Side>>, String> {
    let mut out: BTreeMap<String, BTreeMap<String, Side>> = BTreeMap::new();
    for item in items {
        let bad = || format!("--resolve {item:?}: write object:path=ours|theirs");
        let (object, rest) = item.split_once(':').ok_or_else(bad)?;
        let (path, side) = rest.rsplit_once('=').ok_or_else(bad)?;
        let side = match side {
            "ours" => Side::Ours,
            "theirs" => Side::Theirs,
            _ => return Err(bad()),
        };
        out.entry(object.to_owned()).or_default().insert(path.to_owned(), side);
    }
    Ok(out)
}

async fn ids(db: &sea_orm::DatabaseConnection, slug: &str, username: &str) -> Result<(String, String), String> {
    let workspace = workspace::Entity::find()
        .filter(workspace::Column::Slug.eq(slug))
        .one(db)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no workspace {slug:?}"))?;
    let user = user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(db)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user {username:?}"))?;
    Ok((workspace.id, user.id))
}

pub async fn run(config: Config, command: PackCommand) -> Result<(), String> {
    if let PackCommand::List(_) = command {
        for pack in server::packs::library() {
            let name = pack.manifest.name.get(engine::Lang::En).unwrap_or_default();
            let depends: Vec<&str> = pack.manifest.depends.iter().map(|d| d.key.as_str()).collect();
            println!(
                "{} {} — {name}{}",
                pack.manifest.key,
                pack.manifest.version,
                if depends.is_empty() { String::new() } else { format!(" (needs {})", depends.join(", ")) }
            );
        }
        return Ok(());
    }
    let db = server::db::open(&config.database).await.map_err(|e| format!("database: {e}"))?;
    let state = server::app::AppState::new(db.clone(), config);
    match command {
        PackCommand::List(_) => Ok(()),
        PackCommand::Install(args) | PackCommand::Upgrade(args) => {
            let (workspace_id, actor) = ids(&db, &args.workspace, &args.actor).await?;
            let options = Options {
                dry_run: args.dry_run,
                confirm: args.confirm,
                resolutions: parse_resolutions(&args.resolutions)?,
            };
            let txn = server::db::write_txn(&db).await.map_err(|e| e.to_string())?;
            let target = server::packs::Target { workspace_id: &workspace_id, actor: &actor, lang: engine::Lang::En };
            let result = server::packs::install(&state, &txn, &state.packs, target, &args.key, &options).await;
            let outcomes = match result {
                Ok(outcomes) => outcomes,
                Err(error) => {
                    let details = error.details.map(|d| format!("\n{d:#}")).unwrap_or_default();
                    return Err(format!("{}: {}{details}", error.code, error.message));
                }
            };
            for outcome in &outcomes {
                println!("{} {} -> {}", outcome.pack, outcome.from.as_deref().unwrap_or("(new)"), outcome.to);
                for step in &outcome.steps {
                    let action = serde_json::to_value(&step.change)
                        .ok()
                        .and_then(|v| v["action"].as_str().map(str::to_owned))
                        .unwrap_or_default();
                    println!("  {:<10} {}/{}", action, step.kind.as_str(), step.key);
                }
                for name in &outcome.connectors_to_configure {
                    println!("  to do: create the connector `{name}` (its address and credentials)");
                }
            }
            if args.dry_run {
                txn.rollback().await.map_err(|e| e.to_string())?;
                println!("dry run: nothing changed");
            } else {
                txn.commit().await.map_err(|e| e.to_string())?;
                println!("done");
            }
            Ok(())
        }
        PackCommand::Uninstall(args) => {
            let (workspace_id, actor) = ids(&db, &args.workspace, &args.actor).await?;
            let txn = server::db::write_txn(&db).await.map_err(|e| e.to_string())?;
            let kept = server::packs::uninstall(&txn, &workspace_id, &actor, &args.key, args.delete)
                .await
                .map_err(|e| format!("{}: {}", e.code, e.message))?;
            txn.commit().await.map_err(|e| e.to_string())?;
            println!(
                "{} uninstalled{}",
                args.key,
                if kept.is_empty() { String::new() } else { format!("; kept: {}", kept.join(", ")) }
            );
            Ok(())
        }
    }
}
