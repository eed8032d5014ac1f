//! An axum application on the tokio shell, awaited inside the program's
//! own runtime: `cargo run --release -p nutshell-tokio --example axum-tokio
//! -- 8080`, then for example
//!
//! ```text
//! curl http://127.0.0.1:8080/hello?name=you
//! curl -d '{"a":1}' -H 'content-type: application/json' http://127.0.0.1:8080/json
//! head -c 1G /dev/zero | curl -T - http://127.0.0.1:8080/upload   # streamed, counted
//! curl http://127.0.0.1:8080/slow                                 # 408 after 1 s
//! ```
//!
//! and a WebSocket echo on `ws://127.0.0.1:8080/ws`. Logs requests with
//! `RUST_LOG=tower_http=debug`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, Query, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use http_body_util::BodyExt;
use nutshell_tokio::{Server, ServerOptions};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let port: u16 = std::env::args()
        .nth(1)
        .map_or(8080, |p| p.parse().expect("a port number"));
    let router = Router::new()
        .route("/hello", get(hello))
        .route("/json", post(echo_json))
        .route("/upload", post(upload).put(upload))
        .route("/ws", get(websocket))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "too late"
            })
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_secs(1),
            )),
        )
        .layer(TraceLayer::new_for_http());
    // Streamed uploads count against the core's body limit too: allow 2 GiB.
    let mut config = nutshell_core::Config::default();
    config.limits.max_body = 2 << 30;
    let server = Server::bind_service(
        ("127.0.0.1", port),
        router,
        ServerOptions::default().config(config),
    )?;
    tracing::info!(addr = %server.local_addr(), "serving the axum example");
    let signal = server.shutdown_signal();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        signal.trigger();
    });
    server.run_async().await
}

async fn hello(Query(query): Query<HashMap<String, String>>) -> String {
    let name = query.get("name").map_or("world", String::as_str);
    format!("hello, {name}\n")
}

async fn echo_json(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(body): Json<Value>,
) -> Json<Value> {
    Json(json!({ "you sent": body, "from": peer.to_string() }))
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

/// A WebSocket echo: axum's `WebSocketUpgrade` needs hyper's upgrade type,
/// so the handshake is answered here and the socket taken with
/// `nutshell_tokio::on_upgrade`.
async fn websocket(mut request: Request) -> Response {
    let Some(key) = request.headers().get(header::SEC_WEBSOCKET_KEY) else {
        return (StatusCode::BAD_REQUEST, "not a WebSocket handshake\n").into_response();
    };
    let accept = derive_accept_key(key.as_bytes());
    let upgrade = nutshell_tokio::on_upgrade(&mut request);
    tokio::spawn(async move {
        let Ok(io) = upgrade.await else { return };
        let mut ws = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
        while let Some(Ok(message)) = ws.next().await {
            if message.is_close() || ws.send(message).await.is_err() {
                break;
            }
        }
    });
    let accept = HeaderValue::from_str(&accept).expect("base64 is a valid value");
    (
        StatusCode::SWITCHING_PROTOCOLS,
        [
            (header::CONNECTION, HeaderValue::from_static("upgrade")),
            (header::UPGRADE, HeaderValue::from_static("websocket")),
            (header::SEC_WEBSOCKET_ACCEPT, accept),
        ],
    )
        .into_response()
}
