//! The handler basics, tested with `Harness::handler`: the query, field
//! values as text, async closures, caught panics, streamed bodies read
//! back whole.

use std::time::Instant;

use nutshell_core::http::{header, HeaderValue, StatusCode};
use nutshell_core::service::{Request, Response};
use nutshell_core::testing::Harness;
use nutshell_core::{Config, ResponseHead};
use nutshell_demo::DemoApp;
use proptest::prelude::*;

#[allow(clippy::disallowed_methods)] // a test's origin for the virtual clock
fn origin() -> Instant {
    Instant::now()
}

/// Answers with the query and the `x-name` field, as text.
fn introspect(request: Request) -> Response {
    let query = request.head.query().unwrap_or("-").to_owned();
    let name = request.head.header_str("x-name").unwrap_or("-").to_owned();
    let texts = request.head.headers_str().count();
    Response::full(
        ResponseHead::new(StatusCode::OK),
        format!("{query} {name} {texts}"),
    )
}

#[test]
fn query_and_text_fields() {
    let mut h = Harness::handler(Config::default(), introspect, origin());
    let responses =
        h.request(b"GET /p?a=1&b=2#frag HTTP/1.1\r\nHost: a\r\nX-Name: nut\r\nX-Bin: \xff\r\n\r\n");
    assert_eq!(responses.len(), 1);
    // The binary field is not text: two of the three fields count.
    assert_eq!(responses[0].body, "a=1&b=2 nut 2");
    let responses = h.request(b"GET /p HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(responses[0].body, "- - 1");
}

#[test]
fn a_panicking_handler_is_answered_500_and_closed() {
    let handler = |request: Request| -> Response {
        if request.head.path() == "/boom" {
            panic!("boom");
        }
        Response::full(ResponseHead::new(StatusCode::OK), "fine")
    };
    let mut h = Harness::handler(Config::default(), handler, origin());
    let responses =
        h.request(b"GET /fine HTTP/1.1\r\nHost: a\r\n\r\nGET /boom HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(responses.len(), 2, "{responses:?}");
    assert_eq!(responses[0].body, "fine");
    assert_eq!(responses[1].status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(responses[1].header("connection"), Some("close"));
    let panics = h.session().take_panics();
    assert_eq!(panics.len(), 1);
    assert_eq!(panics[0].request_line, "GET /boom");
    assert_eq!(panics[0].message, "boom");
    h.eof();
    assert!(h.is_closed());
}

#[test]
fn async_closures_are_handlers() {
    let handler = |request: Request| async move {
        let head = ResponseHead::new(StatusCode::CREATED)
            .header(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        Response::full(head, request.body)
    };
    let mut h = Harness::async_handler(Config::default(), handler, origin());
    let responses = h.request(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi");
    assert_eq!(responses[0].status, StatusCode::CREATED);
    assert_eq!(responses[0].body, "hi");
    assert_eq!(responses[0].header("content-type"), Some("text/plain"));
}

#[test]
fn streamed_bodies_come_back_whole() {
    let mut h = Harness::handler(Config::default(), DemoApp, origin());
    let responses = h.request(b"GET /bytes/300000 HTTP/1.1\r\nHost: a\r\n\r\nGET /chunked/40000 HTTP/1.1\r\nHost: a\r\n\r\nHEAD /chunked/5 HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(responses.len(), 4, "{responses:?}");
    assert_eq!(responses[0].body.len(), 300_000);
    assert_eq!(responses[0].header("content-length"), Some("300000"));
    assert_eq!(responses[1].body.len(), 40_000);
    assert_eq!(responses[1].header("transfer-encoding"), Some("chunked"));
    assert!(responses[2].body.is_empty());
    assert_eq!(responses[3].body, "Hello, World!");
}

proptest! {
    /// Whatever the query, the handler sees exactly what was sent.
    #[test]
    fn the_query_arrives_as_sent(query in "[a-zA-Z0-9=&%._~-]{0,40}") {
        let mut h = Harness::handler(Config::default(), introspect, origin());
        let request = format!("GET /q?{query} HTTP/1.1\r\nHost: a\r\n\r\n");
        let responses = h.request(request.as_bytes());
        prop_assert_eq!(responses.len(), 1);
        let body = String::from_utf8(responses[0].body.to_vec()).unwrap();
        prop_assert_eq!(body, format!("{query} - 1"));
    }
}

/// `Session::drive`, as the mio and blocking shells call it, catches the
/// panic itself and keeps the report for the shell's log.
#[test]
fn session_drive_catches_a_panic() {
    use nutshell_core::service::Session;
    use nutshell_core::ServerConnection;
    use std::sync::Arc;

    #[allow(clippy::disallowed_methods)] // a test's wall clock for `Date`
    let wall = std::time::SystemTime::now();
    let conn = ServerConnection::new(Arc::new(Config::default()), origin(), wall);
    let mut session = Session::new(conn);
    session
        .conn()
        .handle_read(b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n", origin());
    session.drive(&|_: Request| -> Response { panic!("drive me") });
    let mut sent = Vec::new();
    while let Some(bytes) = session.conn().poll_transmit(origin()) {
        sent.extend_from_slice(&bytes);
    }
    let text = String::from_utf8_lossy(&sent).to_lowercase();
    assert!(text.starts_with("http/1.1 500 "), "{text}");
    assert!(text.contains("connection: close"), "{text}");
    let panics = session.take_panics();
    assert_eq!(panics.len(), 1);
    assert_eq!(
        (panics[0].request_line.as_str(), panics[0].message.as_str()),
        ("GET /x", "drive me")
    );
}
