//! `formwork user create`: adds a user from the command line.

use std::io::BufRead;
use std::path::PathBuf;

use server::config::{Config, Settings};

#[derive(clap::Subcommand)]
pub enum UserCommand {
    /// Create a user. The password comes from --password, FORMWORK_NEW_PASSWORD, or the first
    /// line of standard input (so it need not appear in the shell history).
    Create(CreateArgs),
}

#[derive(clap::Args)]
pub struct CreateArgs {
    #[arg(long)]
    pub username: String,
    #[arg(long, default_value = "")]
    pub display_name: String,
    #[arg(long)]
    pub password: Option<String>,
    /// Make the user an administrator of the installation.
    #[arg(long)]
    pub admin: bool,
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Settings,
}

pub async fn create(config: Config, args: CreateArgs) -> Result<(), String> {
    let password = match args.password.clone().or_else(|| std::env::var("FORMWORK_NEW_PASSWORD").ok()) {
        Some(password) => password,
        None => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("reading the password: {e}"))?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let db = server::db::open(&config.database).await.map_err(|e| format!("database: {e}"))?;
    let user = server::identity::users::create(&db, &args.username, &args.display_name, &password, args.admin)
        .await
        .map_err(|e| e.to_string())?;
    println!("created user `{}` ({})", user.username, user.id);
    Ok(())
}
