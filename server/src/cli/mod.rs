//! Command-line commands.

mod audit;
mod backup;
mod pack;
mod reindex;
mod serve;
mod user;
mod validate;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use server::config::{Config, Settings};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Start the HTTP server (migrates the database first).
    Serve(ServerArgs),
    /// Apply pending database migrations and exit.
    Migrate(ServerArgs),
    /// Check a form definition and, optionally, a record against it.
    Validate(validate::ValidateArgs),
    /// Manage users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Write a consistent copy of the SQLite database while the server runs.
    Backup(backup::BackupArgs),
    /// Derive the traceability links again from the records, with progress.
    Reindex(reindex::ReindexArgs),
    /// Template packs: list, install, upgrade, uninstall.
    #[command(subcommand)]
    Pack(pack::PackCommand),
}

#[derive(clap::Args)]
pub struct ServerArgs {
    /// A TOML file with the same settings [default: ./formwork.toml when it exists].
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    settings: Settings,
}

pub fn run(command: Command) -> ExitCode {
    match command {
        Command::Serve(args) => with_config(args, serve::serve),
        Command::Migrate(args) => with_config(args, serve::migrate),
        Command::Validate(args) => validate::run(&args),
        Command::Backup(args) => {
            let server_args = ServerArgs { config: args.config.clone(), settings: args.settings.clone() };
            with_config(server_args, move |config| backup::backup(config, args))
        }
        Command::Audit(audit::AuditCommand::Verify(args)) => {
            let server_args = ServerArgs { config: args.config.clone(), settings: args.settings.clone() };
            with_config(server_args, move |config| audit::verify(config, args))
        }
        Command::Reindex(args) => {
            let server_args = ServerArgs { config: args.config.clone(), settings: args.settings.clone() };
            with_config(server_args, move |config| reindex::run(config, args))
        }
        Command::Pack(command) => {
            let common = pack::common(&command);
            let server_args = ServerArgs { config: common.config, settings: common.settings };
            with_config(server_args, move |config| pack::run(config, command))
        }
        Command::User(user::UserCommand::Create(args)) => {
            let server_args = ServerArgs { config: args.config.clone(), settings: args.settings.clone() };
            with_config(server_args, move |config| user::create(config, args))
        }
    }
}

/// Builds the configuration (flags > environment > file) and runs `command` on a runtime.
fn with_config<F, Fut>(args: ServerArgs, command: F) -> ExitCode
where
    F: FnOnce(Config) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let env: HashMap<String, String> = std::env::vars().collect();
    let file_path = args.config.clone().or_else(|| env.get("FORMWORK_CONFIG").map(PathBuf::from)).or_else(|| {
        let default = PathBuf::from("formwork.toml");
        default.exists().then_some(default)
    });
    let file_text = match &file_path {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(e) => {
                eprintln!("formwork: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let file = file_text.as_deref().zip(file_path.as_deref());
    let config = match Config::build(args.settings, &env, file) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("formwork: configuration: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("formwork: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(command(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("formwork: {message}");
            ExitCode::FAILURE
        }
    }
}
