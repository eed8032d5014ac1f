//! # nutshell-async: the drive loop the async shells share
//!
//! The tokio and smol shells differ only in how they wait: a socket polled
//! for readiness and one timer ([`Socket`], [`Timer`]: a few lines each in
//! the shells). Everything else about a connection is here, once:
//!
//! - [`Driver`]: the core's drive loop (application, write, half-close,
//!   read, shutdown, deadlines) as one future, polling the application in
//!   the same task.
//! - [`HandlerApp`]: an `AsyncHandler` (or a synchronous `Handler` in a
//!   `SyncHandler`) as the application, over the core's `Session`.
//! - [`ServiceApp`]: a `tower::Service<http::Request<RequestBody>>` (an
//!   `axum::Router`, say) as the application: [`RequestBody`] streams the
//!   request body as an `http_body::Body`, with backpressure; response
//!   bodies are pulled only while the core's transmit queue has room.
//! - [`ShutdownWatch`]: the graceful-shutdown notification for any runtime.
//! - [`log_session`], [`log_close`]: what the shells log about a
//!   connection (panics, the access log, protocol errors, closes).
//! - `axum_demo` (feature `axum`): the demo application as an `axum::Router`.
//!
//! Like the shells, this crate never parses HTTP or names a header: framing,
//! `Expect: 100-continue`, limits and timeouts are the core's.

#![forbid(unsafe_code)]

#[cfg(feature = "axum")]
pub mod axum_demo;
mod body;
mod drive;
mod handler;
mod log;
mod panic;
mod runtime;
mod service;
mod shutdown;
mod upgrade;

pub use body::{BodyError, RequestBody};
pub use drive::{App, Driver, Holder};
pub use handler::HandlerApp;
pub use log::{log_access, log_close, log_protocol_error, log_session};
pub use panic::catch_panic;
pub use runtime::{Socket, Timer};
pub use service::{BoxError, HttpService, PeerAddr, ServiceApp};
pub use shutdown::{ShutdownListener, ShutdownWatch};
pub use upgrade::{take_upgrade, OnUpgrade, UpgradeError};
