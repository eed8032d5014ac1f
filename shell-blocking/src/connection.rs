//! One connection on its own thread: the core's drive loop with blocking
//! reads and writes, each bounded by the core's next deadline.

use std::io::{IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use nutshell_core::service::{Handler, Session};
use nutshell_core::{Config, ConnectionState, ServerConnection};
use nutshell_server::io_error::{interrupted, timed_out};
use nutshell_server::ShutdownSignal;
use tracing::{debug, trace};

use crate::registry::Registration;

/// Each connection thread's read buffer. Small, because every connection
/// has one: the core copies out what it keeps.
const READ_BUFFER: usize = 16 * 1024;
/// Slices handed to one vectored write.
const MAX_SLICES: usize = 64;

/// Serves one accepted connection until the core closes it.
pub(crate) fn serve<H: Handler>(
    registration: Registration<'_>,
    handler: &H,
    config: Arc<Config>,
    signal: &ShutdownSignal,
) {
    let stream = &registration.entry.stream;
    // Responses are written whole; do not let Nagle hold back their tails.
    if let Err(e) = stream.set_nodelay(true) {
        debug!(error = %e, "set_nodelay failed");
    }
    let conn = ServerConnection::new(config, Instant::now(), SystemTime::now());
    let mut connection = Connection {
        registration: &registration,
        session: Session::new(conn),
        buffer: vec![0; READ_BUFFER].into_boxed_slice(),
        shutdown_seen: false,
        write_shut: false,
    };
    connection.run(handler, signal);
    let requests = connection.session.connection().requests();
    debug!(requests, "connection closed");
}

struct Connection<'a> {
    registration: &'a Registration<'a>,
    session: Session,
    buffer: Box<[u8]>,
    shutdown_seen: bool,
    write_shut: bool,
}

impl Connection<'_> {
    fn stream(&self) -> &TcpStream {
        &self.registration.entry.stream
    }

    /// The drive loop, in the order every shell uses: drive, write, write
    /// shutdown, close, wait for input or the deadline.
    fn run<H: Handler>(&mut self, handler: &H, signal: &ShutdownSignal) {
        loop {
            let now = Instant::now();
            if !self.shutdown_seen && signal.is_triggered() {
                self.shutdown_seen = true;
                self.session.conn().shutdown(now);
            }
            self.session.drive(handler);
            let conn = self.session.conn();
            if conn.poll_timeout().is_some_and(|deadline| deadline <= now) {
                // Due already (the handler took a while, say).
                conn.handle_timeout(now);
                continue;
            }
            if conn.wants_write() {
                self.write(now);
                continue;
            }
            if conn.wants_write_shutdown() && !self.write_shut {
                self.write_shut = true;
                let _ = self.stream().shutdown(Shutdown::Write);
            }
            if self.session.connection().is_closed() {
                return;
            }
            if !self.wait(now, signal) {
                return;
            }
        }
    }

    /// One blocking vectored write, bounded by the core's next deadline
    /// (the write-stall timer is among them while output is pending).
    fn write(&mut self, now: Instant) {
        let timeout = timeout_until(self.session.connection().poll_timeout(), now);
        if let Err(e) = self.stream().set_write_timeout(timeout) {
            debug!(error = %e, "set_write_timeout failed");
        }
        let mut slices = [IoSlice::new(&[]); MAX_SLICES];
        let n = self.session.connection().transmit_slices(&mut slices);
        let written = self.stream().write_vectored(&slices[..n]);
        let conn = self.session.conn();
        match written {
            Ok(0) => conn.handle_write_error(),
            Ok(n) => conn.advance_transmit(n, Instant::now()),
            // The peer is not reading: the core decides if that was too long.
            Err(e) if timed_out(&e) => conn.handle_timeout(Instant::now()),
            Err(e) if interrupted(&e) => {}
            Err(e) => {
                debug!(error = %e, "write failed");
                conn.handle_write_error();
            }
        }
    }

    /// Waits for input or the next deadline. False when there is nothing
    /// left to wait for (no input wanted and no deadline: the core cannot
    /// move again).
    fn wait(&mut self, now: Instant, signal: &ShutdownSignal) -> bool {
        let deadline = self.session.connection().poll_timeout();
        let room = self
            .session
            .connection()
            .recv_capacity()
            .min(self.buffer.len());
        if room > 0 {
            self.read(room, deadline, now, signal);
            return true;
        }
        // The core takes no input now and has nothing to write (after the
        // peer's end of stream, say): only its deadline can move it on, and
        // whatever the peer sends meanwhile would have to wait anyway.
        let Some(deadline) = deadline else {
            return false;
        };
        std::thread::sleep(deadline.saturating_duration_since(now));
        self.session.conn().handle_timeout(Instant::now());
        true
    }

    /// One blocking read of at most `room` bytes (what the core takes, so
    /// nothing is left over), bounded by the core's next deadline.
    fn read(
        &mut self,
        room: usize,
        deadline: Option<Instant>,
        now: Instant,
        signal: &ShutdownSignal,
    ) {
        // Waiting for a request, or lingering before the close: nothing
        // under way depends on this read, so a shutdown may cut it short.
        let state = self.session.connection().state();
        let idle = matches!(state, ConnectionState::Idle | ConnectionState::Closing);
        let entry = &self.registration.entry;
        if idle {
            entry.idle.store(true, Ordering::SeqCst);
            if signal.is_triggered() && !self.shutdown_seen {
                // The trigger may have looked before `idle` was set: do not
                // block; the loop tells the core first.
                entry.idle.store(false, Ordering::SeqCst);
                return;
            }
        }
        if let Err(e) = entry.stream.set_read_timeout(timeout_until(deadline, now)) {
            debug!(error = %e, "set_read_timeout failed");
        }
        let result = (&entry.stream).read(&mut self.buffer[..room]);
        if idle {
            entry.idle.store(false, Ordering::SeqCst);
        }
        let conn = self.session.conn();
        match result {
            Ok(0) => conn.handle_eof(Instant::now()),
            Ok(n) => {
                trace!(bytes = n, "read");
                let taken = conn.handle_read(&self.buffer[..n], Instant::now());
                debug_assert_eq!(taken, n, "read more than recv_capacity()");
            }
            Err(e) if timed_out(&e) => conn.handle_timeout(Instant::now()),
            Err(e) if interrupted(&e) => {}
            Err(e) => {
                // A reset: the peer is gone. The core answers nothing more
                // and closes once its output is flushed (or fails).
                debug!(error = %e, "read failed");
                conn.handle_eof(Instant::now());
            }
        }
    }
}

/// The socket timeout that ends at `deadline`: at least 1 ms (a zero
/// timeout means "none" to the OS and is refused by std); none without one.
fn timeout_until(deadline: Option<Instant>, now: Instant) -> Option<Duration> {
    deadline.map(|d| {
        d.saturating_duration_since(now)
            .max(Duration::from_millis(1))
    })
}
