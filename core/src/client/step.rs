//! Parsing responses, one step at a time, inside `poll_event`.

use super::parse::{parse_response_head, Asked};
use super::{ClientConnection, ClientEvent, Reading, ResponseBody, Writing};
use crate::decode::{BodyDecoder, Decoded};
use crate::parse::find_head_end;
use crate::timer::ClientTimer as Timer;
use crate::{CloseReason, ProtocolError};

impl ClientConnection {
    pub(super) fn step(&mut self) -> bool {
        if self.closed {
            return false;
        }
        match self.reading {
            Reading::Head => self.step_head(),
            Reading::Body { .. } => self.step_body(),
            Reading::Upgraded => false,
        }
    }

    fn step_head(&mut self) -> bool {
        if self.wire.recv.is_empty() {
            if !self.peer_eof {
                return false;
            }
            if self.in_flight.is_empty() {
                self.close_now(CloseReason::PeerClosed);
            } else {
                self.fail(ProtocolError::IncompleteResponse);
            }
            return true;
        }
        let Some(front) = self.in_flight.front().copied() else {
            // A server may send 408 on an idle connection before closing it;
            // either way nothing was asked.
            self.fail(ProtocolError::UnexpectedResponse);
            return true;
        };
        let data = self.wire.recv.data();
        let end = match find_head_end(data, self.head_scan) {
            Ok(end) => end,
            Err(resume) => {
                self.head_scan = resume;
                if data.len() > self.config.limits.max_head_bytes {
                    self.fail(ProtocolError::HeadTooLarge);
                    return true;
                }
                if self.peer_eof {
                    self.fail(ProtocolError::IncompleteResponse);
                    return true;
                }
                return false;
            }
        };
        let asked = Asked {
            head: front.head,
            connect: front.connect,
        };
        let mut response = match parse_response_head(&data[..end], &self.config, asked) {
            Ok(response) => response,
            Err(error) => {
                self.fail(error);
                return true;
            }
        };
        response.bytes = self.wire.recv.split_to(end);
        self.head_scan = 0;

        let status = response.status;
        if status.is_informational() && status != http::StatusCode::SWITCHING_PROTOCOLS {
            if status == http::StatusCode::CONTINUE && front.awaiting_continue {
                self.release_held();
            }
            self.events.push_back(ClientEvent::Informational(response));
            return true;
        }
        self.wire.timers.stop(Timer::Head);
        if front.awaiting_continue {
            // A final answer before 100: the body stays unsent, and only a
            // close keeps the framing unambiguous.
            self.held.clear();
            self.wire.timers.stop(Timer::Continue);
            self.writing = Writing::Idle;
            self.closing = Some(CloseReason::Done);
        }
        let keep_alive = response.keep_alive;
        let decoder = match response.body {
            ResponseBody::Tunnel => {
                let leftover = self.wire.recv.take_all();
                self.events.push_back(ClientEvent::Response(response));
                self.events.push_back(ClientEvent::Upgrade { leftover });
                self.in_flight.pop_front();
                self.reading = Reading::Upgraded;
                self.wire.timers.stop_all();
                return true;
            }
            ResponseBody::Empty => None,
            ResponseBody::Length(length) => Some(BodyDecoder::length(length)),
            ResponseBody::Chunked => Some(BodyDecoder::chunked()),
            ResponseBody::UntilClose => Some(BodyDecoder::UntilClose { total: 0 }),
        };
        self.events.push_back(ClientEvent::Response(response));
        match decoder {
            Some(decoder) => {
                self.reading = Reading::Body {
                    decoder,
                    keep_alive,
                };
                self.wire
                    .timers
                    .set(Timer::Body, self.wire.last_now + self.config.timeouts.body);
            }
            None => self.response_done(keep_alive),
        }
        true
    }

    fn step_body(&mut self) -> bool {
        let Reading::Body {
            decoder,
            keep_alive,
        } = &mut self.reading
        else {
            return false;
        };
        let keep_alive = *keep_alive;
        let until_close = matches!(decoder, BodyDecoder::UntilClose { .. });
        match decoder.decode(&mut self.wire.recv, &self.config) {
            Err(error) => self.fail(error),
            Ok(None) if !self.peer_eof => return false,
            Ok(None) if until_close => self.response_done(false),
            Ok(None) => self.fail(ProtocolError::IncompleteResponse),
            Ok(Some(Decoded::Data(data))) => self.events.push_back(ClientEvent::Body(data)),
            Ok(Some(Decoded::Trailers(trailers))) => {
                self.events.push_back(ClientEvent::Trailers(trailers))
            }
            Ok(Some(Decoded::End)) => self.response_done(keep_alive),
        }
        true
    }

    /// The oldest response ended: on to the next, or close.
    fn response_done(&mut self, keep_alive: bool) {
        self.wire.timers.stop(Timer::Body);
        self.reading = Reading::Head;
        self.in_flight.pop_front();
        self.responses += 1;
        self.events.push_back(ClientEvent::ResponseEnd);
        if !keep_alive || (self.closing.is_some() && self.in_flight.is_empty()) {
            self.close_now(CloseReason::Done);
        } else if self.in_flight.is_empty() && self.writing == Writing::Idle {
            self.wire.start(Timer::Idle, self.config.timeouts.idle);
        } else {
            self.arm_head_timer();
        }
    }
}
