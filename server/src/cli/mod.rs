//! Command-line commands.

mod clock;
mod validate;

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Check a form definition and, optionally, a record against it.
    Validate(validate::ValidateArgs),
}

pub fn run(command: Command) -> ExitCode {
    match command {
        Command::Validate(args) => validate::run(&args),
    }
}
