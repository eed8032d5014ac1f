//! The handler layer and the demo app, driven without sockets.

mod common;

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use nutshell_core::service::{Handler, Request, Response, Session};
use nutshell_core::{Config, ResponseHead, ServerConnection};
use nutshell_demo::DemoApp;

/// A session with a peer that reads everything at once (or not at all).
struct Peer {
    session: Session,
    now: Instant,
    sent: Vec<u8>,
    max_transmit: usize,
}

impl Peer {
    fn new(config: Config) -> Self {
        let now = common::origin();
        let conn = ServerConnection::new(Arc::new(config), now, SystemTime::UNIX_EPOCH);
        Peer {
            session: Session::new(conn),
            now,
            sent: Vec::new(),
            max_transmit: 0,
        }
    }

    fn send(&mut self, input: &[u8], handler: &impl Handler) {
        let mut rest = input;
        loop {
            let taken = self.session.conn().handle_read(rest, self.now);
            rest = &rest[taken..];
            self.settle(handler);
            if rest.is_empty() || taken == 0 {
                return;
            }
        }
    }

    /// Drives the handler and reads output until nothing moves.
    fn settle(&mut self, handler: &impl Handler) {
        loop {
            self.session.drive(handler);
            let queued = self.session.connection().transmit_len();
            self.max_transmit = self.max_transmit.max(queued);
            let Some(bytes) = self.session.conn().poll_transmit(self.now) else {
                return;
            };
            self.sent.extend_from_slice(&bytes);
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.sent).into_owned()
    }
}

#[test]
fn demo_routes() {
    let mut peer = Peer::new(Config::default());
    peer.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &DemoApp);
    assert!(peer.text().contains("content-type: text/plain\r\n"));
    assert!(peer
        .text()
        .ends_with("Content-Length: 13\r\n\r\nHello, World!"));

    for (request, expect_start, expect_end) in [
        (
            &b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"[..],
            "HTTP/1.1 200 OK",
            "Hello, World!",
        ),
        (
            b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
            "HTTP/1.1 200 OK",
            "Content-Length: 13\r\n\r\n",
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nping",
            "HTTP/1.1 200 OK",
            "\r\n\r\nping",
        ),
        (
            b"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n",
            "HTTP/1.1 404 Not Found",
            "Content-Length: 0\r\n\r\n",
        ),
        (
            b"DELETE / HTTP/1.1\r\nHost: a\r\n\r\n",
            "HTTP/1.1 405 Method Not Allowed",
            "\r\n\r\n",
        ),
        (
            b"GET /echo HTTP/1.1\r\nHost: a\r\n\r\n",
            "HTTP/1.1 405 Method Not Allowed",
            "\r\n\r\n",
        ),
        (
            b"GET /chunked/0 HTTP/1.1\r\nHost: a\r\n\r\n",
            "HTTP/1.1 200 OK",
            "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ),
        (
            b"GET /bytes/5 HTTP/1.1\r\nHost: a\r\n\r\n",
            "HTTP/1.1 200 OK",
            "Content-Length: 5\r\n\r\nxxxxx",
        ),
    ] {
        let mut peer = Peer::new(Config::default());
        peer.send(request, &DemoApp);
        let text = peer.text();
        assert!(
            text.starts_with(expect_start) && text.ends_with(expect_end),
            "{text}"
        );
    }

    let mut peer = Peer::new(Config::default());
    peer.send(b"DELETE / HTTP/1.1\r\nHost: a\r\n\r\n", &DemoApp);
    assert!(peer.text().contains("allow: GET, HEAD\r\n"));
}

#[test]
fn streamed_bodies_are_pulled_only_as_fast_as_the_peer_reads() {
    let mut config = Config::default();
    config.limits.max_transmit = 64 * 1024;
    let mut peer = Peer::new(config);
    peer.send(
        b"GET /chunked/1000000 HTTP/1.1\r\nHost: a\r\n\r\n",
        &DemoApp,
    );
    let text = peer.text();
    let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
    assert!(body.starts_with("4000\r\n"), "16 KiB chunks");
    assert!(body.ends_with("\r\n0\r\n\r\n"));
    assert_eq!(body.matches('x').count(), 1_000_000);
    assert!(
        peer.max_transmit <= 64 * 1024 + 16 * 1024 + 64,
        "{}",
        peer.max_transmit
    );

    let mut peer = Peer::new(Config::default());
    peer.send(b"GET /bytes/10000000 HTTP/1.1\r\nHost: a\r\n\r\n", &DemoApp);
    assert!(peer.text().ends_with(&"x".repeat(1000)));
    assert_eq!(peer.sent.iter().filter(|b| **b == b'x').count(), 10_000_000);
    assert!(
        peer.max_transmit <= 64 * 1024 + 16 * 1024 + 256,
        "{}",
        peer.max_transmit
    );
}

#[test]
fn pipelined_requests_reach_the_handler_in_order_with_whole_bodies() {
    let mut peer = Peer::new(Config::default());
    let log = std::sync::Mutex::new(Vec::new());
    let handler = move |request: Request| {
        log.lock().unwrap().push(request.body.clone());
        Response::full(ResponseHead::new(http::StatusCode::OK), request.body)
    };
    peer.send(
        b"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nfg",
        &handler,
    );
    assert!(peer.text().contains("Content-Length: 5\r\n\r\nabcde"));
    assert!(peer.text().ends_with("Content-Length: 2\r\n\r\nfg"));
}

#[test]
fn a_bad_head_from_the_handler_becomes_a_500() {
    let mut peer = Peer::new(Config::default());
    let handler = |_: Request| {
        Response::full(
            ResponseHead::new(http::StatusCode::OK).header(
                http::header::TRANSFER_ENCODING,
                http::HeaderValue::from_static("gzip"),
            ),
            "x",
        )
    };
    peer.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &handler);
    assert!(
        peer.text()
            .starts_with("HTTP/1.1 500 Internal Server Error\r\n"),
        "{}",
        peer.text()
    );
}
