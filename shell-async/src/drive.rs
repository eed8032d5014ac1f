//! The drive loop of one connection, written once for every runtime: the
//! core's contract (feed input with `now`, drain output, wait for what it
//! wants) over a [`Socket`] and a [`Timer`], with the application polled in
//! the same task.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io::IoSlice;
use std::task::{Context, Poll};
use std::time::Instant;

use nutshell_core::service::Session;
use nutshell_core::{ConnectionState, ServerConnection};
use nutshell_server::io_error::{interrupted, would_block};
use tracing::debug;

use crate::runtime::{Socket, Timer};
use crate::shutdown::ShutdownListener;

/// Size of the per-thread read buffer.
const SCRATCH_LEN: usize = 64 * 1024;

/// Rounds of progress before the loop yields to the executor, so a
/// connection that always has work (a fast download) cannot starve others.
const BUDGET: u32 = 64;

thread_local! {
    /// Where reads land before the core copies what it keeps. One per worker
    /// thread (never held across a yield), so an idle connection holds no
    /// read buffer at all.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0; SCRATCH_LEN]);
}

/// Where the drive loop finds the core's connection: a bare
/// [`ServerConnection`] (the tower path), or a [`Session`] around one (the
/// handler path, which collects requests).
pub trait Holder: Send {
    /// The connection, for moving bytes and reading its getters.
    fn conn(&mut self) -> &mut ServerConnection;
}

impl Holder for ServerConnection {
    fn conn(&mut self) -> &mut ServerConnection {
        self
    }
}

impl Holder for Session {
    fn conn(&mut self) -> &mut ServerConnection {
        Session::conn(self)
    }
}

/// The application side of a connection over a socket `S`, polled by the
/// drive loop, which holds the connection as a `C` ([`Holder`]).
pub trait App<S, C = ServerConnection>: Send {
    /// Moves the application on: takes the core's events, polls its own
    /// futures and bodies, sends what is ready. Returns whether anything
    /// changed (then the loop goes round again).
    fn poll_app(&mut self, cx: &mut Context<'_>, conn: &mut C) -> bool;

    /// Whether the application has nothing in progress that could still
    /// wake the loop.
    fn is_idle(&self) -> bool;

    /// The connection is closed (or upgraded): a last look at it, for the
    /// log. By default nothing.
    fn closed(&mut self, conn: &mut C) {
        let _ = conn;
    }

    /// The connection was upgraded and the switching response flushed: the
    /// socket is the application's from here on. By default it is closed.
    fn hand_over(&mut self, socket: S) {
        drop(socket);
    }
}

/// One connection: the core (held as a `C`), its socket and timer, and the
/// application.
#[derive(Debug)]
pub struct Driver<S, T, A, C = ServerConnection> {
    holder: C,
    socket: S,
    timer: T,
    /// The deadline the timer is set to, if any.
    armed: Option<Instant>,
    /// The last deadline found still ahead of the clock: while the core
    /// keeps it, the loop goes round without reading the clock again.
    checked: Option<Instant>,
    app: A,
    shutdown: ShutdownListener,
    shutting_down: bool,
    write_shut: bool,
    /// The last read or write would have blocked: wait for readiness first.
    read_blocked: bool,
    write_blocked: bool,
}

impl<S: Socket, T: Timer, C: Holder, A: App<S, C>> Driver<S, T, A, C> {
    /// A driver for the connection `conn` holds, over `socket`.
    pub fn new(conn: C, socket: S, timer: T, app: A, shutdown: ShutdownListener) -> Self {
        Driver {
            holder: conn,
            socket,
            timer,
            armed: None,
            checked: None,
            app,
            shutdown,
            shutting_down: false,
            write_shut: false,
            read_blocked: false,
            write_blocked: false,
        }
    }

    /// Serves until the core says the connection is closed, or until it
    /// was upgraded (then the socket goes to the application).
    pub async fn run(mut self) {
        poll_fn(|cx| self.poll_drive(cx)).await;
        self.app.closed(&mut self.holder);
        if self.holder.conn().state() == ConnectionState::Upgraded {
            debug!("upgraded; the socket is the application's");
            self.app.hand_over(self.socket);
            return;
        }
        debug!(requests = self.holder.conn().requests(), "connection ended");
    }

    fn conn(&mut self) -> &mut ServerConnection {
        self.holder.conn()
    }

    fn poll_drive(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        for _ in 0..BUDGET {
            // 1. The application: events in, responses and body frames out.
            let mut progress = self.app.poll_app(cx, &mut self.holder);
            // 2. Write what the core queued.
            progress |= self.write(cx);
            let conn = self.holder.conn();
            if conn.state() == ConnectionState::Upgraded && !conn.wants_write() {
                return Poll::Ready(());
            }
            // 3. The last response is out: half-close, so the peer reads it
            // before any reset, while the core lingers to drain its input.
            if conn.wants_write_shutdown() && !self.write_shut {
                self.write_shut = true;
                let _ = self.socket.shutdown_write();
            }
            if conn.is_closed() {
                return Poll::Ready(());
            }
            // 4. Input: bytes, the shutdown signal, deadlines.
            progress |= self.read(cx);
            if !self.shutting_down && self.shutdown.poll_triggered(cx).is_ready() {
                self.shutting_down = true;
                self.conn().shutdown(Instant::now());
                progress = true;
            }
            progress |= self.timers(cx);
            if !progress {
                let conn = self.holder.conn();
                let waiting_on_core =
                    conn.wants_read() || conn.wants_write() || conn.poll_timeout().is_some();
                if !waiting_on_core && self.app.is_idle() {
                    debug!("nothing left to wait for; closing");
                    return Poll::Ready(());
                }
                return Poll::Pending;
            }
        }
        // Out of budget with work left: come back after the others.
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Reads what the socket has into the scratch buffer and hands it to the
    /// core, never more than the core has room for, so nothing is left over.
    fn read(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.conn().wants_read() {
            return false;
        }
        if self.read_blocked {
            match self.socket.poll_readable(cx) {
                Poll::Pending => return false,
                Poll::Ready(Ok(())) => self.read_blocked = false,
                Poll::Ready(Err(_)) => {
                    self.conn().handle_eof(Instant::now());
                    return true;
                }
            }
        }
        let (socket, conn) = (&mut self.socket, self.holder.conn());
        let result = SCRATCH.with_borrow_mut(|scratch| {
            let room = conn.recv_capacity().min(scratch.len());
            let result = socket.read_now(cx, &mut scratch[..room]);
            match result {
                Ok(0) => conn.handle_eof(Instant::now()),
                Ok(n) => {
                    conn.handle_read(&scratch[..n], Instant::now());
                }
                Err(_) => {}
            }
            result
        });
        match result {
            Ok(_) => true,
            // Readiness was stale: register for the next, and go round
            // again if it is already there.
            Err(e) if would_block(&e) => {
                self.read_blocked = true;
                self.socket.poll_readable(cx).is_ready()
            }
            Err(e) if interrupted(&e) => true,
            // A reset: the core decides whether anything is left to do.
            Err(e) => {
                debug!(error = %e, "read failed");
                self.conn().handle_eof(Instant::now());
                true
            }
        }
    }

    /// Writes as much of the queued output as the socket takes in one call.
    fn write(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.conn().wants_write() {
            return false;
        }
        if self.write_blocked {
            match self.socket.poll_writable(cx) {
                Poll::Pending => return false,
                Poll::Ready(Ok(())) => self.write_blocked = false,
                Poll::Ready(Err(_)) => {
                    self.conn().handle_write_error();
                    return true;
                }
            }
        }
        let mut slices = [IoSlice::new(&[]); 16];
        let conn = self.holder.conn();
        let count = conn.transmit_slices(&mut slices);
        let written = self.socket.try_write_vectored(&slices[..count]);
        match written {
            Ok(0) => {
                debug!("write returned zero");
                self.conn().handle_write_error();
                true
            }
            Ok(written) => {
                self.conn().advance_transmit(written, Instant::now());
                true
            }
            Err(e) if would_block(&e) => {
                self.write_blocked = true;
                self.socket.poll_writable(cx).is_ready()
            }
            Err(e) if interrupted(&e) => true,
            Err(e) => {
                debug!(error = %e, "write failed");
                self.conn().handle_write_error();
                true
            }
        }
    }

    /// Arms the one timer for the core's next deadline and acts on it. The
    /// timer moves only when the deadline comes earlier than the one armed;
    /// one that fires early is harmless (`handle_timeout` before a deadline
    /// is a no-op, and the timer is then armed again).
    fn timers(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.conn().poll_timeout() else {
            return false;
        };
        if self.checked != Some(deadline) {
            let now = Instant::now();
            if deadline <= now {
                self.armed = None;
                self.checked = None;
                self.conn().handle_timeout(now);
                return true;
            }
            self.checked = Some(deadline);
            if self.armed.is_none_or(|at| deadline < at) {
                self.timer.set_at(deadline);
                self.armed = Some(deadline);
            }
        }
        if self.timer.poll_fired(cx).is_pending() {
            return false;
        }
        self.armed = None;
        self.checked = None;
        self.conn().handle_timeout(Instant::now());
        true
    }
}
