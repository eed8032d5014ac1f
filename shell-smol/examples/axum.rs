//! An axum application on the smol shell: `cargo run --release -p
//! nutshell-smol --example axum-smol -- 8080`, then for example
//!
//! ```text
//! curl http://127.0.0.1:8080/hello?name=you
//! head -c 1G /dev/zero | curl -T - http://127.0.0.1:8080/upload
//! curl http://127.0.0.1:8080/slow        # 408 after 1 s, via async-compat
//! ```
//!
//! The Router is the tokio example's without what needs a tokio runtime.
//! `TimeoutLayer` (it sleeps on tokio's timer) runs here behind
//! `async_compat::Compat`, which gives each request's future a tokio
//! context; `TraceLayer` needs no runtime at all.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Query, Request};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use http_body_util::BodyExt;
use nutshell_smol::{Server, ServerOptions};
use tower::ServiceBuilder;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let port: u16 = std::env::args()
        .nth(1)
        .map_or(8080, |p| p.parse().expect("a port number"));
    let router = Router::new()
        .route("/hello", get(hello))
        .route("/upload", post(upload).put(upload))
        .route(
            "/slow",
            get(|| async {
                async_io::Timer::after(Duration::from_secs(5)).await;
                "too late"
            })
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_secs(1),
            )),
        )
        .layer(TraceLayer::new_for_http());
    // Every future of the Router runs inside `Compat`: tokio timers work.
    let service = ServiceBuilder::new()
        .map_future(async_compat::Compat::new)
        .service(router);
    let mut config = nutshell_core::Config::default();
    config.limits.max_body = 2 << 30;
    let server = Server::bind_service(
        ("127.0.0.1", port),
        service,
        ServerOptions::default().config(config),
    )?;
    tracing::info!(addr = %server.local_addr(), "serving the axum example");
    server.run()
}

async fn hello(Query(query): Query<HashMap<String, String>>) -> String {
    let name = query.get("name").map_or("world", String::as_str);
    format!("hello, {name}\n")
}

/// Counts the body as it streams by: memory stays at one frame.
async fn upload(request: Request) -> String {
    let mut body = request.into_body();
    let mut total = 0u64;
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            total += data.len() as u64;
        }
    }
    format!("{total} bytes\n")
}
