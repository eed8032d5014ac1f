//! A shell's server running on a background thread, stopped by RAII, and
//! started the same way for every shell through the [`Shell`] trait.

use std::io;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use nutshell_core::Config;
use nutshell_demo::DemoApp;
use nutshell_server::{ServerOptions, Shell, ShutdownSignal};

/// How a test starts the shell under test: [`start::<S>`](start) for a
/// shell's server type `S`.
pub type Start = fn(ServerOptions) -> Running;

/// Like [`Start`], and with `true` the shutdown is triggered before the
/// server's `run()` is called: [`launch::<S>`](launch).
pub type Launch = fn(ServerOptions, bool) -> Running;

/// Starts the shell whose server is `S` on 127.0.0.1:0 with the demo app;
/// with `triggered`, the shutdown is triggered before `run()`.
pub fn launch<S: Shell<DemoApp>>(options: ServerOptions, triggered: bool) -> Running {
    launch_app::<S, DemoApp>(DemoApp, options, triggered)
}

/// [`launch`] without the early trigger.
pub fn start<S: Shell<DemoApp>>(options: ServerOptions) -> Running {
    launch::<S>(options, false)
}

/// Starts the shell whose server is `S` on 127.0.0.1:0 with any
/// application it serves (an async handler, a tower service).
pub fn launch_app<S: Shell<A>, A>(app: A, options: ServerOptions, triggered: bool) -> Running {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let server = S::from_listener(listener, app, options).expect("from_listener");
    let addr = server.local_addr();
    let signal = server.shutdown_signal();
    if triggered {
        signal.trigger();
    }
    Running::spawn(std::any::type_name::<S>(), addr, signal, move || {
        server.run()
    })
}

/// Longest a graceful shutdown may take before the test fails: far above
/// any deadline the tests configure, so only a hung shell trips it.
pub const SHUTDOWN_BOUND: Duration = Duration::from_secs(60);

/// A running server. Dropping it triggers a graceful shutdown and waits for
/// `run()` to return `Ok` (failing the test otherwise).
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    signal: ShutdownSignal,
    done: mpsc::Receiver<io::Result<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    /// Runs `run` (the server's `run()`) on a new thread.
    pub fn spawn(
        name: &str,
        addr: SocketAddr,
        signal: ShutdownSignal,
        run: impl FnOnce() -> io::Result<()> + Send + 'static,
    ) -> Self {
        let (tx, done) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("server-{name}"))
            .spawn(move || {
                let _ = tx.send(run());
            })
            .expect("spawn the server thread");
        Running {
            addr,
            signal,
            done,
            thread: Some(thread),
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether `run()` has not returned yet.
    pub fn is_running(&self) -> bool {
        self.thread
            .as_ref()
            .is_some_and(|thread| !thread.is_finished())
    }

    /// Its shutdown signal.
    pub fn signal(&self) -> &ShutdownSignal {
        &self.signal
    }

    /// Waits up to `bound` for `run()` to return (after a trigger).
    pub fn wait(&mut self, bound: Duration) -> Result<io::Result<()>, String> {
        let Some(thread) = self.thread.take() else {
            return Err("already stopped".into());
        };
        match self.done.recv_timeout(bound) {
            Ok(result) => {
                let _ = thread.join();
                Ok(result)
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Leave the thread behind; the test fails anyway.
                Err(format!(
                    "run() did not return within {bound:?} of the shutdown"
                ))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let panic = thread.join().err().map(|p| {
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default()
                });
                Err(format!("the server thread panicked: {panic:?}"))
            }
        }
    }

    /// Triggers a graceful shutdown and checks that `run()` returns `Ok`.
    pub fn stop(mut self) {
        self.signal.trigger();
        check(self.wait(SHUTDOWN_BOUND));
    }
}

fn check(outcome: Result<io::Result<()>, String>) {
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("run() failed: {e}"),
        Err(e) => panic!("{e}"),
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.thread.is_none() {
            return;
        }
        self.signal.trigger();
        let outcome = self.wait(SHUTDOWN_BOUND);
        if !std::thread::panicking() {
            check(outcome);
        }
    }
}

/// The configuration tests start from: the defaults, with a shorter
/// graceful-shutdown deadline so that a test's end never waits long.
pub fn test_config() -> Config {
    let mut config = Config::default();
    config.timeouts.shutdown = Duration::from_secs(5);
    config
}

/// Options for a test: two threads (like CI) and `config`.
pub fn options(config: Config) -> ServerOptions {
    ServerOptions::default().threads(2).config(config)
}
