//! The plumbing both roles share: the bounded receive buffer, the transmit
//! queue with its write-stall timer, the encoder's scratch space, the timer
//! table and the latest `now`. The protocol state around it differs by role;
//! moving bytes and time does not.

use std::io::IoSlice;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::recv::RecvBuffer;
use crate::timer::{Timer, Timers};
use crate::transmit::TransmitQueue;
use crate::Config;

#[derive(Debug)]
pub(crate) struct Wire {
    pub(crate) recv: RecvBuffer,
    pub(crate) transmit: TransmitQueue,
    /// Where heads and chunk lines are encoded before being queued.
    pub(crate) scratch: BytesMut,
    pub(crate) timers: Timers,
    /// The latest `now` given to any input.
    pub(crate) last_now: Instant,
    write_timeout: Duration,
}

impl Wire {
    pub(crate) fn new(config: &Config, now: Instant) -> Self {
        Wire {
            recv: RecvBuffer::new(config.recv_bound()),
            transmit: TransmitQueue::default(),
            scratch: BytesMut::new(),
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

    /// Records the latest time and starts pending timers; every input calls it.
    pub(crate) fn on_input(&mut self, now: Instant) {
        self.last_now = self.last_now.max(now);
        self.timers.resolve(self.last_now);
    }

    /// Queues `bytes`, starting the write-stall timer if output was idle.
    pub(crate) fn queue(&mut self, bytes: Bytes) {
        if self.transmit.is_empty() && !bytes.is_empty() {
            self.timers.set_pending(Timer::Write, self.write_timeout);
        }
        self.transmit.push(bytes);
    }

    /// Queues what `scratch` holds.
    pub(crate) fn queue_scratch(&mut self) {
        let bytes = self.scratch.split().freeze();
        self.queue(bytes);
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

    /// Output moved: the stall timer stops when all is sent, else restarts.
    fn on_write_progress(&mut self, now: Instant) {
        if self.transmit.is_empty() {
            self.timers.stop(Timer::Write);
        } else {
            self.timers.set(Timer::Write, now + self.write_timeout);
        }
    }

    /// The earliest deadline; the last `now` when a timer waits to start.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.timers.next(self.last_now)
    }
}
