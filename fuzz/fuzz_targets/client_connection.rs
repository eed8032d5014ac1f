#![no_main]
//! One client connection: arbitrary requests (pipelined, with bodies,
//! HEAD, CONNECT, `Expect: 100-continue`, `Connection: close`) answered by
//! arbitrary bytes (raw, or pieces of HTTP responses) cut anywhere, with
//! time moving forward, EOF and a peer that stops reading.
//!
//! Checked after every step: nothing panics, the client's output stays
//! bounded, and its events come in a legal order (1xx heads, then one final
//! head, body pieces, trailers, end, per request, never more final
//! responses than requests sent; nothing after an error; `Closed` once,
//! last). At the end, after EOF and every deadline, it must be closed,
//! with no deadline left and wanting no input.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use nutshell_core::client::{ClientConnection, ClientEvent, ClientRequest};
use nutshell_core::http::{HeaderName, HeaderValue, Method};
use nutshell_core::{Bytes, Config};

#[derive(Arbitrary, Debug)]
struct Input {
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// A request from the application; errors (misuse) are fine.
    Request(Request),
    /// Bytes from the server, `step` bytes at a time (0: whole).
    Receive { pieces: Vec<Piece>, step: u8 },
    /// Virtual time moves forward, in quarter seconds.
    Advance(u8),
    /// Whether the server reads what the client sends.
    ServerReads(bool),
    Eof,
}

#[derive(Arbitrary, Debug)]
struct Request {
    method: u8,
    body: Option<Vec<u8>>,
    expect: bool,
    close: bool,
}

#[derive(Arbitrary, Debug)]
enum Piece {
    Byte(u8),
    Text(Token),
    Decimal(u16),
    Hex(u16),
}

/// Words of HTTP responses: random bytes alone rarely spell a status line.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Token {
    Ok,
    Continue,
    EarlyHints,
    Switching,
    NoContent,
    NotModified,
    NotFound,
    Http10,
    Crlf,
    Lf,
    Space,
    Colon,
    Semicolon,
    ContentLength,
    TransferEncoding,
    Chunked,
    Gzip,
    ConnectionClose,
    KeepAlive,
    LastChunk,
    Trailer,
}

impl Token {
    fn bytes(self) -> &'static [u8] {
        match self {
            Token::Ok => b"HTTP/1.1 200 OK\r\n",
            Token::Continue => b"HTTP/1.1 100 Continue\r\n\r\n",
            Token::EarlyHints => b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
            Token::Switching => b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
            Token::NoContent => b"HTTP/1.1 204 No Content\r\n",
            Token::NotModified => b"HTTP/1.1 304 Not Modified\r\n",
            Token::NotFound => b"HTTP/1.1 404 Not Found\r\n",
            Token::Http10 => b"HTTP/1.0 200 OK\r\n",
            Token::Crlf => b"\r\n",
            Token::Lf => b"\n",
            Token::Space => b" ",
            Token::Colon => b":",
            Token::Semicolon => b";",
            Token::ContentLength => b"Content-Length: ",
            Token::TransferEncoding => b"Transfer-Encoding: ",
            Token::Chunked => b"chunked",
            Token::Gzip => b"gzip",
            Token::ConnectionClose => b"Connection: close\r\n",
            Token::KeepAlive => b"Connection: keep-alive\r\n",
            Token::LastChunk => b"0\r\n\r\n",
            Token::Trailer => b"x-t: 1\r\n",
        }
    }
}

fn encode(pieces: &[Piece]) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Byte(byte) => out.push(*byte),
            Piece::Text(token) => out.extend_from_slice(token.bytes()),
            Piece::Decimal(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Piece::Hex(n) => out.extend_from_slice(format!("{n:x}").as_bytes()),
        }
    }
    out
}

fn config() -> Config {
    let mut config = Config::default();
    config.limits.recv_buffer = 2048;
    config.limits.max_head_bytes = 1024;
    config.limits.max_headers = 16;
    config.limits.max_chunk_line = 64;
    config.limits.max_trailer_bytes = 512;
    config.limits.max_body = 8192;
    config.limits.max_transmit = 4096;
    config
}

#[allow(
    clippy::disallowed_methods,
    reason = "one real origin; all later time is virtual"
)]
fn origin() -> Instant {
    Instant::now()
}

/// The client, its clock, and what its events said so far.
struct Run {
    client: ClientConnection,
    now: Instant,
    server_reads: bool,
    sent_requests: usize,
    finals: usize,
    in_response: bool,
    failed: bool,
    closed: bool,
    /// After an upgrade the connection is the application's: the core
    /// need not close it.
    upgraded: bool,
    max_transmit: usize,
}

impl Run {
    fn request(&mut self, request: &Request) {
        let methods = [Method::GET, Method::HEAD, Method::POST, Method::CONNECT, Method::OPTIONS];
        let method = methods[usize::from(request.method) % methods.len()].clone();
        let target = if method == Method::CONNECT { "a:80" } else { "/" };
        let mut head = ClientRequest::new(method, target)
            .header(HeaderName::from_static("host"), HeaderValue::from_static("a"));
        if request.expect {
            head = head.expect_continue();
        }
        if request.close {
            head = head.close();
        }
        let mut body = request.body.clone().unwrap_or_default();
        body.truncate(2048);
        // A well-behaved application waits for room before a new request.
        if self.client.can_send() && self.client.request(head, Bytes::from(body)).is_ok() {
            self.sent_requests += 1;
        }
    }

    fn receive(&mut self, bytes: &[u8], step: u8) {
        let step = if step == 0 { bytes.len().max(1) } else { usize::from(step) };
        let mut at = 0;
        while at < bytes.len() {
            let end = (at + step).min(bytes.len());
            let taken = self.client.handle_read(&bytes[at..end], self.now);
            self.drain();
            if taken == 0 {
                // Full, or reading is over: the rest is not taken.
                break;
            }
            at += taken;
        }
    }

    fn drain(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            while let Some(event) = self.client.poll_event() {
                moved = true;
                self.check(&event);
            }
            self.max_transmit = self.max_transmit.max(self.client.transmit_len());
            if self.server_reads {
                while self.client.poll_transmit(self.now).is_some() {
                    moved = true;
                }
            }
            if self.client.poll_timeout().is_some_and(|at| at <= self.now) {
                self.client.handle_timeout(self.now);
                moved = true;
            }
            if !moved {
                return;
            }
        }
        panic!("the client did not settle");
    }

    /// The legal order of client events.
    fn check(&mut self, event: &ClientEvent) {
        assert!(!self.closed, "an event after Closed: {event:?}");
        if let ClientEvent::Closed(_) = event {
            self.closed = true;
            return;
        }
        assert!(!self.failed, "an event after an error: {event:?}");
        match event {
            ClientEvent::Informational(head) => {
                assert!(!self.in_response, "a 1xx inside a response");
                assert!(head.status().is_informational());
            }
            ClientEvent::Response(head) => {
                assert!(!self.in_response, "a response inside a response");
                // 101 is informational, but final here: the upgrade follows.
                assert!(!head.status().is_informational() || head.status().as_u16() == 101);
                self.finals += 1;
                assert!(
                    self.finals <= self.sent_requests,
                    "{} responses to {} requests",
                    self.finals,
                    self.sent_requests
                );
                self.in_response = true;
            }
            ClientEvent::Body(_) | ClientEvent::Trailers(_) => {
                assert!(self.in_response, "body outside a response: {event:?}")
            }
            ClientEvent::ResponseEnd => {
                assert!(self.in_response, "an end without a response");
                self.in_response = false;
            }
            ClientEvent::Upgrade { .. } => {
                assert!(self.in_response || self.finals > 0, "an upgrade without a response");
                self.in_response = false;
                self.upgraded = true;
            }
            ClientEvent::Error(_) => self.failed = true,
            _ => {}
        }
    }
}

fuzz_target!(|input: Input| {
    let config = Arc::new(config());
    let now = origin();
    let mut run = Run {
        client: ClientConnection::new(config.clone(), now),
        now,
        server_reads: true,
        sent_requests: 0,
        finals: 0,
        in_response: false,
        failed: false,
        closed: false,
        upgraded: false,
        max_transmit: 0,
    };
    for op in input.ops.iter().take(64) {
        match op {
            Op::Request(request) => run.request(request),
            Op::Receive { pieces, step } => run.receive(&encode(pieces), *step),
            Op::Advance(quarters) => {
                run.now += Duration::from_millis(250 * u64::from(*quarters));
                run.client.handle_timeout(run.now);
            }
            Op::ServerReads(reads) => run.server_reads = *reads,
            Op::Eof => run.client.handle_eof(run.now),
        }
        run.drain();
        // Requests are only queued while there is room, so the queue holds
        // at most the bound plus one request (head and body).
        let bound = config.limits.max_transmit + 2 * 1024 + 4096;
        assert!(run.max_transmit <= bound, "queued {}", run.max_transmit);
        if run.client.is_closed() {
            assert_eq!(run.client.poll_timeout(), None, "a deadline after the close");
            assert!(!run.client.wants_read(), "reading after the close");
        }
    }
    run.server_reads = true;
    run.client.handle_eof(run.now);
    run.drain();
    run.now += Duration::from_secs(600);
    run.client.handle_timeout(run.now);
    run.drain();
    if !run.upgraded {
        assert!(run.client.is_closed(), "open after EOF and every deadline");
        assert!(run.closed, "no Closed event");
        assert_eq!(run.client.poll_timeout(), None);
    }
});
