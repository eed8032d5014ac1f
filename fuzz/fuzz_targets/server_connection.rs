#![no_main]
//! One server connection under arbitrary input: bytes (raw, or pieces of
//! HTTP, or whole valid requests) split anywhere, time moving forward, EOF,
//! a peer that stops reading, and a graceful shutdown.
//!
//! Checked after every step: nothing panics, the receive buffer stays within
//! its bound, the output queue within its bound plus one response, and the
//! events come in a legal order. At the end, once the peer reads again,
//! closes its side and time passes every deadline, the connection must be
//! closed, and a protocol error it reported must be the last response sent.

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use nutshell_core::testing::{Echo, Harness, Record};
use nutshell_core::{CloseReason, Config, ContinueMode, ProtocolError};

#[derive(Arbitrary, Debug)]
struct Input {
    knobs: Knobs,
    ops: Vec<Op>,
}

/// The few settings worth varying; the limits stay small so that the
/// fuzzer reaches them with short inputs.
#[derive(Arbitrary, Debug)]
struct Knobs {
    lenient_bare_lf: bool,
    manual_continue: bool,
    max_requests: Option<u8>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// Bytes from the peer, fed `step` bytes at a time (0: whole).
    Send {
        pieces: Vec<Piece>,
        step: u8,
    },
    /// A valid request, so that deep states are reached often.
    Request {
        request: Request,
        step: u8,
    },
    /// Virtual time moves forward, in quarter seconds.
    Advance(u8),
    PeerReads(bool),
    Eof,
    Shutdown,
}

#[derive(Arbitrary, Debug)]
enum Piece {
    Byte(u8),
    Text(Token),
    Decimal(u16),
    Hex(u16),
}

/// Words of HTTP/1.1: random bytes alone rarely spell a request head.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Token {
    Get,
    Head,
    Post,
    Options,
    Connect,
    Slash,
    Star,
    Space,
    Tab,
    Crlf,
    Lf,
    Cr,
    Colon,
    Semicolon,
    Comma,
    Http11,
    Http10,
    Http12,
    Host,
    ContentLength,
    TransferEncoding,
    Chunked,
    Gzip,
    ConnectionClose,
    KeepAlive,
    Expect,
    Upgrade,
    LastChunk,
}

impl Token {
    fn bytes(self) -> &'static [u8] {
        match self {
            Token::Get => b"GET",
            Token::Head => b"HEAD",
            Token::Post => b"POST",
            Token::Options => b"OPTIONS",
            Token::Connect => b"CONNECT",
            Token::Slash => b"/",
            Token::Star => b"*",
            Token::Space => b" ",
            Token::Tab => b"\t",
            Token::Crlf => b"\r\n",
            Token::Lf => b"\n",
            Token::Cr => b"\r",
            Token::Colon => b":",
            Token::Semicolon => b";",
            Token::Comma => b",",
            Token::Http11 => b" HTTP/1.1\r\n",
            Token::Http10 => b" HTTP/1.0\r\n",
            Token::Http12 => b" HTTP/1.2\r\n",
            Token::Host => b"Host: a\r\n",
            Token::ContentLength => b"Content-Length: ",
            Token::TransferEncoding => b"Transfer-Encoding: ",
            Token::Chunked => b"chunked",
            Token::Gzip => b"gzip",
            Token::ConnectionClose => b"Connection: close\r\n",
            Token::KeepAlive => b"Connection: keep-alive\r\n",
            Token::Expect => b"Expect: 100-continue\r\n",
            Token::Upgrade => b"Connection: upgrade\r\nUpgrade: x\r\n",
            Token::LastChunk => b"0\r\n\r\n",
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Request {
    verb: Verb,
    path: u8,
    body: Body,
    close: bool,
    expect: bool,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Verb {
    Get,
    Head,
    Post,
    Put,
}

#[derive(Arbitrary, Debug)]
enum Body {
    None,
    Length(Vec<u8>),
    Chunked { chunks: Vec<Vec<u8>>, trailer: bool },
}

impl Request {
    fn encode(&self) -> Vec<u8> {
        let verb = match self.verb {
            Verb::Get => "GET",
            Verb::Head => "HEAD",
            Verb::Post => "POST",
            Verb::Put => "PUT",
        };
        let mut out = format!(
            "{verb} /{} HTTP/1.1\r\nHost: a\r\n",
            "p".repeat(self.path.into())
        );
        if self.close {
            out.push_str("Connection: close\r\n");
        }
        if self.expect {
            out.push_str("Expect: 100-continue\r\n");
        }
        let mut out = out.into_bytes();
        match &self.body {
            Body::None => out.extend_from_slice(b"\r\n"),
            Body::Length(data) => {
                out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", data.len()).as_bytes());
                out.extend_from_slice(data);
            }
            Body::Chunked { chunks, trailer } => {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                for chunk in chunks.iter().filter(|chunk| !chunk.is_empty()) {
                    out.extend_from_slice(format!("{:x};e=1\r\n", chunk.len()).as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n");
                if *trailer {
                    out.extend_from_slice(b"x-t: 1\r\n");
                }
                out.extend_from_slice(b"\r\n");
            }
        }
        out
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

fn config(knobs: &Knobs) -> Config {
    let mut config = Config::default();
    config.limits.recv_buffer = 2048;
    config.limits.max_head_bytes = 1024;
    config.limits.max_request_line = 512;
    config.limits.max_headers = 16;
    config.limits.max_chunk_line = 64;
    config.limits.max_trailer_bytes = 512;
    config.limits.max_body = 8192;
    config.limits.max_transmit = 4096;
    config.limits.discard_body = 1024;
    config.limits.linger_bytes = 4096;
    config.lenient_bare_lf = knobs.lenient_bare_lf;
    if knobs.manual_continue {
        config.continue_mode = ContinueMode::Manual;
    }
    config.max_requests_per_connection = knobs.max_requests.map(|n| u64::from(n) + 1);
    config
}

/// More than any `Echo` response head here takes (the request line is at
/// most 512 bytes), or an error response, or a `100 Continue`.
const HEAD_ROOM: usize = 1024;

#[allow(
    clippy::disallowed_methods,
    reason = "one real origin; all later time is virtual"
)]
fn origin() -> Instant {
    Instant::now()
}

fn feed(h: &mut Harness, bytes: &[u8], step: u8) {
    if step == 0 {
        h.feed(bytes);
    } else {
        let cuts: Vec<usize> = (1..bytes.len()).step_by(step.into()).collect();
        h.feed_split(bytes, &cuts);
    }
}

fn check_bounds(h: &Harness, config: &Config) {
    let limits = &config.limits;
    let recv_bound = limits.recv_buffer.max(limits.max_head_bytes).max(1024);
    assert!(
        h.max_buffered <= recv_bound,
        "buffered {} > {recv_bound}",
        h.max_buffered
    );
    // One response (head, echoed body, maybe a 100 Continue) past the bound.
    let transmit_bound = limits.max_transmit + limits.max_body as usize + 2 * HEAD_ROOM;
    assert!(
        h.max_transmit <= transmit_bound,
        "queued {} > {transmit_bound}",
        h.max_transmit
    );
    if h.is_closed() {
        assert_eq!(
            h.conn.poll_timeout(),
            None,
            "a closed connection has no deadline"
        );
        assert!(!h.conn.wants_read(), "a closed connection reads nothing");
    }
}

/// Request, body and trailers, end; an error ends parsing; `Closed` is last.
fn check_order(records: &[Record]) {
    let mut in_request = false;
    let mut failed = false;
    for (i, record) in records.iter().enumerate() {
        match record {
            Record::Closed(_) => assert_eq!(i + 1, records.len(), "Closed is last: {records:?}"),
            _ if failed => panic!("an event after an error: {records:?}"),
            Record::Error(_) => failed = true,
            Record::Request { .. } => {
                assert!(!in_request, "a request inside a request: {records:?}");
                in_request = true;
            }
            Record::Body(_) | Record::Trailers(_) => assert!(in_request, "{records:?}"),
            Record::RequestEnd => {
                assert!(in_request, "an end without a request: {records:?}");
                in_request = false;
            }
            Record::Upgrade(_) => panic!("Echo never upgrades: {records:?}"),
        }
    }
}

/// The error's response is the last thing sent: its status line, then a
/// body naming the error (which cannot itself hold a status line). A
/// response to HEAD announces its body and does not send it (RFC 9110
/// §9.3.2), also when the HEAD request's own head was
/// refused or timed out half-sent; the target does not track which request
/// the error is about, so an empty body is accepted when the peer sent a
/// HEAD request at all, and the announced length must still be the text's.
fn check_error_response(sent: &[u8], error: ProtocolError, peer_sent_head: bool) {
    let start = sent
        .windows(9)
        .rposition(|window| window == b"HTTP/1.1 ")
        .expect("the error response was sent");
    let mut fields = [httparse::EMPTY_HEADER; 16];
    let mut response = httparse::Response::new(&mut fields);
    let Ok(httparse::Status::Complete(len)) = response.parse(&sent[start..]) else {
        panic!(
            "the last response does not parse: {:?}",
            String::from_utf8_lossy(&sent[start..])
        );
    };
    assert_eq!(
        response.code,
        Some(error.status().as_u16()),
        "status for {error:?}"
    );
    let text = format!("{error}\n");
    let body = &sent[start + len..];
    if body.is_empty() && peer_sent_head {
        let announced = response
            .headers
            .iter()
            .find(|field| field.name.eq_ignore_ascii_case("content-length"))
            .map(|field| field.value);
        assert_eq!(
            announced,
            Some(text.len().to_string().as_bytes()),
            "a bodiless error response to HEAD announces its text's length"
        );
        return;
    }
    assert_eq!(body, text.as_bytes());
}

fuzz_target!(|input: Input| {
    let config = config(&input.knobs);
    let mut h = Harness::new(config.clone(), origin(), Echo::default());
    let mut fed = Vec::new();
    for op in &input.ops {
        match op {
            Op::Send { pieces, step } => {
                let bytes = encode(pieces);
                fed.extend_from_slice(&bytes);
                feed(&mut h, &bytes, *step)
            }
            Op::Request { request, step } => {
                let bytes = request.encode();
                fed.extend_from_slice(&bytes);
                feed(&mut h, &bytes, *step)
            }
            Op::Advance(quarters) => h.advance(Duration::from_millis(250 * u64::from(*quarters))),
            Op::PeerReads(reads) => {
                h.peer_reads = *reads;
                h.feed(&[]);
            }
            Op::Eof => h.eof(),
            Op::Shutdown => h.shutdown(),
        }
        check_bounds(&h, &config);
        check_order(h.records());
    }

    h.peer_reads = true;
    h.feed(&[]);
    h.eof();
    h.advance(Duration::from_secs(600));
    check_bounds(&h, &config);
    check_order(h.records());
    assert!(
        h.is_closed(),
        "still open after EOF and every deadline: {:?}",
        h.conn.state()
    );
    let Some(Record::Closed(reason)) = h.records().last() else {
        panic!("no Closed event: {:?}", h.records());
    };
    let error = h.records().iter().find_map(|record| match record {
        Record::Error(error) => Some(*error),
        _ => None,
    });
    let peer_sent_head = fed.windows(5).any(|window| window == b"HEAD ");
    // Other reasons (a stalled writer, a shutdown deadline) drop the output.
    match (error, *reason) {
        (Some(error), CloseReason::ProtocolError(closed)) => {
            assert_eq!(error, closed);
            check_error_response(h.sent(), error, peer_sent_head);
        }
        (Some(error), CloseReason::Shutdown) => {
            check_error_response(h.sent(), error, peer_sent_head)
        }
        _ => {}
    }
});
