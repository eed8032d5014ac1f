//! What a runtime provides to the shared drive loop: a socket polled for
//! readiness and one movable timer. Each async shell implements these in a
//! few lines (the idea of quinn's `Runtime` trait); everything else is
//! written once, here.

use std::io::{self, IoSlice};
use std::task::{Context, Poll};
use std::time::Instant;

/// A connected, nonblocking TCP socket, as the drive loop uses it: try the
/// operation, and on "would block" poll for readiness.
pub trait Socket: Send + 'static {
    /// Ready when the socket may be readable; registers `cx` otherwise.
    fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Ready when the socket may be writable; registers `cx` otherwise.
    fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Reads without waiting (`WouldBlock` when nothing is there).
    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// What the drive loop reads with: `try_read` unless the runtime can do
    /// better. A runtime whose readiness a short read clears (tokio's
    /// `poll_read` does: the socket was drained) overrides this, so the
    /// loop's next read after a response is answered from that readiness,
    /// not by a read that only says "would block". On `Pending` it
    /// registers `cx` and returns `WouldBlock`. (Waiting after every short
    /// read instead costs async-io an `epoll_ctl` each time, more than the
    /// read it saves, so smol keeps the default.)
    fn read_now(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> io::Result<usize> {
        let _ = cx;
        self.try_read(buf)
    }
    /// Writes without waiting (`WouldBlock` when the send buffer is full).
    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    /// Shuts down the write side (the peer reads EOF after what was sent).
    fn shutdown_write(&self) -> io::Result<()>;
}

/// One timer per connection, moved rather than recreated.
pub trait Timer: Send + 'static {
    /// Makes the timer fire at `deadline` (replacing any earlier setting).
    fn set_at(&mut self, deadline: Instant);
    /// Ready once the deadline set last has passed; registers `cx` otherwise.
    fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()>;
}
