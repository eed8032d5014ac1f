//! What every shell's `Server` is built with.

use std::sync::Arc;

use crate::Config;

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
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            config: Arc::new(Config::default()),
            max_connections: 10_000,
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

    /// Sets the connection cap (builder style).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }
}
