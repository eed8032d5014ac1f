//! A deterministic harness: one [`ServerConnection`], a virtual clock and a
//! scripted peer, with no sockets and no sleeps.
//!
//! It is how this crate tests itself, and it is public so that you can test
//! your own protocol logic the same way: feed a byte stream whole, byte by
//! byte or split anywhere; move time forward; read back what the server
//! sent and a normalised [`Record`] of the events (body pieces merged, so
//! two splits of one stream compare equal).
//!
//! To test a [`Handler`](crate::service::Handler) instead, use
//! [`Harness::handler`]: it returns each response's status, fields and body.
//!
//! ```
//! use std::time::Instant;
//! use nutshell_core::testing::{Harness, Record};
//! use nutshell_core::Config;
//!
//! # #[allow(clippy::disallowed_methods)]
//! let mut h = Harness::echo(Config::default(), Instant::now());
//! h.feed(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi");
//! assert!(h.records().contains(&Record::Body(b"hi".to_vec())));
//! assert!(h.sent_text().starts_with("HTTP/1.1 200 OK\r\n"));
//! ```

use std::fmt;
use std::io::IoSlice;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};

use crate::{CloseReason, Config, Event, ProtocolError, ResponseHead, ServerConnection};

mod handler;
mod pair;

pub use handler::{HandlerHarness, TestResponse};
pub use pair::{ClientRecord, Pair};

/// What the application does with each event.
pub trait App {
    /// Called for every event, in order, right after `poll_event`.
    fn on_event(&mut self, conn: &mut ServerConnection, event: &Event);
}

impl<F: FnMut(&mut ServerConnection, &Event)> App for F {
    fn on_event(&mut self, conn: &mut ServerConnection, event: &Event) {
        self(conn, event)
    }
}

/// An application that answers each request, once it has been read, with
/// `200 OK`, an `x-request: METHOD TARGET` field and the request body as the
/// response body.
#[derive(Debug, Default)]
pub struct Echo {
    request: Option<String>,
    body: Vec<u8>,
}

impl App for Echo {
    fn on_event(&mut self, conn: &mut ServerConnection, event: &Event) {
        match event {
            Event::Request(head) => {
                self.request = Some(format!("{} {}", head.method(), head.target()));
                self.body.clear();
            }
            Event::Body(data) => self.body.extend_from_slice(data),
            Event::RequestEnd => {
                let summary = self.request.take().unwrap_or_default();
                let head = ResponseHead::new(StatusCode::OK).header(
                    HeaderName::from_static("x-request"),
                    HeaderValue::from_str(&summary).unwrap_or(HeaderValue::from_static("?")),
                );
                let body = Bytes::from(std::mem::take(&mut self.body));
                // A usage error here would be a bug in the core's bookkeeping.
                conn.respond(head, body).expect("echo response");
            }
            _ => {}
        }
    }
}

/// An event, normalised for comparison.
#[derive(Clone, PartialEq, Eq)]
pub enum Record {
    /// A request head: method, target, fields.
    Request {
        /// The method.
        method: String,
        /// The request-target.
        target: String,
        /// The fields, names lowercased.
        headers: Vec<(String, Vec<u8>)>,
    },
    /// Body bytes; consecutive pieces are merged.
    Body(Vec<u8>),
    /// A trailer section.
    Trailers(Vec<(String, Vec<u8>)>),
    /// The end of a request.
    RequestEnd,
    /// An upgrade, with the leftover bytes.
    Upgrade(Vec<u8>),
    /// A protocol error.
    Error(ProtocolError),
    /// The close.
    Closed(CloseReason),
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::Request {
                method,
                target,
                headers,
            } => {
                write!(f, "Request({method} {target}, {} fields)", headers.len())
            }
            Record::Body(body) => write!(f, "Body({:?})", String::from_utf8_lossy(body)),
            Record::Trailers(fields) => write!(f, "Trailers({fields:?})"),
            Record::RequestEnd => f.write_str("RequestEnd"),
            Record::Upgrade(left) => write!(f, "Upgrade({:?})", String::from_utf8_lossy(left)),
            Record::Error(error) => write!(f, "Error({error:?})"),
            Record::Closed(reason) => write!(f, "Closed({reason:?})"),
        }
    }
}

/// A server connection, a virtual clock and a scripted peer.
pub struct Harness {
    /// The connection under test.
    pub conn: ServerConnection,
    app: Box<dyn App>,
    now: Instant,
    sent: Vec<u8>,
    records: Vec<Record>,
    /// Whether the peer reads what the server sends (default true).
    pub peer_reads: bool,
    /// Bytes fed but not yet taken by the connection (backpressure).
    pending_input: Vec<u8>,
    /// The most bytes the connection ever held in its receive buffer.
    pub max_buffered: usize,
    /// The most bytes the connection ever had queued for sending.
    pub max_transmit: usize,
}

impl fmt::Debug for Harness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Harness")
            .field("conn", &self.conn)
            .field("records", &self.records)
            .finish()
    }
}

/// The wall-clock reading every harness starts from (a fixed date, so
/// `Date` values are reproducible): Sun, 06 Nov 1994 08:49:37 GMT.
pub const WALL_CLOCK_START: Duration = Duration::from_secs(784_111_777);

impl Harness {
    /// A harness around `app`, starting its virtual clock at `origin`.
    pub fn new(config: Config, origin: Instant, app: impl App + 'static) -> Self {
        let wall = SystemTime::UNIX_EPOCH + WALL_CLOCK_START;
        Harness {
            conn: ServerConnection::new(Arc::new(config), origin, wall),
            app: Box::new(app),
            now: origin,
            sent: Vec::new(),
            records: Vec::new(),
            peer_reads: true,
            pending_input: Vec::new(),
            max_buffered: 0,
            max_transmit: 0,
        }
    }

    /// A harness around [`Echo`].
    pub fn echo(config: Config, origin: Instant) -> Self {
        Harness::new(config, origin, Echo::default())
    }

    /// The virtual time now.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Sends `bytes` from the peer in one piece (as much as the connection
    /// takes; the rest waits and is offered again after each later step).
    pub fn feed(&mut self, bytes: &[u8]) {
        self.pending_input.extend_from_slice(bytes);
        self.pump();
    }

    /// Sends `bytes` one byte at a time.
    pub fn feed_bytewise(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.feed(std::slice::from_ref(byte));
        }
    }

    /// Sends `bytes` in pieces cut at `cuts` (offsets, ascending).
    pub fn feed_split(&mut self, bytes: &[u8], cuts: &[usize]) {
        let mut start = 0;
        for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
            let cut = cut.clamp(start, bytes.len());
            self.feed(&bytes[start..cut]);
            start = cut;
        }
    }

    /// The peer closes its sending side.
    pub fn eof(&mut self) {
        self.pump();
        if self.pending_input.is_empty() {
            self.conn.handle_eof(self.now);
            self.drain();
        }
    }

    /// Moves the virtual clock forward by `by`, firing every deadline on the
    /// way in order.
    pub fn advance(&mut self, by: Duration) {
        let until = self.now + by;
        while let Some(deadline) = self.conn.poll_timeout() {
            if deadline > until {
                break;
            }
            self.now = self.now.max(deadline);
            self.conn.handle_timeout(self.now);
            self.drain();
        }
        self.now = until;
        self.conn.handle_timeout(self.now);
        self.pump();
    }

    /// Starts a graceful shutdown now.
    pub fn shutdown(&mut self) {
        self.conn.shutdown(self.now);
        self.drain();
    }

    /// Offers pending input and drains all output, until nothing moves.
    fn pump(&mut self) {
        for _ in 0..10_000 {
            self.drain();
            if self.pending_input.is_empty() || self.conn.is_closed() {
                return;
            }
            let taken = self.conn.handle_read(&self.pending_input, self.now);
            if taken == 0 {
                self.drain();
                return;
            }
            self.pending_input.drain(..taken);
        }
        panic!("the connection did not settle within 10,000 steps");
    }

    /// Drains events (through the app) and, if the peer reads, output.
    pub fn drain(&mut self) {
        for _ in 0..100_000 {
            let mut moved = false;
            while let Some(event) = self.conn.poll_event() {
                moved = true;
                self.record(&event);
                self.app.on_event(&mut self.conn, &event);
            }
            self.max_buffered = self.max_buffered.max(self.conn.buffered());
            self.max_transmit = self.max_transmit.max(self.conn.transmit_len());
            if self.peer_reads && self.conn.wants_write() {
                let mut slices = [IoSlice::new(&[]); 8];
                let n = self.conn.transmit_slices(&mut slices);
                let mut written = 0;
                for slice in &slices[..n] {
                    self.sent.extend_from_slice(slice);
                    written += slice.len();
                }
                self.conn.advance_transmit(written, self.now);
                moved = true;
            }
            if self
                .conn
                .poll_timeout()
                .is_some_and(|deadline| deadline <= self.now)
            {
                self.conn.handle_timeout(self.now);
            }
            if !moved {
                return;
            }
        }
        panic!("the connection did not settle within 100,000 steps");
    }

    fn record(&mut self, event: &Event) {
        let record = match event {
            Event::Request(head) => Record::Request {
                method: head.method().to_string(),
                target: head.target().to_string(),
                headers: head
                    .headers()
                    .map(|(n, v)| (n.to_ascii_lowercase(), v.to_vec()))
                    .collect(),
            },
            Event::Body(data) => {
                if let Some(Record::Body(body)) = self.records.last_mut() {
                    body.extend_from_slice(data);
                    return;
                }
                Record::Body(data.to_vec())
            }
            Event::Trailers(map) => Record::Trailers(
                map.iter()
                    .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
                    .collect(),
            ),
            Event::RequestEnd => Record::RequestEnd,
            Event::Upgrade { leftover } => Record::Upgrade(leftover.to_vec()),
            Event::Error(error) => Record::Error(*error),
            Event::Closed(reason) => Record::Closed(*reason),
        };
        self.records.push(record);
    }

    /// What the server has sent so far.
    pub fn sent(&self) -> &[u8] {
        &self.sent
    }

    /// What the server has sent, as text (lossy).
    pub fn sent_text(&self) -> String {
        String::from_utf8_lossy(&self.sent).into_owned()
    }

    /// Takes what the server has sent so far.
    pub fn take_sent(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.sent)
    }

    /// The events so far, normalised.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Whether the connection is closed.
    pub fn is_closed(&self) -> bool {
        self.conn.is_closed()
    }
}
