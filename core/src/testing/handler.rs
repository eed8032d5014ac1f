//! Testing one's own [`Handler`] or [`AsyncHandler`] without sockets: the
//! real [`Session`] and connection, a virtual clock, and the responses read
//! back as status, fields and body (streamed bodies included).
//!
//! ```
//! use std::time::Instant;
//! use nutshell_core::http::StatusCode;
//! use nutshell_core::service::{Request, Response};
//! use nutshell_core::testing::Harness;
//! use nutshell_core::{Config, ResponseHead};
//!
//! let hello = |request: Request| {
//!     let name = request.head.query().unwrap_or("nobody").to_owned();
//!     Response::full(ResponseHead::new(StatusCode::OK), format!("hello {name}"))
//! };
//! # #[allow(clippy::disallowed_methods)]
//! let mut h = Harness::handler(Config::default(), hello, Instant::now());
//! let responses = h.request(b"GET /?you HTTP/1.1\r\nHost: a\r\n\r\n");
//! assert_eq!(responses[0].status, StatusCode::OK);
//! assert_eq!(responses[0].body, "hello you");
//! ```

use std::collections::VecDeque;
use std::future::Future;
use std::io::IoSlice;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

use super::{Harness, WALL_CLOCK_START};
use crate::service::{panic_message, AsyncHandler, Handler, Request, Response, Session};
use crate::{Config, ServerConnection};

/// One response as the peer read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResponse {
    /// The status.
    pub status: StatusCode,
    /// The fields, framing and `Date` included.
    pub headers: HeaderMap,
    /// The body, de-chunked (empty for HEAD, 1xx, 204 and 304).
    pub body: Bytes,
    /// The trailer section of a chunked body.
    pub trailers: HeaderMap,
}

impl TestResponse {
    /// The first value of a field as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

type Call = Box<dyn FnMut(Request) -> Response>;

/// A [`Session`] serving a handler, with a virtual clock and a scripted
/// peer. Made by [`Harness::handler`] or [`Harness::async_handler`].
pub struct HandlerHarness {
    session: Session,
    call: Call,
    now: Instant,
    sent: Vec<u8>,
    /// Where the next response to read back starts in `sent`.
    read_at: usize,
    /// For each request answered and not yet read back: was it a HEAD?
    heads: VecDeque<bool>,
    pending_input: Vec<u8>,
}

impl std::fmt::Debug for HandlerHarness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerHarness")
            .field("session", &self.session)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl Harness {
    /// A harness serving a synchronous handler, as every shell would.
    pub fn handler(config: Config, handler: impl Handler, origin: Instant) -> HandlerHarness {
        HandlerHarness::new(config, origin, Box::new(move |r| handler.handle(r)))
    }

    /// A harness serving an async handler; each call is run to completion
    /// on a small executor of the harness's own (a parked thread).
    pub fn async_handler(
        config: Config,
        handler: impl AsyncHandler,
        origin: Instant,
    ) -> HandlerHarness {
        HandlerHarness::new(config, origin, Box::new(move |r| block_on(handler.call(r))))
    }
}

impl HandlerHarness {
    fn new(config: Config, origin: Instant, call: Call) -> Self {
        let wall = SystemTime::UNIX_EPOCH + WALL_CLOCK_START;
        HandlerHarness {
            session: Session::new(ServerConnection::new(Arc::new(config), origin, wall)),
            call,
            now: origin,
            sent: Vec::new(),
            read_at: 0,
            heads: VecDeque::new(),
            pending_input: Vec::new(),
        }
    }

    /// Sends `bytes` and returns the responses that are complete after it.
    pub fn request(&mut self, bytes: &[u8]) -> Vec<TestResponse> {
        self.feed(bytes);
        self.responses()
    }

    /// Sends `bytes` from the peer (as much as the connection takes; the
    /// rest is offered again after each later step).
    pub fn feed(&mut self, bytes: &[u8]) {
        self.pending_input.extend_from_slice(bytes);
        self.pump();
    }

    /// The peer closes its sending side.
    pub fn eof(&mut self) {
        self.pump();
        if self.pending_input.is_empty() {
            self.session.conn().handle_eof(self.now);
            self.settle();
        }
    }

    /// Moves the virtual clock forward, firing every deadline on the way.
    pub fn advance(&mut self, by: Duration) {
        let until = self.now + by;
        while let Some(deadline) = self.session.connection().poll_timeout() {
            if deadline > until {
                break;
            }
            self.now = self.now.max(deadline);
            self.session.conn().handle_timeout(self.now);
            self.settle();
        }
        self.now = until;
        self.session.conn().handle_timeout(self.now);
        self.pump();
    }

    /// The responses completed since the last call, parsed.
    pub fn responses(&mut self) -> Vec<TestResponse> {
        let mut responses = Vec::new();
        let closed = self.session.connection().is_closed();
        while self.read_at < self.sent.len() {
            let head_request = self.heads.front().copied().unwrap_or(false);
            let parsed = parse_response(&self.sent[self.read_at..], head_request, closed);
            let Some((response, used)) = parsed else {
                break;
            };
            self.read_at += used;
            if !response.status.is_informational() {
                self.heads.pop_front();
            }
            responses.push(response);
        }
        responses
    }

    /// Every byte the server sent.
    pub fn sent(&self) -> &[u8] {
        &self.sent
    }

    /// Whether the connection is closed.
    pub fn is_closed(&self) -> bool {
        self.session.connection().is_closed()
    }

    /// The session, to look at its connection.
    pub fn session(&mut self) -> &mut Session {
        &mut self.session
    }

    fn pump(&mut self) {
        for _ in 0..10_000 {
            self.settle();
            if self.pending_input.is_empty() || self.session.connection().is_closed() {
                return;
            }
            let taken = self
                .session
                .conn()
                .handle_read(&self.pending_input, self.now);
            if taken == 0 {
                self.settle();
                return;
            }
            self.pending_input.drain(..taken);
        }
        panic!("the connection did not settle within 10,000 steps");
    }

    /// Answers requests and reads everything the server sends (streamed
    /// bodies move on as the output drains), until nothing moves.
    fn settle(&mut self) {
        for _ in 0..1_000_000 {
            while let Some(request) = self.session.poll_request() {
                self.heads.push_back(request.head.method() == Method::HEAD);
                let call = &mut self.call;
                match catch_unwind(AssertUnwindSafe(|| call(request))) {
                    Ok(response) => self.session.respond(response),
                    Err(panic) => self.session.respond_panicked(panic_message(&*panic)),
                }
            }
            let conn = self.session.conn();
            if !conn.wants_write() {
                if conn.poll_timeout().is_some_and(|at| at <= self.now) {
                    conn.handle_timeout(self.now);
                    continue;
                }
                return;
            }
            let mut slices = [IoSlice::new(&[]); 8];
            let n = conn.transmit_slices(&mut slices);
            let mut written = 0;
            for slice in &slices[..n] {
                self.sent.extend_from_slice(slice);
                written += slice.len();
            }
            conn.advance_transmit(written, self.now);
        }
        panic!("the connection did not settle within 1,000,000 steps");
    }
}

/// Runs a future to completion on the calling thread.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}

/// Parses one response at the start of `bytes`; `None` if incomplete. With
/// `closed`, a body without framing ends at the end of `bytes`.
fn parse_response(bytes: &[u8], head_request: bool, closed: bool) -> Option<(TestResponse, usize)> {
    let mut fields = [httparse::EMPTY_HEADER; 128];
    let mut parsed = httparse::Response::new(&mut fields);
    let httparse::Status::Complete(head_len) = parsed.parse(bytes).ok()? else {
        return None;
    };
    let status = StatusCode::from_u16(parsed.code?).ok()?;
    let headers = to_map(parsed.headers);
    let rest = &bytes[head_len..];
    let bodiless = head_request
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let chunked = headers
        .get(http::header::TRANSFER_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
    let length = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    let (body, trailers, used) = if bodiless {
        (Bytes::new(), HeaderMap::new(), 0)
    } else if chunked {
        dechunk(rest)?
    } else if let Some(length) = length {
        let body = rest.get(..length)?;
        (Bytes::copy_from_slice(body), HeaderMap::new(), length)
    } else if closed {
        (Bytes::copy_from_slice(rest), HeaderMap::new(), rest.len())
    } else {
        return None;
    };
    let response = TestResponse {
        status,
        headers,
        body,
        trailers,
    };
    Some((response, head_len + used))
}

fn to_map(fields: &[httparse::Header<'_>]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for field in fields {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(field.name.as_bytes()),
            HeaderValue::from_bytes(field.value),
        ) {
            map.append(name, value);
        }
    }
    map
}

/// A chunked body: data, trailers, bytes used; `None` if incomplete.
fn dechunk(bytes: &[u8]) -> Option<(Bytes, HeaderMap, usize)> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let line_end = at + bytes[at..].windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&bytes[at..line_end]).ok()?;
        let size = line.split(';').next()?.trim();
        let size = usize::from_str_radix(size, 16).ok()?;
        at = line_end + 2;
        if size == 0 {
            let mut fields = [httparse::EMPTY_HEADER; 64];
            let httparse::Status::Complete((used, trailers)) =
                httparse::parse_headers(&bytes[at..], &mut fields).ok()?
            else {
                return None;
            };
            return Some((Bytes::from(body), to_map(trailers), at + used));
        }
        body.extend_from_slice(bytes.get(at..at + size)?);
        at += size + 2;
        if bytes.len() < at {
            return None;
        }
    }
}
