//! `nutshell serve`: the demo application on the shell of your choice.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::async_demo::{SmolDemo, TokioDemo};
use crate::load::parse_duration;
use nutshell_core::Config;
use nutshell_demo::{self as demo, DemoApp};
use nutshell_server::{ServerOptions, ShutdownSignal};

/// Options of `nutshell serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Which shell drives the connections.
    #[arg(long, value_enum, default_value_t = Shell::Mio)]
    shell: Shell,

    /// Address to listen on (host:port; a host name is resolved).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,

    /// Worker threads (event loops or runtime workers); default: the number
    /// of cores. The blocking shell uses a thread per connection and ignores it.
    #[arg(long)]
    threads: Option<usize>,

    /// Connections served at once; more wait in the listen backlog.
    /// Default: 10000 (1024 for the blocking shell).
    #[arg(long)]
    max_connections: Option<usize>,

    /// Time a client has to send a whole request head (e.g. 30s, 500ms);
    /// then 408 and close.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    header_timeout: Duration,

    /// Time a kept-alive connection may wait for its next request; then a
    /// silent close.
    #[arg(long, value_parser = parse_duration, default_value = "60s")]
    idle_timeout: Duration,

    /// Time without write progress before a client that does not read is
    /// dropped.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    write_timeout: Duration,

    /// Largest request body in bytes; larger bodies get 413.
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    max_body: u64,

    /// The mio shell only: run handlers on a pool of N threads instead of
    /// the event loops' threads (0: on the loops). Needed when handlers
    /// block (GET /wait/{ms}); at most N handlers run at once.
    #[arg(long, default_value_t = 0)]
    handler_threads: usize,

    /// Work of GET /cpu/{us}: hash rounds per microsecond asked. Default:
    /// calibrated on this machine at start. `compare` passes one figure to
    /// every server so every shell does the same work.
    #[arg(long)]
    cpu_rounds_per_us: Option<u64>,

    /// Log every exchange at info: peer, method and target, status, body
    /// bytes sent, duration (log target `nutshell::access`; the nutshell
    /// shells only, not the hyper baselines).
    #[arg(long)]
    access_log: bool,
}

/// The four shells, all serving the same core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Shell {
    /// One mio event loop per thread, connections spread across them.
    Mio,
    /// A multi-threaded tokio runtime, one task per connection.
    Tokio,
    /// An async-executor on N threads with async-io, one task per connection.
    Smol,
    /// A blocking thread per connection (std only).
    Blocking,
    /// The baseline: hyper 1 on a tokio runtime, serving the same routes
    /// (not a nutshell shell; for comparison).
    #[cfg(feature = "hyper-baseline")]
    Hyper,
    /// The demo app as an axum Router on the tokio shell (`bind_service`).
    AxumNutshell,
    /// The baseline for axum-nutshell: the same Router on `axum::serve`
    /// (hyper) over a tokio runtime (not a nutshell shell).
    #[cfg(feature = "hyper-baseline")]
    AxumHyper,
    /// NOT A SERVER: the I/O floor for `compare`. A mio loop per thread
    /// that answers every blank line with a canned response and parses
    /// nothing; never use it to serve anything.
    Floor,
}

impl Shell {
    fn name(self) -> &'static str {
        match self {
            Shell::Mio => "mio",
            Shell::Tokio => "tokio",
            Shell::Smol => "smol",
            Shell::Blocking => "blocking",
            #[cfg(feature = "hyper-baseline")]
            Shell::Hyper => "hyper",
            Shell::AxumNutshell => "axum-nutshell",
            #[cfg(feature = "hyper-baseline")]
            Shell::AxumHyper => "axum-hyper",
            Shell::Floor => "floor",
        }
    }
}

/// The same steps for every shell, through the `Shell` trait: bind, hand
/// the shutdown signal to Ctrl-C, serve until it completes.
fn serve<S: nutshell_server::Shell<A>, A>(
    app: A,
    args: &ServeArgs,
    addrs: &[SocketAddr],
    options: ServerOptions,
) -> Result<(), String> {
    let threads = options.threads;
    let name = args.shell.name();
    let server = S::bind(addrs, app, options)
        .map_err(|e| format!("cannot listen on {}: {}", args.addr, describe(&e)))?;
    let addr = server.local_addr();
    install_signal_handler(server.shutdown_signal())?;
    tracing::info!(shell = name, %addr, threads, "listening on http://{addr}/");
    server
        .run()
        .map_err(|e| format!("{name} shell failed: {}", describe(&e)))?;
    tracing::info!(shell = name, %addr, "shut down");
    Ok(())
}

/// Binds, serves until a signal, and reports failures as one message.
pub(crate) fn run(args: ServeArgs) -> Result<(), String> {
    let addrs: Vec<SocketAddr> = args
        .addr
        .to_socket_addrs()
        .map_err(|e| format!("invalid address '{}': {e}", args.addr))?
        .collect();
    let options = options(&args);
    let rate = args
        .cpu_rounds_per_us
        .unwrap_or_else(crate::calibrate::cpu_rounds_per_us);
    demo::set_cpu_rounds_per_us(rate);
    if args.handler_threads > 0 && args.shell != Shell::Mio {
        tracing::warn!(
            shell = args.shell.name(),
            "--handler-threads is for the mio shell; ignored"
        );
    }
    match args.shell {
        Shell::Mio => serve::<nutshell_mio::Server<DemoApp>, _>(DemoApp, &args, &addrs, options),
        // The async shells wait on their runtime's timer, as their users would.
        Shell::Tokio => {
            serve::<nutshell_tokio::Server<TokioDemo>, _>(TokioDemo, &args, &addrs, options)
        }
        Shell::Smol => {
            serve::<nutshell_smol::Server<SmolDemo>, _>(SmolDemo, &args, &addrs, options)
        }
        Shell::Blocking => {
            serve::<nutshell_blocking::Server<DemoApp>, _>(DemoApp, &args, &addrs, options)
        }
        #[cfg(feature = "hyper-baseline")]
        Shell::Hyper => serve_hyper(&args, &addrs, &options, crate::baseline::serve),
        Shell::AxumNutshell => {
            let router = crate::axum_rows::router();
            serve::<nutshell_tokio::Server<nutshell_tokio::TowerService<_>>, _>(
                router, &args, &addrs, options,
            )
        }
        #[cfg(feature = "hyper-baseline")]
        Shell::AxumHyper => serve_hyper(&args, &addrs, &options, crate::axum_rows::serve_on_hyper),
        Shell::Floor => serve_floor(&args, &addrs, &options),
    }
}

/// The I/O floor (see `floor`), with the same logging and signals.
fn serve_floor(
    args: &ServeArgs,
    addrs: &[SocketAddr],
    options: &ServerOptions,
) -> Result<(), String> {
    let addr = *addrs
        .first()
        .ok_or_else(|| format!("no address for {}", args.addr))?;
    let signal = ShutdownSignal::new();
    install_signal_handler(signal.clone())?;
    tracing::warn!(%addr, threads = options.threads, "the I/O floor: not HTTP, not a server; for nutshell compare only");
    crate::floor::serve(addr, options.threads, &signal)
        .map_err(|e| format!("floor failed: {}", describe(&e)))
}

/// A hyper baseline (`serve`: plain hyper, or axum on hyper), with the
/// same logging and signals as the shells.
#[cfg(feature = "hyper-baseline")]
fn serve_hyper(
    args: &ServeArgs,
    addrs: &[SocketAddr],
    options: &ServerOptions,
    serve: fn(std::net::TcpListener, usize, ShutdownSignal) -> io::Result<()>,
) -> Result<(), String> {
    let listener = std::net::TcpListener::bind(addrs)
        .map_err(|e| format!("cannot listen on {}: {}", args.addr, describe(&e)))?;
    let addr = listener.local_addr().map_err(|e| describe(&e))?;
    let signal = ShutdownSignal::new();
    install_signal_handler(signal.clone())?;
    let shell = args.shell.name();
    tracing::info!(shell, %addr, threads = options.threads, "listening on http://{addr}/");
    serve(listener, options.threads, signal)
        .map_err(|e| format!("{shell} failed: {}", describe(&e)))?;
    tracing::info!(shell, %addr, "shut down");
    Ok(())
}

fn options(args: &ServeArgs) -> ServerOptions {
    let mut config = Config::default();
    config.timeouts.head = args.header_timeout;
    config.timeouts.idle = args.idle_timeout;
    config.timeouts.write = args.write_timeout;
    config.limits.max_body = args.max_body;
    let mut options = ServerOptions::default()
        .config(config)
        .handler_threads(args.handler_threads)
        .access_log(args.access_log);
    if let Some(threads) = args.threads {
        options = options.threads(threads);
    }
    // A thread per connection: the blocking shell gets a lower default cap.
    let default_max = if args.shell == Shell::Blocking {
        1024
    } else {
        options.max_connections
    };
    options = options.max_connections(args.max_connections.unwrap_or(default_max));
    options
}

/// Ctrl-C or SIGTERM starts a graceful shutdown; a second one exits at once.
fn install_signal_handler(signal: ShutdownSignal) -> Result<(), String> {
    let again = AtomicBool::new(false);
    ctrlc::set_handler(move || {
        if again.swap(true, Ordering::SeqCst) {
            tracing::warn!("second interrupt: exiting without waiting");
            std::process::exit(130);
        }
        tracing::info!("shutting down: finishing requests in flight (Ctrl-C again to exit now)");
        signal.trigger();
    })
    .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))
}

/// An I/O error as a short lowercase phrase, without the OS error number.
fn describe(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::AddrInUse => "address already in use".into(),
        io::ErrorKind::AddrNotAvailable => "address not available on this machine".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => error.to_string(),
    }
}
