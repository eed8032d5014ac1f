//! What the async shells log about a connection, written once: handler
//! panics with their request line (`error`), the access log (`info`, under
//! the target `nutshell::access`, when `Config::access_log` is on), the
//! protocol error the core answered and the close with its reason
//! (`debug`). The core gathers the facts; this only writes them.

use std::net::SocketAddr;

use nutshell_core::service::{AccessRecord, Session};
use nutshell_core::{CloseReason, ProtocolError};
use tracing::{debug, error, info};

/// Logs what `session` recorded since the last call: call it after every
/// round of the drive loop (and once at the end).
pub fn log_session(session: &mut Session, peer: SocketAddr) {
    for panic in session.take_panics() {
        error!(%peer, request = %panic.request_line, panic = %panic.message,
            "handler panicked; answered 500");
    }
    if session.connection().config().access_log {
        for record in session.take_access() {
            log_access(&record);
        }
    }
}

/// One access-log line.
pub fn log_access(record: &AccessRecord) {
    info!(target: "nutshell::access", "{record}");
}

/// A protocol error the core answered, with the status it sent.
pub fn log_protocol_error(error: ProtocolError, peer: SocketAddr) {
    debug!(%peer, %error, status = error.status().as_u16(), "protocol error; answered by the core");
}

/// The connection closed.
pub fn log_close(reason: Option<CloseReason>, requests: u64, peer: SocketAddr) {
    debug!(%peer, requests, ?reason, "closed");
}
