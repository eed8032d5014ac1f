//! Drives one connection for an application: whole requests out, responses
//! in, streamed bodies pulled as the transmit queue drains.

use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::{Bytes, BytesMut};
use http::{Method, StatusCode};

use super::{
    failure_head, panic_message, Body, BodyStream, Handler, Request, Response, FAILURE_BODY,
};
use crate::{Event, RequestHead, ResponseHead, ServerConnection};

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
            conn,
            collecting: None,
            awaiting: None,
            stream: None,
            peer: None,
            request_line: String::new(),
            panics: Vec::new(),
        }
    }

    /// Records the peer's address: every request handed out carries it.
    pub fn set_peer(&mut self, peer: SocketAddr) {
        self.peer = Some(peer);
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
    /// bodies on, until nothing more can happen without I/O.
    ///
    /// A handler that panics is caught: the request gets a 500 with
    /// `Connection: close` (see [`take_panics`](Self::take_panics)).
    pub fn drive<H: Handler + ?Sized>(&mut self, handler: &H) {
        while let Some(request) = self.poll_request() {
            // The handler's state is the application's; the connection's
            // own is untouched by the unwind, so going on is sound.
            match catch_unwind(AssertUnwindSafe(|| handler.handle(request))) {
                Ok(response) => self.respond(response),
                Err(panic) => self.respond_panicked(panic_message(&*panic)),
            }
        }
    }

    /// The next complete request, if one is ready and no other is waiting
    /// for its response. Also moves a streamed body on.
    pub fn poll_request(&mut self) -> Option<Request> {
        loop {
            self.pump_stream();
            if self.awaiting.is_some() || self.stream.is_some() {
                // The core holds further events back until this response
                // is finished anyway; drain only closes and errors.
                return self.drain_without_request();
            }
            let event = self.conn.poll_event()?;
            match event {
                Event::Request(head) => self.collecting = Some((head, Collected::Empty)),
                Event::Body(piece) => {
                    if let Some((_, body)) = &mut self.collecting {
                        body.push(piece);
                    }
                }
                Event::RequestEnd => {
                    let (head, body) = self.collecting.take()?;
                    self.awaiting = Some(head.method() == Method::HEAD);
                    self.request_line.clear();
                    self.request_line.push_str(head.method().as_str());
                    self.request_line.push(' ');
                    self.request_line.push_str(head.target());
                    return Some(Request {
                        head,
                        body: body.into_bytes(),
                        peer: self.peer,
                    });
                }
                // The core queued the error response itself.
                Event::Error(_) => self.collecting = None,
                Event::Closed(_) => {
                    self.collecting = None;
                    self.stream = None;
                }
                // Trailers are dropped; upgrades are never accepted here.
                _ => {}
            }
        }
    }

    fn drain_without_request(&mut self) -> Option<Request> {
        while let Some(event) = self.conn.poll_event() {
            if let Event::Closed(_) = event {
                self.stream = None;
                self.awaiting = None;
            }
        }
        None
    }

    /// Sends the application's answer to the request last handed out.
    pub fn respond(&mut self, response: Response) {
        let Some(head_request) = self.awaiting.take() else {
            return;
        };
        let Response { head, body } = response;
        let sent = match body {
            Body::Empty => self.conn.respond(head, Bytes::new()),
            // `respond` announces the length and sends no body to HEAD.
            Body::Full(bytes) => self.conn.respond(head, bytes),
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
                Some(piece) => self.conn.send_body(piece),
                None => {
                    self.stream = None;
                    self.conn.finish()
                }
            };
            if result.is_err() {
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
