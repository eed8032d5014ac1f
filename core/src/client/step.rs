//! Parsing responses, one step at a time, inside `poll_event`. Every change
//! of state goes through a transition in `state.rs`.

use super::parse::{parse_response_head, Asked};
use super::state::Reading;
use super::{ClientConnection, ResponseBody};
use crate::decode::{BodyDecoder, Decoded};
use crate::parse::find_head_end;
use crate::{CloseReason, ProtocolError};

impl ClientConnection {
    pub(super) fn step(&mut self) -> bool {
        if self.closed {
            return false;
        }
        match self.role.reading {
            Reading::Head { .. } => self.step_head(),
            Reading::Body { .. } => self.step_body(),
            Reading::Upgraded => false,
        }
    }

    fn step_head(&mut self) -> bool {
        if self.wire.recv.is_empty() {
            if !self.peer_eof {
                return false;
            }
            if self.role.in_flight.is_empty() {
                self.close_now(CloseReason::PeerClosed);
            } else {
                self.fail(ProtocolError::IncompleteResponse);
            }
            return true;
        }
        let Some(front) = self.role.in_flight.front().copied() else {
            // A server may send 408 on an idle connection before closing it;
            // either way nothing was asked.
            self.fail(ProtocolError::UnexpectedResponse);
            return true;
        };
        let Reading::Head { scan } = &mut self.role.reading else {
            return false;
        };
        let data = self.wire.recv.data();
        let end = match find_head_end(data, *scan) {
            Ok(end) => end,
            Err(resume) => {
                *scan = resume;
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
        *scan = 0;

        let status = response.status;
        if status.is_informational() && status != http::StatusCode::SWITCHING_PROTOCOLS {
            self.informational(response, front.awaiting_continue);
            return true;
        }
        let decoder = match response.body {
            ResponseBody::Tunnel => {
                self.upgraded(response);
                return true;
            }
            ResponseBody::Empty => None,
            ResponseBody::Length(length) => Some(BodyDecoder::length(length)),
            ResponseBody::Chunked => Some(BodyDecoder::chunked()),
            ResponseBody::UntilClose => Some(BodyDecoder::UntilClose { total: 0 }),
        };
        self.response_started(response, decoder, front.awaiting_continue);
        true
    }

    fn step_body(&mut self) -> bool {
        let Reading::Body {
            decoder,
            keep_alive,
        } = &mut self.role.reading
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
            Ok(Some(Decoded::Data(data))) => self.body_data(data),
            Ok(Some(Decoded::Trailers(trailers))) => self.trailers(trailers),
            Ok(Some(Decoded::End)) => self.response_done(keep_alive),
        }
        true
    }
}
