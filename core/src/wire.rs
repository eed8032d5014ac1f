//! The plumbing both roles share: the bounded receive buffer, the transmit
//! queue with its write-stall timer, the timer table and the latest `now`.
//! The protocol state around it differs by role; moving bytes and time does
//! not.

use std::io::IoSlice;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::recv::RecvBuffer;
use crate::timer::{TimerKind, Timers};
use crate::transmit::TransmitQueue;
use crate::Config;

#[derive(Debug)]
pub(crate) struct Wire<T> {
    pub(crate) recv: RecvBuffer,
    pub(crate) transmit: TransmitQueue,
    pub(crate) timers: Timers<T>,
    /// The latest `now` given to any input. A command has no `now` of its
    /// own: a timer it starts counts from this one.
    pub(crate) last_now: Instant,
    write_timeout: Duration,
}

impl<T: TimerKind> Wire<T> {
    pub(crate) fn new(config: &Config, now: Instant) -> Self {
        Wire {
            recv: RecvBuffer::new(config.recv_bound()),
            transmit: TransmitQueue::default(),
            timers: Timers::new(),
            last_now: now,
            write_timeout: config.timeouts.write,
        }
    }

    /// Space to read into, if the connection wants input at all.
    pub(crate) fn recv_buf(&mut self, wanted: bool) -> &mut [u8] {
        if wanted {
            self.recv.spare()
        } else {
            &mut []
        }
    }

    /// Counts `n` bytes read into `recv_buf` at `now`; returns how many fit.
    pub(crate) fn commit(&mut self, n: usize, now: Instant) -> usize {
        self.on_input(now);
        self.recv.commit(n)
    }

    /// Copies input in at `now` if wanted; returns how much was taken.
    pub(crate) fn copy_in(&mut self, input: &[u8], now: Instant, wanted: bool) -> usize {
        self.on_input(now);
        if wanted {
            self.recv.copy_in(input)
        } else {
            0
        }
    }

    /// Records the latest time; every input calls it.
    pub(crate) fn on_input(&mut self, now: Instant) {
        self.last_now = self.last_now.max(now);
    }

    /// Starts `timer` to fire `after` the latest `now`.
    pub(crate) fn start(&mut self, timer: T, after: Duration) {
        self.timers.set(timer, self.last_now + after);
    }

    /// Queues `bytes`, starting the write-stall timer if output was idle.
    pub(crate) fn queue(&mut self, bytes: Bytes) {
        let was_idle = self.transmit.is_empty();
        self.transmit.push(bytes);
        self.output_queued(was_idle);
    }

    /// Encodes straight into the transmit queue.
    pub(crate) fn encode<R>(&mut self, encode: impl FnOnce(&mut BytesMut) -> R) -> R {
        let was_idle = self.transmit.is_empty();
        let result = encode(self.transmit.encoder());
        self.output_queued(was_idle);
        result
    }

    fn output_queued(&mut self, was_idle: bool) {
        if was_idle && !self.transmit.is_empty() {
            self.start(T::WRITE, self.write_timeout);
        }
    }

    pub(crate) fn transmit_slices<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize {
        self.transmit.slices(slices)
    }

    /// Drops `written` sent bytes; true if that was progress.
    pub(crate) fn advance(&mut self, written: usize, now: Instant) -> bool {
        self.on_input(now);
        let progress = self.transmit.advance(written) > 0;
        if progress {
            self.on_write_progress(now);
        }
        progress
    }

    /// Takes the next piece of output (taking counts as writing).
    pub(crate) fn pop(&mut self, now: Instant) -> Option<Bytes> {
        self.on_input(now);
        let bytes = self.transmit.pop()?;
        self.on_write_progress(now);
        Some(bytes)
    }

    /// Lends the next piece of output: it stays queued until `advance`.
    pub(crate) fn lend(&mut self, now: Instant) -> Option<Bytes> {
        self.on_input(now);
        self.transmit.lend()
    }

    /// Output moved: the stall timer stops when all is sent, else restarts.
    fn on_write_progress(&mut self, now: Instant) {
        if self.transmit.is_empty() {
            self.timers.stop(T::WRITE);
        } else {
            self.timers.set(T::WRITE, now + self.write_timeout);
        }
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.timers.next()
    }
}
