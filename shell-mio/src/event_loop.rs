//! One event loop: a `mio::Poll`, a listener, the connections it accepted,
//! and their deadlines. Each loop runs on its own thread and shares nothing
//! with the others but the handler and the configuration.
//!
//! One turn of the loop: wait for events or the earliest deadline, take
//! `now` once, let each ready connection move on, fire the deadlines that
//! are due, accept new connections, repeat.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use nutshell_core::service::Handler;
use nutshell_core::Config;
use nutshell_server::io_error::{accept_transient, interrupted, would_block};
use nutshell_server::ShutdownSignal;
use slab::Slab;
use tracing::{debug, warn};

use crate::connection::Connection;
use crate::pool::{App, Job, Origin, PoolLink};
use crate::timers::Timers;

/// Connections use their slab key as token; these two sit above any key.
const LISTENER: Token = Token(usize::MAX - 1);
/// Woken for the shutdown, and by the handler pool when a response is in.
const WAKER: Token = Token(usize::MAX);
/// Events taken from the OS per wake-up.
const EVENTS: usize = 1024;
/// One read buffer per loop, shared by its connections: the core copies
/// out what it keeps, so idle connections hold no buffer of their own.
const READ_BUFFER: usize = 64 * 1024;
/// How long accepting pauses after an accept error (out of descriptors,
/// say), unless a connection closes first: retrying at once would spin.
const ACCEPT_BACK_OFF: Duration = Duration::from_millis(100);

/// One loop and everything it owns.
pub(crate) struct EventLoop<'h, H> {
    poll: Poll,
    /// `None` once the shutdown started.
    listener: Option<TcpListener>,
    /// The listener may have connections waiting (edge-triggered, as for
    /// connections: cleared only by `WouldBlock`).
    acceptable: bool,
    /// No accepting before then, after an accept error.
    accept_paused_until: Option<Instant>,
    /// This loop's share of `ServerOptions::max_connections`.
    max_connections: usize,
    connections: Slab<Connection>,
    timers: Timers,
    buffer: Box<[u8]>,
    handler: &'h H,
    /// The handler pool, when handlers run off the loop.
    pool: Option<PoolLink>,
    /// Numbers connections, so a late response finds no successor.
    next_serial: u64,
    config: Arc<Config>,
    /// Checked after every wake-up, before the events are handled: a
    /// request that arrives with (or after) the shutdown is answered as
    /// one arriving during it, whatever order the batch lists them in.
    signal: ShutdownSignal,
}

impl<'h, H: Handler> EventLoop<'h, H> {
    /// A loop serving `listener`, woken by `signal` for the shutdown;
    /// with `jobs`, handlers run on the pool that receives them.
    pub(crate) fn new(
        mut listener: TcpListener,
        handler: &'h H,
        jobs: Option<std::sync::mpsc::Sender<Job>>,
        config: Arc<Config>,
        max_connections: usize,
        signal: &ShutdownSignal,
    ) -> io::Result<Self> {
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let pool = jobs.map(|jobs| PoolLink::new(jobs, Arc::clone(&waker)));
        signal.on_trigger(move || {
            if let Err(e) = waker.wake() {
                warn!(error = %e, "could not wake an event loop for the shutdown");
            }
        });
        Ok(EventLoop {
            poll,
            listener: Some(listener),
            acceptable: true,
            accept_paused_until: None,
            max_connections,
            connections: Slab::new(),
            timers: Timers::default(),
            buffer: vec![0; READ_BUFFER].into_boxed_slice(),
            handler,
            pool,
            next_serial: 0,
            config,
            signal: signal.clone(),
        })
    }

    /// Runs until the shutdown started and every connection is closed.
    pub(crate) fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(EVENTS);
        let mut now = Instant::now();
        loop {
            // A shutdown triggered before this loop registered its waker.
            if self.listener.is_some() && self.signal.is_triggered() {
                self.shut_down(now);
            }
            self.accept(now);
            if self.listener.is_none() && self.connections.is_empty() {
                return Ok(());
            }
            if let Err(e) = self.poll.poll(&mut events, self.poll_timeout(now)) {
                if interrupted(&e) {
                    continue;
                }
                return Err(e);
            }
            // One clock reading per wake-up, for everything it handles.
            now = Instant::now();
            if self.listener.is_some() && self.signal.is_triggered() {
                self.shut_down(now);
            }
            for event in &events {
                self.dispatch(event, now);
            }
            self.fire_timers(now);
        }
    }

    /// How long `poll` may sleep: until the earliest deadline, or the end
    /// of an accept pause. (`mio` rounds up to whole milliseconds, so a
    /// deadline a few microseconds away does not spin.)
    fn poll_timeout(&self, now: Instant) -> Option<Duration> {
        let timers = self.timers.timeout(now);
        let paused = self
            .accept_paused_until
            .map(|until| until.saturating_duration_since(now));
        match (timers, paused) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn dispatch(&mut self, event: &Event, now: Instant) {
        match event.token() {
            WAKER => {
                // The shutdown was seen right after the wake-up; what is
                // left to do here is the pool's responses.
                self.take_replies(now);
            }
            LISTENER => self.acceptable = true,
            Token(key) => {
                // Closed earlier in this batch of events.
                let Some(conn) = self.connections.get_mut(key) else {
                    return;
                };
                conn.on_event(event);
                self.advance(key, now);
            }
        }
    }

    /// Gives each response the pool sent back to its connection, unless
    /// that connection closed meanwhile.
    fn take_replies(&mut self, now: Instant) {
        while let Some(reply) = self.pool.as_ref().and_then(PoolLink::take_reply) {
            let key = reply.origin.key;
            let Some(conn) = self.connections.get_mut(key) else {
                continue;
            };
            if conn.is_origin_of(reply.origin) {
                conn.respond(reply.response);
                self.advance(key, now);
            }
        }
    }

    /// Lets connection `key` move on, then registers what it waits for:
    /// its interest and its next deadline. Drops it once closed.
    fn advance(&mut self, key: usize, now: Instant) {
        let app = App {
            handler: self.handler,
            pool: self.pool.as_ref(),
        };
        let conn = &mut self.connections[key];
        let mut open = conn.advance(&app, &mut self.buffer, now);
        if open {
            if let Err(e) = conn.update_interest(self.poll.registry(), Token(key)) {
                debug!(error = %e, "reregister failed; closing");
                open = false;
            }
        }
        if open {
            self.timers
                .schedule(key, conn.deadline(), &mut conn.scheduled);
        } else {
            // Dropping the socket closes it, which also removes it from the
            // poll: no deregister call needed.
            self.connections.remove(key);
            let connections = &self.connections;
            self.timers.compact(connections.len(), |at, key| {
                connections
                    .get(key)
                    .is_some_and(|conn| conn.scheduled == Some(at))
            });
            // A descriptor was freed: an accept error may be over.
            self.accept_paused_until = None;
        }
    }

    /// Hands each due deadline to its connection. Entries that are stale
    /// (see `timers`) are skipped.
    fn fire_timers(&mut self, now: Instant) {
        while let Some((at, key)) = self.timers.pop_due(now) {
            let Some(conn) = self.connections.get_mut(key) else {
                continue;
            };
            if conn.scheduled != Some(at) {
                continue;
            }
            conn.scheduled = None;
            conn.on_timeout(now);
            self.advance(key, now);
        }
    }

    /// Accepts while connections wait, below this loop's cap, and not in an
    /// accept pause. At the cap they wait in the listen backlog; `acceptable`
    /// stays set, so accepting resumes as soon as a connection closes.
    fn accept(&mut self, now: Instant) {
        if self.accept_paused_until.is_some_and(|until| now < until) {
            return;
        }
        self.accept_paused_until = None;
        while self.acceptable && self.connections.len() < self.max_connections {
            let Some(listener) = &self.listener else {
                return;
            };
            let (socket, peer) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if would_block(&e) => {
                    self.acceptable = false;
                    return;
                }
                Err(e) if accept_transient(&e) => continue,
                Err(e) => {
                    warn!(error = %e, "accept failed; pausing accepts");
                    self.accept_paused_until = Some(now + ACCEPT_BACK_OFF);
                    return;
                }
            };
            debug!(%peer, "accepted");
            let entry = self.connections.vacant_entry();
            let key = entry.key();
            let config = Arc::clone(&self.config);
            let origin = Origin {
                key,
                serial: self.next_serial,
            };
            self.next_serial += 1;
            match Connection::new(socket, self.poll.registry(), origin, config, now) {
                Ok(conn) => {
                    entry.insert(conn);
                    self.advance(key, now);
                }
                Err(e) => debug!(error = %e, "could not set up a connection"),
            }
        }
    }

    /// Starts the graceful shutdown: stop accepting, tell every connection.
    fn shut_down(&mut self, now: Instant) {
        if let Some(mut listener) = self.listener.take() {
            debug!(open = self.connections.len(), "shutting down");
            let _ = self.poll.registry().deregister(&mut listener);
        }
        let keys: Vec<usize> = self.connections.iter().map(|(key, _)| key).collect();
        for key in keys {
            self.connections[key].shutdown(now);
            self.advance(key, now);
        }
    }
}
