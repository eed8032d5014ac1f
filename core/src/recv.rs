//! The bounded receive buffer.
//!
//! A shell reads straight into [`RecvBuffer::spare`] and commits what it
//! read; the parser looks at [`RecvBuffer::data`]; heads and body pieces are
//! split off as `Bytes` without copying. The spare space is kept zeroed
//! (safe Rust cannot hand out uninitialised memory), and zeroed again only
//! when the buffer must grow, not on every read.

use bytes::{Buf, Bytes, BytesMut};

/// How much spare space a read is offered, at most.
const READ_CHUNK: usize = 16 * 1024;
/// Below this much zeroed spare space, make more before a read.
const MIN_READ: usize = 2 * 1024;
/// An emptied buffer bigger than this (grown by a burst of pipelined
/// requests or a large head) is let go, so a kept-alive connection does not
/// hold its peak while it waits for the next request.
const KEEP_EMPTY: usize = 2 * READ_CHUNK;

#[derive(Debug)]
pub(crate) struct RecvBuffer {
    /// `buf[..filled]` holds received bytes; `buf[filled..]` is zeroed spare.
    buf: BytesMut,
    filled: usize,
    bound: usize,
}

impl RecvBuffer {
    pub(crate) fn new(bound: usize) -> Self {
        RecvBuffer {
            buf: BytesMut::new(),
            filled: 0,
            bound,
        }
    }

    /// The bytes received and not yet consumed.
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[..self.filled]
    }

    pub(crate) fn len(&self) -> usize {
        self.filled
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.filled == 0
    }

    /// Bytes that can still be received.
    pub(crate) fn room(&self) -> usize {
        self.bound.saturating_sub(self.filled)
    }

    pub(crate) fn is_full(&self) -> bool {
        self.filled >= self.bound
    }

    /// Space to read into; empty when the buffer holds its bound.
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        let room = self.bound.saturating_sub(self.filled);
        if room == 0 {
            return &mut [];
        }
        let zeroed = self.buf.len() - self.filled;
        if zeroed < room.min(MIN_READ) {
            let target = room.min(READ_CHUNK);
            self.buf.truncate(self.filled);
            self.buf.resize(self.filled + target, 0);
        }
        let end = self.buf.len().min(self.filled + room);
        &mut self.buf[self.filled..end]
    }

    /// Marks `n` bytes of the spare space as received (clamped to it).
    pub(crate) fn commit(&mut self, n: usize) -> usize {
        let n = n
            .min(self.buf.len() - self.filled)
            .min(self.bound.saturating_sub(self.filled));
        self.filled += n;
        n
    }

    /// Copies as much of `input` as fits; returns how much. Unlike
    /// `spare`, this grows the buffer only by what it stores, so a shell that
    /// reads into one scratch buffer per thread and copies in keeps idle
    /// connections small.
    pub(crate) fn copy_in(&mut self, input: &[u8]) -> usize {
        let n = input.len().min(self.bound.saturating_sub(self.filled));
        if n == 0 {
            return 0;
        }
        self.buf.truncate(self.filled);
        self.buf.extend_from_slice(&input[..n]);
        self.filled += n;
        n
    }

    /// Takes the first `n` received bytes out as `Bytes`, without copying.
    pub(crate) fn split_to(&mut self, n: usize) -> Bytes {
        let n = n.min(self.filled);
        self.filled -= n;
        let taken = self.buf.split_to(n).freeze();
        self.release_if_grown();
        taken
    }

    /// Drops the first `n` received bytes.
    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.filled);
        self.filled -= n;
        self.buf.advance(n);
        self.release_if_grown();
    }

    /// Lets an empty buffer that grew past [`KEEP_EMPTY`] go.
    fn release_if_grown(&mut self) {
        if self.filled == 0 && self.buf.capacity() > KEEP_EMPTY {
            self.buf = BytesMut::new();
        }
    }

    /// Takes everything received (for an upgrade's leftover bytes).
    pub(crate) fn take_all(&mut self) -> Bytes {
        self.split_to(self.filled)
    }

    /// Bytes held, received or zeroed spare: what this buffer costs.
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_holds_more_than_its_bound() {
        let mut recv = RecvBuffer::new(100);
        assert_eq!(recv.copy_in(&[7; 250]), 100);
        assert!(recv.is_full());
        assert!(recv.spare().is_empty());
        assert_eq!(recv.split_to(30).len(), 30);
        assert_eq!(recv.spare().len(), 30);
        assert_eq!(recv.commit(1000), 30);
        assert_eq!(recv.len(), 100);
    }

    #[test]
    fn an_emptied_buffer_that_grew_is_let_go() {
        let mut recv = RecvBuffer::new(1 << 20);
        recv.copy_in(&[b'p'; 100_000]);
        assert!(recv.capacity() >= 100_000);
        recv.consume(60_000);
        assert!(recv.capacity() > KEEP_EMPTY, "kept while it holds bytes");
        recv.consume(40_000);
        assert!(
            recv.capacity() <= KEEP_EMPTY,
            "{} bytes kept",
            recv.capacity()
        );
        recv.copy_in(&[b'q'; 50_000]);
        let _ = recv.split_to(50_000);
        assert!(
            recv.capacity() <= KEEP_EMPTY,
            "{} bytes kept",
            recv.capacity()
        );
        // The usual read buffer is kept for the next read.
        let spare = recv.spare().len();
        assert_eq!(spare, READ_CHUNK);
        recv.commit(100);
        let _ = recv.split_to(100);
        assert_eq!(recv.capacity(), READ_CHUNK - 100);
    }

    #[test]
    fn splits_and_consumes_in_order() {
        let mut recv = RecvBuffer::new(1 << 16);
        recv.copy_in(b"hello world");
        assert_eq!(&recv.split_to(5)[..], b"hello");
        recv.consume(1);
        assert_eq!(recv.data(), b"world");
        recv.copy_in(b"!");
        assert_eq!(&recv.take_all()[..], b"world!");
        assert!(recv.is_empty());
    }
}
