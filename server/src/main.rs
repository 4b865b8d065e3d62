//! The `formwork` binary.

mod cli;

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(name = "formwork", version, about = "Formwork: a no-code quality-management platform")]
struct Args {
    #[command(subcommand)]
    command: cli::Command,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::run(args.command)
}
