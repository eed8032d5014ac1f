//! # nutshell-blocking: one thread per connection
//!
//! The plainest way to drive [`nutshell_core`]: the thread that calls
//! [`Server::run`] accepts connections, and each connection gets a thread of
//! its own that runs the core's drive loop with ordinary blocking reads and
//! writes. The only way it waits for the core's deadlines is the socket's
//! own read and write timeout, set to `deadline - now` before every blocking
//! call. It uses nothing but `std` (and `tracing` for logs).
//!
//! ```no_run
//! use nutshell_blocking::{Server, ServerOptions};
//! use nutshell_demo::DemoApp;
//!
//! let options = ServerOptions::default().max_connections(1024);
//! let server = Server::bind("127.0.0.1:8080", DemoApp, options)?;
//! let signal = server.shutdown_signal(); // call signal.trigger() to stop
//! server.run()?; // blocks until a graceful shutdown completes
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Try it with `cargo run --release -p nutshell-blocking --example demo-blocking -- 8080`
//! and `curl -v http://127.0.0.1:8080/`.
//!
//! ## Handlers that block, and the thread cap
//!
//! Every connection has a thread of its own, so a handler that blocks
//! (sleeps, waits on a database, computes) stalls only its own connection:
//! this shell serves handlers that wait as well as any, up to its thread
//! cap. The cap is [`ServerOptions::max_connections`]: at most that many
//! threads, hence at most that many handlers waiting at once (1,024 threads
//! and a 20 ms wait: at most 51,200 requests/s); connections beyond it wait
//! in the listen backlog. The price is a thread per connection, below.
//!
//! ## What it costs
//!
//! A thread per connection is simple, and fast for tens or hundreds of
//! busy connections. For thousands, this is what it costs:
//!
//! - **Memory.** Each connection holds a thread (Rust's default 2 MiB of
//!   stack address space, of which only the touched pages are resident,
//!   plus the kernel's own per-thread structures), a 16 KiB read buffer and
//!   the core's state. Measured: about 34 KiB of resident memory per idle
//!   keep-alive connection (400 connections, Linux x86-64), where the mio
//!   shell needs about 2 KiB.
//! - **Time.** Every new connection pays for creating a thread (about
//!   15 to 20 µs measured for a spawn and join), so many short connections
//!   cost more than on an event loop. Switching between thousands of runnable threads costs scheduler
//!   time too.
//! - **Limits.** 10,000 connections means 10,000 threads: check `ulimit -u`,
//!   `/proc/sys/kernel/threads-max` and `vm.max_map_count`. The connection cap
//!   is [`ServerOptions::max_connections`], used as given; its default
//!   (10,000) is more threads than a small machine should run, so set it,
//!   say to 1,024, as in the example above.
//! - `ServerOptions::threads` is ignored: the number of threads follows the
//!   number of connections.
//!
//! ## At the connection cap
//!
//! When `max_connections` connections are open, the accept thread stops
//! calling `accept()` until one closes; new connections wait in the kernel's
//! listen backlog (and past it, the kernel drops their SYNs and the clients
//! retry). It does not accept them to answer 503: a thread for a refusal
//! costs about as much as a thread for service, which is what the cap is
//! there to bound.
//!
//! ## Graceful shutdown
//!
//! [`ShutdownSignal::trigger`] (on any clone from
//! [`Server::shutdown_signal`]) does three things, because blocking calls do
//! not notice a flag by themselves:
//!
//! - **The accept thread** is blocked in `accept()`, which has no timeout.
//!   The trigger connects once to the listener's own address, so `accept()`
//!   returns; the accept thread sees the signal, drops that connection and
//!   the listener, and accepts nothing more.
//! - **Idle connections** (waiting for a request with nothing received, or
//!   lingering after their last response) are blocked in a read that may
//!   last the whole keep-alive timeout. The trigger shuts down the read side
//!   of each of them, so the read returns at once; the thread then tells the
//!   core to shut down, and the core closes such a connection at once.
//! - **Connections with a request in flight** notice the signal at their
//!   next wake-up (bytes arrived, a write finished, or a deadline passed),
//!   tell the core, and finish within the core's timeouts. A peer that
//!   stalls mid-request is closed by the core's head or body timeout.
//!
//! [`Server::run`] returns once every connection thread has finished.

#![forbid(unsafe_code)]

mod connection;
mod registry;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::thread::{self, Scope};

use nutshell_server::io_error::accept_transient;
use tracing::{debug, warn};

use crate::registry::Registry;

pub use nutshell_core::service::Handler;
pub use nutshell_server::{ServerOptions, Shell, ShutdownSignal};

/// A blocking HTTP/1.1 server: an accept thread and a thread per connection.
#[derive(Debug)]
pub struct Server<H> {
    listener: TcpListener,
    local_addr: SocketAddr,
    handler: H,
    options: ServerOptions,
    signal: ShutdownSignal,
}

impl<H: Handler> Server<H> {
    /// Binds `addr` (anything [`ToSocketAddrs`] takes, e.g. `"127.0.0.1:8080"`).
    pub fn bind(addr: impl ToSocketAddrs, handler: H, options: ServerOptions) -> io::Result<Self> {
        Self::from_listener(TcpListener::bind(addr)?, handler, options)
    }

    /// Serves an already bound listener (tests bind `127.0.0.1:0`).
    pub fn from_listener(
        listener: TcpListener,
        handler: H,
        options: ServerOptions,
    ) -> io::Result<Self> {
        // The accept thread blocks in `accept()`; a listener handed over in
        // non-blocking mode would make it spin.
        listener.set_nonblocking(false)?;
        let local_addr = listener.local_addr()?;
        Ok(Server {
            listener,
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

    /// Serves until a graceful shutdown completes: accepts on the calling
    /// thread, and returns when every connection thread has finished.
    pub fn run(self) -> io::Result<()> {
        let Server {
            listener,
            local_addr,
            handler,
            options,
            signal,
        } = self;
        let registry = Arc::new(Registry::new(options.max_connections));
        let wake = wake_address(local_addr);
        let on_trigger = Arc::clone(&registry);
        signal.on_trigger(move || on_trigger.shut_down(wake));
        // Scoped threads may borrow the handler, and the scope joins every
        // connection thread before `run` returns.
        thread::scope(|scope| {
            accept_loop(scope, listener, &registry, &handler, &options, &signal);
            debug!("stopped accepting; waiting for open connections");
        });
        Ok(())
    }
}

impl<H: Handler> Shell<H> for Server<H> {
    fn from_listener(
        listener: TcpListener,
        handler: H,
        options: ServerOptions,
    ) -> io::Result<Self> {
        Server::from_listener(listener, handler, options)
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

/// Accepts until the shutdown signal, a thread for each connection.
fn accept_loop<'scope, H: Handler>(
    scope: &'scope Scope<'scope, '_>,
    listener: TcpListener,
    registry: &'scope Registry,
    handler: &'scope H,
    options: &'scope ServerOptions,
    signal: &'scope ShutdownSignal,
) {
    while registry.wait_for_room(signal) {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if accept_transient(&e) => continue,
            Err(e) => {
                // Out of descriptors (EMFILE) or similar: retrying at once
                // would spin; wait for a connection to close, or 100 ms.
                warn!(error = %e, "accept failed; backing off");
                registry.back_off(signal);
                continue;
            }
        };
        if signal.is_triggered() {
            // Most likely the trigger's own wake-up connection.
            break;
        }
        debug!(%peer, "accepted");
        let registration = registry.register(stream);
        let config = Arc::clone(&options.config);
        let spawned = thread::Builder::new()
            .name("nutshell-conn".into())
            .spawn_scoped(scope, move || {
                connection::serve(registration, handler, config, signal);
            });
        if let Err(e) = spawned {
            // The closure, and with it the registration and the socket, is
            // dropped: the peer sees a close.
            warn!(error = %e, "could not start a connection thread; backing off");
            registry.back_off(signal);
        }
    }
}

/// Where the shutdown trigger connects to wake `accept()`: the listener's
/// address, with an unspecified IP (`0.0.0.0`, `::`) replaced by loopback.
fn wake_address(local: SocketAddr) -> SocketAddr {
    let ip = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, local.port())
}

/// Connects once to `addr` so that a thread blocked in `accept()` returns.
fn wake_acceptor(addr: SocketAddr) {
    // Loopback connects complete in the kernel's backlog without an
    // accept; the timeout only matters if the backlog is full.
    if let Err(e) = TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(1)) {
        warn!(error = %e, %addr, "could not wake the accept thread; it stops at its next connection");
    }
}
