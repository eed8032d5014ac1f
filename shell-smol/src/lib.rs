//! # nutshell-smol: the smol shell for nutshell-core
//!
//! Serves HTTP/1.1 with a [`ServerConnection`]
//! per TCP connection, driven by an `async-executor` on `async-io` (the
//! pieces smol is made of). The shell only moves bytes and deadlines; every
//! protocol decision is the core's.
//!
//! ```no_run
//! use nutshell_demo::DemoApp;
//! use nutshell_smol::{Server, ServerOptions};
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
//! [`Server::run`] starts its own executor on `options.threads` threads, so
//! the caller need not be inside one; it returns once a graceful shutdown is
//! complete. A synchronous [`Handler`] is accepted by [`Server::bind`]; an
//! [`AsyncHandler`] (one that awaits a database, say) by
//! [`Server::bind_async`]; a tower service such as an `axum::Router` by
//! [`Server::bind_service`] (streaming request and response bodies,
//! upgrades with [`on_upgrade`]). Inside a program that is already async,
//! await [`Server::run_async`] instead of calling `run`. Try it with
//! `cargo run -p nutshell-smol --example demo-smol -- 8080` and
//! `curl http://127.0.0.1:8080/`, or `--example axum-smol`.
//!
//! ## Handlers that block
//!
//! A synchronous [`Handler`] runs on the runtime's worker thread, inside
//! the connection's task. One that answers at once is the fast case; one
//! that blocks (`thread::sleep`, a blocking database client, a long
//! computation) holds that worker for as long, and every other task on it
//! waits: with `options.threads` workers, at most that many such handlers
//! run at once (a 20 ms wait on 2 workers: at most 100 requests/s). Give a
//! handler that waits an [`AsyncHandler`] that awaits (`async_io::Timer` for a
//! timer, an async client for a database), or move blocking work off the
//! workers yourself. `nutshell serve --shell smol` serves `GET /wait/{ms}`
//! the async way.
//!
//! ## How it works
//!
//! One task per connection runs the drive loop that the tokio and smol
//! shells share ([`nutshell_async::Driver`]): answer requests, write what the
//! core queued, then wait for the shutdown notification, the core's next
//! deadline, writable or readable, each only when the core wants it. This
//! crate supplies only smol's side of it: an `Async<TcpStream>` polled for
//! readiness and one `async_io::Timer` moved with `set_at` (`runtime.rs`),
//! the accept loop (`server.rs`), which holds a semaphore permit per live
//! connection, so at `options.max_connections` it stops accepting and new
//! connections wait in the listen backlog, and the executor threads. The
//! [`Shell`] trait gives the server the shape every shell has.
//!
//! ## What a connection costs
//!
//! An idle keep-alive connection is its task, one allocation holding the
//! loop's state (the [`Session`] with its
//! `ServerConnection`), one more holding the handler's future (reused for
//! every request of the connection), plus what the core keeps buffered,
//! which is next to nothing between requests: reads land in a 64 KiB
//! scratch buffer per thread and the core copies only what it keeps.
//! Measured: 7.6 KiB of RSS per idle connection (`nutshell compare
//! --shells smol --workloads idle --idle 10000`, release build, 2026-12-01),
//! the kernel's socket buffers not counted.

#![forbid(unsafe_code)]

mod runtime;
mod server;
mod upgrade;

use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use async_executor::Executor;
use nutshell_async::{Driver, HandlerApp, ServiceApp};
use nutshell_core::service::Session;
use nutshell_core::{Config, ServerConnection};

pub use nutshell_async::{BodyError, HttpService, PeerAddr, RequestBody, UpgradeError};
pub use nutshell_core::service::{AsyncHandler, Handler, SyncHandler};
pub use nutshell_server::{ServerOptions, Shell, ShutdownSignal};
pub use upgrade::{on_upgrade, Upgraded};

use crate::runtime::{SmolSocket, SmolTimer};

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
    /// `options.threads` executor threads. Inside an executor, use
    /// [`run_async`](Self::run_async) or [`run_on`](Self::run_on).
    pub fn run(self) -> io::Result<()> {
        let executor = Executor::new();
        let threads = self.options.threads;
        with_workers(&executor, threads, || {
            async_io::block_on(self.run_on(&executor))
        })
    }

    /// [`run`](Self::run) for a program that is already async: await it in
    /// any executor. Connections run on an executor of the server's own,
    /// driven by the awaiting task, so all on one thread; to spread them
    /// over the program's executor threads, use [`run_on`](Self::run_on).
    pub async fn run_async(self) -> io::Result<()> {
        let executor = Executor::new();
        executor.run(self.run_on(&executor)).await
    }

    /// [`run`](Self::run) with connections spawned on `executor`, which the
    /// program runs (on as many threads as it likes).
    pub async fn run_on(self, executor: &Executor<'_>) -> io::Result<()> {
        let handler = Arc::new(self.handler);
        let config = self.options.config.clone();
        let connect = |stream, peer, shutdown| {
            let mut session = Session::new(connection(&config));
            session.set_peer(peer);
            let app = HandlerApp::new(handler.clone(), peer);
            let (socket, timer) = (SmolSocket(stream), SmolTimer(async_io::Timer::never()));
            Driver::new(session, socket, timer, app, shutdown).run()
        };
        server::serve(
            executor,
            self.listener,
            &self.options,
            &self.signal,
            connect,
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
    /// with this crate's `axum` feature). Middleware that needs a tokio
    /// runtime (tower-http's `TimeoutLayer`, `tokio::time`) does not work
    /// here unless bridged, for example with `async-compat`.
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
        let executor = Executor::new();
        let threads = self.options.threads;
        with_workers(&executor, threads, || {
            async_io::block_on(self.run_on(&executor))
        })
    }

    /// [`run`](Self::run) inside any executor, connections on the awaiting
    /// task's thread.
    pub async fn run_async(self) -> io::Result<()> {
        let executor = Executor::new();
        executor.run(self.run_on(&executor)).await
    }

    /// [`run`](Self::run) with connections spawned on `executor`.
    pub async fn run_on(self, executor: &Executor<'_>) -> io::Result<()> {
        let TowerService(service) = self.handler;
        let config = self.options.config.clone();
        let connect = |stream, peer, shutdown| {
            let app = ServiceApp::new(service.clone(), peer);
            let (socket, timer) = (SmolSocket(stream), SmolTimer(async_io::Timer::never()));
            Driver::new(connection(&config), socket, timer, app, shutdown).run()
        };
        server::serve(
            executor,
            self.listener,
            &self.options,
            &self.signal,
            connect,
        )
        .await
    }
}

impl<A> Server<A> {
    fn new(listener: TcpListener, handler: A, options: ServerOptions) -> io::Result<Self> {
        // async-io requires a nonblocking listener; failing here beats failing in `run`.
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

/// Runs `main` on the calling thread while `threads` worker threads run
/// `executor`, and stops them once it returns.
fn with_workers(
    executor: &Executor<'_>,
    threads: usize,
    main: impl FnOnce() -> io::Result<()>,
) -> io::Result<()> {
    std::thread::scope(|scope| {
        // Closed when serving is over (or spawning failed): every worker's
        // `run` returns, and the scope joins them.
        let (_stop, stopped) = async_channel::bounded::<()>(1);
        for _ in 0..threads.max(1) {
            let stopped = stopped.clone();
            // `async_io::block_on`, as `smol::block_on`: an idle worker
            // waits in the reactor itself rather than on a helper thread.
            std::thread::Builder::new()
                .name("nutshell-smol".into())
                .spawn_scoped(scope, move || {
                    async_io::block_on(executor.run(stopped.recv()))
                })?;
        }
        main()
    })
}
