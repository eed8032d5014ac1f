//! The access log's facts, gathered once for every shell: one
//! [`AccessRecord`] per exchange, timed with the `now`s the connection was
//! given (the core reads no clock), for the shell to log.
//!
//! An exchange starts when its request head arrives and ends when the last
//! byte of its response has left the transmit queue (so a slow reader's
//! download counts in full). Off unless `Config::access_log` is set: then
//! nothing is copied or allocated.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http::{Method, StatusCode};

use crate::{RequestHead, ServerConnection};

/// One finished exchange, as an access log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessRecord {
    /// The request's method.
    pub method: Method,
    /// The request target, as sent.
    pub target: String,
    /// The response's status.
    pub status: StatusCode,
    /// Body bytes of the response handed to the core (no head, no framing).
    pub body_bytes: u64,
    /// From the request head's arrival to the response's last byte written.
    pub duration: Duration,
    /// The peer, when the shell told the session.
    pub peer: Option<SocketAddr>,
}

/// An exchange not finished yet.
#[derive(Debug)]
struct Open {
    method: Method,
    target: String,
    status: Option<StatusCode>,
    body_bytes: u64,
    started: Instant,
}

/// Gathers [`AccessRecord`]s for one connection: told about each request,
/// status and body piece by whoever answers (the `Session`, or an async
/// shell's own application), it closes each record once the response has
/// been written.
#[derive(Debug, Default)]
pub struct AccessRecorder {
    enabled: bool,
    peer: Option<SocketAddr>,
    /// The exchange whose response is being produced.
    current: Option<Open>,
    /// Responses fully queued, their bytes not all written yet.
    flushing: Vec<Open>,
    done: Vec<AccessRecord>,
}

impl AccessRecorder {
    /// A recorder that records only when `conn`'s config asks for it.
    pub fn new(conn: &ServerConnection) -> Self {
        AccessRecorder {
            enabled: conn.config().access_log,
            ..AccessRecorder::default()
        }
    }

    /// Whether anything is recorded.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Records the peer for every record from here on.
    pub fn set_peer(&mut self, peer: SocketAddr) {
        self.peer = Some(peer);
    }

    /// A request head arrived (now: the latest `now` `conn` was given).
    pub fn request(&mut self, head: &RequestHead, conn: &ServerConnection) {
        if !self.enabled {
            return;
        }
        self.current = Some(Open {
            method: head.method().clone(),
            target: head.target().to_owned(),
            status: None,
            body_bytes: 0,
            started: latest_now(conn),
        });
    }

    /// The response's head was sent with `status`.
    pub fn status(&mut self, status: StatusCode) {
        if let Some(open) = &mut self.current {
            open.status = Some(status);
        }
    }

    /// `n` more body bytes of the response were handed to the core.
    pub fn body(&mut self, n: usize) {
        if let Some(open) = &mut self.current {
            open.body_bytes += n as u64;
        }
    }

    /// The response is fully queued; its record closes once it is written
    /// (see [`update`](Self::update)).
    pub fn finished(&mut self, conn: &ServerConnection) {
        if let Some(open) = self.current.take() {
            self.flushing.push(open);
        }
        self.update(conn);
    }

    /// The core answered the current request itself (a protocol error in
    /// its body): the record shows the core's status unless the
    /// application's response had already started.
    pub fn answered_by_core(&mut self, status: StatusCode, conn: &ServerConnection) {
        if let Some(open) = &mut self.current {
            open.status.get_or_insert(status);
            self.finished(conn);
        }
    }

    /// Closes the records whose responses are written: call after every
    /// write (the `Session` does, on every call). A connection that closed
    /// closes them too, with what had been handed over.
    pub fn update(&mut self, conn: &ServerConnection) {
        if self.flushing.is_empty() || (conn.transmit_len() > 0 && !conn.is_closed()) {
            return;
        }
        let now = latest_now(conn);
        for open in self.flushing.drain(..) {
            self.done.push(AccessRecord {
                method: open.method,
                target: open.target,
                // A response whose head never went out (the core answered
                // instead) is shown as the server's failure.
                status: open.status.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                body_bytes: open.body_bytes,
                duration: now.saturating_duration_since(open.started),
                peer: self.peer,
            });
        }
    }

    /// The records closed since the last call, oldest first.
    pub fn take(&mut self) -> Vec<AccessRecord> {
        std::mem::take(&mut self.done)
    }
}

/// The latest `now` the connection was given: the time of its last input
/// or write, the closest the core can come to "now" without a clock.
fn latest_now(conn: &ServerConnection) -> Instant {
    conn.wire.last_now
}

impl std::fmt::Display for AccessRecord {
    /// `127.0.0.1:4242 "GET /x" 200 13 0.125ms`, as one log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.peer {
            Some(peer) => write!(f, "{peer} ")?,
            None => f.write_str("- ")?,
        }
        write!(
            f,
            "\"{} {}\" {} {} {:.3}ms",
            self.method,
            self.target,
            self.status.as_u16(),
            self.body_bytes,
            self.duration.as_secs_f64() * 1e3
        )
    }
}
