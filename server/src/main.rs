//! The `formwork` binary.

mod cli;

// Records are JSON trees of many small strings and maps; mimalloc handles that allocation
// pattern far better than glibc's malloc (see docs/BENCHMARKS.md). It is built without
// transparent huge pages (`no_thp`, workspace Cargo.toml): with them, every fresh 2 MiB page
// mimalloc took after purging one was zeroed by the kernel on first touch, which was a seventh
// of the server's CPU time at 16 clients.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
