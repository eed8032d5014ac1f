//! The transmit queue: response bytes in order, as separate `Bytes` so a
//! shell can write them with one vectored call.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes};

#[derive(Debug, Default)]
pub(crate) struct TransmitQueue {
    chunks: VecDeque<Bytes>,
    len: usize,
}

impl TransmitQueue {
    pub(crate) fn push(&mut self, bytes: Bytes) {
        if !bytes.is_empty() {
            self.len += bytes.len();
            self.chunks.push_back(bytes);
        }
    }

    /// Bytes queued and not yet written.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Fills `out` with the queued chunks, front first; returns how many.
    pub(crate) fn slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, chunk) in out.iter_mut().zip(&self.chunks) {
            *slot = IoSlice::new(chunk);
            n += 1;
        }
        n
    }

    /// Drops `n` written bytes from the front (clamped to what is queued).
    pub(crate) fn advance(&mut self, mut n: usize) -> usize {
        n = n.min(self.len);
        let written = n;
        self.len -= n;
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            if front.len() <= n {
                n -= front.len();
                self.chunks.pop_front();
            } else {
                front.advance(n);
                n = 0;
            }
        }
        written
    }

    /// Takes the front chunk.
    pub(crate) fn pop(&mut self) -> Option<Bytes> {
        let chunk = self.chunks.pop_front()?;
        self.len -= chunk.len();
        Some(chunk)
    }

    pub(crate) fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances_across_chunks() {
        let mut queue = TransmitQueue::default();
        queue.push(Bytes::from_static(b"abc"));
        queue.push(Bytes::new());
        queue.push(Bytes::from_static(b"defg"));
        assert_eq!(queue.len(), 7);
        let mut slices = [IoSlice::new(&[]); 4];
        assert_eq!(queue.slices(&mut slices), 2);
        assert_eq!(queue.advance(4), 4);
        assert_eq!(queue.pop().as_deref(), Some(&b"efg"[..]));
        assert!(queue.is_empty());
        assert_eq!(queue.advance(10), 0);
    }
}
