//! The client role: the same framing, limits and strictness, from the other
//! side. A [`ClientConnection`] sends requests (pipelined if you like) and
//! parses the responses in order, with the body rules that depend on the
//! request (HEAD, CONNECT) and the status (1xx, 204, 304).
//!
//! Every state and transition is in `state.rs`, under its diagram; this
//! file holds the role's getters and its place in the shared skeleton
//! ([`Connection`]).
//!
//! Method groups and the drain rule are the server's: inputs with `now`,
//! commands, `poll_*` outputs drained after each, getters.

mod commands;
mod message;
mod parse;
mod state;
mod step;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::HeaderMap;

use crate::conn::{Connection, Role};
use crate::timer::ClientTimer;
use crate::transmit::TransmitQueue;
use crate::{CloseReason, Config, ProtocolError};

use state::{InFlight, Reading, Writing};

pub(crate) use message::OutgoingBody;
pub use message::{ClientRequest, ReceivedResponse, ResponseBody};

/// What a client connection reports, in order.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ClientEvent {
    /// An informational response (100, 103, ...) to the oldest request.
    Informational(ReceivedResponse),
    /// The final response head to the oldest request in flight.
    Response(ReceivedResponse),
    /// A piece of the response body (no copy).
    Body(Bytes),
    /// The trailer section of a chunked response.
    Trailers(HeaderMap),
    /// The response is complete.
    ResponseEnd,
    /// 101, or 2xx to CONNECT: the connection is the application's, starting
    /// with these bytes.
    Upgrade {
        /// Bytes received after the response head.
        leftover: Bytes,
    },
    /// The server broke HTTP or a limit, or was too slow; the connection is
    /// closed. Requests still in flight get no response.
    Error(ProtocolError),
    /// The connection is closed. Sent once, last.
    Closed(CloseReason),
}

/// One client-side HTTP/1.1 connection, without I/O: the shared
/// [`Connection`] skeleton in the [`Client`] role.
pub type ClientConnection = Connection<Client>;

/// The client role's own states (see `state.rs` for every transition).
#[derive(Debug)]
pub struct Client {
    /// Request body held until `100 Continue`.
    held: TransmitQueue,
    /// Where heads and chunk lines are encoded before being queued (or held).
    scratch: bytes::BytesMut,
    writing: Writing,
    reading: Reading,
    in_flight: VecDeque<InFlight>,
    responses: u64,
}

impl Role for Client {
    type Timer = ClientTimer;
    type Event = ClientEvent;

    fn wants_read(conn: &ClientConnection) -> bool {
        conn.wants_read()
    }

    fn received(conn: &mut ClientConnection, now: Instant) {
        conn.received(now);
    }

    fn step(conn: &mut ClientConnection) -> bool {
        conn.step()
    }

    fn fire(conn: &mut ClientConnection, timer: ClientTimer, _now: Instant) {
        conn.fire(timer);
    }

    fn written(_conn: &mut ClientConnection) {}

    fn close_now(conn: &mut ClientConnection, reason: CloseReason) {
        conn.close_now(reason);
    }
}

impl ClientConnection {
    /// A new connection, opened at `now`.
    pub fn new(config: Arc<Config>, now: Instant) -> Self {
        let role = Client {
            held: TransmitQueue::default(),
            scratch: bytes::BytesMut::new(),
            writing: Writing::Idle,
            reading: Reading::new_head(),
            in_flight: VecDeque::new(),
            responses: 0,
        };
        Connection::with_role(config, now, role)
    }

    /// Whether a new request can be sent now (the previous body is finished
    /// and the connection is not closing).
    pub fn can_send(&self) -> bool {
        !self.closed
            && self.closing.is_none()
            && self.role.writing == Writing::Idle
            && !matches!(self.role.reading, Reading::Upgraded)
    }

    /// Requests sent whose responses have not ended.
    pub fn in_flight(&self) -> usize {
        self.role.in_flight.len()
    }

    /// Responses completed on this connection.
    pub fn responses(&self) -> u64 {
        self.role.responses
    }

    /// Whether the connection wants input now.
    pub fn wants_read(&self) -> bool {
        !self.closed
            && !self.peer_eof
            && !self.wire.recv.is_full()
            && !matches!(self.role.reading, Reading::Upgraded)
    }

    /// How many more body bytes `send_body` takes now.
    pub fn send_capacity(&self) -> usize {
        self.config
            .limits
            .max_transmit
            .saturating_sub(self.wire.transmit.len() + self.role.held.len())
    }

    /// The server closed its side.
    pub fn handle_eof(&mut self, now: Instant) {
        self.wire.on_input(now);
        self.peer_eof = true;
    }
}
