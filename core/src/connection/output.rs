//! Output: events, bytes to send and the next deadline.

use std::io::IoSlice;
use std::time::Instant;

use bytes::Bytes;

use crate::Event;

use super::ServerConnection;

impl ServerConnection {
    /// The next event, or `None` when there is nothing until the next input
    /// or command. Call it until `None` after every input and command.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Some(event);
            }
            if !self.step() {
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
            self.progress_close();
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
        self.progress_close();
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
    /// then. `None` when closed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        self.wire.next_deadline()
    }
}
