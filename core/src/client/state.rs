//! Every state of a client connection, and every transition between them.
//!
//! Nothing outside this file assigns `reading`, `writing`, `closing` or
//! `closed`; the commands and the parsing steps call these transitions.
//!
//! ```text
//!  writing                                   reading
//!  ───────                                   ───────
//!  Idle ◄──────────────────────┐             Head{scan}
//!   │ request_sent (no body)   │              │ informational (1xx): stay;
//!   │ request_sent (body) ──► Body{encoder}   │   100 releases a held body
//!   │                          │ body_queued  │ response_started: body ──► Body{decoder,keep_alive}
//!   │                          │ request_finished ──► Idle       no body ──► response_done
//!   │ Expect: 100-continue: the body is held  │ upgraded (101, CONNECT 2xx) ──► Upgraded
//!   │ (release_held: on 100, or at the        ▼
//!   │ Continue timer)                        Body ── response_done ──► Head (next in flight)
//!
//!  fail(error):       Error event, then close_now
//!  close_now(reason): closed, output dropped, Closed event
//!  closing (request with Connection: close, or a final answer before 100):
//!                     no new request; close_now once the last response ends
//! ```

use std::time::Instant;

use bytes::Bytes;

use super::message::ReceivedResponse;
use super::{ClientConnection, ClientEvent};
use crate::decode::BodyDecoder;
use crate::encode::BodyEncoder;
use crate::timer::ClientTimer as Timer;
use crate::{CloseReason, ProtocolError};

/// Where the request being sent is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Writing {
    /// Ready for the next request.
    Idle,
    /// Sending a request body.
    Body { encoder: BodyEncoder },
}

/// What the connection reads next.
#[derive(Debug)]
pub(super) enum Reading {
    /// A response head; the search for its end resumes at `scan`.
    Head { scan: usize },
    /// A response body.
    Body {
        decoder: BodyDecoder,
        keep_alive: bool,
    },
    /// Handed over after 101 or a 2xx to CONNECT.
    Upgraded,
}

impl Reading {
    pub(super) fn new_head() -> Self {
        Reading::Head { scan: 0 }
    }
}

/// A request sent whose response has not ended.
#[derive(Debug, Clone, Copy)]
pub(super) struct InFlight {
    pub(super) head: bool,
    pub(super) connect: bool,
    /// The body is held until `100 Continue`.
    pub(super) awaiting_continue: bool,
}

impl ClientConnection {
    /// A request head was queued: one more in flight, writing Idle ──► Body
    /// when a body follows.
    pub(super) fn request_sent(&mut self, in_flight: InFlight, encoder: BodyEncoder, close: bool) {
        self.role.in_flight.push_back(in_flight);
        if close {
            self.closing = Some(CloseReason::Done);
        }
        self.wire.timers.stop(Timer::Idle);
        if in_flight.awaiting_continue {
            self.wire
                .start(Timer::Continue, self.config.timeouts.expect_continue);
        }
        self.role.writing = match encoder {
            BodyEncoder::Empty => Writing::Idle,
            encoder => Writing::Body { encoder },
        };
        self.arm_head_timer();
    }

    /// writing Body ──► Body with less left to send.
    pub(super) fn body_queued(&mut self, encoder: BodyEncoder) {
        self.role.writing = Writing::Body { encoder };
    }

    /// writing Body ──► Idle: the request body is complete.
    pub(super) fn request_finished(&mut self) {
        self.role.writing = Writing::Idle;
        self.arm_head_timer();
    }

    /// A 1xx arrived for the oldest request: stay in Head; a 100 sends the
    /// body held for it.
    pub(super) fn informational(&mut self, response: ReceivedResponse, awaiting_continue: bool) {
        if response.status == http::StatusCode::CONTINUE && awaiting_continue {
            self.release_held();
        }
        self.events.push_back(ClientEvent::Informational(response));
    }

    /// The final head for the oldest request: Head ──► Body, or straight on
    /// to `response_done` when no body follows.
    pub(super) fn response_started(
        &mut self,
        response: ReceivedResponse,
        decoder: Option<BodyDecoder>,
        awaiting_continue: bool,
    ) {
        self.wire.timers.stop(Timer::Head);
        if awaiting_continue {
            // A final answer before 100: the body stays unsent, and only a
            // close keeps the framing unambiguous.
            self.role.held.clear();
            self.wire.timers.stop(Timer::Continue);
            self.role.writing = Writing::Idle;
            self.closing = Some(CloseReason::Done);
        }
        let keep_alive = response.keep_alive;
        self.events.push_back(ClientEvent::Response(response));
        match decoder {
            Some(decoder) => {
                self.role.reading = Reading::Body {
                    decoder,
                    keep_alive,
                };
                self.wire.start(Timer::Body, self.config.timeouts.body);
            }
            None => self.response_done(keep_alive),
        }
    }

    /// Head ──► Upgraded: 101, or a 2xx to CONNECT. The rest is the
    /// application's, starting with the bytes after the head.
    pub(super) fn upgraded(&mut self, response: ReceivedResponse) {
        let leftover = self.wire.recv.take_all();
        self.events.push_back(ClientEvent::Response(response));
        self.events.push_back(ClientEvent::Upgrade { leftover });
        self.role.in_flight.pop_front();
        self.role.reading = Reading::Upgraded;
        self.wire.timers.stop_all();
    }

    /// A piece of the body arrived.
    pub(super) fn body_data(&mut self, data: Bytes) {
        self.events.push_back(ClientEvent::Body(data));
    }

    /// The trailer section arrived.
    pub(super) fn trailers(&mut self, trailers: http::HeaderMap) {
        self.events.push_back(ClientEvent::Trailers(trailers));
    }

    /// Body ──► Head: the oldest response ended; on to the next, or close.
    pub(super) fn response_done(&mut self, keep_alive: bool) {
        self.wire.timers.stop(Timer::Body);
        self.role.reading = Reading::new_head();
        self.role.in_flight.pop_front();
        self.role.responses += 1;
        self.events.push_back(ClientEvent::ResponseEnd);
        if !keep_alive || (self.closing.is_some() && self.role.in_flight.is_empty()) {
            self.close_now(CloseReason::Done);
        } else if self.role.in_flight.is_empty() && self.role.writing == Writing::Idle {
            self.wire.start(Timer::Idle, self.config.timeouts.idle);
        } else {
            self.arm_head_timer();
        }
    }

    /// Input arrived: the body timer counts again.
    pub(super) fn received(&mut self, now: Instant) {
        if matches!(self.role.reading, Reading::Body { .. }) {
            self.wire
                .timers
                .set(Timer::Body, now + self.config.timeouts.body);
        }
    }

    /// Acts on one expired timer.
    pub(super) fn fire(&mut self, timer: Timer) {
        match timer {
            Timer::Head | Timer::Body => self.fail(ProtocolError::ResponseTimeout),
            Timer::Write => self.close_now(CloseReason::WriteStalled),
            Timer::Idle => self.close_now(CloseReason::IdleTimeout),
            Timer::Continue => self.release_held(),
        }
    }

    /// Sends a body held for `100 Continue`.
    fn release_held(&mut self) {
        self.wire.timers.stop(Timer::Continue);
        if let Some(front) = self.role.in_flight.iter_mut().find(|f| f.awaiting_continue) {
            front.awaiting_continue = false;
        }
        while let Some(bytes) = self.role.held.pop() {
            self.wire.queue(bytes);
        }
        self.arm_head_timer();
    }

    /// The response head is due once a request is fully on its way.
    fn arm_head_timer(&mut self) {
        let waiting = !self.role.in_flight.is_empty()
            && matches!(self.role.reading, Reading::Head { .. })
            && !self.wire.timers.is_armed(Timer::Head);
        if waiting && self.role.writing == Writing::Idle && self.role.held.is_empty() {
            self.wire.start(Timer::Head, self.config.timeouts.head);
        }
    }

    /// The server broke HTTP (or was too slow): report it, then close.
    pub(super) fn fail(&mut self, error: ProtocolError) {
        self.events.push_back(ClientEvent::Error(error));
        self.close_now(CloseReason::ProtocolError(error));
    }

    /// Closes at once: output is dropped, the `Closed` event is queued.
    pub(super) fn close_now(&mut self, reason: CloseReason) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.wire.transmit.clear();
        self.role.held.clear();
        self.wire.timers.stop_all();
        self.events.push_back(ClientEvent::Closed(reason));
    }
}
