//! The server connection: one HTTP/1.1 connection's whole state.
//!
//! - [`state`]: every state and every transition, with the diagram.
//! - `step`: turning buffered bytes into events (head, body), calling the
//!   transitions.
//! - `input`, `commands`: the server's own public methods, each a thin
//!   layer over the transitions; the input and output methods both roles
//!   share are written once, in `conn.rs`.
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
mod state;
mod step;

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::conn::{Connection, Role};
use crate::date::DateClock;
use crate::timer::ServerTimer;
use crate::{CloseReason, Config, Event};

use state::{Reading, Writing};

/// One server-side HTTP/1.1 connection, without I/O: the shared
/// [`Connection`] skeleton in the [`Server`] role.
///
/// Method groups, as in the crate docs: `handle_*`, `recv_buf` and
/// `commit_recv` feed it input with `now`; `send_*`, `finish`, `respond`,
/// `accept_upgrade` and `shutdown` are the application's commands;
/// `poll_event`, `transmit_slices` / `advance_transmit` (or `poll_transmit`,
/// `lend_transmit`) and `poll_timeout` drain its output; the rest are
/// getters.
pub type ServerConnection = Connection<Server>;

/// The server role's own states (see `state.rs` for every transition).
#[derive(Debug)]
pub struct Server {
    clock: DateClock,
    /// What is read next (per-state data in the variants).
    reading: Reading,
    /// Where the response is (the exchange it answers in the variants).
    writing: Writing,
    /// Requests started on this connection.
    requests: u64,
}

impl Role for Server {
    type Timer = ServerTimer;
    type Event = Event;

    fn wants_read(conn: &ServerConnection) -> bool {
        conn.wants_read()
    }

    fn received(conn: &mut ServerConnection, now: Instant) {
        conn.received(now);
    }

    fn step(conn: &mut ServerConnection) -> bool {
        conn.step()
    }

    fn fire(conn: &mut ServerConnection, timer: ServerTimer, now: Instant) {
        conn.fire(timer, now);
    }

    fn written(conn: &mut ServerConnection) {
        conn.output_written();
    }

    fn close_now(conn: &mut ServerConnection, reason: CloseReason) {
        conn.close_now(reason);
    }
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
        let role = Server {
            clock: DateClock::new(now, wall_clock),
            reading: Reading::new_head(),
            writing: Writing::Idle,
            requests: 0,
        };
        let mut conn = Connection::with_role(config, now, role);
        conn.wire
            .start(ServerTimer::Head, conn.config.timeouts.head);
        conn
    }

    /// Whether the connection wants input now. False while the receive
    /// buffer is full, while too much output is pending (backpressure), after
    /// the peer's EOF, after an error, and once upgraded or closed.
    pub fn wants_read(&self) -> bool {
        match self.role.reading {
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

    /// Whether the shell should shut down the socket's write side now: the
    /// last response is flushed and the connection is lingering before the
    /// close (so the peer reads the response before any reset).
    pub fn wants_write_shutdown(&self) -> bool {
        matches!(self.role.reading, Reading::Lingering { .. })
            && !self.closed
            && self.wire.transmit.is_empty()
    }

    /// Where the connection is.
    pub fn state(&self) -> ConnectionState {
        if self.closed {
            return ConnectionState::Closed;
        }
        let exchange_over = matches!(self.role.writing, Writing::Idle | Writing::Over);
        match (&self.role.reading, self.role.writing) {
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
        self.role.requests
    }

    /// Bytes received and not yet processed (at most the receive bound).
    pub fn buffered(&self) -> usize {
        self.wire.recv.len()
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
}
