//! tokio's side of the shared drive loop: a `TcpStream` polled for
//! readiness and one `Sleep` moved with `reset`.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use std::future::Future;
use tokio::io::{AsyncRead, ReadBuf};
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

    /// Through `AsyncRead::poll_read`, which clears the socket's readiness
    /// after a short read, so the loop's next readiness wait registers
    /// instead of reporting stale readiness (and costing a read that blocks).
    fn read_now(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> io::Result<usize> {
        let mut read = ReadBuf::new(buf);
        match Pin::new(&mut self.0).poll_read(cx, &mut read) {
            Poll::Ready(Ok(())) => Ok(read.filled().len()),
            Poll::Ready(Err(error)) => Err(error),
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
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
