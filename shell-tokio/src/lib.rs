//! # nutshell-tokio: the tokio shell for nutshell-core
//!
//! Serves HTTP/1.1 with a [`ServerConnection`]
//! per TCP connection, driven by a multi-thread tokio runtime. The shell only
//! moves bytes and deadlines; every protocol decision is the core's.
//!
//! ```no_run
//! use nutshell_demo::DemoApp;
//! use nutshell_tokio::{Server, ServerOptions};
//!
//! let server = Server::bind("127.0.0.1:8080", DemoApp, ServerOptions::default())?;
//! let signal = server.shutdown_signal();
//! let serving = std::thread::spawn(move || server.run());
//! // ... later, from anywhere:
//! signal.trigger();
//! serving.join().unwrap()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Server::run`] builds its own runtime with `options.threads` workers, so
//! the caller need not be inside one; it returns once a graceful shutdown is
//! complete. A synchronous [`Handler`] is accepted by [`Server::bind`]; an
//! [`AsyncHandler`] (one that awaits a database, say) by
//! [`Server::bind_async`]; a tower service such as an `axum::Router` by
//! [`Server::bind_service`] (streaming request and response bodies,
//! upgrades with [`on_upgrade`]). Inside a program that is already async,
//! await [`Server::run_async`] instead of calling `run`. Try it with
//! `cargo run -p nutshell-tokio --example demo-tokio -- 8080` and
//! `curl http://127.0.0.1:8080/`, or `--example axum-tokio`.
//!
//! ## Handlers that block
//!
//! A synchronous [`Handler`] runs on the runtime's worker thread, inside
//! the connection's task. One that answers at once is the fast case; one
//! that blocks (`thread::sleep`, a blocking database client, a long
//! computation) holds that worker for as long, and every other task on it
//! waits: with `options.threads` workers, at most that many such handlers
//! run at once (a 20 ms wait on 2 workers: at most 100 requests/s). Give a
//! handler that waits an [`AsyncHandler`] that awaits (`tokio::time::sleep` for a
//! timer, an async client for a database), or move blocking work off the
//! workers yourself. `nutshell serve --shell tokio` serves `GET /wait/{ms}`
//! the async way.
//!
//! ## How it works
//!
//! One task per connection runs the drive loop that the tokio and smol
//! shells share ([`nutshell_async::Driver`]): answer requests, write what the
//! core queued, then wait for readable, writable, the core's next deadline
//! and the shutdown notification, each only when the core wants it. This
//! crate supplies only tokio's side of it: a `TcpStream` polled for
//! readiness and one `Sleep` moved with `reset` (`runtime.rs`), and the
//! accept loop (`server.rs`), which holds a semaphore permit per live
//! connection, so at `options.max_connections` it stops accepting and new
//! connections wait in the listen backlog. The [`Shell`] trait gives the
//! server the shape every shell has.
//!
//! ## What a connection costs
//!
//! An idle keep-alive connection is its task, one allocation holding the
//! loop's state (the [`Session`] with its
//! `ServerConnection`), one more holding the handler's future (reused for
//! every request of the connection), plus what the core keeps buffered,
//! which is next to nothing between requests: reads land in a 64 KiB
//! scratch buffer per thread and the core copies only what it keeps.
//! Measured: 7.9 KiB of RSS per idle connection (`nutshell compare
//! --shells tokio --workloads idle --idle 10000`, release build, 2026-12-01),
//! the kernel's socket buffers not counted.

#![forbid(unsafe_code)]

mod runtime;
mod server;
mod upgrade;

use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use nutshell_async::{Driver, HandlerApp, ServiceApp};
use nutshell_core::service::Session;
use nutshell_core::{Config, ServerConnection};

pub use nutshell_async::{BodyError, HttpService, PeerAddr, RequestBody, UpgradeError};
pub use nutshell_core::service::{AsyncHandler, Handler, SyncHandler};
pub use nutshell_server::{ServerOptions, Shell, ShutdownSignal};
pub use upgrade::{on_upgrade, Upgraded};

use crate::runtime::{TokioSocket, TokioTimer};

/// A tower service as a [`Server`]'s application (what
/// [`Server::bind_service`] wraps it in).
#[derive(Debug, Clone)]
pub struct TowerService<S>(pub S);

/// An HTTP/1.1 server on one listener, serving with an [`AsyncHandler`] or
/// a tower service ([`TowerService`]).
#[derive(Debug)]
pub struct Server<A> {
    listener: TcpListener,
    local_addr: SocketAddr,
    handler: A,
    options: ServerOptions,
    signal: ShutdownSignal,
}

impl<H: Handler> Server<SyncHandler<H>> {
    /// Binds `addr`, e.g. `"127.0.0.1:8080"`, to serve a synchronous handler.
    pub fn bind(addr: impl ToSocketAddrs, handler: H, options: ServerOptions) -> io::Result<Self> {
        Server::bind_async(addr, SyncHandler(handler), options)
    }

    /// Serves an already bound listener with a synchronous handler.
    pub fn from_listener(
        listener: TcpListener,
        handler: H,
        options: ServerOptions,
    ) -> io::Result<Self> {
        Server::from_listener_async(listener, SyncHandler(handler), options)
    }
}

impl<A: AsyncHandler> Server<A> {
    /// Binds `addr`, e.g. `"127.0.0.1:8080"`, to serve an async handler.
    pub fn bind_async(
        addr: impl ToSocketAddrs,
        handler: A,
        options: ServerOptions,
    ) -> io::Result<Self> {
        Server::from_listener_async(TcpListener::bind(addr)?, handler, options)
    }

    /// Serves an already bound listener with an async handler.
    pub fn from_listener_async(
        listener: TcpListener,
        handler: A,
        options: ServerOptions,
    ) -> io::Result<Self> {
        Server::new(listener, handler, options)
    }

    /// Serves until a graceful shutdown completes: after the signal, no new
    /// connections are accepted, idle ones close at once, and requests in
    /// flight finish (within the core's shutdown deadline). Blocks the
    /// calling thread, which runs the accept loop; connections run on
    /// `options.threads` runtime workers. Inside a tokio runtime, use
    /// [`run_async`](Self::run_async) instead.
    pub fn run(self) -> io::Result<()> {
        let runtime = runtime(&self.options)?;
        runtime.block_on(self.run_async())
    }

    /// [`run`](Self::run) for a program that already has a tokio runtime:
    /// await it there (say, under `#[tokio::main]`). The accept loop runs in
    /// the awaiting task and connections are spawned onto the current
    /// runtime, so `options.threads` is not used.
    pub async fn run_async(self) -> io::Result<()> {
        let handler = Arc::new(self.handler);
        let config = self.options.config.clone();
        server::serve(
            self.listener,
            &self.options,
            &self.signal,
            |stream, peer, shutdown| {
                let mut session = Session::new(connection(&config));
                session.set_peer(peer);
                let app = HandlerApp::new(handler.clone(), peer);
                let socket = TokioSocket(stream);
                Driver::new(session, socket, TokioTimer::new(), app, shutdown).run()
            },
        )
        .await
    }
}

impl<S: HttpService> Server<TowerService<S>> {
    /// Binds `addr`, e.g. `"127.0.0.1:8080"`, to serve a tower service such
    /// as an `axum::Router`: `Server::bind_service(addr, router, options)?.run()`.
    ///
    /// The service is cloned for each connection and `poll_ready` is
    /// awaited before each call. Requests carry a streaming [`RequestBody`]
    /// and the peer's [`PeerAddr`] (and axum's `ConnectInfo<SocketAddr>`
    /// with this crate's `axum` feature).
    pub fn bind_service(
        addr: impl ToSocketAddrs,
        service: S,
        options: ServerOptions,
    ) -> io::Result<Self> {
        Server::from_listener_service(TcpListener::bind(addr)?, service, options)
    }

    /// Serves an already bound listener with a tower service.
    pub fn from_listener_service(
        listener: TcpListener,
        service: S,
        options: ServerOptions,
    ) -> io::Result<Self> {
        Server::new(listener, TowerService(service), options)
    }

    /// Serves until a graceful shutdown completes, as [`Server::run`] does
    /// for handlers.
    pub fn run(self) -> io::Result<()> {
        let runtime = runtime(&self.options)?;
        runtime.block_on(self.run_async())
    }

    /// [`run`](Self::run) inside the program's own tokio runtime.
    pub async fn run_async(self) -> io::Result<()> {
        let TowerService(service) = self.handler;
        let config = self.options.config.clone();
        server::serve(
            self.listener,
            &self.options,
            &self.signal,
            |stream, peer, shutdown| {
                let app = ServiceApp::new(service.clone(), peer);
                let socket = TokioSocket(stream);
                Driver::new(
                    connection(&config),
                    socket,
                    TokioTimer::new(),
                    app,
                    shutdown,
                )
                .run()
            },
        )
        .await
    }
}

impl<A> Server<A> {
    fn new(listener: TcpListener, handler: A, options: ServerOptions) -> io::Result<Self> {
        // tokio requires a nonblocking listener; failing here beats failing in `run`.
        listener.set_nonblocking(true)?;
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

    /// The trigger for a graceful shutdown of `run`.
    pub fn shutdown_signal(&self) -> ShutdownSignal {
        self.signal.clone()
    }
}

/// A synchronous handler, as [`Server::bind`] serves it.
impl<H: Handler> Shell<H> for Server<SyncHandler<H>> {
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

/// An async handler, as [`Server::bind_async`] serves it.
impl<A: AsyncHandler> Shell<A> for Server<A> {
    fn from_listener(
        listener: TcpListener,
        handler: A,
        options: ServerOptions,
    ) -> io::Result<Self> {
        Server::from_listener_async(listener, handler, options)
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

/// A tower service, as [`Server::bind_service`] serves it.
impl<S: HttpService> Shell<S> for Server<TowerService<S>> {
    fn from_listener(
        listener: TcpListener,
        service: S,
        options: ServerOptions,
    ) -> io::Result<Self> {
        Server::from_listener_service(listener, service, options)
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

/// A new connection, with the clocks read now.
fn connection(config: &Arc<Config>) -> ServerConnection {
    ServerConnection::new(config.clone(), Instant::now(), SystemTime::now())
}

/// The multi-thread runtime `run` builds for itself.
fn runtime(options: &ServerOptions) -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.threads.max(1))
        .thread_name("nutshell-tokio")
        .enable_io()
        .enable_time()
        .build()
}
