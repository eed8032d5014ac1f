//! Limits, timeouts and switches, with documented defaults.
//!
//! Every bound on memory and every deadline a connection has is here, in one
//! place. A [`Config`] is shared by all connections of a server (wrap it in an
//! `Arc`); change fields on `Config::default()` to tune it.

use std::time::Duration;

use http::HeaderValue;

/// Everything a connection can be told. Both roles share it: for a client,
/// `head` and `body` bound the wait for the response, and the limits apply
/// to what the server sends.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Bounds on what a peer can make a connection hold or process.
    pub limits: Limits,
    /// How long the core waits for the peer at each step.
    pub timeouts: Timeouts,
    /// When the core sends `100 Continue` to a request that asks for it.
    pub continue_mode: ContinueMode,
    /// A `Server` header value added to every response, or none (the default).
    pub server_header: Option<HeaderValue>,
    /// Requests served on one connection before it is closed; `None` (the
    /// default) for no limit. The last response says `Connection: close`.
    pub max_requests_per_connection: Option<u64>,
    /// Accept a bare LF as a line ending in request heads and chunk lines.
    ///
    /// Off by default: RFC 9112 §2.2 allows it, but parsers that disagree on
    /// line endings are a classic request-smuggling vector.
    pub lenient_bare_lf: bool,
    /// Record an access record per exchange ([`Session::take_access`]), for
    /// the shell to log. Off by default. The core only gathers the facts
    /// (with the `now`s it is given); the shells log them at `info`.
    ///
    /// [`Session::take_access`]: crate::service::Session::take_access
    pub access_log: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            continue_mode: ContinueMode::Automatic,
            server_header: None,
            max_requests_per_connection: None,
            lenient_bare_lf: false,
            access_log: false,
        }
    }
}

/// Bounds on memory and work per connection. Exceeding one is answered with
/// the status named on each field, then the connection closes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Limits {
    /// Request line (method, target, version): 8 KiB. Longer: 414.
    pub max_request_line: usize,
    /// Whole request head, request line included: 16 KiB. Larger: 431.
    pub max_head_bytes: usize,
    /// Header fields in one head: 100. More: 431.
    pub max_headers: usize,
    /// Empty lines tolerated before a request line (RFC 9112 §2.2): 8. More: 400.
    pub max_empty_lines: usize,
    /// One chunk-size line, extensions included: 1 KiB. Longer: 400.
    pub max_chunk_line: usize,
    /// Trailer section of a chunked body: 8 KiB. Larger: 431.
    pub max_trailer_bytes: usize,
    /// Request body, declared or chunked: 16 MiB. Larger: 413.
    pub max_body: u64,
    /// Bytes received but not yet processed: 32 KiB. The core stops asking
    /// for input when it is full. Raised to `max_head_bytes` if smaller.
    pub recv_buffer: usize,
    /// Bytes queued for sending: 64 KiB. While more are pending, the core
    /// starts no new request and `wants_read()` is false.
    pub max_transmit: usize,
    /// Unread request body the core reads and drops after the response so the
    /// connection can be kept alive: 64 KiB. Larger bodies close instead.
    pub discard_body: u64,
    /// Bytes read and dropped while lingering before a close: 32 MiB. A
    /// client still uploading when it got an error response (413, 400)
    /// keeps sending until it reads that response; dropping what it sends,
    /// rather than resetting, is what lets it read it. Past this, close.
    pub linger_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: 8 * 1024,
            max_head_bytes: 16 * 1024,
            max_headers: 100,
            max_empty_lines: 8,
            max_chunk_line: 1024,
            max_trailer_bytes: 8 * 1024,
            max_body: 16 * 1024 * 1024,
            recv_buffer: 32 * 1024,
            max_transmit: 64 * 1024,
            discard_body: 64 * 1024,
            linger_bytes: 32 * 1024 * 1024,
        }
    }
}

/// Deadlines, all kept by the core and reported through `poll_timeout()`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Timeouts {
    /// Time to receive a whole request head: 30 s. It runs from the moment
    /// the connection opens, and for later requests from their first byte.
    /// Expiry: 408, then close (slowloris protection).
    pub head: Duration,
    /// Time a kept-alive connection may wait for the next request's first
    /// byte: 60 s. Expiry: a silent close.
    pub idle: Duration,
    /// Time without a byte while a request body is expected: 30 s.
    /// Expiry: 408 if no response has started, then close.
    pub body: Duration,
    /// Time without write progress while output is pending: 30 s (a peer
    /// that does not read). Expiry: close at once.
    pub write: Duration,
    /// Time a graceful `shutdown` waits for the request in flight: 30 s.
    /// Expiry: close at once.
    pub shutdown: Duration,
    /// Lingering before a close: the connection has sent its last response,
    /// shut down its sending side, and reads and drops input so that a peer
    /// still sending (a pipelining client, an uploader that got 413) reads
    /// the response before any reset. It closes once the peer has been quiet
    /// this long: 2 s (nginx's `lingering_timeout` plays the same part).
    pub linger: Duration,
    /// Lingering ends after this long, however busy the peer: 10 s (nginx's
    /// `lingering_time`).
    pub linger_total: Duration,
    /// (Client) Time a request body with `Expect: 100-continue` waits for
    /// the `100 Continue` before it is sent anyway: 1 s.
    pub expect_continue: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            head: Duration::from_secs(30),
            idle: Duration::from_secs(60),
            body: Duration::from_secs(30),
            write: Duration::from_secs(30),
            shutdown: Duration::from_secs(30),
            linger: Duration::from_secs(2),
            linger_total: Duration::from_secs(10),
            expect_continue: Duration::from_secs(1),
        }
    }
}

/// When `100 Continue` is sent to a request with `Expect: 100-continue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContinueMode {
    /// The core sends it when the application asks for the next event after
    /// the request head without having answered (it is reading the body).
    Automatic,
    /// Only `send_informational` with 100 sends it.
    Manual,
}

impl Config {
    /// The receive-buffer bound actually used: never below the head limit.
    pub(crate) fn recv_bound(&self) -> usize {
        self.limits
            .recv_buffer
            .max(self.limits.max_head_bytes)
            .max(1024)
    }
}
