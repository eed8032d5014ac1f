//! smol's side of the shared drive loop: an `Async<TcpStream>` polled for
//! readiness and one `async_io::Timer` moved with `set_at`.

use std::future::Future;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use async_io::{Async, Timer};

/// An async-io socket for [`nutshell_async::Driver`].
#[derive(Debug)]
pub(crate) struct SmolSocket(pub(crate) Async<TcpStream>);

impl nutshell_async::Socket for SmolSocket {
    fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_readable(cx)
    }

    fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_writable(cx)
    }

    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.get_ref().read(buf)
    }

    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.get_ref().write_vectored(bufs)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.0.get_ref().shutdown(Shutdown::Write)
    }
}

/// An async-io timer for [`nutshell_async::Driver`].
#[derive(Debug)]
pub(crate) struct SmolTimer(pub(crate) Timer);

impl nutshell_async::Timer for SmolTimer {
    fn set_at(&mut self, deadline: Instant) {
        self.0.set_at(deadline);
    }

    fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}
