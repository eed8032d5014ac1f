//! Every state of a server connection, and every transition between them.
//!
//! Nothing outside this file assigns `reading`, `writing`, `closing` or
//! `closed`: the input, command and output methods only call the named
//! transitions below, so the diagram and the code can be read side by side.
//!
//! ```text
//!  reading                                          writing
//!  ───────                                          ───────
//!  Head{scan,empty_lines,line}                      Idle
//!    │ start_request: no body ──► Done                │ start_request
//!    │ start_request: body ─────► Body{decoder,..}    ▼
//!    │                              │ body_ended      Head(exchange)
//!    │                              ▼                  │ response_started
//!    │                            Done                 ▼
//!    │                                               Body{encoder,keep_alive}
//!    │                                                 │ response_finished
//!    │                                                 ▼
//!    │                                               Done{keep_alive}
//!    │   response_finished with the body unread:
//!    │     small enough ──► Body{discard: Some(left)} (read and dropped)
//!    │     too large ─────► Stopped + closing
//!    │
//!    └◄── complete_exchange: reading Done and writing Done{keep_alive}
//!          ──► Head / Idle again (or close_after_flush when not kept alive)
//!
//!  protocol_error:   reading ──► Stopped;  writing Idle|Head ──► Over (error
//!                    response queued, close_after_flush) or, with a response
//!                    already started, close_now
//!  accept_upgrade:   reading ──► Upgraded; writing ──► Over
//!  close_after_flush(reason) ─► closing = reason; progress_close:
//!                    no response in flight and output flushed ──►
//!                    Lingering{dropped, until} (read and drop, half-closed)
//!                    ──► close_now at EOF, quiet period, time or byte budget
//!  close_now(reason): closed, output dropped, Closed event
//! ```
//!
//! Backpressure is not a state: while the transmit queue is over its bound
//! the connection reads nothing and parses no new request. And while any
//! output waits unsent, the read-side timers (head, idle, body) are held:
//! only the write-stall timer judges a peer that does not read.

use std::time::Instant;

use http::Version;

use crate::decode::BodyDecoder;
use crate::encode::{self, BodyEncoder, Framed};
use crate::parse::{HeadScan, LineCheck};
use crate::request::RequestBody;
use crate::timer::ServerTimer as Timer;
use crate::{CloseReason, Event, ProtocolError, RequestHead};

use super::ServerConnection;

/// What the connection reads next.
#[derive(Debug)]
pub(super) enum Reading {
    /// A request head (or nothing yet).
    Head {
        /// What the search for the head's end has seen so far.
        scan: HeadScan,
        /// Empty lines skipped before the request line.
        empty_lines: usize,
        /// How far the request line has been found still valid.
        line: LineCheck,
    },
    /// A request body. With `discard`, the response is finished and the rest
    /// is read and dropped, at most this many more bytes.
    Body {
        decoder: BodyDecoder,
        discard: Option<u64>,
        /// The decoder needs more bytes than are buffered (so a body timeout
        /// is the peer's delay, not the application's).
        starved: bool,
    },
    /// The request was read; its response is not finished.
    Done,
    /// Nothing more is parsed (an error, or closing mid-body).
    Stopped,
    /// Closing: input is read and dropped until EOF or a budget runs out.
    Lingering {
        /// Bytes dropped so far.
        dropped: usize,
        /// Lingering ends by then whatever the peer does.
        until: Instant,
    },
    /// The connection was handed over after `accept_upgrade`.
    Upgraded,
}

impl Reading {
    pub(super) fn new_head() -> Self {
        Reading::Head {
            scan: HeadScan::default(),
            empty_lines: 0,
            line: LineCheck::default(),
        }
    }
}

/// Where the response is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Writing {
    /// No request is waiting.
    Idle,
    /// A request waits for its final response head.
    Head(Exchange),
    /// The head is sent; the body goes out as framed.
    Body {
        encoder: BodyEncoder,
        keep_alive: bool,
    },
    /// The response is complete; the request's body may still be arriving.
    Done { keep_alive: bool },
    /// No response can follow: the core answered an error itself, the
    /// connection is lingering, or it switched protocols.
    Over,
}

/// What the current request said that its response must respect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Exchange {
    pub(super) version: Version,
    pub(super) head_request: bool,
    pub(super) keep_alive: bool,
    pub(super) expects_continue: bool,
    pub(super) continue_sent: bool,
    pub(super) upgrade: bool,
    pub(super) connect: bool,
}

impl ServerConnection {
    /// Head ──► Body or Done; writing Idle ──► Head. Queues the request's
    /// events and starts the body timer.
    pub(super) fn start_request(&mut self, head: RequestHead) {
        self.role.requests += 1;
        self.wire.timers.stop(Timer::Head);
        self.wire.timers.stop(Timer::Idle);
        self.role.writing = Writing::Head(Exchange {
            version: head.version,
            head_request: head.method == http::Method::HEAD,
            keep_alive: head.keep_alive,
            expects_continue: head.expects_continue,
            continue_sent: false,
            upgrade: head.wants_upgrade,
            connect: head.method == http::Method::CONNECT,
        });
        let decoder = match head.body {
            RequestBody::Empty => None,
            RequestBody::Length(length) => Some(BodyDecoder::length(length)),
            RequestBody::Chunked => Some(BodyDecoder::chunked()),
        };
        self.events.push_back(Event::Request(head));
        match decoder {
            Some(decoder) => {
                self.role.reading = Reading::Body {
                    decoder,
                    discard: None,
                    starved: false,
                };
                self.wire.start(Timer::Body, self.config.timeouts.body);
            }
            None => {
                self.role.reading = Reading::Done;
                self.events.push_back(Event::RequestEnd);
            }
        }
    }

    /// Body ──► Done: the request body ended (and was delivered unless
    /// discarded).
    pub(super) fn body_ended(&mut self) {
        self.wire.timers.stop(Timer::Body);
        if matches!(self.role.reading, Reading::Body { discard: None, .. }) {
            self.events.push_back(Event::RequestEnd);
        }
        self.role.reading = Reading::Done;
        self.complete_exchange();
    }

    /// Body (discarding) ──► Stopped: more unread body than may be drained.
    pub(super) fn discard_exhausted(&mut self) {
        self.role.reading = Reading::Stopped;
        self.close_after_flush(CloseReason::Done);
    }

    /// writing Head ──► Body: the final head was queued with this framing.
    pub(super) fn response_started(&mut self, framed: Framed) {
        self.role.writing = Writing::Body {
            encoder: framed.body,
            keep_alive: framed.keep_alive,
        };
    }

    /// writing Body ──► Body with less left to send.
    pub(super) fn body_sent(&mut self, encoder: BodyEncoder) {
        if let Writing::Body { keep_alive, .. } = self.role.writing {
            self.role.writing = Writing::Body {
                encoder,
                keep_alive,
            };
        }
    }

    /// writing Body ──► Done: the response is complete. An unread request
    /// body is drained (within `Limits::discard_body`) or refused by
    /// closing; then on to the next request or the close.
    pub(super) fn response_finished(&mut self, keep_alive: bool) {
        self.role.writing = Writing::Done { keep_alive };
        if !keep_alive {
            self.closing.get_or_insert(CloseReason::Done);
        }
        if let Reading::Body {
            decoder, discard, ..
        } = &mut self.role.reading
        {
            let drainable = decoder
                .remaining()
                .is_none_or(|left| left <= self.config.limits.discard_body);
            if self.closing.is_some() || !drainable {
                self.role.reading = Reading::Stopped;
                self.closing.get_or_insert(CloseReason::Done);
            } else if discard.is_none() {
                *discard = Some(self.config.limits.discard_body + 1);
            }
        }
        self.complete_exchange();
        self.progress_close();
    }

    /// Both directions Done ──► Head + Idle for the next request, or the
    /// close when the exchange was not kept alive.
    fn complete_exchange(&mut self) {
        let Writing::Done { keep_alive } = self.role.writing else {
            return;
        };
        if !matches!(self.role.reading, Reading::Done) {
            return;
        }
        self.role.writing = Writing::Idle;
        if !keep_alive {
            self.close_after_flush(CloseReason::Done);
            return;
        }
        if self.closing.is_some() {
            self.progress_close();
            return;
        }
        self.role.reading = Reading::new_head();
        if !self.wire.recv.is_empty() {
            self.wire.start(Timer::Head, self.config.timeouts.head);
        } else if self.peer_eof {
            self.close_after_flush(CloseReason::PeerClosed);
        } else {
            self.wire.start(Timer::Idle, self.config.timeouts.idle);
        }
    }

    /// The peer broke HTTP: answer with the error's status if no response
    /// has started (else close at once), and parse nothing more.
    pub(super) fn protocol_error(&mut self, error: ProtocolError) {
        self.events.push_back(Event::Error(error));
        self.role.reading = Reading::Stopped;
        self.wire.timers.stop(Timer::Head);
        self.wire.timers.stop(Timer::Idle);
        self.wire.timers.stop(Timer::Body);
        let reason = CloseReason::ProtocolError(error);
        match self.role.writing {
            Writing::Idle | Writing::Head(_) => {
                // A response to HEAD announces its body but never sends it
                // (RFC 9110 §9.3.2), also when the HEAD request's own head
                // was refused: its bytes are still buffered.
                let head_request = match self.role.writing {
                    Writing::Head(exchange) => exchange.head_request,
                    _ => self.wire.recv.data().starts_with(b"HEAD "),
                };
                let date = *self.role.clock.date(self.wire.last_now);
                self.wire.encode(|out| {
                    encode::error_response(
                        out,
                        error.status(),
                        &error.to_string(),
                        &date,
                        !head_request,
                    )
                });
                self.role.writing = Writing::Over;
                self.close_after_flush(reason);
            }
            Writing::Body { .. } | Writing::Done { .. } | Writing::Over => self.close_now(reason),
        }
    }

    /// Done ──► Upgraded; writing ──► Over. The leftover bytes are the
    /// application's, and so is the socket once the output is flushed.
    pub(super) fn upgraded(&mut self) {
        let leftover = self.wire.recv.take_all();
        self.events.push_back(Event::Upgrade { leftover });
        self.role.reading = Reading::Upgraded;
        self.role.writing = Writing::Over;
        self.wire.timers.stop_all();
        if !self.wire.transmit.is_empty() {
            self.wire.start(Timer::Write, self.config.timeouts.write);
        }
    }

    /// A graceful shutdown at `now`: an idle connection closes at once, one
    /// with a request in flight closes after it, by the shutdown deadline.
    pub(super) fn shutdown_started(&mut self, now: Instant) {
        if self.closed || matches!(self.role.reading, Reading::Upgraded) {
            return;
        }
        let in_flight = matches!(
            self.role.writing,
            Writing::Head(_) | Writing::Body { .. } | Writing::Done { .. }
        ) || !self.wire.transmit.is_empty();
        if !in_flight {
            self.close_now(CloseReason::Shutdown);
            return;
        }
        if self.closing.is_none() {
            self.closing = Some(CloseReason::Shutdown);
            self.wire
                .timers
                .set(Timer::Shutdown, now + self.config.timeouts.shutdown);
        }
        self.progress_close();
    }

    /// The peer closed its sending side. A request already received is
    /// still answered; a partial one is an error (found by the next step).
    pub(super) fn peer_closed(&mut self) {
        if self.peer_eof || self.closed {
            return;
        }
        self.peer_eof = true;
        match self.role.reading {
            Reading::Lingering { .. } => {
                self.close_now(self.closing.unwrap_or(CloseReason::PeerClosed))
            }
            Reading::Head { .. }
                if self.wire.recv.is_empty() && self.role.writing == Writing::Idle =>
            {
                self.close_after_flush(CloseReason::PeerClosed)
            }
            // The next `poll_event` sees the parser starve and decides.
            Reading::Head { .. } | Reading::Body { .. } => {}
            Reading::Done | Reading::Stopped | Reading::Upgraded => self.progress_close(),
        }
    }

    /// The parser needs more bytes. If none can come (EOF), the request is
    /// incomplete, or the connection simply ends between requests.
    pub(super) fn starved(&mut self) -> bool {
        if let Reading::Body { starved, .. } = &mut self.role.reading {
            *starved = true;
        }
        if !self.peer_eof {
            return false;
        }
        if matches!(self.role.reading, Reading::Head { .. }) && self.wire.recv.is_empty() {
            self.close_after_flush(CloseReason::PeerClosed);
        } else {
            self.protocol_error(ProtocolError::IncompleteRequest);
        }
        true
    }

    /// Input arrived at `now`: the read-side timers move, and a lingering
    /// connection drops it.
    pub(super) fn received(&mut self, now: Instant) {
        match &mut self.role.reading {
            Reading::Head { .. } => {
                self.wire.timers.stop(Timer::Idle);
                if !self.wire.timers.is_armed(Timer::Head) && self.role.writing == Writing::Idle {
                    self.wire
                        .timers
                        .set(Timer::Head, now + self.config.timeouts.head);
                }
            }
            Reading::Body { starved, .. } => {
                *starved = false;
                self.wire
                    .timers
                    .set(Timer::Body, now + self.config.timeouts.body);
            }
            Reading::Lingering { dropped, until } => {
                let n = self.wire.recv.len();
                self.wire.recv.consume(n);
                *dropped += n;
                if *dropped > self.config.limits.linger_bytes {
                    self.close_now(self.closing.unwrap_or(CloseReason::Done));
                } else {
                    // Quiet for `Timeouts::linger`: the peer has stopped.
                    let quiet_until = now + self.config.timeouts.linger;
                    self.wire.timers.set(Timer::Linger, quiet_until.min(*until));
                }
            }
            Reading::Done | Reading::Stopped | Reading::Upgraded => {}
        }
    }

    /// Acts on one expired timer.
    pub(super) fn fire(&mut self, timer: Timer, now: Instant) {
        // Output the peer has not read yet: whether it reads is for the
        // write-stall timer to judge, and a shell may not read while its
        // write blocks, so no read-side timer may fire meanwhile.
        let held = !self.wire.transmit.is_empty();
        match timer {
            Timer::Head | Timer::Idle | Timer::Body if held => {
                // The peer is not reading what we sent: that is for the
                // write-stall timer to judge. Hold this one meanwhile.
                let after = match timer {
                    Timer::Head => self.config.timeouts.head,
                    Timer::Idle => self.config.timeouts.idle,
                    _ => self.config.timeouts.body,
                };
                self.wire.timers.set(timer, now + after);
            }
            Timer::Head => {
                if matches!(self.role.reading, Reading::Head { .. })
                    && self.role.writing == Writing::Idle
                {
                    self.protocol_error(ProtocolError::HeadTimeout);
                }
            }
            Timer::Idle => {
                if matches!(self.role.reading, Reading::Head { .. }) && self.wire.recv.is_empty() {
                    self.close_now(CloseReason::IdleTimeout);
                }
            }
            Timer::Body => {
                let Reading::Body { starved, .. } = self.role.reading else {
                    return;
                };
                if !starved {
                    // The application has not consumed what arrived: that is
                    // not the peer's delay. Count again from now.
                    self.wire
                        .timers
                        .set(Timer::Body, now + self.config.timeouts.body);
                } else if matches!(self.role.writing, Writing::Head(_)) {
                    self.protocol_error(ProtocolError::BodyTimeout);
                } else {
                    self.close_now(CloseReason::BodyTimeout);
                }
            }
            Timer::Write => {
                if !self.wire.transmit.is_empty() {
                    self.close_now(CloseReason::WriteStalled);
                }
            }
            Timer::Shutdown => self.close_now(CloseReason::ShutdownDeadline),
            Timer::Linger => self.close_now(self.closing.unwrap_or(CloseReason::Done)),
        }
    }

    /// Output was written. Once all of it is, the peer is reading again:
    /// the read-side timers held while it was not count afresh from now,
    /// so the time it spent not reading is not held against its next request.
    pub(super) fn output_written(&mut self) {
        if self.wire.transmit.is_empty() {
            let now = self.wire.last_now;
            let timeouts = &self.config.timeouts;
            for (timer, after) in [
                (Timer::Head, timeouts.head),
                (Timer::Idle, timeouts.idle),
                (Timer::Body, timeouts.body),
            ] {
                if self.wire.timers.is_armed(timer) {
                    self.wire.timers.set(timer, now + after);
                }
            }
        }
        self.progress_close();
    }

    /// Decides to close once the output is flushed.
    pub(super) fn close_after_flush(&mut self, reason: CloseReason) {
        self.closing.get_or_insert(reason);
        self.progress_close();
    }

    /// Moves a closing connection on: once no response is in flight and the
    /// output is flushed, linger (or close at once if the peer is gone).
    pub(super) fn progress_close(&mut self) {
        let Some(reason) = self.closing else { return };
        if self.closed
            || matches!(
                self.role.reading,
                Reading::Lingering { .. } | Reading::Upgraded
            )
        {
            return;
        }
        let response_in_flight =
            matches!(self.role.writing, Writing::Head(_) | Writing::Body { .. });
        if response_in_flight || !self.wire.transmit.is_empty() {
            return;
        }
        if self.peer_eof {
            self.close_now(reason);
            return;
        }
        let now = self.wire.last_now;
        self.role.reading = Reading::Lingering {
            dropped: 0,
            until: now + self.config.timeouts.linger_total,
        };
        self.role.writing = Writing::Over;
        let buffered = self.wire.recv.len();
        self.wire.recv.consume(buffered);
        self.wire.timers.stop_all();
        let quiet_until = now + self.config.timeouts.linger;
        let until = now + self.config.timeouts.linger_total;
        self.wire.timers.set(Timer::Linger, quiet_until.min(until));
    }

    /// Closes at once: output is dropped, the `Closed` event is queued.
    pub(super) fn close_now(&mut self, reason: CloseReason) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.closing.get_or_insert(reason);
        self.role.reading = Reading::Stopped;
        self.wire.transmit.clear();
        self.wire.timers.stop_all();
        self.events.push_back(Event::Closed(reason));
    }

    /// Whether the peer leaves so much output unread that the connection
    /// has stopped reading.
    pub(super) fn output_backlogged(&self) -> bool {
        self.wire.transmit.len() >= self.config.limits.max_transmit
    }
}
