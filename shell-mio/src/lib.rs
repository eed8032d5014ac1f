//! # nutshell-mio: the core in your own event loop
//!
//! The worked example of embedding [`nutshell_core`] in a hand-written event
//! loop, and the fastest of the shells. Thread per core: `options.threads`
//! threads, each with its own [`mio::Poll`], its own listener, its own
//! connections and timers, sharing nothing but the handler. Per connection
//! the loop only moves bytes and deadlines; the core makes every decision.
//!
//! ```no_run
//! use nutshell_demo::DemoApp;
//! use nutshell_mio::{Server, ServerOptions};
//!
//! let server = Server::bind("127.0.0.1:8080", DemoApp, ServerOptions::default())?;
//! let signal = server.shutdown_signal(); // call signal.trigger() to stop
//! server.run()?; // blocks until a graceful shutdown completes
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Try it with `cargo run --release -p nutshell-mio --example demo-mio -- 8080`
//! and `curl -v http://127.0.0.1:8080/`.
//!
//! ## How to read it
//!
//! - `event_loop.rs`: poll, accept, dispatch events and deadlines.
//! - `connection.rs`: one connection: read, drive the core, write, and what
//!   to wait for next (readable while the core wants input, writable while
//!   it has output: backpressure reaches the OS).
//! - `timers.rs`: the loop's deadline heap.
//! - this file: binding the listeners, starting the loops.
//!
//! ## Listeners: `SO_REUSEPORT` or clones
//!
//! [`Server::bind`] on Linux creates one listening socket per loop, all
//! bound to the same address with `SO_REUSEPORT`: the kernel spreads new
//! connections across them, and only the loop that gets a connection wakes.
//! Binding fails, as usual, if the port is taken; but once the server
//! listens, another process of the same user could bind the port with
//! `SO_REUSEPORT` too and receive a share of the connections.
//!
//! [`Server::from_listener`] gets one socket that is already bound, so every
//! loop registers a clone of it (`try_clone`) and they share one accept
//! queue: each new connection wakes every loop, and all but one find
//! nothing to accept (a "thundering herd": harmless, a little wasted work
//! per connection). `bind` does the same on other systems, where
//! `SO_REUSEPORT` does not balance connections.
//!
//! ## What it costs
//!
//! Per loop: one thread, a 64 KiB read buffer and an event list. Per
//! connection: the core's state and buffers, a slab entry and a timer
//! entry; the read buffer is the loop's and bytes are copied into the core,
//! so an idle keep-alive connection costs about 2 KiB of resident memory
//! (measured with 400 connections, Linux x86-64). System calls per wake-up: the `poll`, one read and
//! one vectored write per ready connection (short reads and writes skip
//! the extra call that would only say `WouldBlock`), and a `reregister`
//! only when what a connection waits for changes. The clock is read once
//! per wake-up.
//!
//! ## Handlers that block: the handler pool
//!
//! By default the handler runs on the loop's thread, between reads and
//! writes: nothing is faster for a handler that answers at once, but while
//! it runs, no other connection of that loop moves. A handler that waits
//! 20 ms for a database stalls every connection on its loop for 20 ms, so
//! a loop serves at most 50 such requests a second, however many
//! connections wait. **A handler that sleeps, waits on I/O, takes a lock
//! held for long, or computes for more than some microseconds must not run
//! on the loop thread.**
//!
//! [`ServerOptions::handler_threads`] (`nutshell serve --handler-threads
//! N`) runs handlers on a pool of N threads instead: the loop hands each
//! complete request over and carries on serving other connections; the
//! response comes back through a channel and the loop's [`mio::Waker`],
//! and the loop sends it. What it costs: N threads (stack and a scheduler
//! entry each), and per request two channel messages, a wake-up system call
//! and two thread switches, which a handler that answers at once feels.
//! What it allows: at most N handlers at once, so with handlers that wait
//! W, at most N / W requests per second (64 threads, 20 ms: 3,200): a
//! blocking handler needs a thread per concurrent wait, which is what the
//! async shells avoid with a runtime timer. Streamed response bodies
//! ([`BodyStream`](nutshell_core::service::BodyStream)) are still pulled on
//! the loop thread, so `next_chunk` must not block. A handler that panics
//! on the pool costs its request a 500, not the worker.
//!
//! ## Connection cap
//!
//! [`ServerOptions::max_connections`] is split between the loops, as evenly
//! as it goes (and there are never more loops than connections allowed). A
//! loop at its share stops accepting: new connections wait in the listen
//! backlog until one of its connections closes. With `SO_REUSEPORT` the
//! kernel picks the loop for each connection, so a connection can wait for
//! a full loop while another loop has room.
//!
//! ## Graceful shutdown
//!
//! [`ShutdownSignal::trigger`] wakes every loop through its [`mio::Waker`].
//! A woken loop drops its listener, tells every connection's core to shut
//! down (idle ones close at once, requests in flight finish within the
//! core's shutdown deadline), and ends when its last connection closes.
//! [`Server::run`] returns when every loop has ended.

#![forbid(unsafe_code)]

mod connection;
mod event_loop;
mod pool;
mod timers;

use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::{mpsc, Mutex};
use std::thread;

use socket2::{Domain, Socket, Type};
use tracing::debug;

use crate::event_loop::EventLoop;

pub use nutshell_core::service::Handler;
pub use nutshell_server::{ServerOptions, Shell, ShutdownSignal};

/// Pending connections each listening socket queues before the kernel
/// drops SYNs.
const BACKLOG: i32 = 1024;

/// An HTTP/1.1 server: one mio event loop per thread.
#[derive(Debug)]
pub struct Server<H> {
    /// One listener per loop (see the crate docs).
    listeners: Vec<TcpListener>,
    local_addr: SocketAddr,
    handler: H,
    options: ServerOptions,
    signal: ShutdownSignal,
}

impl<H: Handler> Server<H> {
    /// Binds `addr` (anything [`ToSocketAddrs`] takes, e.g. `"127.0.0.1:8080"`):
    /// one `SO_REUSEPORT` listener per loop on Linux.
    pub fn bind(addr: impl ToSocketAddrs, handler: H, options: ServerOptions) -> io::Result<Self> {
        let mut last_error = None;
        for addr in addr.to_socket_addrs()? {
            match bind_listeners(addr, loops(&options)) {
                Ok(listeners) => return Self::new(listeners, handler, options),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error
            .unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind")))
    }

    /// Serves an already bound listener (tests bind `127.0.0.1:0`): every
    /// loop registers a clone of it.
    pub fn from_listener(
        listener: TcpListener,
        handler: H,
        options: ServerOptions,
    ) -> io::Result<Self> {
        let mut listeners = Vec::new();
        for _ in 1..loops(&options) {
            listeners.push(listener.try_clone()?);
        }
        listeners.push(listener);
        Self::new(listeners, handler, options)
    }

    fn new(listeners: Vec<TcpListener>, handler: H, options: ServerOptions) -> io::Result<Self> {
        for listener in &listeners {
            listener.set_nonblocking(true)?;
        }
        let local_addr = listeners[0].local_addr()?;
        Ok(Server {
            listeners,
            local_addr,
            handler,
            options,
            signal: ShutdownSignal::new(),
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that starts the graceful shutdown (see the crate docs).
    pub fn shutdown_signal(&self) -> ShutdownSignal {
        self.signal.clone()
    }

    /// Serves until a graceful shutdown completes, on `options.threads`
    /// threads (the calling thread waits for them). If a loop fails, the
    /// others are shut down and its error is returned.
    pub fn run(self) -> io::Result<()> {
        let Server {
            listeners,
            handler,
            options,
            signal,
            ..
        } = self;
        let loops = listeners.len();
        // The pool's queue: each loop gets a sender, and the workers end
        // once every loop has ended and dropped its sender.
        let (jobs, queue) = mpsc::channel();
        let queue = Mutex::new(queue);
        thread::scope(|scope| {
            let (handler, signal, queue) = (&handler, &signal, &queue);
            let workers: Vec<_> = (0..options.handler_threads)
                .map(|i| {
                    thread::Builder::new()
                        .name(format!("nutshell-handler-{i}"))
                        .spawn_scoped(scope, move || pool::work(queue, handler))
                })
                .collect();
            let with_pool = options.handler_threads > 0;
            let threads: Vec<_> = listeners
                .into_iter()
                .enumerate()
                .map(|(i, listener)| {
                    let config = options.config.clone();
                    let max = share(options.max_connections, loops, i);
                    let jobs = with_pool.then(|| jobs.clone());
                    thread::Builder::new()
                        .name(format!("nutshell-mio-{i}"))
                        .spawn_scoped(scope, move || {
                            let listener = mio::net::TcpListener::from_std(listener);
                            let result =
                                EventLoop::new(listener, handler, jobs, config, max, signal)
                                    .and_then(EventLoop::run);
                            if result.is_err() {
                                // Do not leave the others serving on their own.
                                signal.trigger();
                            }
                            result
                        })
                })
                .collect();
            drop(jobs);
            if let Some(Err(e)) = workers.into_iter().find(Result::is_err) {
                // Serving without the pool asked for would block the loops.
                signal.trigger();
                return Err(e);
            }
            let mut outcome = Ok(());
            for thread in threads {
                let result = match thread {
                    Ok(thread) => thread
                        .join()
                        .unwrap_or_else(|_| Err(io::Error::other("an event loop panicked"))),
                    Err(e) => {
                        signal.trigger();
                        Err(e)
                    }
                };
                if let Err(e) = result {
                    debug!(error = %e, "event loop failed");
                    outcome = outcome.and(Err(e));
                }
            }
            outcome
        })
    }
}

/// `bind` is the mio shell's own: one `SO_REUSEPORT` listener per loop.
impl<H: Handler> Shell<H> for Server<H> {
    fn from_listener(
        listener: TcpListener,
        handler: H,
        options: ServerOptions,
    ) -> io::Result<Self> {
        Server::from_listener(listener, handler, options)
    }

    fn bind(addr: impl ToSocketAddrs, handler: H, options: ServerOptions) -> io::Result<Self> {
        Server::bind(addr, handler, options)
    }

    fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    fn shutdown_signal(&self) -> ShutdownSignal {
        self.signal.clone()
    }

    fn run(self) -> io::Result<()> {
        self.run()
    }
}

/// How many loops: `options.threads`, but no more than connections allowed
/// (so that every loop's share of the cap is at least one).
fn loops(options: &ServerOptions) -> usize {
    options.threads.clamp(1, options.max_connections.max(1))
}

/// Loop `i`'s share of `max` connections over `loops` loops: the same for
/// all, the remainder to the first ones.
fn share(max: usize, loops: usize, i: usize) -> usize {
    max / loops + usize::from(i < max % loops)
}

/// One listener per loop: `SO_REUSEPORT` siblings where the kernel balances
/// connections across them (Linux), else one listener and clones.
fn bind_listeners(addr: SocketAddr, loops: usize) -> io::Result<Vec<TcpListener>> {
    let first = listen(addr, false)?;
    // Port 0 picked a port: the siblings bind to that one.
    let addr = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..loops {
        let sibling = if REUSE_PORT {
            listen(addr, true)?
        } else {
            listeners[0].try_clone()?
        };
        listeners.push(sibling);
    }
    Ok(listeners)
}

/// Whether `SO_REUSEPORT` spreads connections across sockets here.
const REUSE_PORT: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// A listening socket on `addr`; a `sibling` joins the first one there.
fn listen(addr: SocketAddr, sibling: bool) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    // As std does: rebinding a port with connections in TIME_WAIT is fine.
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    // The first socket takes `SO_REUSEPORT` only after its bind, so that
    // bind fails like any other if the port is taken, even by another
    // `SO_REUSEPORT` server of the same user; siblings need it before.
    if sibling {
        reuse_port(&socket)?;
    }
    socket.bind(&addr.into())?;
    if !sibling {
        reuse_port(&socket)?;
    }
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn reuse_port(socket: &Socket) -> io::Result<()> {
    socket.set_reuse_port(true)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn reuse_port(_: &Socket) -> io::Result<()> {
    Ok(())
}
