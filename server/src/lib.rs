//! # nutshell-server: what every shell shares that is not protocol
//!
//! The core (`nutshell-core`) is the protocol and the handler interface; it
//! does no I/O and knows nothing of threads. What the four shells (tokio,
//! smol, blocking, mio) have in common beyond that is here, once:
//!
//! - [`Shell`]: the one shape of every shell's `Server`: made from a
//!   listener, an application and [`ServerOptions`]; it reports its address,
//!   hands out its [`ShutdownSignal`] and runs until a graceful shutdown
//!   completes. `nutshell serve`, `nutshell compare` and the conformance
//!   suite treat the shells through it.
//! - [`ServerOptions`]: thread count, the core's `Config`, the connection
//!   cap, the mio shell's handler pool.
//! - [`ShutdownSignal`]: the graceful-shutdown trigger, which each shell
//!   waits on its own way.
//! - [`io_error`]: what an I/O error means to a drive loop (wait, retry,
//!   give up), written once.
//!
//! ```no_run
//! use nutshell_server::{Shell, ServerOptions};
//! # fn demo<S: Shell<H>, H>(handler: H) -> std::io::Result<()> {
//! let server = S::bind("127.0.0.1:8080", handler, ServerOptions::default())?;
//! let signal = server.shutdown_signal(); // signal.trigger() starts a graceful shutdown
//! server.run()?; // blocks until it completes
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod io_error;
mod options;
mod shell;
mod shutdown;

pub use options::ServerOptions;
pub use shell::Shell;
pub use shutdown::ShutdownSignal;
