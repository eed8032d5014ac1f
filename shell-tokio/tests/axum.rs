//! A real axum application on the tokio shell, over real sockets: JSON,
//! the query, `ConnectInfo`, a streaming upload, request and response
//! trailers, `Expect: 100-continue`, `poll_ready`, a panicking handler, and
//! tower-http's `TraceLayer` and `TimeoutLayer`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Query, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use futures_util::stream;
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use nutshell_tests::server::{options, test_config};
use nutshell_tests::wire::{self, read_response};
use nutshell_tests::Running;
use nutshell_tokio::Server;
use serde_json::{json, Value};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// 64 MiB: far above every buffer bound, so only streaming gets it through.
const UPLOAD: u64 = 64 << 20;

fn app() -> Router {
    Router::new()
        .route("/json", post(echo_json))
        .route("/hello", get(hello))
        .route("/count", post(count))
        .route("/trailers", post(read_trailers))
        .route("/streamed", get(streamed_with_trailers))
        .route("/late-read", post(late_read))
        .route("/panic", get(panics))
        .route("/ignore", post(|| async { "ignored" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                "too late"
            })
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_millis(200),
            )),
        )
        .layer(TraceLayer::new_for_http())
}

async fn echo_json(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(body): Json<Value>,
) -> Json<Value> {
    Json(json!({ "got": body, "peer": peer.to_string() }))
}

async fn panics() -> &'static str {
    panic!("the handler gave up")
}

async fn hello(Query(query): Query<HashMap<String, String>>) -> String {
    format!(
        "hello {}",
        query.get("name").map_or("nobody", String::as_str)
    )
}

/// Counts the body's bytes as they stream by; never holds more than a frame.
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

async fn read_trailers(request: Request) -> String {
    let collected = request.into_body().collect().await.expect("body");
    let sum = collected
        .trailers()
        .and_then(|t| t.get("x-sum"))
        .map(|v| v.to_str().unwrap_or("?").to_owned())
        .unwrap_or_default();
    format!("{} {sum}", collected.to_bytes().len())
}

async fn streamed_with_trailers() -> Response {
    let mut trailers = HeaderMap::new();
    trailers.insert("x-checksum", HeaderValue::from_static("abc"));
    let frames = vec![
        Ok::<_, Infallible>(Frame::data(Bytes::from_static(b"part one, "))),
        Ok(Frame::data(Bytes::from_static(b"part two"))),
        Ok(Frame::trailers(trailers)),
    ];
    Body::new(StreamBody::new(stream::iter(frames))).into_response()
}

/// Reads the body only after a while: `100 Continue` must wait for it.
async fn late_read(body: Body) -> String {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let bytes = body.collect().await.expect("body").to_bytes();
    format!("{}", bytes.len())
}

/// The test configuration with room for the upload: the core's body limit
/// applies to streamed bodies too.
fn config() -> nutshell_core::Config {
    let mut config = test_config();
    config.limits.max_body = UPLOAD;
    config
}

fn start(router: Router) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server = Server::from_listener_service(listener, router, options(config()))
        .expect("from_listener_service");
    let (addr, signal) = (server.local_addr(), server.shutdown_signal());
    Running::spawn("tokio-axum", addr, signal, move || server.run())
}

/// Sends `request` on a new connection and reads one response.
fn exchange(addr: SocketAddr, request: &[u8]) -> wire::Response {
    let mut stream = wire::connect(addr);
    stream.write_all(request).expect("send");
    read_response(&mut stream, &mut Vec::new(), false).expect("response")
}

#[test]
fn json_with_connect_info() {
    let server = start(app());
    let body = br#"{"a":1}"#;
    let request = [
        format!("POST /json HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(),
        body,
    ]
    .concat();
    let mut stream = wire::connect(server.addr());
    stream.write_all(&request).expect("send");
    let local = stream.local_addr().expect("local addr");
    let response = read_response(&mut stream, &mut Vec::new(), false).expect("response");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let value: Value = serde_json::from_slice(&response.body).expect("json");
    assert_eq!(
        value,
        json!({ "got": { "a": 1 }, "peer": local.to_string() })
    );
}

#[test]
fn query_string() {
    let server = start(app());
    let response = exchange(
        server.addr(),
        b"GET /hello?name=nut%20shell HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"hello nut shell");
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
    assert_eq!(response.status, 200);
    let text = String::from_utf8(response.body).expect("utf-8");
    let (total, largest) = text.split_once(' ').expect("two numbers");
    assert_eq!(total.parse::<u64>().unwrap(), UPLOAD);
    // Frames are what the core's bounded receive buffer held, never the body.
    let largest: usize = largest.parse().unwrap();
    assert!(largest <= 64 * 1024, "a frame of {largest} bytes");
}

#[test]
fn request_trailers_arrive_as_a_trailers_frame() {
    let server = start(app());
    let response = exchange(
        server.addr(),
        b"POST /trailers HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 42\r\n\r\n",
    );
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"5 42");
}

#[test]
fn response_trailers_become_chunked_trailers() {
    let server = start(app());
    let mut stream = wire::connect(server.addr());
    stream
        .write_all(b"GET /streamed HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).to_lowercase();
    assert!(text.contains("transfer-encoding: chunked"), "{text}");
    assert!(text.ends_with("\r\n0\r\nx-checksum: abc\r\n\r\n"), "{text}");
    assert!(
        text.contains("a\r\npart one, \r\n8\r\npart two\r\n"),
        "{text}"
    );
}

#[test]
fn continue_is_sent_when_the_body_is_first_polled() {
    let server = start(app());
    let mut stream = wire::connect(server.addr());
    let sent = Instant::now();
    stream
        .write_all(b"POST /late-read HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        .expect("head");
    let mut buffer = Vec::new();
    let interim = read_response(&mut stream, &mut buffer, false).expect("100");
    assert_eq!(interim.status, 100);
    assert!(
        sent.elapsed() >= Duration::from_millis(250),
        "100 came before the handler asked for the body ({:?})",
        sent.elapsed()
    );
    stream.write_all(b"hello").expect("body");
    let response = read_response(&mut stream, &mut buffer, false).expect("response");
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, b"5".as_slice())
    );
}

#[test]
fn a_panicking_handler_gets_a_500_and_the_server_carries_on() {
    let server = start(app());
    let response = exchange(server.addr(), b"GET /panic HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(response.status, 500);
    assert!(response.closes(), "{:?}", response.headers);
    let next = exchange(server.addr(), b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(next.status, 200);
}

#[test]
fn timeout_layer_answers_a_slow_handler() {
    let server = start(app());
    let started = Instant::now();
    let response = exchange(server.addr(), b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(response.status, 408);
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// A service that is not ready at first: `call` must wait for `poll_ready`.
#[derive(Clone)]
struct SlowToStart {
    ready: Arc<AtomicBool>,
}

impl tower::Service<Request<nutshell_tokio::RequestBody>> for SlowToStart {
    type Response = Response;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        if self.ready.load(Ordering::SeqCst) {
            return Poll::Ready(Ok(()));
        }
        let (ready, waker) = (self.ready.clone(), cx.waker().clone());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            ready.store(true, Ordering::SeqCst);
            waker.wake();
        });
        Poll::Pending
    }

    fn call(&mut self, _request: Request<nutshell_tokio::RequestBody>) -> Self::Future {
        let status = if self.ready.load(Ordering::SeqCst) {
            StatusCode::OK
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        std::future::ready(Ok(status.into_response()))
    }
}

#[test]
fn poll_ready_is_honoured() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let service = SlowToStart {
        ready: Arc::new(AtomicBool::new(false)),
    };
    let server =
        Server::from_listener_service(listener, service, options(test_config())).expect("server");
    let (addr, signal) = (server.local_addr(), server.shutdown_signal());
    let _running = Running::spawn("tokio-ready", addr, signal, move || server.run());
    let response = exchange(addr, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(response.status, 200);
}

/// Inside the program's own runtime: `run_async`, where `run` would panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_async_inside_a_runtime() {
    let server = Server::bind_service("127.0.0.1:0", app(), options(test_config())).expect("bind");
    let (addr, signal) = (server.local_addr(), server.shutdown_signal());
    let serving = tokio::spawn(server.run_async());
    let response = tokio::task::spawn_blocking(move || {
        exchange(addr, b"GET /hello?name=runtime HTTP/1.1\r\nHost: a\r\n\r\n")
    })
    .await
    .expect("client");
    assert_eq!(response.body, b"hello runtime");
    signal.trigger();
    tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .expect("shut down in time")
        .expect("task")
        .expect("run_async");
}

#[test]
fn an_unread_body_is_drained_within_budget_or_the_connection_closes() {
    let server = start(app());
    // Small: drained by the core, and the connection serves the next request.
    let mut stream = wire::connect(server.addr());
    let small = [
        b"POST /ignore HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n".as_slice(),
        &[b'z'; 1000],
        b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n",
    ]
    .concat();
    stream.write_all(&small).expect("send");
    let mut buffer = Vec::new();
    let first = read_response(&mut stream, &mut buffer, false).expect("first");
    assert_eq!((first.status, first.closes()), (200, false));
    let second = read_response(&mut stream, &mut buffer, false).expect("second");
    assert_eq!(second.body, b"hello nobody");

    // Far over `Limits::discard_body`: answered, then closed. (The head
    // went out before the core knew the body would stay unread, so it does
    // not say `Connection: close`; the close itself is what counts.)
    let mut stream = wire::connect(server.addr());
    stream
        .write_all(
            format!("POST /ignore HTTP/1.1\r\nHost: a\r\nContent-Length: {UPLOAD}\r\n\r\n")
                .as_bytes(),
        )
        .expect("head");
    let response = read_response(&mut stream, &mut Vec::new(), false).expect("response");
    assert_eq!(response.status, 200);
    let ending = wire::read_to_end(&mut stream);
    assert!(ending.closed_quietly(), "{ending:?}");
}
