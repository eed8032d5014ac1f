//! The access records a `Session` gathers (timed with the `now`s it is
//! given), and request bodies streamed to a `BodyReader` with
//! backpressure, on a virtual clock without sockets.

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use nutshell_core::http::StatusCode;
use nutshell_core::service::{
    BodyReader, BodyStream, Exchange, Request, Response, Session, StreamingHandler, FEED_PIECES,
};
use nutshell_core::{CloseReason, Config, ResponseHead, ServerConnection};

#[allow(clippy::disallowed_methods)] // a test's origin for the virtual clock
fn origin() -> (Instant, SystemTime) {
    (Instant::now(), SystemTime::now())
}

fn session(access_log: bool, t0: Instant, wall: SystemTime) -> Session {
    let mut config = Config::default();
    config.access_log = access_log;
    let mut session = Session::new(ServerConnection::new(Arc::new(config), t0, wall));
    session.set_peer("127.0.0.1:4242".parse().unwrap());
    session
}

/// Writes everything queued, `step` later each time, one 1000-byte write
/// at a time; returns the time of the last write.
fn write_all(session: &mut Session, mut now: Instant, step: Duration) -> Instant {
    while session.connection().wants_write() {
        now += step;
        let n = session.connection().transmit_len().min(1000);
        session.conn().advance_transmit(n, now);
        session.drive(&|_: Request| unreachable_response());
    }
    now
}

fn unreachable_response() -> Response {
    Response::empty(ResponseHead::new(StatusCode::IM_A_TEAPOT))
}

/// `n` bytes of `x`, 512 at a time.
struct Xs(usize);

impl BodyStream for Xs {
    fn next_chunk(&mut self, max_len: usize) -> Option<Bytes> {
        let n = self.0.min(512).min(max_len);
        self.0 -= n;
        (n > 0).then(|| Bytes::from(vec![b'x'; n]))
    }
}

#[test]
fn a_record_per_exchange_ends_when_its_last_byte_is_written() {
    let (t0, wall) = origin();
    let mut s = session(true, t0, wall);
    s.conn()
        .handle_read(b"GET /stream?q=1 HTTP/1.1\r\nHost: a\r\n\r\n", t0);
    s.drive(&|_: Request| Response::stream(ResponseHead::new(StatusCode::OK), Xs(20_000)));
    assert!(s.take_access().is_empty(), "nothing is written yet");
    let last = write_all(&mut s, t0, Duration::from_millis(1));
    let records = s.take_access();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(
        (record.method.as_str(), record.target.as_str()),
        ("GET", "/stream?q=1")
    );
    assert_eq!(record.status, StatusCode::OK);
    assert_eq!(record.body_bytes, 20_000);
    assert_eq!(record.duration, last - t0);
    assert!(record.duration >= Duration::from_millis(20), "{record}");
    assert_eq!(record.peer, Some("127.0.0.1:4242".parse().unwrap()));
    assert!(record
        .to_string()
        .starts_with("127.0.0.1:4242 \"GET /stream?q=1\" 200 20000 "));
}

#[test]
fn pipelined_requests_get_one_record_each_and_head_sends_no_body_bytes() {
    let (t0, wall) = origin();
    let mut s = session(true, t0, wall);
    s.conn().handle_read(
        b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nHEAD /b HTTP/1.1\r\nHost: a\r\n\r\nGET /c HTTP/1.1\r\nHost: a\r\n\r\n",
        t0,
    );
    let hello = |_: Request| Response::full(ResponseHead::new(StatusCode::OK), "hello");
    s.drive(&hello);
    write_all(&mut s, t0, Duration::from_millis(1));
    let records = s.take_access();
    let seen: Vec<(&str, u64)> = records
        .iter()
        .map(|r| (r.target.as_str(), r.body_bytes))
        .collect();
    assert_eq!(seen, [("/a", 5), ("/b", 0), ("/c", 5)]);
}

#[test]
fn off_by_default_and_the_close_reason_is_kept() {
    let (t0, wall) = origin();
    let mut s = session(false, t0, wall);
    s.conn().handle_read(
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        t0,
    );
    s.drive(&|_: Request| Response::full(ResponseHead::new(StatusCode::OK), "hi"));
    let last = write_all(&mut s, t0, Duration::from_millis(1));
    // The peer reads the response and closes its end.
    s.conn().handle_eof(last);
    s.drive(&|_: Request| unreachable_response());
    assert!(s.take_access().is_empty());
    assert_eq!(s.close_reason(), Some(CloseReason::Done));
    assert_eq!(s.protocol_error(), None);
}

#[test]
fn a_protocol_error_is_kept_with_its_status() {
    let (t0, wall) = origin();
    let mut s = session(true, t0, wall);
    s.conn().handle_read(
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",
        t0,
    );
    s.drive(&|_: Request| unreachable_response());
    let error = s.protocol_error().expect("the core answered an error");
    assert_eq!(error.status(), StatusCode::BAD_REQUEST);
}

/// Counts the waker's calls.
fn counting_waker() -> (Arc<AtomicUsize>, Arc<dyn Fn() + Send + Sync>) {
    let wakes = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&wakes);
    (
        wakes,
        Arc::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        }),
    )
}

#[test]
fn a_body_streams_to_its_reader_at_most_a_few_pieces_ahead() {
    let (t0, wall) = origin();
    let mut s = session(false, t0, wall);
    let (wakes, waker) = counting_waker();
    s.set_body_waker(waker);
    let handler = StreamingHandler(|_: Request, _: BodyReader| unreachable_response());
    s.conn().handle_read(
        b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n",
        t0,
    );
    let Some(Exchange::Streaming(request, mut reader)) = s.poll_exchange(&handler) else {
        panic!("the request is handed out with its head");
    };
    assert_eq!(request.head.target(), "/up");
    assert!(request.body.is_empty());
    // Ten pieces of ten bytes: the session feeds FEED_PIECES of them, then
    // holds the core back until the reader takes one.
    for i in 0..10u8 {
        s.conn().handle_read(&[b'0' + i; 10], t0);
        assert!(s.poll_exchange(&handler).is_none());
    }
    let queued = s.connection().buffered();
    assert!(
        queued >= 10 * (10 - FEED_PIECES),
        "the core holds the rest: {queued}"
    );
    let mut piece = [0u8; 10];
    for i in 0..10u8 {
        assert_eq!(reader.read(&mut piece).unwrap(), 10);
        assert_eq!(piece, [b'0' + i; 10], "piece {i} in order");
        s.poll_exchange(&handler);
    }
    assert_eq!(reader.read(&mut piece).unwrap(), 0, "the end of the body");
    // Pieces the core delivered while held back arrive merged; each one
    // the reader took woke the shell.
    assert!(wakes.load(Ordering::SeqCst) >= 1);
    s.respond(Response::full(ResponseHead::new(StatusCode::OK), "got it"));
    assert!(s.connection().wants_write());
}

#[test]
fn a_reader_sees_an_error_when_the_connection_closes_mid_body() {
    let (t0, wall) = origin();
    let mut s = session(false, t0, wall);
    let (_, waker) = counting_waker();
    s.set_body_waker(waker);
    let handler = StreamingHandler(|_: Request, _: BodyReader| unreachable_response());
    s.conn().handle_read(
        b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc",
        t0,
    );
    let Some(Exchange::Streaming(_, mut reader)) = s.poll_exchange(&handler) else {
        panic!("streaming");
    };
    s.conn().handle_eof(t0);
    s.poll_exchange(&handler);
    let mut all = Vec::new();
    assert!(reader.read_to_end(&mut all).is_err());
    assert_eq!(all, b"abc");
}

#[test]
fn without_a_waker_the_reader_gets_the_collected_body() {
    let (t0, wall) = origin();
    let mut s = session(false, t0, wall);
    let handler = StreamingHandler(|_: Request, mut body: BodyReader| {
        let mut all = String::new();
        body.read_to_string(&mut all).unwrap();
        Response::full(ResponseHead::new(StatusCode::OK), all)
    });
    s.conn().handle_read(
        b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        t0,
    );
    let Some(exchange @ Exchange::Collected(_)) = s.poll_exchange(&handler) else {
        panic!("collected without a waker");
    };
    s.respond(exchange.run(&handler));
    let mut out = Vec::new();
    while let Some(bytes) = s.conn().poll_transmit(t0) {
        out.extend_from_slice(&bytes);
    }
    assert!(
        out.ends_with(b"\r\n\r\nhello"),
        "{}",
        String::from_utf8_lossy(&out)
    );
}
