//! Upgraded connections (101, or 2xx to CONNECT) as tokio IO objects.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::runtime::TokioSocket;

/// The connection after a switching response: reads start with the bytes
/// the peer sent right after its request, then come from the socket.
#[derive(Debug)]
pub struct Upgraded {
    leftover: Bytes,
    stream: TcpStream,
}

impl Upgraded {
    /// The socket, and what was read from it but not yet consumed.
    pub fn into_parts(self) -> (TcpStream, Bytes) {
        (self.stream, self.leftover)
    }
}

/// Takes the upgrade out of a request (served with `bind_service`) that
/// asked to switch protocols, or is a CONNECT. Answer the request with 101
/// (or a 2xx to CONNECT) and spawn a task awaiting the returned future: it
/// resolves once that response is flushed. Fails at once if the request
/// did not ask for an upgrade.
pub fn on_upgrade<B>(
    request: &mut http::Request<B>,
) -> impl Future<Output = io::Result<Upgraded>> + Send + 'static {
    let upgrade = nutshell_async::take_upgrade::<TokioSocket, B>(request);
    async move {
        let (TokioSocket(stream), leftover) = upgrade.await?;
        Ok(Upgraded { leftover, stream })
    }
}

impl AsyncRead for Upgraded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.leftover.is_empty() {
            let n = self.leftover.len().min(buf.remaining());
            buf.put_slice(&self.leftover[..n]);
            self.leftover.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Upgraded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
