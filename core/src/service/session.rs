//! Drives one connection for an application: whole requests out, responses
//! in, streamed bodies pulled as the transmit queue drains.

use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::{Bytes, BytesMut};
use http::{Method, StatusCode};

use super::access::{AccessRecord, AccessRecorder};
use super::body_reader::{BodyFeed, BodyReader, BodyWaker};
use super::{
    failure_head, panic_message, Body, BodyStream, Handler, Request, Response, FAILURE_BODY,
};
use crate::{CloseReason, Event, ProtocolError, RequestHead, ResponseHead, ServerConnection};

/// Largest piece asked of a streamed body at once.
const STREAM_PIECE: usize = 64 * 1024;

/// One connection and the application-side state around it.
///
/// Shells move bytes through [`conn`](Self::conn) exactly as the core's
/// contract says, and call [`drive`](Self::drive) (sync handlers) or
/// [`poll_request`](Self::poll_request) / [`respond`](Self::respond) (async
/// handlers) after every input, command and write.
pub struct Session {
    conn: ServerConnection,
    collecting: Option<(RequestHead, Collected)>,
    /// A request was handed out and its response has not come back.
    awaiting: Option<bool>,
    stream: Option<Box<dyn BodyStream>>,
    peer: Option<SocketAddr>,
    /// The request line of the request last handed out, for reports.
    request_line: String,
    /// Handler panics caught and answered, not yet taken by the shell.
    panics: Vec<HandlerPanic>,
    /// The access log's facts (only when `Config::access_log` is on).
    access: AccessRecorder,
    /// Why the connection closed, once it did.
    close_reason: Option<CloseReason>,
    /// The peer's protocol error the core answered, if any (it is sticky:
    /// there is at most one).
    protocol_error: Option<ProtocolError>,
    /// Set by shells that run handlers off the driving thread: request
    /// bodies can then stream to a [`BodyReader`].
    body_waker: Option<BodyWaker>,
    /// The body of the request handed out, flowing to its reader.
    feeding: Option<BodyFeed>,
}

/// A request handed out by [`Session::poll_exchange`]: its body collected,
/// or streaming to a reader while the handler runs.
#[derive(Debug)]
#[non_exhaustive]
pub enum Exchange {
    /// The body is in `request.body`.
    Collected(Request),
    /// The body arrives through the reader (`request.body` is empty): run
    /// the handler off the thread that drives the connection.
    Streaming(Request, BodyReader),
}

impl Exchange {
    /// Answers the exchange with `handler`: `handle_streaming` where the
    /// handler wants a reader (over the collected body if it was
    /// collected), `handle` otherwise.
    pub fn run<H: Handler + ?Sized>(self, handler: &H) -> Response {
        match self {
            Exchange::Collected(request) if handler.wants_body_reader(&request.head) => {
                let body = BodyReader::from_bytes(request.body.clone());
                let request = Request {
                    body: bytes::Bytes::new(),
                    ..request
                };
                handler.handle_streaming(request, body)
            }
            Exchange::Collected(request) => handler.handle(request),
            Exchange::Streaming(request, body) => handler.handle_streaming(request, body),
        }
    }
}

/// A handler panic that [`Session::drive`] caught and answered with a 500:
/// for the shell to log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HandlerPanic {
    /// Method and target of the request being answered.
    pub request_line: String,
    /// What the panic said.
    pub message: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("conn", &self.conn)
            .field("awaiting", &self.awaiting)
            .field("streaming", &self.stream.is_some())
            .finish()
    }
}

/// A request body being collected; one piece is kept without copying.
#[derive(Debug)]
enum Collected {
    Empty,
    One(Bytes),
    Many(BytesMut),
}

impl Collected {
    fn push(&mut self, piece: Bytes) {
        *self = match std::mem::replace(self, Collected::Empty) {
            Collected::Empty => Collected::One(piece),
            Collected::One(first) => {
                let mut all = BytesMut::with_capacity(first.len() + piece.len());
                all.extend_from_slice(&first);
                all.extend_from_slice(&piece);
                Collected::Many(all)
            }
            Collected::Many(mut all) => {
                all.extend_from_slice(&piece);
                Collected::Many(all)
            }
        };
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Collected::Empty => Bytes::new(),
            Collected::One(bytes) => bytes,
            Collected::Many(all) => all.freeze(),
        }
    }
}

impl Session {
    /// A session around a new connection.
    pub fn new(conn: ServerConnection) -> Self {
        Session {
            collecting: None,
            awaiting: None,
            stream: None,
            peer: None,
            request_line: String::new(),
            panics: Vec::new(),
            access: AccessRecorder::new(&conn),
            conn,
            close_reason: None,
            protocol_error: None,
            body_waker: None,
            feeding: None,
        }
    }

    /// Records the peer's address: every request handed out carries it.
    pub fn set_peer(&mut self, peer: SocketAddr) {
        self.peer = Some(peer);
        self.access.set_peer(peer);
    }

    /// Lets request bodies stream to handlers that want a reader
    /// ([`Handler::wants_body_reader`]), through
    /// [`poll_exchange`](Self::poll_exchange). `waker` is called (on the
    /// handler's thread) whenever a reader made room or went away: the
    /// shell then drives the session again. Only for shells that run such
    /// handlers off the thread that drives the connection.
    pub fn set_body_waker(&mut self, waker: BodyWaker) {
        self.body_waker = Some(waker);
    }

    /// Whether [`set_body_waker`](Self::set_body_waker) was called.
    pub fn streams_bodies(&self) -> bool {
        self.body_waker.is_some()
    }

    /// The access records of the exchanges finished since the last call
    /// (empty unless `Config::access_log` is on), for the shell's log.
    pub fn take_access(&mut self) -> Vec<AccessRecord> {
        self.access.update(&self.conn);
        self.access.take()
    }

    /// Why the connection closed, once the core said so.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.close_reason
    }

    /// The peer's protocol error that the core answered (its status is
    /// [`ProtocolError::status`]), if there was one.
    pub fn protocol_error(&self) -> Option<ProtocolError> {
        self.protocol_error
    }

    /// Method and target of the request last handed out (for logs).
    pub fn request_line(&self) -> &str {
        &self.request_line
    }

    /// The handler panics caught since the last call, oldest first.
    pub fn take_panics(&mut self) -> Vec<HandlerPanic> {
        std::mem::take(&mut self.panics)
    }

    /// Answers the request last handed out with a 500 and `Connection:
    /// close`, recording why: for shells whose handler panicked outside
    /// [`drive`](Self::drive) (an async handler's future, say).
    pub fn respond_panicked(&mut self, message: &str) {
        self.panics.push(HandlerPanic {
            request_line: self.request_line.clone(),
            message: message.to_owned(),
        });
        self.respond(Response::full(failure_head(), FAILURE_BODY));
    }

    /// The connection, for moving bytes and reading its getters.
    pub fn conn(&mut self) -> &mut ServerConnection {
        &mut self.conn
    }

    /// The connection, read-only.
    pub fn connection(&self) -> &ServerConnection {
        &self.conn
    }

    /// Answers every complete request with `handler` and moves streamed
    /// bodies on, until nothing more can happen without I/O. Bodies are
    /// always collected here (a handler that wants a reader gets one over
    /// the collected body), since the handler runs on this thread.
    ///
    /// A handler that panics is caught: the request gets a 500 with
    /// `Connection: close` (see [`take_panics`](Self::take_panics)).
    pub fn drive<H: Handler + ?Sized>(&mut self, handler: &H) {
        while let Some(exchange) = self.next_exchange(None) {
            // The handler's state is the application's; the connection's
            // own is untouched by the unwind, so going on is sound.
            match catch_unwind(AssertUnwindSafe(|| exchange.run(handler))) {
                Ok(response) => self.respond(response),
                Err(panic) => self.respond_panicked(panic_message(&*panic)),
            }
        }
    }

    /// The next complete request, if one is ready and no other is waiting
    /// for its response. Also moves a streamed body on.
    pub fn poll_request(&mut self) -> Option<Request> {
        match self.next_exchange(None)? {
            Exchange::Collected(request) => Some(request),
            Exchange::Streaming(..) => unreachable!("streams only when asked"),
        }
    }

    /// The next request for `handler`, if one is ready and no other is
    /// waiting for its response: collected, or, where the handler wants a
    /// reader and the shell set a [body waker](Self::set_body_waker),
    /// handed out as soon as its head is in, its body streaming to the
    /// reader as this session is driven. Also moves a streamed response
    /// body on.
    pub fn poll_exchange<H: Handler + ?Sized>(&mut self, handler: &H) -> Option<Exchange> {
        let wants = |head: &RequestHead| handler.wants_body_reader(head);
        self.next_exchange(Some(&wants))
    }

    fn next_exchange(
        &mut self,
        stream_if: Option<&dyn Fn(&RequestHead) -> bool>,
    ) -> Option<Exchange> {
        loop {
            self.pump_stream();
            self.access.update(&self.conn);
            match &self.feeding {
                // Hold the core back until the reader makes room.
                Some(feed) if !feed.has_room() => return None,
                Some(_) => {}
                None if self.awaiting.is_some() || self.stream.is_some() => {
                    // The core holds further events back until this
                    // response is finished anyway; drain only closes and
                    // errors.
                    return self.drain_without_request();
                }
                None => {}
            }
            let event = self.conn.poll_event()?;
            match event {
                Event::Request(head) => {
                    self.access.request(&head, &self.conn);
                    self.note_request_line(&head);
                    let streams = self.body_waker.is_some() && stream_if.is_some_and(|f| f(&head));
                    if let (true, Some(waker)) = (streams, &self.body_waker) {
                        let (feed, reader) = BodyReader::channel(waker.clone());
                        self.feeding = Some(feed);
                        self.awaiting = Some(head.method() == Method::HEAD);
                        let request = Request {
                            head,
                            body: Bytes::new(),
                            peer: self.peer,
                        };
                        return Some(Exchange::Streaming(request, reader));
                    }
                    self.collecting = Some((head, Collected::Empty));
                }
                Event::Body(piece) => {
                    if let Some(feed) = &self.feeding {
                        feed.push(piece);
                    } else if let Some((_, body)) = &mut self.collecting {
                        body.push(piece);
                    }
                }
                Event::RequestEnd => {
                    if let Some(feed) = self.feeding.take() {
                        feed.end(Ok(()));
                        continue;
                    }
                    let (head, body) = self.collecting.take()?;
                    self.awaiting = Some(head.method() == Method::HEAD);
                    return Some(Exchange::Collected(Request {
                        head,
                        body: body.into_bytes(),
                        peer: self.peer,
                    }));
                }
                Event::Error(error) => self.on_protocol_error(error),
                Event::Closed(reason) => self.on_closed(reason),
                // Trailers are dropped; upgrades are never accepted here.
                _ => {}
            }
        }
    }

    fn note_request_line(&mut self, head: &RequestHead) {
        self.request_line.clear();
        self.request_line.push_str(head.method().as_str());
        self.request_line.push(' ');
        self.request_line.push_str(head.target());
    }

    /// The core queued the error response itself (when one could still be
    /// sent) and is closing.
    fn on_protocol_error(&mut self, error: ProtocolError) {
        self.protocol_error = Some(error);
        self.collecting = None;
        if let Some(feed) = self.feeding.take() {
            feed.end(Err(format!("the request body was malformed: {error}")));
        }
        self.access.answered_by_core(error.status(), &self.conn);
    }

    fn on_closed(&mut self, reason: CloseReason) {
        self.close_reason = Some(reason);
        self.collecting = None;
        self.stream = None;
        self.awaiting = None;
        // Dropping the feed breaks the body off for its reader.
        self.feeding = None;
        self.access.update(&self.conn);
    }

    fn drain_without_request(&mut self) -> Option<Exchange> {
        while let Some(event) = self.conn.poll_event() {
            match event {
                Event::Error(error) => self.on_protocol_error(error),
                Event::Closed(reason) => self.on_closed(reason),
                _ => {}
            }
        }
        None
    }

    /// Sends the application's answer to the request last handed out.
    pub fn respond(&mut self, response: Response) {
        let Some(head_request) = self.awaiting.take() else {
            return;
        };
        // A body not read by now is the core's to drain (within its
        // budget) or refuse; its reader sees it broken off.
        self.feeding = None;
        let Response { head, body } = response;
        self.access.status(head.status());
        let sent = match body {
            Body::Empty => self.conn.respond(head, Bytes::new()),
            // `respond` announces the length and sends no body to HEAD.
            Body::Full(bytes) => {
                if !head_request {
                    self.access.body(bytes.len());
                }
                self.conn.respond(head, bytes)
            }
            Body::Stream(_) if head_request => self
                .conn
                .send_response(head)
                .and_then(|()| self.conn.finish()),
            Body::Stream(stream) => self.conn.send_response(head).map(|()| {
                self.stream = Some(stream);
            }),
        };
        if sent.is_err() {
            // The application's head was unusable (say, a bad
            // Content-Length). Answer 500 rather than leave the peer waiting.
            self.stream = None;
            let _ = self.conn.respond(
                ResponseHead::new(StatusCode::INTERNAL_SERVER_ERROR),
                Bytes::new(),
            );
        }
        if self.stream.is_none() {
            self.access.finished(&self.conn);
        }
        self.pump_stream();
    }

    /// Whether a request was handed out and awaits `respond`.
    pub fn is_awaiting_response(&self) -> bool {
        self.awaiting.is_some()
    }

    /// Moves a streamed body on while the transmit queue has room.
    fn pump_stream(&mut self) {
        while let Some(stream) = &mut self.stream {
            let room = self.conn.send_capacity();
            if room == 0 || self.conn.is_closed() {
                return;
            }
            let result = match stream.next_chunk(room.min(STREAM_PIECE)) {
                Some(piece) => {
                    self.access.body(piece.len());
                    self.conn.send_body(piece)
                }
                None => {
                    self.stream = None;
                    self.access.finished(&self.conn);
                    self.conn.finish()
                }
            };
            if result.is_err() {
                self.access.finished(&self.conn);
                // Too much or too little body for the declared length, or a
                // HEAD response: the framing cannot be kept, so stop here.
                self.stream = None;
                if self.conn.finish().is_err() {
                    self.conn.handle_write_error();
                }
            }
        }
    }
}
