//! Input: bytes, EOF, time and write failures, each with `now`.

use std::time::Instant;

use super::ServerConnection;

impl ServerConnection {
    /// Space to read into, straight from the socket. Follow with
    /// [`commit_recv`](Self::commit_recv).
    ///
    /// **Empty while [`wants_read`](Self::wants_read) is false** (backpressure,
    /// a full receive buffer, after EOF or an error): a read into an empty
    /// buffer returns `Ok(0)`, which looks exactly like end of stream. Check
    /// `wants_read()` (or that this is non-empty) before reading, and never
    /// pass such a 0 to `handle_eof`.
    pub fn recv_buf(&mut self) -> &mut [u8] {
        let wanted = self.wants_read();
        self.wire.recv_buf(wanted)
    }

    /// Records that `n` bytes were read into [`recv_buf`](Self::recv_buf).
    /// A read of 0 bytes is end of stream: call [`handle_eof`](Self::handle_eof).
    pub fn commit_recv(&mut self, n: usize, now: Instant) {
        if self.wire.commit(n, now) > 0 {
            self.received(now);
        }
    }

    /// Copies input in; returns how much was taken (less than `input.len()`
    /// when the receive buffer is full, none while `wants_read()` is false).
    pub fn handle_read(&mut self, input: &[u8], now: Instant) -> usize {
        let wanted = self.wants_read();
        let n = self.wire.copy_in(input, now, wanted);
        if n > 0 {
            self.received(now);
        }
        n
    }

    /// The peer closed its sending side (a read returned 0). A request
    /// already received is still answered; a partial one is an error.
    pub fn handle_eof(&mut self, now: Instant) {
        self.wire.on_input(now);
        self.peer_closed();
    }

    /// Acts on every deadline at or before `now`. Calls before a deadline,
    /// or repeated calls, change nothing: spurious wake-ups are safe.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.wire.on_input(now);
        while let Some(timer) = self.wire.timers.expired(now) {
            self.wire.timers.stop(timer);
            self.fire(timer, now);
            if self.closed {
                return;
            }
        }
    }

    /// Writing failed: the connection closes at once. A half-sent response
    /// is never kept alive.
    pub fn handle_write_error(&mut self) {
        self.close_now(crate::CloseReason::WriteError);
    }
}
