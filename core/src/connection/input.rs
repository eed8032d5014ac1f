//! Input: bytes, EOF, time and write failures, each with `now`.

use std::time::Instant;

use crate::timer::Timer;
use crate::{CloseReason, ProtocolError};

use super::{Reading, ServerConnection, Writing};

impl ServerConnection {
    /// Space to read into, straight from the socket; empty while
    /// `wants_read()` is false. Follow with [`commit_recv`](Self::commit_recv).
    pub fn recv_buf(&mut self) -> &mut [u8] {
        let wanted = self.wants_read();
        self.wire.recv_buf(wanted)
    }

    /// Records that `n` bytes were read into [`recv_buf`](Self::recv_buf).
    /// A read of 0 bytes is end of stream: call [`handle_eof`](Self::handle_eof).
    pub fn commit_recv(&mut self, n: usize, now: Instant) {
        let n = self.wire.commit(n, now);
        self.after_recv(n, now);
    }

    /// Copies input in; returns how much was taken (less than `input.len()`
    /// when the receive buffer is full, none while `wants_read()` is false).
    pub fn handle_read(&mut self, input: &[u8], now: Instant) -> usize {
        let wanted = self.wants_read();
        let n = self.wire.copy_in(input, now, wanted);
        self.after_recv(n, now);
        n
    }

    fn after_recv(&mut self, n: usize, now: Instant) {
        if n == 0 {
            return;
        }
        self.starved = false;
        match self.reading {
            Reading::Head => {
                if self.wire.timers.is_armed(Timer::Idle) {
                    self.wire.timers.stop(Timer::Idle);
                }
                if !self.wire.timers.is_armed(Timer::Head) && self.writing == Writing::Idle {
                    self.wire
                        .timers
                        .set(Timer::Head, now + self.config.timeouts.head);
                }
            }
            Reading::Body { .. } => self
                .wire
                .timers
                .set(Timer::Body, now + self.config.timeouts.body),
            Reading::Lingering => {
                let n = self.wire.recv.len();
                self.wire.recv.consume(n);
                self.lingered += n;
                if self.lingered > self.config.limits.linger_bytes {
                    self.close_now(self.closing.unwrap_or(CloseReason::Done));
                }
            }
            Reading::Done | Reading::Stopped | Reading::Upgraded => {}
        }
    }

    /// The peer closed its sending side (a read returned 0). A request
    /// already received is still answered; a partial one is an error.
    pub fn handle_eof(&mut self, now: Instant) {
        self.wire.on_input(now);
        if self.peer_eof || self.closed {
            return;
        }
        self.peer_eof = true;
        match self.reading {
            Reading::Lingering => self.close_now(self.closing.unwrap_or(CloseReason::PeerClosed)),
            Reading::Head if self.wire.recv.is_empty() && self.writing == Writing::Idle => {
                self.close_after_flush(CloseReason::PeerClosed)
            }
            // The next `poll_event` sees the parser starve and decides.
            Reading::Head | Reading::Body { .. } => {}
            Reading::Done | Reading::Stopped | Reading::Upgraded => self.progress_close(),
        }
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

    fn fire(&mut self, timer: Timer, now: Instant) {
        match timer {
            Timer::Head => {
                if matches!(self.reading, Reading::Head) && self.writing == Writing::Idle {
                    self.protocol_error(ProtocolError::HeadTimeout);
                }
            }
            Timer::Idle => {
                if matches!(self.reading, Reading::Head) && self.wire.recv.is_empty() {
                    self.close_now(CloseReason::IdleTimeout);
                }
            }
            Timer::Body => {
                if !matches!(self.reading, Reading::Body { .. }) {
                    return;
                }
                if !self.starved {
                    // The application has not consumed what arrived: that is
                    // not the peer's delay. Count again from now.
                    self.wire
                        .timers
                        .set(Timer::Body, now + self.config.timeouts.body);
                } else if self.writing == Writing::Head {
                    self.protocol_error(ProtocolError::BodyTimeout);
                } else {
                    self.close_now(CloseReason::BodyTimeout);
                }
            }
            Timer::Write => {
                if !self.wire.transmit.is_empty() {
                    self.close_now(CloseReason::WriteStalled);
                }
            }
            Timer::Shutdown => self.close_now(CloseReason::ShutdownDeadline),
            Timer::Linger => self.close_now(self.closing.unwrap_or(CloseReason::Done)),
            // A client's timer; a server never arms it.
            Timer::Continue => {}
        }
    }

    /// Writing failed: the connection closes at once. A half-sent response
    /// is never kept alive.
    pub fn handle_write_error(&mut self) {
        self.close_now(CloseReason::WriteError);
    }
}
