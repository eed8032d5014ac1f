//! The one shape every shell's `Server` has, as a trait.

use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};

use crate::{ServerOptions, ShutdownSignal};

/// A shell's server serving an application of type `A`: a synchronous
/// `Handler` (every shell), an `AsyncHandler` or a tower service (the
/// tokio and smol shells).
///
/// Generic code names the server type and the application, and the rest
/// is the same for every shell:
///
/// ```no_run
/// use nutshell_server::{Shell, ServerOptions};
///
/// fn serve<S: Shell<A>, A>(app: A) -> std::io::Result<()> {
///     let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
///     let server = S::from_listener(listener, app, ServerOptions::default())?;
///     println!("listening on {}", server.local_addr());
///     server.run()
/// }
/// ```
///
/// Each shell's `Server` keeps its inherent methods of the same names, so
/// code that calls them needs no import of this trait.
pub trait Shell<A>: Sized + Send + 'static {
    /// Serves an already bound listener (tests bind `127.0.0.1:0`).
    fn from_listener(listener: TcpListener, app: A, options: ServerOptions) -> io::Result<Self>;

    /// Binds `addr` (anything [`ToSocketAddrs`] takes, e.g.
    /// `"127.0.0.1:8080"`) and serves it. A shell that listens its own way
    /// (the mio shell: one `SO_REUSEPORT` socket per loop) overrides this.
    fn bind(addr: impl ToSocketAddrs, app: A, options: ServerOptions) -> io::Result<Self> {
        Self::from_listener(TcpListener::bind(addr)?, app, options)
    }

    /// The address the server listens on.
    fn local_addr(&self) -> SocketAddr;

    /// The trigger for a graceful shutdown of [`run`](Self::run): stop
    /// accepting, finish what is in flight, close idle connections.
    fn shutdown_signal(&self) -> ShutdownSignal;

    /// Serves until a graceful shutdown completes, blocking the calling
    /// thread (a shell starts its own threads or runtime as it needs).
    fn run(self) -> io::Result<()>;
}
