//! Serves the demo application on 127.0.0.1:8080, or the port given as the
//! first argument, until the process is killed:
//!
//! ```text
//! cargo run --release -p nutshell-blocking --example demo-blocking -- 8080
//! curl -v http://127.0.0.1:8080/
//! ```
//!
//! Set `RUST_LOG=debug` for per-connection logs on stderr.

use nutshell_blocking::{Server, ServerOptions};
use nutshell_demo::DemoApp;

fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .with_thread_names(true)
        .init();
    let port = std::env::args().nth(1).unwrap_or_else(|| "8080".into());
    let options = ServerOptions::default().max_connections(1024);
    let server = Server::bind(
        ("127.0.0.1", port.parse().unwrap_or(8080)),
        DemoApp,
        options,
    )?;
    tracing::info!(addr = %server.local_addr(), "serving the demo app (blocking shell)");
    server.run()
}
