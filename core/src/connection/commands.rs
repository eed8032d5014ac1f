//! The application's commands. Each one either does what it says or returns
//! a [`UsageError`] and changes nothing. The state changes they cause are the
//! transitions in `state.rs`.

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::encode::{self, BodyEncoder};
use crate::fields;
use crate::transmit::COPY_BELOW;
use crate::{ResponseHead, UsageError};

use super::state::{Exchange, Reading, Writing};
use super::ServerConnection;

impl ServerConnection {
    /// Sends the final response head (status 200 or more). The core adds
    /// `Date`, framing (`Content-Length` when declared, else chunked for
    /// HTTP/1.1 and close-delimited for HTTP/1.0) and `Connection`.
    pub fn send_response(&mut self, head: ResponseHead) -> Result<(), UsageError> {
        let exchange = self.waiting_exchange()?;
        self.start_response(&head, exchange, None)
    }

    /// Queues a final head; `implied_length` frames the body when the head
    /// declares no length.
    fn start_response(
        &mut self,
        head: &ResponseHead,
        exchange: Exchange,
        implied_length: Option<u64>,
    ) -> Result<(), UsageError> {
        let max_reached = self
            .config
            .max_requests_per_connection
            .is_some_and(|max| self.role.requests >= max);
        // A client waiting for 100 that got a final answer may or may not
        // send its body: only closing keeps the framing unambiguous.
        let body_unread = matches!(self.role.reading, Reading::Body { .. });
        let unasked_body = exchange.expects_continue && !exchange.continue_sent && body_unread;
        let context = encode::Exchange {
            peer_version: exchange.version,
            head_request: exchange.head_request,
            keep_alive: exchange.keep_alive
                && self.closing.is_none()
                && !max_reached
                && !unasked_body,
            date: self.role.clock.date(self.wire.last_now),
            server: self.config.server_header.as_ref(),
            implied_length,
        };
        let framed = self
            .wire
            .encode(|out| encode::final_head(out, head, &context))?;
        self.response_started(framed);
        Ok(())
    }

    /// Sends an informational response: 100 Continue, 103 Early Hints, ...
    /// (not 101: see [`accept_upgrade`](Self::accept_upgrade)). HTTP/1.0
    /// peers get none (RFC 9110 §15.2), and 100 is sent at most once.
    pub fn send_informational(&mut self, head: ResponseHead) -> Result<(), UsageError> {
        if !head.status.is_informational() || head.status == StatusCode::SWITCHING_PROTOCOLS {
            return Err(UsageError::WrongStatusClass);
        }
        let exchange = self.waiting_exchange()?;
        if exchange.version == http::Version::HTTP_10 {
            return Ok(());
        }
        if head.status == StatusCode::CONTINUE {
            if exchange.continue_sent {
                return Ok(());
            }
            if let Writing::Head(exchange) = &mut self.role.writing {
                exchange.continue_sent = true;
            }
        }
        self.wire.encode(|out| encode::bare_head(out, &head, None));
        Ok(())
    }

    /// Sends a piece of the response body. Empty pieces are ignored. Fails
    /// with `TransmitFull` while [`send_capacity`](Self::send_capacity) is 0.
    pub fn send_body(&mut self, data: Bytes) -> Result<(), UsageError> {
        let encoder = self.sending()?;
        if data.is_empty() {
            return Ok(());
        }
        if self.output_backlogged() {
            return Err(UsageError::TransmitFull);
        }
        self.queue_body(encoder, data)
    }

    /// Frames and queues one piece of body.
    fn queue_body(&mut self, encoder: BodyEncoder, data: Bytes) -> Result<(), UsageError> {
        match encoder {
            BodyEncoder::Empty => return Err(UsageError::BodyNotAllowed),
            BodyEncoder::Length { remaining } => {
                let remaining = remaining
                    .checked_sub(data.len() as u64)
                    .ok_or(UsageError::BodyTooLong)?;
                self.body_sent(BodyEncoder::Length { remaining });
                self.wire.queue(data);
            }
            BodyEncoder::Chunked => {
                if data.len() < COPY_BELOW {
                    // Line, data and CRLF as one run of the output buffer.
                    self.wire.encode(|out| {
                        encode::chunk_line(out, data.len());
                        out.extend_from_slice(&data);
                        out.extend_from_slice(b"\r\n");
                    });
                } else {
                    self.wire.encode(|out| encode::chunk_line(out, data.len()));
                    self.wire.queue(data);
                    self.wire.queue(encode::CRLF);
                }
            }
            BodyEncoder::UntilClose => self.wire.queue(data),
        }
        Ok(())
    }

    /// Ends the response. Fails with `BodyTooShort` if a declared
    /// `Content-Length` was not sent in full.
    pub fn finish(&mut self) -> Result<(), UsageError> {
        self.finish_with(None)
    }

    /// Ends a chunked response with a trailer section. For an HTTP/1.0 peer
    /// (close-delimited body) the trailers are dropped, since that framing
    /// cannot carry them; with a `Content-Length` this is a usage error.
    pub fn send_trailers(&mut self, trailers: &HeaderMap) -> Result<(), UsageError> {
        self.finish_with(Some(trailers))
    }

    fn finish_with(&mut self, trailers: Option<&HeaderMap>) -> Result<(), UsageError> {
        let encoder = self.sending()?;
        let Writing::Body { keep_alive, .. } = self.role.writing else {
            return Err(UsageError::ResponseNotStarted);
        };
        match encoder {
            BodyEncoder::Length { remaining } if remaining > 0 => {
                return Err(UsageError::BodyTooShort)
            }
            BodyEncoder::Length { .. } | BodyEncoder::Empty
                if trailers.is_some_and(|t| !t.is_empty()) =>
            {
                return Err(UsageError::TrailersNeedChunked)
            }
            BodyEncoder::Chunked => match trailers {
                Some(trailers) if !trailers.is_empty() => {
                    self.wire.encode(|out| encode::last_chunk(out, trailers));
                }
                _ => self.wire.queue(encode::LAST_CHUNK),
            },
            BodyEncoder::Length { .. } | BodyEncoder::Empty | BodyEncoder::UntilClose => {}
        }
        self.response_finished(keep_alive);
        Ok(())
    }

    /// Sends a whole response: the head with `Content-Length` set to
    /// `body.len()` (unless the head declares a length), the body, and the
    /// end. To a HEAD request the body is not sent (its length is still
    /// announced). The body is queued whole even when the transmit queue is
    /// over its bound: the application already holds it in memory.
    ///
    /// It is `send_response`, `send_body` and `finish` in one call, checked
    /// first so that it either does all three or nothing.
    pub fn respond(&mut self, head: ResponseHead, body: Bytes) -> Result<(), UsageError> {
        let exchange = self.waiting_exchange()?;
        let status = head.status;
        let bodiless = status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED;
        if bodiless && !body.is_empty() {
            return Err(UsageError::BodyNotAllowed);
        }
        let declared = head.content_length.or_else(|| {
            head.headers()
                .iter()
                .find(|(name, _)| name == http::header::CONTENT_LENGTH)
                .and_then(|(_, value)| fields::parse_content_length(value.as_bytes()).ok())
        });
        let implied_length = match declared {
            Some(length) if length != body.len() as u64 && !exchange.head_request && !bodiless => {
                return Err(if length < body.len() as u64 {
                    UsageError::BodyTooLong
                } else {
                    UsageError::BodyTooShort
                });
            }
            None if !bodiless => Some(body.len() as u64),
            _ => None,
        };
        self.start_response(&head, exchange, implied_length)?;
        if let Writing::Body {
            encoder: encoder @ BodyEncoder::Length { remaining },
            ..
        } = self.role.writing
        {
            if remaining > 0 {
                self.queue_body(encoder, body)?;
            }
        }
        self.finish()
    }

    /// Switches protocols: 101 for a request that asked to upgrade, or a
    /// 2xx for CONNECT. The request must have been read to its end. The
    /// connection then emits [`Event::Upgrade`](crate::Event::Upgrade) with
    /// the bytes the peer sent after the request; once the transmit queue is
    /// flushed, the socket is the application's.
    pub fn accept_upgrade(&mut self, head: ResponseHead) -> Result<(), UsageError> {
        let exchange = self.waiting_exchange()?;
        let fits = if exchange.connect {
            head.status.is_success()
        } else {
            exchange.upgrade && head.status == StatusCode::SWITCHING_PROTOCOLS
        };
        if !fits {
            return Err(UsageError::NotAnUpgrade);
        }
        if !matches!(self.role.reading, Reading::Done) {
            return Err(UsageError::RequestBodyUnread);
        }
        let date = *self.role.clock.date(self.wire.last_now);
        self.wire
            .encode(|out| encode::bare_head(out, &head, Some(&date)));
        self.upgraded();
        Ok(())
    }

    /// Starts a graceful shutdown at `now`: a request in flight is answered
    /// (its response says `Connection: close` if not yet sent), no new
    /// request starts, an idle connection closes at once, and everything
    /// closes by `now + Timeouts::shutdown`.
    pub fn shutdown(&mut self, now: Instant) {
        self.wire.on_input(now);
        self.shutdown_started(now);
    }

    /// The request waiting for a final response, or why there is none.
    fn waiting_exchange(&self) -> Result<Exchange, UsageError> {
        if self.closed || matches!(self.role.reading, Reading::Upgraded) {
            return Err(UsageError::Closed);
        }
        match self.role.writing {
            Writing::Head(exchange) => Ok(exchange),
            Writing::Idle => Err(UsageError::NoRequest),
            Writing::Over => Err(UsageError::Closed),
            Writing::Body { .. } | Writing::Done { .. } => Err(UsageError::ResponseAlreadyStarted),
        }
    }

    /// How the body of the response being sent is framed, if one is.
    fn sending(&self) -> Result<BodyEncoder, UsageError> {
        if self.closed {
            return Err(UsageError::Closed);
        }
        match self.role.writing {
            Writing::Over => Err(UsageError::Closed),
            Writing::Idle => Err(UsageError::NoRequest),
            Writing::Head(_) => Err(UsageError::ResponseNotStarted),
            Writing::Done { .. } => Err(UsageError::ResponseAlreadyStarted),
            Writing::Body { encoder, .. } => Ok(encoder),
        }
    }
}
