//! Serves the demo application on 127.0.0.1:8080, or the port given as the
//! first argument, until the process is killed:
//!
//! ```text
//! cargo run --release -p nutshell-mio --example demo-mio -- 8080
//! curl -v http://127.0.0.1:8080/
//! ```
//!
//! Set `RUST_LOG=debug` for per-connection logs on stderr.

use nutshell_demo::DemoApp;
use nutshell_mio::{Server, ServerOptions};

fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .with_thread_names(true)
        .init();
    let port = std::env::args().nth(1).unwrap_or_else(|| "8080".into());
    let options = ServerOptions::default();
    let server = Server::bind(
        ("127.0.0.1", port.parse().unwrap_or(8080)),
        DemoApp,
        options,
    )?;
    tracing::info!(addr = %server.local_addr(), "serving the demo app (mio shell)");
    server.run()
}
