//! The server connection: one HTTP/1.1 connection's whole state.
//!
//! Two directions, each with its own small state, and the rules that tie them
//! together in this module and its children:
//!
//! ```text
//!  reading:                                    writing:
//!
//!   ┌──────► Head ──head──► Body ──end──┐        Idle ──request──► Head
//!   │         │ (no body)               │         ▲                 │ send_response
//!   │         └───────────► Done ◄──────┘         │                 ▼
//!   │                        │                    │   finish     Body ──► Done
//!   └── keep-alive, once ────┤  (response done    └─ exchange ◄──────────────┘
//!       writing is Done      │   and body read)      complete
//!                            ▼
//!                 closing: flush ──► Lingering ──► Closed
//!                 error / EOF / limits: Stopped ──► (flush) ──► Lingering
//!                 accept_upgrade: Upgraded (the bytes are the application's)
//! ```
//!
//! - A new request head is parsed only when the previous exchange is
//!   complete (both directions Done): responses go out strictly in order, and
//!   pipelined bytes wait in the bounded receive buffer.
//! - A response finished before its request body was read drains the rest
//!   (Body with `discard`) up to `Limits::discard_body`, or closes.
//! - Once `closing` is set no new request starts; when the output is flushed
//!   the connection lingers (reads and drops) and then closes.

mod commands;
mod input;
mod output;
mod step;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use http::Version;

use crate::date::DateClock;
use crate::decode::BodyDecoder;
use crate::encode::BodyEncoder;
use crate::timer::Timer;
use crate::wire::Wire;
use crate::{CloseReason, Config, Event};

/// One server-side HTTP/1.1 connection, without I/O.
///
/// Method groups, as in the crate docs: `handle_*`, `recv_buf` and
/// `commit_recv` feed it input with `now`; `send_*`, `finish`,
/// `accept_upgrade` and `shutdown` are the application's commands;
/// `poll_event`, `transmit_slices` / `advance_transmit` (or `poll_transmit`)
/// and `poll_timeout` drain its output; the rest are getters.
#[derive(Debug)]
pub struct ServerConnection {
    config: Arc<Config>,
    /// Receive buffer, transmit queue, timers, the latest `now`.
    wire: Wire,
    clock: DateClock,
    reading: Reading,
    writing: Writing,
    /// The request being answered.
    exchange: Option<Exchange>,
    events: VecDeque<Event>,
    /// Requests started on this connection.
    requests: u64,
    /// Set once the connection will close after the output is flushed.
    closing: Option<CloseReason>,
    closed: bool,
    peer_eof: bool,
    /// The parser needs more bytes than are buffered.
    starved: bool,
    /// Empty lines skipped before the current request line.
    empty_lines: usize,
    /// Where the search for the head's end resumes.
    head_scan: usize,
    /// Body bytes still allowed to be dropped in discard mode.
    discard_left: u64,
    /// Bytes dropped while lingering.
    lingered: usize,
}

/// What the connection reads next.
#[derive(Debug)]
enum Reading {
    /// A request head (or nothing yet).
    Head,
    /// A request body; with `discard`, read and dropped after the response.
    Body { decoder: BodyDecoder, discard: bool },
    /// The request was read; its response is not finished.
    Done,
    /// Nothing more is parsed (an error, or closing mid-body).
    Stopped,
    /// Closing: input is read and dropped until EOF or the linger deadline.
    Lingering,
    /// The connection was handed over after `accept_upgrade`.
    Upgraded,
}

/// Where the response is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writing {
    /// No request is waiting.
    Idle,
    /// A request waits for its final response head.
    Head,
    /// The head is sent; the body goes out as framed.
    Body {
        encoder: BodyEncoder,
        keep_alive: bool,
    },
    /// The response is complete.
    Done { keep_alive: bool },
}

/// What the current request said that the response must respect.
#[derive(Debug, Clone, Copy)]
struct Exchange {
    version: Version,
    head_request: bool,
    keep_alive: bool,
    expects_continue: bool,
    continue_sent: bool,
    upgrade: bool,
    connect: bool,
}

/// Where a connection is, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Waiting for a request (nothing of it received yet).
    Idle,
    /// Receiving a request head.
    ReadingHead,
    /// Receiving a request body.
    ReadingBody,
    /// The request is read; the response is being produced or sent.
    Responding,
    /// Flushing the last response, then reading and dropping input before
    /// the close. The shell should shut down its write side once the
    /// transmit queue is empty.
    Closing,
    /// Handed over to another protocol.
    Upgraded,
    /// Closed: drop the socket.
    Closed,
}

impl ServerConnection {
    /// A new connection, opened at `now`. `wall_clock` is the current time of
    /// day at that same moment; the `Date` header is derived from it and the
    /// monotonic `now` of later inputs.
    pub fn new(config: Arc<Config>, now: Instant, wall_clock: SystemTime) -> Self {
        let mut wire = Wire::new(&config, now);
        wire.timers.set(Timer::Head, now + config.timeouts.head);
        ServerConnection {
            wire,
            clock: DateClock::new(now, wall_clock),
            reading: Reading::Head,
            writing: Writing::Idle,
            exchange: None,
            events: VecDeque::new(),
            requests: 0,
            closing: None,
            closed: false,
            peer_eof: false,
            starved: true,
            empty_lines: 0,
            head_scan: 0,
            discard_left: 0,
            lingered: 0,
            config,
        }
    }

    /// Whether the connection wants input now. False while the receive
    /// buffer is full, while too much output is pending (backpressure), after
    /// the peer's EOF, after an error, and once upgraded or closed.
    pub fn wants_read(&self) -> bool {
        match self.reading {
            Reading::Lingering => !self.closed,
            Reading::Stopped | Reading::Upgraded => false,
            Reading::Head | Reading::Body { .. } | Reading::Done => {
                !self.closed
                    && !self.peer_eof
                    && !self.wire.recv.is_full()
                    && self.wire.transmit.len() < self.config.limits.max_transmit
            }
        }
    }

    /// Whether output is waiting to be written.
    pub fn wants_write(&self) -> bool {
        !self.wire.transmit.is_empty()
    }

    /// Whether the shell should shut down the socket's write side now: the
    /// last response is flushed and the connection is lingering before the
    /// close (so the peer reads the response before any reset).
    pub fn wants_write_shutdown(&self) -> bool {
        matches!(self.reading, Reading::Lingering) && !self.closed
    }

    /// Whether the connection is closed. The `Closed` event says why.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Where the connection is.
    pub fn state(&self) -> ConnectionState {
        if self.closed {
            return ConnectionState::Closed;
        }
        match (&self.reading, self.writing) {
            (Reading::Upgraded, _) => ConnectionState::Upgraded,
            (Reading::Lingering, _) => ConnectionState::Closing,
            (_, _) if self.closing.is_some() && self.exchange.is_none() => ConnectionState::Closing,
            (Reading::Head, Writing::Idle) if self.wire.recv.is_empty() => ConnectionState::Idle,
            (Reading::Head, Writing::Idle) => ConnectionState::ReadingHead,
            (Reading::Body { discard: false, .. }, _) => ConnectionState::ReadingBody,
            _ => ConnectionState::Responding,
        }
    }

    /// Requests started on this connection.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Bytes received and not yet processed (at most the receive bound).
    pub fn buffered(&self) -> usize {
        self.wire.recv.len()
    }

    /// How many bytes `handle_read` takes now: the receive buffer's free
    /// room, or 0 while `wants_read()` is false. A shell that reads into its
    /// own scratch buffer reads at most this much, so nothing is left over.
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

    /// How many more body bytes `send_body` takes now (the transmit bound
    /// minus what is queued). A streaming application sends when this is
    /// positive, so a large download holds a bounded amount of memory.
    pub fn send_capacity(&self) -> usize {
        self.config
            .limits
            .max_transmit
            .saturating_sub(self.wire.transmit.len())
    }

    /// Heap bytes this connection holds in its buffers (receive buffer
    /// capacity, queued output, encoder scratch space).
    pub fn memory(&self) -> usize {
        self.wire.recv.capacity() + self.wire.transmit.len() + self.wire.scratch.capacity()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Closes at once: output is dropped, the `Closed` event is queued.
    fn close_now(&mut self, reason: CloseReason) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.closing.get_or_insert(reason);
        self.reading = Reading::Stopped;
        self.wire.transmit.clear();
        self.wire.timers.stop_all();
        self.events.push_back(Event::Closed(reason));
    }

    /// Decides to close once the output is flushed.
    fn close_after_flush(&mut self, reason: CloseReason) {
        self.closing.get_or_insert(reason);
        self.progress_close();
    }

    /// Moves a closing connection on: once no response is in flight and the
    /// output is flushed, linger (or close at once if the peer is gone).
    fn progress_close(&mut self) {
        let Some(reason) = self.closing else { return };
        if self.closed || matches!(self.reading, Reading::Lingering | Reading::Upgraded) {
            return;
        }
        let response_in_flight = matches!(self.writing, Writing::Head | Writing::Body { .. });
        if response_in_flight || !self.wire.transmit.is_empty() {
            return;
        }
        if self.peer_eof {
            self.close_now(reason);
            return;
        }
        self.reading = Reading::Lingering;
        self.exchange = None;
        self.writing = Writing::Idle;
        let buffered = self.wire.recv.len();
        self.wire.recv.consume(buffered);
        self.wire.timers.stop_all();
        self.wire
            .timers
            .set_pending(Timer::Linger, self.config.timeouts.linger);
    }

    /// Makes room in `scratch` for a head or a chunk line. Reserving a block
    /// at a time means a run of pipelined responses shares one allocation
    /// instead of one each; the block stays small so that an idle
    /// connection stays small too.
    fn scratch_room(&mut self) {
        const MIN_ROOM: usize = 256;
        const BLOCK: usize = 1024;
        if self.wire.scratch.capacity() - self.wire.scratch.len() < MIN_ROOM {
            self.wire.scratch.reserve(BLOCK);
        }
    }
}
