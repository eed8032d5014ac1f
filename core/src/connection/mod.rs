//! The server connection: one HTTP/1.1 connection's whole state.
//!
//! - [`state`]: every state and every transition, with the diagram.
//! - `step`: turning buffered bytes into events (head, body), calling the
//!   transitions.
//! - `input`, `commands`, `output`: the public method groups, each a thin
//!   layer over the transitions.
//!
//! Rules that tie the two directions together:
//!
//! - A new request head is parsed only when the previous exchange is
//!   complete (both directions Done): responses go out strictly in order, and
//!   pipelined bytes wait in the bounded receive buffer.
//! - A response finished before its request body was read drains the rest
//!   (Body with `discard`) up to `Limits::discard_body`, or closes.
//! - Once `closing` is set no new request starts; when the output is flushed
//!   the connection lingers (reads and drops, half-closed) and then closes.

mod commands;
mod input;
mod output;
mod state;
mod step;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::date::DateClock;
use crate::timer::ServerTimer;
use crate::wire::Wire;
use crate::{CloseReason, Config, Event};

use state::{Reading, Writing};

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
    wire: Wire<ServerTimer>,
    clock: DateClock,
    /// What is read next (per-state data in the variants).
    reading: Reading,
    /// Where the response is (the exchange it answers in the variants).
    writing: Writing,
    events: VecDeque<Event>,
    /// Requests started on this connection.
    requests: u64,
    /// Set once the connection will close after the output is flushed.
    closing: Option<CloseReason>,
    closed: bool,
    peer_eof: bool,
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
        wire.start(ServerTimer::Head, config.timeouts.head);
        ServerConnection {
            wire,
            clock: DateClock::new(now, wall_clock),
            reading: Reading::new_head(),
            writing: Writing::Idle,
            events: VecDeque::new(),
            requests: 0,
            closing: None,
            closed: false,
            peer_eof: false,
            config,
        }
    }

    /// Whether the connection wants input now. False while the receive
    /// buffer is full, while too much output is pending (backpressure), after
    /// the peer's EOF, after an error, and once upgraded or closed.
    pub fn wants_read(&self) -> bool {
        match self.reading {
            Reading::Lingering { .. } => !self.closed,
            Reading::Stopped | Reading::Upgraded => false,
            Reading::Head { .. } | Reading::Body { .. } | Reading::Done => {
                !self.closed
                    && !self.peer_eof
                    && !self.wire.recv.is_full()
                    && !self.output_backlogged()
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
        matches!(self.reading, Reading::Lingering { .. })
            && !self.closed
            && self.wire.transmit.is_empty()
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
        let exchange_over = matches!(self.writing, Writing::Idle | Writing::Over);
        match (&self.reading, self.writing) {
            (Reading::Upgraded, _) => ConnectionState::Upgraded,
            (Reading::Lingering { .. }, _) => ConnectionState::Closing,
            (_, _) if self.closing.is_some() && exchange_over => ConnectionState::Closing,
            (Reading::Head { .. }, Writing::Idle) if self.wire.recv.is_empty() => {
                ConnectionState::Idle
            }
            (Reading::Head { .. }, Writing::Idle) => ConnectionState::ReadingHead,
            (Reading::Body { discard: None, .. }, _) => ConnectionState::ReadingBody,
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
    /// capacity, queued output, the output buffer).
    pub fn memory(&self) -> usize {
        self.wire.recv.capacity() + self.wire.transmit.memory()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
}
