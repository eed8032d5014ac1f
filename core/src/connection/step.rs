//! Parsing progress: turning buffered bytes into events, one step at a time.
//! Runs inside `poll_event`, so the application has answered (or not) every
//! event before the next one is made.

use crate::decode::{BodyDecoder, Decoded};
use crate::encode;
use crate::parse;
use crate::request::RequestBody;
use crate::timer::Timer;
use crate::{CloseReason, ContinueMode, Event, ProtocolError, RequestHead};

use super::{Exchange, Reading, ServerConnection, Writing};

impl ServerConnection {
    /// Makes one step of progress; false when nothing more can happen until
    /// the next input or command.
    pub(super) fn step(&mut self) -> bool {
        if self.closed {
            return false;
        }
        match self.reading {
            Reading::Head => self.step_head(),
            Reading::Body { .. } => self.step_body(),
            Reading::Done | Reading::Stopped | Reading::Lingering | Reading::Upgraded => false,
        }
    }

    fn step_head(&mut self) -> bool {
        // Strictly in order: the next request waits for the previous
        // response, and for room in the transmit queue.
        if self.writing != Writing::Idle
            || self.closing.is_some()
            || self.wire.transmit.len() >= self.config.limits.max_transmit
        {
            return false;
        }
        if let Err(error) = self.skip_empty_lines() {
            self.protocol_error(error);
            return true;
        }
        let data = self.wire.recv.data();
        let end = match parse::find_head_end(data, self.head_scan) {
            Ok(end) => end,
            Err(resume) => {
                self.head_scan = resume;
                let too_long = parse::check_request_line(data, &self.config).and_then(|()| {
                    if data.len() > self.config.limits.max_head_bytes {
                        Err(ProtocolError::HeadTooLarge)
                    } else {
                        Ok(())
                    }
                });
                if let Err(error) = too_long {
                    self.protocol_error(error);
                    return true;
                }
                return self.starve();
            }
        };
        match parse::parse_head(&data[..end], &self.config) {
            Ok(mut head) => {
                head.bytes = self.wire.recv.split_to(end);
                self.head_scan = 0;
                self.empty_lines = 0;
                self.start_request(head);
            }
            Err(error) => self.protocol_error(error),
        }
        true
    }

    /// RFC 9112 §2.2: a server SHOULD ignore at least one empty line before
    /// a request line; we ignore up to `max_empty_lines`.
    fn skip_empty_lines(&mut self) -> Result<(), ProtocolError> {
        loop {
            let skip = match self.wire.recv.data() {
                [b'\r', b'\n', ..] => 2,
                [b'\n', ..] if self.config.lenient_bare_lf => 1,
                [b'\n', ..] => return Err(ProtocolError::BareLineFeed),
                _ => return Ok(()),
            };
            self.wire.recv.consume(skip);
            self.head_scan = 0;
            self.empty_lines += 1;
            if self.empty_lines > self.config.limits.max_empty_lines {
                return Err(ProtocolError::TooManyEmptyLines);
            }
        }
    }

    fn start_request(&mut self, head: RequestHead) {
        self.requests += 1;
        self.starved = false;
        self.wire.timers.stop(Timer::Head);
        self.wire.timers.stop(Timer::Idle);
        self.exchange = Some(Exchange {
            version: head.version,
            head_request: head.method == http::Method::HEAD,
            keep_alive: head.keep_alive,
            expects_continue: head.expects_continue,
            continue_sent: false,
            upgrade: head.wants_upgrade,
            connect: head.method == http::Method::CONNECT,
        });
        self.writing = Writing::Head;
        let decoder = match head.body {
            RequestBody::Empty => None,
            RequestBody::Length(length) => Some(BodyDecoder::length(length)),
            RequestBody::Chunked => Some(BodyDecoder::chunked()),
        };
        self.events.push_back(Event::Request(head));
        match decoder {
            Some(decoder) => {
                self.reading = Reading::Body {
                    decoder,
                    discard: false,
                };
                self.wire
                    .timers
                    .set(Timer::Body, self.wire.last_now + self.config.timeouts.body);
            }
            None => {
                self.reading = Reading::Done;
                self.events.push_back(Event::RequestEnd);
            }
        }
    }

    fn step_body(&mut self) -> bool {
        let discard = matches!(self.reading, Reading::Body { discard: true, .. });
        if !discard {
            self.auto_continue();
        }
        let Reading::Body { decoder, .. } = &mut self.reading else {
            return false;
        };
        let decoded = match decoder.decode(&mut self.wire.recv, &self.config) {
            Ok(Some(decoded)) => decoded,
            Ok(None) => return self.starve(),
            Err(error) => {
                self.protocol_error(error);
                return true;
            }
        };
        self.starved = false;
        match decoded {
            Decoded::Data(data) if discard => {
                self.discard_left = self.discard_left.saturating_sub(data.len() as u64);
                if self.discard_left == 0 {
                    // Too much unread body to drain: close instead.
                    self.reading = Reading::Stopped;
                    self.close_after_flush(CloseReason::Done);
                }
            }
            Decoded::Data(data) => self.events.push_back(Event::Body(data)),
            Decoded::Trailers(trailers) => {
                if !discard {
                    self.events.push_back(Event::Trailers(trailers));
                }
            }
            Decoded::End => {
                self.wire.timers.stop(Timer::Body);
                if !discard {
                    self.events.push_back(Event::RequestEnd);
                }
                self.reading = Reading::Done;
                self.complete_exchange();
            }
        }
        true
    }

    /// `ContinueMode::Automatic`: the application asked for the next event
    /// after the head without answering, so it wants the body: send 100.
    fn auto_continue(&mut self) {
        let Some(exchange) = &mut self.exchange else {
            return;
        };
        if self.config.continue_mode == ContinueMode::Automatic
            && exchange.expects_continue
            && !exchange.continue_sent
            && self.writing == Writing::Head
        {
            exchange.continue_sent = true;
            self.wire.queue(encode::CONTINUE);
        }
    }

    /// The parser needs more bytes. If none can come (EOF), the request is
    /// incomplete, or the connection simply ends between requests.
    fn starve(&mut self) -> bool {
        self.starved = true;
        if !self.peer_eof {
            return false;
        }
        if matches!(self.reading, Reading::Head) && self.wire.recv.is_empty() {
            self.close_after_flush(CloseReason::PeerClosed);
        } else {
            self.protocol_error(ProtocolError::IncompleteRequest);
        }
        true
    }

    /// The peer broke HTTP: answer with the error's status if no response
    /// has started (else close at once), and parse nothing more.
    pub(super) fn protocol_error(&mut self, error: ProtocolError) {
        self.events.push_back(Event::Error(error));
        self.reading = Reading::Stopped;
        self.wire.timers.stop(Timer::Head);
        self.wire.timers.stop(Timer::Idle);
        self.wire.timers.stop(Timer::Body);
        let reason = CloseReason::ProtocolError(error);
        // A response to HEAD announces its body but never sends it.
        let head_request = self.exchange.take().is_some_and(|e| e.head_request);
        match self.writing {
            Writing::Idle | Writing::Head => {
                let date = *self.clock.date(self.wire.last_now);
                encode::error_response(
                    &mut self.wire.scratch,
                    error.status(),
                    &error.to_string(),
                    &date,
                    !head_request,
                );
                self.wire.queue_scratch();
                self.writing = Writing::Done { keep_alive: false };
                self.close_after_flush(reason);
            }
            Writing::Body { .. } | Writing::Done { .. } => self.close_now(reason),
        }
    }

    /// When both directions are done, forget the exchange and get ready for
    /// the next request (or close).
    pub(super) fn complete_exchange(&mut self) {
        let Writing::Done { keep_alive } = self.writing else {
            return;
        };
        if !matches!(self.reading, Reading::Done) {
            return;
        }
        self.exchange = None;
        self.writing = Writing::Idle;
        if !keep_alive {
            self.close_after_flush(CloseReason::Done);
            return;
        }
        if self.closing.is_some() {
            self.progress_close();
            return;
        }
        self.reading = Reading::Head;
        if self.wire.recv.is_empty() {
            if self.peer_eof {
                self.close_after_flush(CloseReason::PeerClosed);
            } else {
                self.wire
                    .timers
                    .set_pending(Timer::Idle, self.config.timeouts.idle);
            }
        } else {
            self.wire
                .timers
                .set_pending(Timer::Head, self.config.timeouts.head);
        }
    }
}
