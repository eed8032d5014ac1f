//! The application interface every shell accepts: a request in, a response
//! out, with no I/O.
//!
//! - [`Handler`]: synchronous, accepted by all four shells unchanged.
//! - [`AsyncHandler`]: for the async shells (tokio, smol), so a handler can
//!   await a database without blocking the runtime. Async closures are
//!   async handlers.
//! - [`Session`]: drives one [`ServerConnection`](crate::ServerConnection) for a handler. It collects
//!   request bodies (up to `Limits::max_body`; the core answers 413 beyond),
//!   hands out whole requests, and sends responses, pulling streamed bodies
//!   only as fast as the transmit queue drains, so a 1 GiB download holds a
//!   bounded amount of memory.
//! - [`failure_head`], [`panic_message`]: what a shell answers and logs
//!   when the application panics.
//!
//! What is not protocol lives outside the core: `ServerOptions`,
//! `ShutdownSignal` and the `Shell` trait in `nutshell-server`, the demo
//! application in `nutshell-demo`.

mod access;
mod body_reader;
mod convert;
mod panic;
mod session;

use std::future::Future;
use std::net::SocketAddr;

use bytes::Bytes;

use crate::{RequestHead, ResponseHead};

pub use access::{AccessRecord, AccessRecorder};
pub use body_reader::{BodyReader, BodyWaker, StreamingHandler, FEED_PIECES};
pub use panic::{failure_head, panic_message, FAILURE_BODY};
pub use session::{Exchange, HandlerPanic, Session};

/// A whole request: head, collected body, and where it came from.
#[derive(Debug, Clone)]
pub struct Request {
    /// The head.
    pub head: RequestHead,
    /// The body, collected (empty when there was none).
    pub body: Bytes,
    /// The peer's address, when the shell knows it
    /// ([`Session::set_peer`]).
    pub peer: Option<SocketAddr>,
}

impl Request {
    /// A request with no known peer (for tests of one's own handler).
    pub fn new(head: RequestHead, body: impl Into<Bytes>) -> Self {
        Request {
            head,
            body: body.into(),
            peer: None,
        }
    }
}

/// A response: head and body.
#[derive(Debug)]
pub struct Response {
    /// Status and fields. Framing fields are the core's to write.
    pub head: ResponseHead,
    /// The body.
    pub body: Body,
}

impl Response {
    /// A response with a body held in memory.
    pub fn full(head: ResponseHead, body: impl Into<Bytes>) -> Self {
        Response {
            head,
            body: Body::Full(body.into()),
        }
    }

    /// A response without a body.
    pub fn empty(head: ResponseHead) -> Self {
        Response {
            head,
            body: Body::Empty,
        }
    }

    /// A response whose body is produced piece by piece. Declare its length
    /// on the head ([`ResponseHead::content_length`]) for `Content-Length`
    /// framing; without it, HTTP/1.1 peers get chunked framing.
    pub fn stream(head: ResponseHead, body: impl BodyStream) -> Self {
        Response {
            head,
            body: Body::Stream(Box::new(body)),
        }
    }
}

/// A response body.
#[non_exhaustive]
pub enum Body {
    /// No body (`Content-Length: 0` where a body could be).
    Empty,
    /// The whole body.
    Full(Bytes),
    /// A body pulled piece by piece while there is room to send.
    Stream(Box<dyn BodyStream>),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Full(bytes) => write!(f, "Full({} bytes)", bytes.len()),
            Body::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// A body produced on demand.
pub trait BodyStream: Send + 'static {
    /// The next piece, at most `max_len` bytes; `None` at the end.
    fn next_chunk(&mut self, max_len: usize) -> Option<Bytes>;
}

/// A synchronous application.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request.
    fn handle(&self, request: Request) -> Response;

    /// Whether this request's body should come as a [`BodyReader`] to
    /// [`handle_streaming`](Self::handle_streaming) instead of collected.
    /// The blocking shell and the mio shell with a handler pool then stream
    /// it (bounded memory, whatever its size); the other shells collect it
    /// first and hand a reader over the bytes. Default: never.
    fn wants_body_reader(&self, head: &RequestHead) -> bool {
        let _ = head;
        false
    }

    /// Answers a request whose body arrives through `body` (`request.body`
    /// is empty): reads block until the core delivers more. Default: reads
    /// it all and calls [`handle`](Self::handle).
    fn handle_streaming(&self, request: Request, mut body: BodyReader) -> Response {
        let mut collected = Vec::new();
        if std::io::Read::read_to_end(&mut body, &mut collected).is_err() {
            return Response::empty(ResponseHead::new(http::StatusCode::BAD_REQUEST));
        }
        self.handle(Request {
            body: collected.into(),
            ..request
        })
    }
}

impl<F> Handler for F
where
    F: Fn(Request) -> Response + Send + Sync + 'static,
{
    fn handle(&self, request: Request) -> Response {
        self(request)
    }
}

/// An asynchronous application, for the async shells.
pub trait AsyncHandler: Send + Sync + 'static {
    /// Answers one request.
    fn call(&self, request: Request) -> impl Future<Output = Response> + Send;
}

/// Async closures are handlers: `|request: Request| async move { .. }`.
impl<F, Fut> AsyncHandler for F
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send,
{
    fn call(&self, request: Request) -> impl Future<Output = Response> + Send {
        self(request)
    }
}

/// Runs a synchronous [`Handler`] where an [`AsyncHandler`] is expected.
#[derive(Debug, Clone)]
pub struct SyncHandler<H>(pub H);

impl<H: Handler> AsyncHandler for SyncHandler<H> {
    fn call(&self, request: Request) -> impl Future<Output = Response> + Send {
        std::future::ready(self.0.handle(request))
    }
}
