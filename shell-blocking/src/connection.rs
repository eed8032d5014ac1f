//! One connection on its own thread: the core's drive loop with blocking
//! reads and writes, each bounded by the core's next deadline.
//!
//! A handler that reads its request body as it arrives
//! (`Handler::wants_body_reader`) blocks in its reads until this loop
//! feeds the core's body pieces to it, so it runs on a thread of its own
//! (scoped to the connection) while this thread goes on moving bytes; its
//! reads wake this thread when they make room, and its response comes back
//! over a channel.

use std::io::{IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::Arc;
use std::thread::Scope;
use std::time::{Duration, Instant, SystemTime};

use nutshell_core::service::{
    panic_message, BodyReader, BodyWaker, Exchange, Handler, Request, Response, Session,
};
use nutshell_core::{Config, ConnectionState, ServerConnection};
use nutshell_server::io_error::{interrupted, timed_out};
use nutshell_server::ShutdownSignal;
use tracing::{debug, error, info, trace};

use crate::registry::Registration;

/// Each connection thread's read buffer. Small, because every connection
/// has one: the core copies out what it keeps.
const READ_BUFFER: usize = 16 * 1024;
/// Slices handed to one vectored write.
const MAX_SLICES: usize = 64;
/// While a handler reads its body on its own thread, socket reads wait at
/// most this long, so its response is not left waiting for the peer.
const HANDLER_CHECK: Duration = Duration::from_millis(20);

/// A streaming handler's answer: its response, or what its panic said.
type Answer = Result<Response, String>;

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
    let peer = stream.peer_addr().ok();
    let conn = ServerConnection::new(config, Instant::now(), SystemTime::now());
    let mut session = Session::new(conn);
    if let Some(peer) = peer {
        session.set_peer(peer);
    }
    let (wake, wakes) = mpsc::channel();
    let waker: BodyWaker = Arc::new(move || {
        let _ = wake.send(());
    });
    session.set_body_waker(Arc::clone(&waker));
    let mut connection = Connection {
        registration: &registration,
        session,
        peer,
        buffer: vec![0; READ_BUFFER].into_boxed_slice(),
        shutdown_seen: false,
        write_shut: false,
        error_logged: false,
        waker,
        wakes,
        running: None,
    };
    // A streaming handler's thread ends before the connection's: its
    // reader fails once the connection is closed.
    std::thread::scope(|scope| connection.run(scope, handler, signal));
    connection.log_reports();
    let session = &connection.session;
    debug!(peer = ?connection.peer, requests = session.connection().requests(),
        reason = ?session.close_reason(), "connection closed");
}

struct Connection<'a> {
    registration: &'a Registration<'a>,
    session: Session,
    peer: Option<SocketAddr>,
    buffer: Box<[u8]>,
    shutdown_seen: bool,
    write_shut: bool,
    error_logged: bool,
    /// Wakes this thread: a streaming handler made room, or answered.
    waker: BodyWaker,
    wakes: Receiver<()>,
    /// The answer of the streaming handler running now, when it comes.
    running: Option<Receiver<Answer>>,
}

impl Connection<'_> {
    fn stream(&self) -> &TcpStream {
        &self.registration.entry.stream
    }

    /// The drive loop, in the order every shell uses: drive, write, write
    /// shutdown, close, wait for input or the deadline.
    fn run<'scope, 'env, H: Handler>(
        &mut self,
        scope: &'scope Scope<'scope, 'env>,
        handler: &'env H,
        signal: &ShutdownSignal,
    ) {
        loop {
            let now = Instant::now();
            if !self.shutdown_seen && signal.is_triggered() {
                self.shutdown_seen = true;
                self.session.conn().shutdown(now);
            }
            self.drive(scope, handler);
            self.log_reports();
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

    /// Answers what the session has ready: collected requests here, a
    /// request whose body streams on a thread of its own.
    fn drive<'scope, 'env, H: Handler>(
        &mut self,
        scope: &'scope Scope<'scope, 'env>,
        handler: &'env H,
    ) {
        if let Some(answers) = &self.running {
            let answer = match answers.try_recv() {
                Ok(answer) => Some(answer),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => Some(Err("the handler thread ended".into())),
            };
            if let Some(answer) = answer {
                self.running = None;
                match answer {
                    Ok(response) => self.session.respond(response),
                    Err(message) => self.session.respond_panicked(&message),
                }
            }
        }
        while let Some(exchange) = self.session.poll_exchange(handler) {
            match exchange {
                Exchange::Streaming(request, body) => self.spawn(scope, handler, request, body),
                // The handler's state is the application's; the
                // connection's own is untouched by the unwind.
                exchange => match catch_unwind(AssertUnwindSafe(|| exchange.run(handler))) {
                    Ok(response) => self.session.respond(response),
                    Err(panic) => self.session.respond_panicked(panic_message(&*panic)),
                },
            }
        }
    }

    /// Runs a handler that reads its body as it arrives on a thread of its
    /// own; its answer comes back through `running`.
    fn spawn<'scope, 'env, H: Handler>(
        &mut self,
        scope: &'scope Scope<'scope, 'env>,
        handler: &'env H,
        request: Request,
        body: BodyReader,
    ) {
        let (answer, answers) = mpsc::channel();
        let waker = Arc::clone(&self.waker);
        let spawned = std::thread::Builder::new()
            .name("nutshell-body".into())
            .spawn_scoped(scope, move || {
                let result =
                    catch_unwind(AssertUnwindSafe(|| handler.handle_streaming(request, body)));
                let _ = answer.send(result.map_err(|panic| panic_message(&*panic).to_owned()));
                waker();
            });
        match spawned {
            Ok(_) => self.running = Some(answers),
            Err(e) => {
                error!(error = %e, "cannot start a handler thread; answering 500");
                self.session.respond_panicked("no thread for the handler");
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
        for record in self.session.take_access() {
            info!(target: "nutshell::access", "{record}");
        }
        if let (false, Some(error)) = (self.error_logged, self.session.protocol_error()) {
            self.error_logged = true;
            debug!(?peer, %error, status = error.status().as_u16(), "protocol error; answered by the core");
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
        if self.wakes.try_recv().is_ok() {
            // A streaming handler made room or answered: drive first.
            while self.wakes.try_recv().is_ok() {}
            return true;
        }
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
        if self.running.is_some() {
            // The core holds input back until the handler reads: wait for
            // its wake-up (or the deadline).
            let wait = deadline.map_or(HANDLER_CHECK, |d| d.saturating_duration_since(now));
            let _ = self.wakes.recv_timeout(wait);
            self.session.conn().handle_timeout(Instant::now());
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
        let mut timeout = timeout_until(deadline, now);
        if self.running.is_some() {
            timeout = Some(timeout.map_or(HANDLER_CHECK, |t| t.min(HANDLER_CHECK)));
        }
        if let Err(e) = entry.stream.set_read_timeout(timeout) {
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
