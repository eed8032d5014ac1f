//! The transmit queue: the bytes to send, in order.
//!
//! Two kinds of output share it. What the core encodes itself (heads, chunk
//! lines, error responses, small bodies) is written straight into `tail`, one
//! per-connection buffer reused from request to request, so a run of
//! pipelined responses goes out as one slice and costs no allocation. Large
//! bodies are the application's own `Bytes`, queued without a copy in
//! `pieces`; queueing one first closes the tail off into a piece of its own,
//! so the order holds.
//!
//! Pieces can be *lent* (cloned out) to a completion-based shell: they stay
//! queued, and keep the write-stall timer and the close waiting, until
//! `advance` reports them written.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

/// Bodies up to this size are copied into the tail instead of queued as a
/// piece of their own: one more slice costs more than copying this much.
pub(crate) const COPY_BELOW: usize = 512;

/// Room made in the tail at a time; small, so an idle connection stays small.
const TAIL_BLOCK: usize = 1024;
/// A drained tail bigger than this (grown by a burst of pipelined responses,
/// up to the transmit bound) is let go, so a kept-alive connection does not
/// hold its peak while it waits for the next request.
const TAIL_KEEP: usize = 8 * TAIL_BLOCK;

#[derive(Debug, Default)]
pub(crate) struct TransmitQueue {
    /// Owned pieces, sent before `tail`.
    pieces: VecDeque<Bytes>,
    /// Bytes in `pieces`.
    pieces_len: usize,
    /// What the core encoded, sent after `pieces`.
    tail: BytesMut,
    /// Bytes at the front handed out by `lend` and not yet reported written.
    lent: usize,
}

impl TransmitQueue {
    /// Queues an owned piece after everything queued so far.
    pub(crate) fn push(&mut self, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        if bytes.len() < COPY_BELOW {
            // The tail never holds lent bytes (`lend` closes it off first),
            // so appending to it is always safe.
            self.tail.extend_from_slice(&bytes);
            return;
        }
        self.close_tail();
        self.pieces_len += bytes.len();
        self.pieces.push_back(bytes);
    }

    /// The buffer to encode into; whatever is appended goes out after
    /// everything queued so far.
    pub(crate) fn encoder(&mut self) -> &mut BytesMut {
        if self.tail.capacity() - self.tail.len() < TAIL_BLOCK / 4 {
            self.tail.reserve(TAIL_BLOCK);
        }
        &mut self.tail
    }

    /// Turns the tail into a piece, so what follows can be queued after it.
    fn close_tail(&mut self) {
        if !self.tail.is_empty() {
            let bytes = self.tail.split().freeze();
            self.pieces_len += bytes.len();
            self.pieces.push_back(bytes);
        }
    }

    /// Bytes queued and not yet written.
    pub(crate) fn len(&self) -> usize {
        self.pieces_len + self.tail.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `out` with the queued bytes, front first; returns how many
    /// slices it filled.
    pub(crate) fn slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        if self.pieces.is_empty() {
            // The usual case: everything the core encoded, in one slice.
            let Some(slot) = out.first_mut().filter(|_| !self.tail.is_empty()) else {
                return 0;
            };
            *slot = IoSlice::new(&self.tail);
            return 1;
        }
        let tail = (!self.tail.is_empty()).then_some(&self.tail[..]);
        let mut n = 0;
        for (slot, piece) in out
            .iter_mut()
            .zip(self.pieces.iter().map(|p| &p[..]).chain(tail))
        {
            *slot = IoSlice::new(piece);
            n += 1;
        }
        n
    }

    /// Drops `n` written bytes from the front (clamped to what is queued);
    /// returns how many were dropped.
    pub(crate) fn advance(&mut self, n: usize) -> usize {
        let written = n.min(self.len());
        self.lent = self.lent.saturating_sub(written);
        let mut n = written;
        while n > 0 {
            let Some(front) = self.pieces.front_mut() else {
                self.tail.advance(n);
                break;
            };
            let step = n.min(front.len());
            self.pieces_len -= step;
            n -= step;
            if step == front.len() {
                self.pieces.pop_front();
            } else {
                front.advance(step);
            }
        }
        if self.tail.is_empty() {
            if self.tail.capacity() > TAIL_KEEP {
                self.tail = BytesMut::new();
            }
            // Let the next encode start at the buffer's beginning again.
            self.tail.clear();
        }
        written
    }

    /// Takes the front piece out of the queue.
    pub(crate) fn pop(&mut self) -> Option<Bytes> {
        if self.lent > 0 {
            // Lent bytes are the shell's until it reports them written.
            return None;
        }
        if let Some(piece) = self.pieces.pop_front() {
            self.pieces_len -= piece.len();
            return Some(piece);
        }
        (!self.tail.is_empty()).then(|| self.tail.split().freeze())
    }

    /// Hands out the next piece not yet lent, cloned: it stays queued until
    /// `advance` reports it written.
    pub(crate) fn lend(&mut self) -> Option<Bytes> {
        if self.lent == self.pieces_len {
            self.close_tail();
        }
        let mut offset = 0;
        for piece in &self.pieces {
            if offset >= self.lent {
                self.lent += piece.len();
                return Some(piece.clone());
            }
            offset += piece.len();
        }
        None
    }

    /// Drops everything queued.
    pub(crate) fn clear(&mut self) {
        self.pieces.clear();
        self.pieces_len = 0;
        self.tail.clear();
        self.lent = 0;
    }

    /// Heap bytes held: queued pieces and the tail's buffer.
    pub(crate) fn memory(&self) -> usize {
        self.pieces_len + self.tail.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(queue: &TransmitQueue) -> Vec<u8> {
        let mut slices = [IoSlice::new(&[]); 8];
        let n = queue.slices(&mut slices);
        slices[..n].iter().flat_map(|s| s.to_vec()).collect()
    }

    #[test]
    fn keeps_order_across_pieces_and_tail() {
        let mut queue = TransmitQueue::default();
        queue.encoder().extend_from_slice(b"head;");
        queue.push(Bytes::from(vec![b'x'; COPY_BELOW]));
        queue.encoder().extend_from_slice(b"next;");
        queue.push(Bytes::from_static(b"small"));
        assert_eq!(queue.len(), 5 + COPY_BELOW + 5 + 5);
        let mut want = b"head;".to_vec();
        want.extend([b'x'; COPY_BELOW]);
        want.extend(b"next;small");
        assert_eq!(all(&queue), want);
        assert_eq!(queue.advance(7), 7);
        assert_eq!(all(&queue), want[7..]);
        assert_eq!(queue.advance(1000), want.len() - 7);
        assert!(queue.is_empty());
        assert_eq!(queue.advance(10), 0);
    }

    #[test]
    fn small_pieces_share_one_slice() {
        let mut queue = TransmitQueue::default();
        for _ in 0..16 {
            queue
                .encoder()
                .extend_from_slice(b"HTTP/1.1 200 OK\r\n\r\n");
            queue.push(Bytes::from_static(b"Hello, World!"));
        }
        let mut slices = [IoSlice::new(&[]); 4];
        assert_eq!(queue.slices(&mut slices), 1);
    }

    #[test]
    fn a_drained_tail_that_grew_is_let_go() {
        let mut queue = TransmitQueue::default();
        for _ in 0..1000 {
            queue
                .encoder()
                .extend_from_slice(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        }
        assert!(queue.memory() > TAIL_KEEP);
        queue.advance(queue.len() / 2);
        assert!(queue.memory() > TAIL_KEEP, "kept while it holds bytes");
        queue.advance(queue.len());
        assert!(queue.memory() <= TAIL_KEEP, "{} bytes kept", queue.memory());
        // A tail within the bound is kept for the next response.
        queue.encoder().extend_from_slice(b"small");
        queue.advance(5);
        assert!(
            queue.memory() >= TAIL_BLOCK / 2,
            "{} bytes kept",
            queue.memory()
        );
    }

    #[test]
    fn lent_pieces_stay_queued_until_written() {
        let mut queue = TransmitQueue::default();
        queue.encoder().extend_from_slice(b"abc");
        let first = queue.lend().unwrap();
        assert_eq!(&first[..], b"abc");
        assert_eq!(queue.len(), 3);
        assert_eq!(queue.lend(), None);
        assert_eq!(queue.pop(), None, "nothing is taken while lent");
        queue.encoder().extend_from_slice(b"def");
        assert_eq!(queue.lend().as_deref(), Some(&b"def"[..]));
        queue.advance(2);
        assert_eq!(queue.len(), 4);
        queue.advance(4);
        assert!(queue.is_empty());
        assert_eq!(queue.lend(), None);
    }
}
