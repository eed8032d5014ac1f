//! # nutshell-core: a Sans-IO HTTP/1.1 server core
//!
//! A [`ServerConnection`] is a state machine for one HTTP/1.1 connection. It
//! does no I/O, reads no clock and spawns nothing: bytes and time go in,
//! events, bytes to send and deadlines come out. Whatever drives it (tokio,
//! smol, a blocking thread, a mio loop, a test with a virtual clock) only
//! moves bytes; every protocol decision is made here, and tested here once.
//!
//! ## The contract
//!
//! - **Input, always with `now: Instant`.** Read into [`recv_buf`] and
//!   [`commit_recv`] (or copy with [`handle_read`]); [`handle_eof`] when the
//!   peer closes its side; [`handle_timeout`] when the deadline from
//!   [`poll_timeout`] passes (calls before it are harmless no-ops);
//!   [`handle_write_error`] when a write fails.
//! - **Commands from the application.** [`send_response`],
//!   [`send_informational`], [`send_body`], [`send_trailers`], [`finish`],
//!   [`respond`], [`accept_upgrade`], [`shutdown`]. Misuse returns a
//!   [`UsageError`] and changes nothing.
//! - **Output, drained completely after every input and command:**
//!   [`poll_event`] until `None`; the bytes from [`transmit_slices`] (report
//!   what was written with [`advance_transmit`]), or owned pieces from
//!   [`poll_transmit`] (taking counts as written) or [`lend_transmit`]
//!   (for completion-based I/O: the bytes stay queued, and count as unsent,
//!   until `advance_transmit` reports them written); one timer armed at
//!   [`poll_timeout`]. Every deadline is an instant counted from a `now` the
//!   core was given: a command (which has no `now`) counts from the latest.
//! - **Getters:** [`wants_read`] (false under backpressure),
//!   [`wants_write`], [`wants_write_shutdown`], [`is_closed`], [`state`].
//!
//! The peer's faults arrive as [`Event::Error`] with the error response
//! already queued (400, 408, 413, 414, 431, 501, 505) and are sticky: nothing
//! is parsed after one, and the connection closes after a bounded lingering
//! read (half-closed, so a client still uploading reads its 413 rather than
//! a reset). Bytes that cannot begin a request line (a TLS handshake, binary
//! noise) are refused as soon as they arrive. While the peer leaves more
//! output unread than [`Limits::max_transmit`], the core reads nothing and
//! holds its read-side timers: only the write-stall timeout can close it. Every limit and timeout lives in [`Config`], with its default named
//! on its field. The wall-clock time for `Date` is an input too: a
//! connection gets one reading when it is created.
//!
//! ## Beyond one server connection
//!
//! - [`client`]: the client role, [`ClientConnection`](client::ClientConnection),
//!   on the same framing code, with the same limits and strictness.
//! - [`service`]: whole requests in, responses out. A [`Handler`](service::Handler)
//!   (or [`AsyncHandler`](service::AsyncHandler)) driven by a
//!   [`Session`](service::Session), which every shell uses. (The demo app
//!   is `nutshell-demo`; what the shells share beyond the protocol is
//!   `nutshell-server`.)
//! - [`testing`]: a deterministic harness (a connection, a virtual clock, a
//!   scripted peer) and a client/server [`Pair`](testing::Pair), for testing
//!   protocol logic without sockets.
//!
//! ## The drive loop
//!
//! A complete blocking server loop for one connection (it is also
//! `examples/blocking.rs`, and the test suite runs it against a client that
//! pipelines and never reads). Real shells do the same with their own way of
//! waiting. Two traps it shows how to avoid: a blocking write must be bounded
//! by the core's next deadline, or a peer that never reads holds the thread
//! forever; and [`recv_buf`] is empty while [`wants_read`] is false, so a read
//! into it returns `Ok(0)`, which looks exactly like end of stream.
//!
//! ```no_run
#![doc = include_str!("../examples/blocking.rs")]
//! ```
//!
//! [`recv_buf`]: ServerConnection::recv_buf
//! [`commit_recv`]: ServerConnection::commit_recv
//! [`handle_read`]: ServerConnection::handle_read
//! [`handle_eof`]: ServerConnection::handle_eof
//! [`handle_timeout`]: ServerConnection::handle_timeout
//! [`handle_write_error`]: ServerConnection::handle_write_error
//! [`poll_timeout`]: ServerConnection::poll_timeout
//! [`send_response`]: ServerConnection::send_response
//! [`send_informational`]: ServerConnection::send_informational
//! [`send_body`]: ServerConnection::send_body
//! [`send_trailers`]: ServerConnection::send_trailers
//! [`finish`]: ServerConnection::finish
//! [`respond`]: ServerConnection::respond
//! [`accept_upgrade`]: ServerConnection::accept_upgrade
//! [`shutdown`]: ServerConnection::shutdown
//! [`poll_event`]: ServerConnection::poll_event
//! [`transmit_slices`]: ServerConnection::transmit_slices
//! [`advance_transmit`]: ServerConnection::advance_transmit
//! [`poll_transmit`]: ServerConnection::poll_transmit
//! [`lend_transmit`]: ServerConnection::lend_transmit
//! [`wants_read`]: ServerConnection::wants_read
//! [`wants_write`]: ServerConnection::wants_write
//! [`wants_write_shutdown`]: ServerConnection::wants_write_shutdown
//! [`is_closed`]: ServerConnection::is_closed
//! [`state`]: ServerConnection::state

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
mod config;
pub mod conn;
mod connection;
mod date;
mod decode;
mod encode;
mod error;
mod event;
mod fields;
mod parse;
mod recv;
mod request;
mod response;
mod spans;
mod timer;
mod transmit;
mod wire;

pub mod service;
pub mod testing;

pub use config::{Config, ContinueMode, Limits, Timeouts};
pub use connection::{ConnectionState, ServerConnection};
pub use error::{ProtocolError, UsageError};
pub use event::{CloseReason, Event};
pub use request::{RequestBody, RequestHead};
pub use response::ResponseHead;

// The standard types the API speaks in.
pub use bytes::Bytes;
pub use http;

#[cfg(test)]
mod tests {
    use std::time::Instant;

    /// The one real instant unit tests start their virtual clocks from.
    #[allow(
        clippy::disallowed_methods,
        reason = "tests need one origin for virtual time"
    )]
    pub(crate) fn origin() -> Instant {
        Instant::now()
    }
}
