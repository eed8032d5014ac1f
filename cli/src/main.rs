//! `nutshell`: run the demo server on any of the four shells.
//!
//! ```text
//! cargo run --release -p nutshell -- serve --shell mio --addr 127.0.0.1:8080
//! ```
//!
//! Each subcommand lives in its own module; `main` only parses the command
//! line, sets up logging and turns an error into a message and an exit code.

mod async_demo;
mod axum_rows;
#[cfg(feature = "hyper-baseline")]
mod baseline;
mod calibrate;
mod compare;
mod floor;
mod load;
mod serve;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// A Sans-IO HTTP/1.1 server core, driven by four interchangeable shells.
#[derive(Debug, Parser)]
#[command(name = "nutshell", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the demo application until Ctrl-C (or SIGTERM).
    ///
    /// Routes: `GET /` and `/plaintext` (Hello, World!), `POST /echo` (the
    /// body back), `GET /bytes/N` (N bytes, Content-Length), `GET
    /// /chunked/N` (N bytes, chunked), `GET /wait/MS` (answers after
    /// waiting MS ms), `GET /cpu/US` (answers after computing about US µs).
    /// `--shell floor` is not a server (see its help). Logs go to stderr; set RUST_LOG
    /// (e.g. `RUST_LOG=debug`) for per-connection events.
    Serve(serve::ServeArgs),
    /// Load a server with requests and report requests/s, throughput,
    /// latency percentiles and errors by kind (like wrk).
    ///
    /// Example: `nutshell load http://127.0.0.1:8080/ --connections 64
    /// --duration 10s --pipeline 16`. Targets this machine only.
    Load(load::LoadArgs),
    /// Run the four shells, the mio shell with a handler pool, a hyper
    /// baseline and the I/O floor side by side on the demo app, in rounds,
    /// and print medians with their spread, CPU per request, threads and
    /// memory, and a verdict computed from the figures.
    ///
    /// Workloads include handlers that wait (GET /wait/20) and compute (GET
    /// /cpu/50). `--shells axum-nutshell,axum-hyper,...` adds one axum
    /// Router on the tokio shell and on axum::serve. Each server runs as a child process pinned away from the
    /// load generator. The default run takes about five minutes on two
    /// cores; --quick runs a smoke version.
    Compare(compare::CompareArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Load(args) => load::run(args),
        Command::Compare(args) => compare::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // A plain message for the user, never a panic or a backtrace.
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `tracing` to stderr, `info` unless RUST_LOG says otherwise.
fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal, not in a redirected log file.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
