//! One connection: the core's drive loop over a tokio `TcpStream`.

use std::cell::RefCell;
use std::io::{self, IoSlice};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use nutshell_core::service::{panic_message, AsyncHandler, Session};
use nutshell_core::{Config, ServerConnection};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tracing::debug;

use crate::server::Shutdown;

/// Size of the per-thread read buffer.
const SCRATCH_LEN: usize = 64 * 1024;

thread_local! {
    /// Where reads land before the core copies what it keeps. One per worker
    /// thread (never borrowed across an await), so an idle connection holds
    /// no read buffer at all.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; SCRATCH_LEN]);
}

/// Serves one connection until the core says it is closed.
pub(crate) async fn serve<A: AsyncHandler>(
    peer: std::net::SocketAddr,
    mut stream: TcpStream,
    handler: Arc<A>,
    config: Arc<Config>,
    mut shutdown: Shutdown,
) {
    let mut session = Session::new(ServerConnection::new(
        config,
        Instant::now(),
        SystemTime::now(),
    ));
    session.set_peer(peer);
    let mut shutting_down = false;
    let mut write_shut = false;
    // One timer for the connection's life, moved only when the core's
    // deadline comes earlier than the one armed: creating a timer per wait
    // would cost a timer-wheel insert and removal per request. A timer that
    // fires early is harmless: `handle_timeout` before a deadline is a no-op.
    let timer = tokio::time::sleep(Duration::from_secs(0));
    tokio::pin!(timer);
    let mut armed: Option<Instant> = None;
    loop {
        // 1. Answer every complete request; this also pulls streamed bodies on.
        while let Some(request) = session.poll_request() {
            match nutshell_async::catch_panic(handler.call(request)).await {
                Ok(response) => session.respond(response),
                Err(panic) => session.respond_panicked(panic_message(&*panic)),
            }
        }
        nutshell_async::log_session(&mut session, peer);
        let conn = session.conn();
        // 2. Write what the core queued. Progress makes room for more of a
        // streamed body, so go round again until the socket is full.
        if conn.wants_write() {
            match write(&stream, conn) {
                Ok(()) => continue,
                Err(e) if would_block(&e) => {}
                Err(e) if interrupted(&e) => continue,
                Err(e) => {
                    debug!(error = %e, "write failed");
                    conn.handle_write_error();
                    continue;
                }
            }
        }
        // 3. The last response is out: half-close, so the peer reads it
        // before any reset, while the core lingers to drain its input.
        if conn.wants_write_shutdown() && !write_shut {
            write_shut = true;
            let _ = stream.shutdown().await;
        }
        if conn.is_closed() {
            break;
        }
        // 4. Wait for what the core wants next.
        let wants_read = conn.wants_read();
        let wants_write = conn.wants_write();
        let deadline = conn.poll_timeout();
        if !wants_read && !wants_write && deadline.is_none() {
            debug!("nothing left to wait for; closing");
            break;
        }
        if let Some(deadline) = deadline {
            if armed.is_none_or(|at| deadline < at) {
                timer.as_mut().reset(deadline.into());
                armed = Some(deadline);
            }
        }
        // Biased: shutdown and deadlines first, so a peer that keeps the
        // socket busy cannot starve them.
        tokio::select! {
            biased;
            () = shutdown.triggered(), if !shutting_down => {
                shutting_down = true;
                session.conn().shutdown(Instant::now());
            }
            () = &mut timer, if armed.is_some() => {
                armed = None;
                session.conn().handle_timeout(Instant::now());
            }
            ready = stream.writable(), if wants_write => {
                if ready.is_err() {
                    session.conn().handle_write_error();
                }
            }
            ready = stream.readable(), if wants_read => match ready {
                Ok(()) => read(&stream, session.conn()),
                Err(_) => session.conn().handle_eof(Instant::now()),
            },
        }
    }
    nutshell_async::log_session(&mut session, peer);
    if let Some(error) = session.protocol_error() {
        nutshell_async::log_protocol_error(error, peer);
    }
    let requests = session.connection().requests();
    nutshell_async::log_close(session.close_reason(), requests, peer);
}

/// Reads what the socket has into the scratch buffer and hands it to the
/// core, never more than the core has room for, so nothing is left over.
fn read(stream: &TcpStream, conn: &mut ServerConnection) {
    SCRATCH.with_borrow_mut(|scratch| {
        let room = conn.recv_capacity().min(scratch.len());
        match stream.try_read(&mut scratch[..room]) {
            Ok(0) => conn.handle_eof(Instant::now()),
            Ok(n) => {
                conn.handle_read(&scratch[..n], Instant::now());
            }
            // A spurious wake-up: readiness is cleared, the next wait is real.
            Err(e) if would_block(&e) || interrupted(&e) => {}
            // A reset: the core decides whether anything is left to do.
            Err(e) => {
                debug!(error = %e, "read failed");
                conn.handle_eof(Instant::now());
            }
        }
    });
}

/// Writes as much of the queued output as the socket takes in one call.
fn write(stream: &TcpStream, conn: &mut ServerConnection) -> io::Result<()> {
    let mut slices = [IoSlice::new(&[]); 16];
    let count = conn.transmit_slices(&mut slices);
    let written = stream.try_write_vectored(&slices[..count])?;
    if written == 0 {
        return Err(io::ErrorKind::WriteZero.into());
    }
    conn.advance_transmit(written, Instant::now());
    Ok(())
}

/// "Would block" is the OS saying the socket is not ready: wait for it.
fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

/// A signal interrupted the call: just try again.
fn interrupted(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Interrupted
}
