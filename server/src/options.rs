//! What every shell's `Server` is built with.

use std::sync::Arc;

use nutshell_core::Config;

/// Options shared by all shells: thread count, the core's `Config`, and the
/// connection cap.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Worker threads (event loops, runtime workers). Default: the number of
    /// cores. The blocking shell uses a thread per connection instead and
    /// ignores this.
    pub threads: usize,
    /// Limits, timeouts and switches for every connection.
    pub config: Arc<Config>,
    /// Connections served at once; beyond it, a shell leaves new ones in the
    /// listen backlog until one closes. Default: 10,000 for every shell. The
    /// blocking shell spends a thread on each, so there a lower cap (say
    /// 1,024) suits small machines; `nutshell serve` uses 1,024 for it.
    pub max_connections: usize,
    /// Threads of a worker pool that runs the handler, off the event loops
    /// (the mio shell; the others ignore it). 0, the default, runs the
    /// handler on the loop's thread, which is fastest for handlers that
    /// answer at once, but a handler that blocks (sleeps, waits on a
    /// database, computes for long) then stalls every connection of its
    /// loop. With N threads, at most N handlers run at once, so a handler
    /// that waits 20 ms serves at most N / 20 ms requests per second.
    pub handler_threads: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            config: Arc::new(Config::default()),
            max_connections: 10_000,
            handler_threads: 0,
        }
    }
}

impl ServerOptions {
    /// Sets the thread count (builder style).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Sets the core configuration (builder style).
    pub fn config(mut self, config: Config) -> Self {
        self.config = Arc::new(config);
        self
    }

    /// Sets the handler pool's size; 0 runs handlers on the loop threads
    /// (builder style).
    pub fn handler_threads(mut self, threads: usize) -> Self {
        self.handler_threads = threads;
        self
    }

    /// Logs every exchange at `info` (method, target, status, body bytes,
    /// duration, peer) on every shell, under the log target
    /// `nutshell::access`. Sets `Config::access_log`, so call it after
    /// [`config`](Self::config) (builder style).
    pub fn access_log(mut self, on: bool) -> Self {
        Arc::make_mut(&mut self.config).access_log = on;
        self
    }

    /// Sets the connection cap (builder style).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }
}
