//! A real axum application on the smol shell, over real sockets. The
//! Router is the same kind as on tokio, minus what needs a tokio runtime:
//! tower-http's `TimeoutLayer` (and any `tokio::time` in a handler) runs
//! here only behind `async_compat::Compat`, which gives such futures a
//! tokio context of their own.

use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Query, Request};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::BodyExt;
use nutshell_smol::Server;
use nutshell_tests::server::{options, test_config};
use nutshell_tests::wire::{self, read_response};
use nutshell_tests::Running;
use serde_json::{json, Value};
use tower::ServiceBuilder;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// 64 MiB: far above every buffer bound, so only streaming gets it through.
const UPLOAD: u64 = 64 << 20;

/// Routes that need no tokio runtime.
fn app() -> Router {
    Router::new()
        .route("/json", post(echo_json))
        .route("/hello", get(hello))
        .route("/count", post(count))
        .route("/tokio-timer", get(tokio_timer))
        .layer(TraceLayer::new_for_http())
}

async fn echo_json(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(body): Json<Value>,
) -> Json<Value> {
    Json(json!({ "got": body, "peer": peer.to_string() }))
}

async fn hello(Query(query): Query<HashMap<String, String>>) -> String {
    format!(
        "hello {}",
        query.get("name").map_or("nobody", String::as_str)
    )
}

async fn count(request: Request) -> String {
    let mut body = request.into_body();
    let (mut total, mut largest) = (0u64, 0usize);
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("body frame").into_data() {
            total += data.len() as u64;
            largest = largest.max(data.len());
        }
    }
    format!("{total} {largest}")
}

/// Needs a tokio runtime: without the bridge it panics ("no reactor").
async fn tokio_timer() -> &'static str {
    tokio::time::sleep(Duration::from_millis(10)).await;
    "slept on tokio's timer"
}

/// The tokio-only parts, bridged: a route timing out with tower-http's
/// `TimeoutLayer`, and every future of the Router run inside `Compat`.
fn bridged() -> impl nutshell_smol::HttpService {
    let router = app().route(
        "/slow",
        get(|| async {
            async_io::Timer::after(Duration::from_secs(10)).await;
            "too late"
        })
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(200),
        )),
    );
    ServiceBuilder::new()
        .map_future(async_compat::Compat::new)
        .service(router)
}

fn config() -> nutshell_core::Config {
    let mut config = test_config();
    config.limits.max_body = UPLOAD;
    config
}

fn start(service: impl nutshell_smol::HttpService) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server = Server::from_listener_service(listener, service, options(config()))
        .expect("from_listener_service");
    let (addr, signal) = (server.local_addr(), server.shutdown_signal());
    Running::spawn("smol-axum", addr, signal, move || server.run())
}

fn exchange(addr: SocketAddr, request: &[u8]) -> wire::Response {
    let mut stream = wire::connect(addr);
    stream.write_all(request).expect("send");
    read_response(&mut stream, &mut Vec::new(), false).expect("response")
}

#[test]
fn json_with_connect_info_and_query() {
    let server = start(app());
    let body = br#"{"a":1}"#;
    let head = format!(
        "POST /json HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = wire::connect(server.addr());
    stream
        .write_all(&[head.as_bytes(), body].concat())
        .expect("send");
    let local = stream.local_addr().expect("local addr");
    let response = read_response(&mut stream, &mut Vec::new(), false).expect("response");
    let value: Value = serde_json::from_slice(&response.body).expect("json");
    assert_eq!(
        value,
        json!({ "got": { "a": 1 }, "peer": local.to_string() })
    );

    let response = exchange(
        server.addr(),
        b"GET /hello?name=smol HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert_eq!(response.body, b"hello smol");
}

#[test]
fn streaming_upload_is_counted_frame_by_frame() {
    let server = start(app());
    let mut stream = wire::connect(server.addr());
    let head = format!("POST /count HTTP/1.1\r\nHost: a\r\nContent-Length: {UPLOAD}\r\n\r\n");
    stream.write_all(head.as_bytes()).expect("head");
    let piece = vec![b'u'; 256 * 1024];
    for _ in 0..UPLOAD / piece.len() as u64 {
        stream.write_all(&piece).expect("body");
    }
    let response = read_response(&mut stream, &mut Vec::new(), false).expect("response");
    let text = String::from_utf8(response.body).expect("utf-8");
    let (total, largest) = text.split_once(' ').expect("two numbers");
    assert_eq!(total.parse::<u64>().unwrap(), UPLOAD);
    let largest: usize = largest.parse().unwrap();
    assert!(largest <= 64 * 1024, "a frame of {largest} bytes");
}

#[test]
fn a_tokio_timer_without_the_bridge_is_a_caught_panic() {
    let server = start(app());
    let response = exchange(
        server.addr(),
        b"GET /tokio-timer HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert_eq!(response.status, 500);
    assert!(response.closes());
    let next = exchange(server.addr(), b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(next.status, 200);
}

#[test]
fn tokio_only_layers_work_behind_async_compat() {
    let server = start(bridged());
    let response = exchange(
        server.addr(),
        b"GET /tokio-timer HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert_eq!(response.body, b"slept on tokio's timer");
    let started = Instant::now();
    let response = exchange(server.addr(), b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(response.status, 408);
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// Inside the program's own executor: `run_async` awaited there.
#[test]
fn run_async_inside_an_executor() {
    let server = Server::bind_service("127.0.0.1:0", app(), options(config())).expect("bind");
    let (addr, signal) = (server.local_addr(), server.shutdown_signal());
    let serving = std::thread::spawn(move || futures_lite::future::block_on(server.run_async()));
    let response = exchange(
        addr,
        b"GET /hello?name=executor HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert_eq!(response.body, b"hello executor");
    signal.trigger();
    serving.join().expect("thread").expect("run_async");
}
