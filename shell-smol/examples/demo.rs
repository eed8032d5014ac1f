//! Serves the demo app: `cargo run -p nutshell-smol --example demo-smol -- 8080`,
//! then `curl -sv http://127.0.0.1:8080/`. Logs with `RUST_LOG=debug`.

use nutshell_demo::DemoApp;
use nutshell_smol::{Server, ServerOptions};

fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let port = std::env::args().nth(1).unwrap_or_else(|| "8080".into());
    let server = Server::bind(
        ("127.0.0.1", port.parse().expect("a port number")),
        DemoApp,
        ServerOptions::default(),
    )?;
    tracing::info!(addr = %server.local_addr(), "serving the demo app");
    server.run()
}
