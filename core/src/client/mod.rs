//! The client role: the same framing, limits and strictness, from the other
//! side. A [`ClientConnection`] sends requests (pipelined if you like) and
//! parses the responses in order, with the body rules that depend on the
//! request (HEAD, CONNECT) and the status (1xx, 204, 304).
//!
//! ```text
//!  writing:  Idle ──send_request──► Body ──finish──► Idle        (pipelining: again)
//!                                    │ Expect: 100-continue: body held until
//!                                    │ 100 arrives or Timeouts::expect_continue
//!  reading:  Head ──final head──► Body ──end──► Head (next in flight)
//!             │ 1xx: Informational, stay      │ 101 / CONNECT 2xx: Upgraded
//!             └ no request in flight + bytes: UnexpectedResponse
//! ```
//!
//! Method groups and the drain rule are the server's: inputs with `now`,
//! commands, `poll_*` outputs drained after each, getters.

mod commands;
mod message;
mod parse;
mod step;

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::HeaderMap;

use crate::decode::BodyDecoder;
use crate::encode::BodyEncoder;
use crate::timer::ClientTimer as Timer;
use crate::transmit::TransmitQueue;
use crate::wire::Wire;
use crate::{CloseReason, Config, ProtocolError};

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

/// One client-side HTTP/1.1 connection, without I/O.
#[derive(Debug)]
pub struct ClientConnection {
    config: Arc<Config>,
    /// Receive buffer, transmit queue, timers, the latest `now`.
    wire: Wire<Timer>,
    /// Request body held until `100 Continue`.
    held: TransmitQueue,
    /// Where heads and chunk lines are encoded before being queued (or held).
    scratch: bytes::BytesMut,
    writing: Writing,
    reading: Reading,
    in_flight: VecDeque<InFlight>,
    events: VecDeque<ClientEvent>,
    /// No new request may start; close once the responses in flight end.
    closing: Option<CloseReason>,
    closed: bool,
    peer_eof: bool,
    head_scan: usize,
    responses: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writing {
    /// Ready for the next request.
    Idle,
    /// Sending a request body.
    Body { encoder: BodyEncoder },
}

#[derive(Debug)]
enum Reading {
    Head,
    Body {
        decoder: BodyDecoder,
        keep_alive: bool,
    },
    Upgraded,
}

/// A request sent whose response has not ended.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    head: bool,
    connect: bool,
    /// The body is held until `100 Continue`.
    awaiting_continue: bool,
}

impl ClientConnection {
    /// A new connection, opened at `now`.
    pub fn new(config: Arc<Config>, now: Instant) -> Self {
        ClientConnection {
            wire: Wire::new(&config, now),
            held: TransmitQueue::default(),
            scratch: bytes::BytesMut::new(),
            writing: Writing::Idle,
            reading: Reading::Head,
            in_flight: VecDeque::new(),
            events: VecDeque::new(),
            closing: None,
            closed: false,
            peer_eof: false,
            head_scan: 0,
            responses: 0,
            config,
        }
    }

    /// Whether a new request can be sent now (the previous body is finished
    /// and the connection is not closing).
    pub fn can_send(&self) -> bool {
        !self.closed
            && self.closing.is_none()
            && self.writing == Writing::Idle
            && !matches!(self.reading, Reading::Upgraded)
    }

    /// Requests sent whose responses have not ended.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Responses completed on this connection.
    pub fn responses(&self) -> u64 {
        self.responses
    }

    /// Whether the connection wants input now.
    pub fn wants_read(&self) -> bool {
        !self.closed
            && !self.peer_eof
            && !self.wire.recv.is_full()
            && !matches!(self.reading, Reading::Upgraded)
    }

    /// Whether output is waiting to be written.
    pub fn wants_write(&self) -> bool {
        !self.wire.transmit.is_empty()
    }

    /// Whether the connection is closed.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// How many bytes `handle_read` takes now (0 while `wants_read()` is
    /// false).
    pub fn recv_capacity(&self) -> usize {
        if self.wants_read() {
            self.wire.recv.room()
        } else {
            0
        }
    }

    /// Bytes queued for sending.
    pub fn transmit_len(&self) -> usize {
        self.wire.transmit.len()
    }

    /// How many more body bytes `send_body` takes now.
    pub fn send_capacity(&self) -> usize {
        self.config
            .limits
            .max_transmit
            .saturating_sub(self.wire.transmit.len() + self.held.len())
    }

    // ---- input ----

    /// Space to read into; follow with [`commit_recv`](Self::commit_recv).
    pub fn recv_buf(&mut self) -> &mut [u8] {
        let wanted = self.wants_read();
        self.wire.recv_buf(wanted)
    }

    /// Records that `n` bytes were read into `recv_buf`.
    pub fn commit_recv(&mut self, n: usize, now: Instant) {
        let n = self.wire.commit(n, now);
        self.after_recv(n, now);
    }

    /// Copies input in; returns how much was taken.
    pub fn handle_read(&mut self, input: &[u8], now: Instant) -> usize {
        let wanted = self.wants_read();
        let n = self.wire.copy_in(input, now, wanted);
        self.after_recv(n, now);
        n
    }

    fn after_recv(&mut self, n: usize, now: Instant) {
        if n > 0 && matches!(self.reading, Reading::Body { .. }) {
            self.wire
                .timers
                .set(Timer::Body, now + self.config.timeouts.body);
        }
    }

    /// The server closed its side.
    pub fn handle_eof(&mut self, now: Instant) {
        self.wire.on_input(now);
        self.peer_eof = true;
    }

    /// Acts on every deadline at or before `now`; earlier calls are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.wire.on_input(now);
        while let Some(timer) = self.wire.timers.expired(now) {
            self.wire.timers.stop(timer);
            match timer {
                Timer::Head | Timer::Body => self.fail(ProtocolError::ResponseTimeout),
                Timer::Write => self.close_now(CloseReason::WriteStalled),
                Timer::Idle => self.close_now(CloseReason::IdleTimeout),
                Timer::Continue => self.release_held(),
            }
            if self.closed {
                return;
            }
        }
    }

    /// Writing failed: the connection closes at once.
    pub fn handle_write_error(&mut self) {
        self.close_now(CloseReason::WriteError);
    }

    // ---- output ----

    /// Fills `slices` with the bytes to send; returns how many it filled.
    pub fn transmit_slices<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize {
        self.wire.transmit_slices(slices)
    }

    /// Records that `written` bytes were sent at `now`.
    pub fn advance_transmit(&mut self, written: usize, now: Instant) {
        self.wire.advance(written, now);
    }

    /// Takes the next piece of output (taking counts as writing).
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Bytes> {
        self.wire.pop(now)
    }

    /// The earliest deadline; `None` when closed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        self.wire.next_deadline()
    }

    /// The next event, or `None` until the next input or command.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Some(event);
            }
            if !self.step() {
                return None;
            }
        }
    }

    // ---- shared plumbing ----

    fn queue(&mut self, bytes: Bytes, held: bool) {
        if held {
            self.held.push(bytes);
        } else {
            self.wire.queue(bytes);
        }
    }

    /// Sends a body held for `100 Continue`.
    fn release_held(&mut self) {
        self.wire.timers.stop(Timer::Continue);
        if let Some(front) = self.in_flight.iter_mut().find(|f| f.awaiting_continue) {
            front.awaiting_continue = false;
        }
        while let Some(bytes) = self.held.pop() {
            self.queue(bytes, false);
        }
        self.arm_head_timer();
    }

    /// The response head is due once a request is fully on its way.
    fn arm_head_timer(&mut self) {
        let waiting = !self.in_flight.is_empty()
            && matches!(self.reading, Reading::Head)
            && !self.wire.timers.is_armed(Timer::Head);
        if waiting && self.writing == Writing::Idle && self.held.is_empty() {
            self.wire.start(Timer::Head, self.config.timeouts.head);
        }
    }

    fn fail(&mut self, error: ProtocolError) {
        self.events.push_back(ClientEvent::Error(error));
        self.close_now(CloseReason::ProtocolError(error));
    }

    fn close_now(&mut self, reason: CloseReason) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.wire.transmit.clear();
        self.held.clear();
        self.wire.timers.stop_all();
        self.events.push_back(ClientEvent::Closed(reason));
    }
}
