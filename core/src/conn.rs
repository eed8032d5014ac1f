//! One skeleton for both roles: what a connection is apart from its role,
//! and the public input and output methods, written once.
//!
//! A [`Connection`] holds the plumbing (the wire: receive buffer, transmit
//! queue, timers, the latest `now`), the event queue and the closing flags;
//! the role (`R`: [`Server`] or [`Client`]) holds its own states and
//! answers the few questions that differ (whether it wants input, what a
//! received byte or an expired timer means, how to make the next event).
//! This is the split hyper makes with `Http1Transaction`: the connection is
//! written once, the role decides.
//!
//! [`ServerConnection`](crate::ServerConnection) and
//! [`ClientConnection`](crate::client::ClientConnection) are this type with
//! each role.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::wire::Wire;
use crate::{CloseReason, Config};

pub use crate::client::Client;
pub use crate::connection::Server;

/// One HTTP/1.1 connection without I/O, in the role `R`. Use it through
/// [`ServerConnection`](crate::ServerConnection) or
/// [`ClientConnection`](crate::client::ClientConnection).
///
/// Method groups, as in the crate docs: `handle_*`, `recv_buf` and
/// `commit_recv` feed it input with `now`; the role's commands; `poll_event`,
/// `transmit_slices` / `advance_transmit` (or `poll_transmit`,
/// `lend_transmit`) and `poll_timeout` drain its output; the rest are
/// getters.
#[derive(Debug)]
pub struct Connection<R: Role> {
    pub(crate) config: Arc<Config>,
    /// Receive buffer, transmit queue, timers, the latest `now`.
    pub(crate) wire: Wire<R::Timer>,
    pub(crate) events: VecDeque<R::Event>,
    /// Set once the connection will close after the output is flushed.
    pub(crate) closing: Option<CloseReason>,
    pub(crate) closed: bool,
    pub(crate) peer_eof: bool,
    /// The role's own states.
    pub(crate) role: R,
}

pub(crate) mod sealed {
    /// What differs between the two roles. Sealed: the core has exactly
    /// two roles, and their states are private.
    pub trait Role: Sized + std::fmt::Debug {
        /// The role's timers.
        #[doc(hidden)]
        type Timer: crate::timer::TimerKind;
        /// What the role reports.
        #[doc(hidden)]
        type Event: std::fmt::Debug;
        /// Whether the connection wants input now.
        #[doc(hidden)]
        fn wants_read(conn: &super::Connection<Self>) -> bool;
        /// Input arrived at `now` (at least one byte).
        #[doc(hidden)]
        fn received(conn: &mut super::Connection<Self>, now: std::time::Instant);
        /// One step of progress; false when nothing more can happen until
        /// the next input or command.
        #[doc(hidden)]
        fn step(conn: &mut super::Connection<Self>) -> bool;
        /// Acts on one expired timer.
        #[doc(hidden)]
        fn fire(conn: &mut super::Connection<Self>, timer: Self::Timer, now: std::time::Instant);
        /// Output was written (closing may move on).
        #[doc(hidden)]
        fn written(conn: &mut super::Connection<Self>);
        /// Closes at once with `reason`.
        #[doc(hidden)]
        fn close_now(conn: &mut super::Connection<Self>, reason: crate::CloseReason);
    }
}

pub use sealed::Role;

impl<R: Role> Connection<R> {
    pub(crate) fn with_role(config: Arc<Config>, now: Instant, role: R) -> Self {
        Connection {
            wire: Wire::new(&config, now),
            events: VecDeque::new(),
            closing: None,
            closed: false,
            peer_eof: false,
            role,
            config,
        }
    }

    // ---- input ----

    /// Space to read into, straight from the socket. Follow with
    /// [`commit_recv`](Self::commit_recv).
    ///
    /// **Empty while `wants_read()` is false** (backpressure, a full receive
    /// buffer, after EOF or an error): a read into an empty buffer returns
    /// `Ok(0)`, which looks exactly like end of stream. Check `wants_read()`
    /// (or that this is non-empty) before reading, and never pass such a 0
    /// to `handle_eof`.
    pub fn recv_buf(&mut self) -> &mut [u8] {
        let wanted = R::wants_read(self);
        self.wire.recv_buf(wanted)
    }

    /// Records that `n` bytes were read into [`recv_buf`](Self::recv_buf).
    /// A read of 0 bytes is end of stream: call `handle_eof` instead.
    pub fn commit_recv(&mut self, n: usize, now: Instant) {
        if self.wire.commit(n, now) > 0 {
            R::received(self, now);
        }
    }

    /// Copies input in; returns how much was taken (less than `input.len()`
    /// when the receive buffer is full, none while `wants_read()` is false).
    pub fn handle_read(&mut self, input: &[u8], now: Instant) -> usize {
        let wanted = R::wants_read(self);
        let n = self.wire.copy_in(input, now, wanted);
        if n > 0 {
            R::received(self, now);
        }
        n
    }

    /// Acts on every deadline at or before `now`. Calls before a deadline,
    /// or repeated calls, change nothing: spurious wake-ups are safe.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.wire.on_input(now);
        while let Some(timer) = self.wire.timers.expired(now) {
            self.wire.timers.stop(timer);
            R::fire(self, timer, now);
            if self.closed {
                return;
            }
        }
    }

    /// Writing failed: the connection closes at once. A half-sent message
    /// is never kept alive.
    pub fn handle_write_error(&mut self) {
        R::close_now(self, CloseReason::WriteError);
    }

    // ---- output ----

    /// The next event, or `None` when there is nothing until the next input
    /// or command. Call it until `None` after every input and command.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<R::Event> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Some(event);
            }
            if !R::step(self) {
                return None;
            }
        }
    }

    /// Fills `slices` with the bytes to send, in order, and returns how many
    /// slices it filled; write them (vectored) and report with
    /// [`advance_transmit`](Self::advance_transmit).
    pub fn transmit_slices<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize {
        self.wire.transmit_slices(slices)
    }

    /// Records that the first `written` bytes of the output were sent at `now`.
    pub fn advance_transmit(&mut self, written: usize, now: Instant) {
        if self.wire.advance(written, now) {
            R::written(self);
        }
    }

    /// Takes the next piece of output to send: the alternative to
    /// `transmit_slices` for shells that want owned buffers. Taking counts as
    /// writing, so take the next piece only when the last one is written.
    /// (For completion-based I/O, where the kernel holds the buffer until
    /// the write completes, use [`lend_transmit`](Self::lend_transmit).)
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Bytes> {
        let bytes = self.wire.pop(now)?;
        R::written(self);
        Some(bytes)
    }

    /// Lends the next piece of output not yet lent, for completion-based I/O
    /// (io_uring and the like): a clone of the bytes, which stay in the
    /// queue until [`advance_transmit`](Self::advance_transmit) reports them
    /// written. Until then they count as unsent: the write-stall timer keeps
    /// running and no close starts. `None` when everything queued is lent.
    #[must_use]
    pub fn lend_transmit(&mut self, now: Instant) -> Option<Bytes> {
        self.wire.lend(now)
    }

    /// The earliest deadline; call [`handle_timeout`](Self::handle_timeout)
    /// then. `None` when closed. Every deadline is counted from a `now` the
    /// connection was given.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        self.wire.next_deadline()
    }

    // ---- getters ----

    /// Whether output is waiting to be written.
    pub fn wants_write(&self) -> bool {
        !self.wire.transmit.is_empty()
    }

    /// Whether the connection is closed. The `Closed` event says why.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// How many bytes `handle_read` takes now: the receive buffer's free
    /// room, or 0 while `wants_read()` is false. A shell that reads into its
    /// own scratch buffer reads at most this much, so nothing is left over.
    pub fn recv_capacity(&self) -> usize {
        if R::wants_read(self) {
            self.wire.recv.room()
        } else {
            0
        }
    }

    /// Bytes queued for sending.
    pub fn transmit_len(&self) -> usize {
        self.wire.transmit.len()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
}
