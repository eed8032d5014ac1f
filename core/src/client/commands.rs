//! The application's commands on a client connection. Each one either does
//! what it says or returns a [`UsageError`] and changes nothing.

use bytes::Bytes;
use http::{HeaderMap, Method};

use super::state::{InFlight, Reading, Writing};
use super::{ClientConnection, ClientRequest, OutgoingBody};
use crate::encode::{self, BodyEncoder};
use crate::UsageError;

impl ClientConnection {
    /// Sends a request head. Requests may be pipelined: the next one can be
    /// sent as soon as this one's body is finished.
    pub fn send_request(&mut self, request: ClientRequest) -> Result<(), UsageError> {
        if self.closed || self.closing.is_some() || matches!(self.role.reading, Reading::Upgraded) {
            return Err(UsageError::Closed);
        }
        if self.role.writing != Writing::Idle {
            return Err(UsageError::RequestInProgress);
        }
        let encoder = self
            .wire
            .encode(|out| encode::request_head(out, &request))?;
        let in_flight = InFlight {
            head: request.method == Method::HEAD,
            connect: request.method == Method::CONNECT,
            awaiting_continue: request.expect_continue && encoder != BodyEncoder::Empty,
        };
        self.request_sent(in_flight, encoder, request.close);
        Ok(())
    }

    /// Sends a whole request: the head (with `Content-Length` set to
    /// `body.len()` unless the request declares its framing), the body,
    /// and the end.
    pub fn request(&mut self, request: ClientRequest, body: Bytes) -> Result<(), UsageError> {
        let request = match request.body {
            OutgoingBody::Empty if !body.is_empty() => request.content_length(body.len() as u64),
            _ => request,
        };
        if let OutgoingBody::Length(length) = request.body {
            if length != body.len() as u64 {
                return Err(UsageError::InvalidContentLength);
            }
        }
        self.send_request(request)?;
        if self.role.writing == Writing::Idle {
            return Ok(());
        }
        self.queue_body(body);
        self.finish()
    }

    /// Sends a piece of the request body.
    pub fn send_body(&mut self, data: Bytes) -> Result<(), UsageError> {
        if data.is_empty() {
            return Ok(());
        }
        if self.send_capacity() == 0 {
            return Err(UsageError::TransmitFull);
        }
        if let Writing::Body {
            encoder: BodyEncoder::Length { remaining },
        } = self.role.writing
        {
            if (data.len() as u64) > remaining {
                return Err(UsageError::BodyTooLong);
            }
        }
        match self.role.writing {
            Writing::Idle => Err(UsageError::NoRequest),
            Writing::Body { .. } => {
                self.queue_body(data);
                Ok(())
            }
        }
    }

    /// Frames and queues body bytes (length already checked).
    fn queue_body(&mut self, data: Bytes) {
        let held = self.holding_body();
        match self.role.writing {
            Writing::Body {
                encoder: BodyEncoder::Length { remaining },
            } => {
                let remaining = remaining.saturating_sub(data.len() as u64);
                self.body_queued(BodyEncoder::Length { remaining });
                self.queue(data, held);
            }
            Writing::Body {
                encoder: BodyEncoder::Chunked,
            } => {
                encode::chunk_line(&mut self.role.scratch, data.len());
                let line = self.role.scratch.split().freeze();
                self.queue(line, held);
                self.queue(data, held);
                self.queue(encode::CRLF, held);
            }
            _ => {}
        }
    }

    /// Ends the request body.
    pub fn finish(&mut self) -> Result<(), UsageError> {
        self.finish_with(None)
    }

    /// Ends a chunked request body with trailers.
    pub fn send_trailers(&mut self, trailers: &HeaderMap) -> Result<(), UsageError> {
        self.finish_with(Some(trailers))
    }

    fn finish_with(&mut self, trailers: Option<&HeaderMap>) -> Result<(), UsageError> {
        let Writing::Body { encoder } = self.role.writing else {
            return Err(UsageError::NoRequest);
        };
        let held = self.holding_body();
        match (encoder, trailers) {
            (BodyEncoder::Length { remaining }, _) if remaining > 0 => {
                return Err(UsageError::BodyTooShort)
            }
            (BodyEncoder::Length { .. }, Some(t)) if !t.is_empty() => {
                return Err(UsageError::TrailersNeedChunked)
            }
            (BodyEncoder::Chunked, Some(t)) if !t.is_empty() => {
                encode::last_chunk(&mut self.role.scratch, t);
                let end = self.role.scratch.split().freeze();
                self.queue(end, held);
            }
            (BodyEncoder::Chunked, _) => self.queue(encode::LAST_CHUNK, held),
            _ => {}
        }
        self.request_finished();
        Ok(())
    }

    /// Whether the body being sent waits for `100 Continue`.
    fn holding_body(&self) -> bool {
        self.role
            .in_flight
            .back()
            .is_some_and(|f| f.awaiting_continue)
    }

    /// Queues request bytes for the wire, or holds them for `100 Continue`.
    fn queue(&mut self, bytes: Bytes, held: bool) {
        if held {
            self.role.held.push(bytes);
        } else {
            self.wire.queue(bytes);
        }
    }
}
