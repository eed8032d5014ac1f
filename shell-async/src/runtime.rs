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
