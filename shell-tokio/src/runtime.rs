//! tokio's side of the shared drive loop: a `TcpStream` polled for
//! readiness and one `Sleep` moved with `reset`.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use std::future::Future;
use tokio::net::TcpStream;
use tokio::time::Sleep;

/// A tokio socket for [`nutshell_async::Driver`].
#[derive(Debug)]
pub(crate) struct TokioSocket(pub(crate) TcpStream);

impl nutshell_async::Socket for TokioSocket {
    fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_read_ready(cx)
    }

    fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_write_ready(cx)
    }

    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }

    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        socket2::SockRef::from(&self.0).shutdown(std::net::Shutdown::Write)
    }
}

/// A tokio timer for [`nutshell_async::Driver`].
#[derive(Debug)]
pub(crate) struct TokioTimer(Pin<Box<Sleep>>);

impl TokioTimer {
    /// A timer that is not armed until `set_at` (must run inside a runtime).
    pub(crate) fn new() -> Self {
        TokioTimer(Box::pin(tokio::time::sleep(Duration::ZERO)))
    }
}

impl nutshell_async::Timer for TokioTimer {
    fn set_at(&mut self, deadline: Instant) {
        self.0.as_mut().reset(deadline.into());
    }

    fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}
