//! One connection: its socket, its core session, and what the socket is
//! known to be ready for.
//!
//! mio is edge-triggered: an event says "something changed", once, not
//! "there is data". So a connection remembers readiness itself (`readable`,
//! `writable`): set by an event, cleared only when the socket answers
//! `WouldBlock` (or a short read or write shows that it is drained or
//! full). It reads while the core wants input and the socket is
//! readable, writes while there is output and the socket is writable, and
//! after each step lets the core move on. What it waits for next is what the
//! core asks for: see [`Connection::interest`].

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use nutshell_core::service::{Handler, Session};
use nutshell_core::{Config, ServerConnection};
use nutshell_server::io_error::{interrupted, would_block};
use tracing::{debug, error, info};

use crate::pool::{Answer, App, Origin};

/// Slices handed to one vectored write: enough for a depth-16 pipeline of
/// small responses (a head and a body each) in one system call.
const MAX_SLICES: usize = 64;

/// One accepted connection.
#[derive(Debug)]
pub(crate) struct Connection {
    socket: TcpStream,
    session: Session,
    peer: Option<SocketAddr>,
    /// The protocol error the core answered was logged.
    error_logged: bool,
    /// Where a response from the handler pool belongs.
    origin: Origin,
    /// The socket may have input (or an EOF, or an error) to read.
    readable: bool,
    /// The socket may take more output.
    writable: bool,
    /// The peer's end of stream (or an error) was seen in an event: reads
    /// stay worth trying until one returns it.
    read_closed: bool,
    write_shut: bool,
    /// What the socket is registered for.
    interest: Interest,
    /// The wake-up this connection has in the loop's timer heap.
    pub(crate) scheduled: Option<Instant>,
}

impl Connection {
    /// Registers `socket` under `origin.key` and wraps it with a new core.
    pub(crate) fn new(
        mut socket: TcpStream,
        registry: &Registry,
        origin: Origin,
        config: Arc<Config>,
        now: Instant,
    ) -> io::Result<Self> {
        let token = Token(origin.key);
        // Responses are written whole; do not let Nagle hold back their tails.
        socket.set_nodelay(true)?;
        registry.register(&mut socket, token, Interest::READABLE)?;
        let conn = ServerConnection::new(config, now, SystemTime::now());
        let mut session = Session::new(conn);
        let peer = socket.peer_addr().ok();
        if let Some(peer) = peer {
            session.set_peer(peer);
        }
        Ok(Connection {
            socket,
            session,
            peer,
            error_logged: false,
            origin,
            // A new socket can be written, and often already holds the
            // request: try both before waiting for an event.
            readable: true,
            writable: true,
            read_closed: false,
            write_shut: false,
            interest: Interest::READABLE,
            scheduled: None,
        })
    }

    /// Records readiness from an event. Errors and hang-ups count as both:
    /// the next read or write reports them.
    pub(crate) fn on_event(&mut self, event: &mio::event::Event) {
        let failed = event.is_error();
        self.read_closed |= event.is_read_closed() || failed;
        self.readable |= event.is_readable() || self.read_closed;
        self.writable |= event.is_writable() || event.is_write_closed() || failed;
    }

    /// A deadline passed (or may have: early calls are no-ops in the core).
    pub(crate) fn on_timeout(&mut self, now: Instant) {
        self.session.conn().handle_timeout(now);
    }

    /// The graceful shutdown reached this connection.
    pub(crate) fn shutdown(&mut self, now: Instant) {
        self.session.conn().shutdown(now);
    }

    /// What the handler pool sent for this connection: a response, a
    /// panic to answer, or room in a body reader (the loop then advances
    /// the connection, which feeds it more).
    pub(crate) fn respond(&mut self, answer: Answer) {
        match answer {
            Answer::Response(response) => self.session.respond(response),
            Answer::Panicked(message) => self.session.respond_panicked(&message),
            Answer::Room => {}
        }
    }

    /// Whether a response from the pool is for this connection (and not for
    /// an earlier one under the same key).
    pub(crate) fn is_origin_of(&self, origin: Origin) -> bool {
        self.origin == origin
    }

    /// The core's next deadline.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.session.connection().poll_timeout()
    }

    /// Runs the drive loop until the connection has to wait for the socket
    /// or a deadline. Returns false once it is closed: drop it.
    pub(crate) fn advance<H: Handler>(
        &mut self,
        app: &App<'_, H>,
        buffer: &mut [u8],
        now: Instant,
    ) -> bool {
        loop {
            app.serve(&mut self.session, self.origin);
            self.flush(app, now);
            self.log_reports();
            let conn = self.session.conn();
            if conn.wants_write_shutdown() && !self.write_shut {
                self.write_shut = true;
                let _ = self.socket.shutdown(Shutdown::Write);
            }
            if conn.is_closed() {
                debug!(peer = ?self.peer, requests = conn.requests(),
                    reason = ?self.session.close_reason(), "closed");
                return false;
            }
            if conn.poll_timeout().is_some_and(|deadline| deadline <= now) {
                // Already due (a handler that took a while, say): act on it
                // before waiting again.
                conn.handle_timeout(now);
                continue;
            }
            // Read on while the core wants input and the socket has some;
            // stop when it would block: that is what the next event is for.
            let read = self.readable && conn.wants_read() && self.read(buffer, now);
            if !read {
                return true;
            }
        }
    }

    /// Logs what the session recorded: handler panics, the access log,
    /// the protocol error the core answered.
    fn log_reports(&mut self) {
        let peer = self.peer;
        for panic in self.session.take_panics() {
            error!(?peer, request = %panic.request_line, panic = %panic.message,
                "handler panicked; answered 500");
        }
        if self.session.connection().config().access_log {
            for record in self.session.take_access() {
                info!(target: "nutshell::access", "{record}");
            }
        }
        if let (false, Some(error)) = (self.error_logged, self.session.protocol_error()) {
            self.error_logged = true;
            debug!(?peer, %error, status = error.status().as_u16(), "protocol error; answered by the core");
        }
    }

    /// Writes until the output is gone or the socket is full, pulling
    /// streamed bodies on after each write (the core hands them out only as
    /// fast as its transmit queue drains).
    fn flush<H: Handler>(&mut self, app: &App<'_, H>, now: Instant) {
        while self.writable && self.session.connection().wants_write() {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let n = self.session.connection().transmit_slices(&mut slices);
            let offered: usize = slices[..n].iter().map(|slice| slice.len()).sum();
            match (&self.socket).write_vectored(&slices[..n]) {
                Ok(0) => self.session.conn().handle_write_error(),
                Ok(written) => {
                    // A short write means the send buffer is full: skip the
                    // write that would only say `WouldBlock` (as tokio does).
                    self.writable = written == offered;
                    // The loop reads the clock once per wake-up; the access
                    // log's durations end at this write, so read it here.
                    let now = if self.session.connection().config().access_log {
                        Instant::now()
                    } else {
                        now
                    };
                    self.session.conn().advance_transmit(written, now);
                    app.serve(&mut self.session, self.origin);
                }
                Err(e) if would_block(&e) => self.writable = false,
                Err(e) if interrupted(&e) => {}
                Err(e) => {
                    debug!(error = %e, "write failed");
                    self.session.conn().handle_write_error();
                }
            }
        }
    }

    /// One read into the loop's shared buffer, of at most what the core
    /// takes now (`recv_capacity`), so nothing is left over. False when
    /// nothing happened (the socket would block).
    fn read(&mut self, buffer: &mut [u8], now: Instant) -> bool {
        let conn = self.session.conn();
        let room = conn.recv_capacity().min(buffer.len());
        match (&self.socket).read(&mut buffer[..room]) {
            Ok(0) => {
                self.readable = false;
                conn.handle_eof(now);
            }
            Ok(n) => {
                // A short read drained the socket: skip the read that would
                // only say `WouldBlock` (as tokio does). An EOF that came
                // with the data was flagged by the event and is still read.
                self.readable = n == room || self.read_closed;
                let taken = conn.handle_read(&buffer[..n], now);
                debug_assert_eq!(taken, n, "read more than recv_capacity()");
            }
            Err(e) if would_block(&e) => {
                self.readable = false;
                return false;
            }
            Err(e) if interrupted(&e) => {}
            Err(e) => {
                // A reset: the peer is gone. The core answers nothing more
                // and closes once its output is flushed (or fails).
                debug!(error = %e, "read failed");
                self.readable = false;
                conn.handle_eof(now);
            }
        }
        true
    }

    /// What to wait for, derived from the core after every step: readable
    /// while it wants input, writable while output is pending.
    ///
    /// When it wants neither (a transient state that ends at its next
    /// deadline), the connection stays registered for readable: mio has no
    /// empty interest, deregistering and registering again would cost two
    /// system calls, and a readable event then only sets `readable`.
    fn interest(&self) -> Interest {
        let conn = self.session.connection();
        match (conn.wants_read(), conn.wants_write()) {
            (true, true) => Interest::READABLE | Interest::WRITABLE,
            (false, true) => Interest::WRITABLE,
            (_, false) => Interest::READABLE,
        }
    }

    /// Brings the registration in line with [`interest`](Self::interest),
    /// with a system call only when it changed. Adding an interest makes the
    /// OS report a readiness that arrived while it was off (epoll and kqueue
    /// check the socket when the registration changes).
    pub(crate) fn update_interest(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let interest = self.interest();
        if interest != self.interest {
            registry.reregister(&mut self.socket, token, interest)?;
            self.interest = interest;
        }
        Ok(())
    }
}
