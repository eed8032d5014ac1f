//! A `tower::Service` as the application of a connection: requests go in
//! as `http::Request<RequestBody>` with streaming bodies, responses come out
//! as `http::Response<B>` whose body frames are pulled only while the
//! transmit queue has room.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body::Body;
use nutshell_core::service::{failure_head, panic_message, AccessRecorder, FAILURE_BODY};
use nutshell_core::{Event, RequestBody as Framing, RequestHead, ServerConnection};
use tracing::{debug, error};

use crate::body::{BodySender, RequestBody};
use crate::drive::App;
use crate::upgrade::{self, UpgradeSender};

/// The error type services may return, boxed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The peer's address, inserted into every request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// Any `tower::Service` that a shell can serve: cloned once per connection,
/// answering `http::Response<B>` for a body of `Bytes`. Implemented for
/// every such service (an `axum::Router` is one); not meant to be
/// implemented by hand.
pub trait HttpService: Clone + Send + 'static {
    /// The response body.
    type ResponseBody: Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static;
    /// The service's error.
    type Error: Into<BoxError>;
    /// The service's future.
    type Future: Future<Output = Result<http::Response<Self::ResponseBody>, Self::Error>>
        + Send
        + 'static;
    /// `tower::Service::poll_ready`.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>>;
    /// `tower::Service::call`.
    fn call(&mut self, request: http::Request<RequestBody>) -> Self::Future;
}

impl<S, B> HttpService for S
where
    S: tower_service::Service<http::Request<RequestBody>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static,
{
    type ResponseBody = B;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        tower_service::Service::poll_ready(self, cx)
    }

    fn call(&mut self, request: http::Request<RequestBody>) -> S::Future {
        tower_service::Service::call(self, request)
    }
}

/// Rounds of the application per turn of the drive loop: enough for a
/// depth-16 pipeline of requests answered at once, in one write.
const PIPELINE_ROUNDS: usize = 32;

/// One connection's application: the service and the exchange in progress.
/// `Io` is the socket handed over on an upgrade.
pub struct ServiceApp<S: HttpService, Io> {
    service: S,
    peer: SocketAddr,
    /// A request head waiting for the service to be ready.
    waiting: Option<RequestHead>,
    /// The service's answer to the current request, being awaited.
    call: Option<Pin<Box<S::Future>>>,
    /// The request line, for the log if the service fails.
    request_line: String,
    head_request: bool,
    /// Feeds the request body, until it ended or the response finished.
    body_in: Option<BodySender>,
    /// The response body, pulled while the transmit queue has room.
    body_out: Option<Pin<Box<S::ResponseBody>>>,
    /// The request asked to switch protocols: where the socket goes.
    upgrade: Option<UpgradeSender<Io>>,
    connect: bool,
    /// The core answered the current request itself (a protocol error in
    /// its body): the service's response has nowhere to go.
    core_answered: bool,
    /// What the peer sent after a request that switched protocols.
    leftover: Bytes,
    /// The access log's facts; set up from the connection's config on the
    /// first poll (`access_ready`).
    access: AccessRecorder,
    access_ready: bool,
}

impl<S: HttpService, Io> std::fmt::Debug for ServiceApp<S, Io> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceApp")
            .field("peer", &self.peer)
            .field("calling", &self.call.is_some())
            .field("streaming", &self.body_out.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: HttpService, Io: Send + 'static> ServiceApp<S, Io> {
    /// The application for one connection from `peer`.
    pub fn new(service: S, peer: SocketAddr) -> Self {
        ServiceApp {
            service,
            peer,
            waiting: None,
            call: None,
            request_line: String::new(),
            head_request: false,
            body_in: None,
            body_out: None,
            upgrade: None,
            connect: false,
            core_answered: false,
            leftover: Bytes::new(),
            access: AccessRecorder::default(),
            access_ready: false,
        }
    }

    /// Whether a request is being answered (so the core holds back the next).
    fn busy(&self) -> bool {
        self.waiting.is_some() || self.call.is_some() || self.body_out.is_some()
    }

    /// Takes the core's events: a new request when none is in progress,
    /// body frames only as fast as the body is polled.
    fn take_events(&mut self, cx: &mut Context<'_>, conn: &mut ServerConnection) -> bool {
        let mut progress = false;
        loop {
            match &self.body_in {
                Some(body) if !body.wants_more(cx) => break,
                None if self.busy() => break,
                _ => {}
            }
            let Some(event) = conn.poll_event() else {
                break;
            };
            progress = true;
            match event {
                Event::Request(head) => {
                    self.access.request(&head, conn);
                    self.start(head);
                }
                Event::Body(data) => {
                    if let Some(body) = &self.body_in {
                        body.data(data);
                    }
                }
                Event::Trailers(trailers) => {
                    if let Some(body) = &self.body_in {
                        body.trailers(trailers);
                    }
                }
                Event::RequestEnd => {
                    if let Some(body) = self.body_in.take() {
                        body.end();
                    }
                }
                Event::Error(error) => {
                    crate::log_protocol_error(error, self.peer);
                    self.access.answered_by_core(error.status(), conn);
                    self.core_answered = self.busy();
                    if let Some(body) = self.body_in.take() {
                        body.fail(format!("the request body was malformed: {error}"));
                    }
                }
                Event::Closed(reason) => {
                    crate::log_close(Some(reason), conn.requests(), self.peer);
                }
                Event::Upgrade { leftover } => self.leftover = leftover,
                _ => {}
            }
        }
        progress
    }

    fn start(&mut self, head: RequestHead) {
        self.head_request = head.method() == Method::HEAD;
        self.connect = head.method() == Method::CONNECT;
        self.core_answered = false;
        self.request_line = format!("{} {}", head.method(), head.target());
        self.waiting = Some(head);
    }

    /// Calls the service once it is ready, then polls its answer.
    fn poll_call(&mut self, cx: &mut Context<'_>, conn: &mut ServerConnection) -> bool {
        let mut progress = false;
        if self.waiting.is_some() {
            match self.service.poll_ready(cx) {
                Poll::Pending => return false,
                Poll::Ready(Err(e)) => {
                    let e: BoxError = e.into();
                    error!(error = %e, request = %self.request_line, "service failed");
                    self.waiting = None;
                    self.fail(conn);
                    return true;
                }
                Poll::Ready(Ok(())) => {
                    let head = self.waiting.take().expect("checked above");
                    let request = self.request(head);
                    let call = catch_unwind(AssertUnwindSafe(|| self.service.call(request)));
                    match call {
                        Ok(call) => self.call = Some(Box::pin(call)),
                        Err(panic) => {
                            self.panicked(&*panic, conn);
                            return true;
                        }
                    }
                    progress = true;
                }
            }
        }
        let Some(call) = &mut self.call else {
            return progress;
        };
        match catch_unwind(AssertUnwindSafe(|| call.as_mut().poll(cx))) {
            Ok(Poll::Pending) => progress,
            Ok(Poll::Ready(Ok(response))) => {
                self.call = None;
                self.send(response, conn);
                true
            }
            Ok(Poll::Ready(Err(e))) => {
                self.call = None;
                let e: BoxError = e.into();
                error!(error = %e, request = %self.request_line, "service failed");
                self.fail(conn);
                true
            }
            Err(panic) => {
                self.call = None;
                self.panicked(&*panic, conn);
                true
            }
        }
    }

    /// The request as the service sees it, its body fed from the core.
    fn request(&mut self, head: RequestHead) -> http::Request<RequestBody> {
        let body = match head.body() {
            Framing::Empty => RequestBody::empty(),
            Framing::Length(length) => self.body_channel(Some(length)),
            _ => self.body_channel(None),
        };
        let wants_upgrade = head.wants_upgrade();
        let mut request = head.to_http().map(|()| body);
        let extensions = request.extensions_mut();
        if wants_upgrade {
            let (sender, on_upgrade) = upgrade::channel::<Io>();
            self.upgrade = Some(sender);
            extensions.insert(on_upgrade);
        }
        extensions.insert(PeerAddr(self.peer));
        #[cfg(feature = "axum")]
        extensions.insert(axum::extract::ConnectInfo(self.peer));
        request
    }

    fn body_channel(&mut self, length: Option<u64>) -> RequestBody {
        let (sender, body) = RequestBody::channel(length);
        self.body_in = Some(sender);
        body
    }

    /// Sends the response head, and the body whole or as a stream.
    fn send(&mut self, response: http::Response<S::ResponseBody>, conn: &mut ServerConnection) {
        if self.core_answered {
            debug!(request = %self.request_line, "the core already answered; response dropped");
            self.upgrade = None;
            return;
        }
        let (parts, body) = response.into_parts();
        let switching = self.upgrade.is_some()
            && (parts.status == StatusCode::SWITCHING_PROTOCOLS
                || (self.connect && parts.status.is_success()));
        if !switching {
            // Dropping the sender tells the request's `OnUpgrade`.
            self.upgrade = None;
        }
        self.access.status(parts.status);
        let mut head = nutshell_core::ResponseHead::from(parts);
        let sent = if switching {
            // The core sends the head; the socket is handed over once it
            // is flushed (`hand_over`).
            conn.accept_upgrade(head)
        } else if self.head_request {
            // The core announces the framing (the service's declared
            // length, else what a GET would get) and sends no body. The
            // body is not consulted: axum empties it for HEAD.
            conn.send_response(head).and_then(|()| conn.finish())
        } else if body.is_end_stream() {
            // `respond` declares the length, or none where a status has no body.
            conn.respond(head, Bytes::new())
        } else {
            // An exact size is `Content-Length`; otherwise the core frames
            // the body (chunked for HTTP/1.1, until close for HTTP/1.0).
            if let Some(length) = body.size_hint().exact() {
                head = head.content_length(length);
            }
            conn.send_response(head).map(|()| {
                self.body_out = Some(Box::pin(body));
            })
        };
        match sent {
            Ok(()) if self.body_out.is_some() => {}
            Ok(()) => {
                self.access.finished(conn);
                self.response_done();
            }
            Err(e) => {
                // The service's head was unusable (say, a Content-Length
                // that contradicts the body): answer 500 rather than hang.
                error!(error = %e, request = %self.request_line, "unusable response");
                self.body_out = None;
                self.fail(conn);
            }
        }
    }

    /// Pulls response body frames while the transmit queue has room.
    fn pump(&mut self, cx: &mut Context<'_>, conn: &mut ServerConnection) -> bool {
        let mut progress = false;
        while let Some(body) = &mut self.body_out {
            if conn.send_capacity() == 0 || conn.is_closed() {
                break;
            }
            let polled = catch_unwind(AssertUnwindSafe(|| body.as_mut().poll_frame(cx)));
            let frame = match polled {
                Ok(Poll::Pending) => break,
                Ok(Poll::Ready(frame)) => frame,
                Err(panic) => {
                    error!(panic = panic_message(&*panic), request = %self.request_line,
                        "response body panicked");
                    self.abort(conn);
                    return true;
                }
            };
            progress = true;
            let result = match frame {
                None => {
                    self.body_out = None;
                    conn.finish()
                }
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        self.access.body(data.len());
                        conn.send_body(data)
                    }
                    Err(frame) => match frame.into_trailers() {
                        Ok(trailers) => {
                            self.body_out = None;
                            conn.send_trailers(&trailers)
                        }
                        // A frame kind this version does not know: skip it.
                        Err(_) => Ok(()),
                    },
                },
                Some(Err(e)) => {
                    let e: BoxError = e.into();
                    error!(error = %e, request = %self.request_line, "response body failed");
                    self.abort(conn);
                    return true;
                }
            };
            if let Err(e) = result {
                // Too much or too little body for the declared length: the
                // framing cannot be kept.
                error!(error = %e, request = %self.request_line, "response body broke its framing");
                self.abort(conn);
                return true;
            }
            if self.body_out.is_none() {
                self.access.finished(conn);
                self.response_done();
            }
        }
        progress
    }

    /// The response is complete. A request body not read by now is the
    /// core's to drain (within its budget) or refuse: the application's end
    /// of it sees an error.
    fn response_done(&mut self) {
        if let Some(body) = self.body_in.take() {
            if !body.is_dropped() {
                body.fail("the response was finished before the request body was read");
            }
        }
    }

    /// A response cannot be finished properly: close the connection at once,
    /// so the peer sees a truncated message rather than a wrong one.
    fn abort(&mut self, conn: &mut ServerConnection) {
        self.access.finished(conn);
        self.body_out = None;
        self.body_in = None;
        self.upgrade = None;
        conn.handle_write_error();
    }

    fn panicked(&mut self, panic: &(dyn std::any::Any + Send), conn: &mut ServerConnection) {
        error!(panic = panic_message(panic), request = %self.request_line, "service panicked");
        self.fail(conn);
    }

    /// Answers 500 and closes if no response has started; otherwise closes.
    fn fail(&mut self, conn: &mut ServerConnection) {
        self.body_out = None;
        self.body_in = None;
        self.upgrade = None;
        if self.core_answered {
            return;
        }
        self.access.status(StatusCode::INTERNAL_SERVER_ERROR);
        self.access.body(FAILURE_BODY.len());
        if conn
            .respond(failure_head(), Bytes::from_static(FAILURE_BODY.as_bytes()))
            .is_err()
        {
            conn.handle_write_error();
        }
        self.access.finished(conn);
    }
}

impl<S: HttpService, Io: Send + 'static> App<Io> for ServiceApp<S, Io> {
    fn poll_app(&mut self, cx: &mut Context<'_>, conn: &mut ServerConnection) -> bool {
        if !self.access_ready {
            self.access_ready = true;
            self.access = AccessRecorder::new(conn);
            self.access.set_peer(self.peer);
        }
        // Answer every request that is ready before the loop writes, so
        // pipelined responses leave in one write, as on the Session path
        // (one round answers one request and takes the next head).
        let mut progress = false;
        for _ in 0..PIPELINE_ROUNDS {
            let mut round = self.pump(cx, conn);
            round |= self.poll_call(cx, conn);
            round |= self.take_events(cx, conn);
            if !round {
                break;
            }
            progress = true;
        }
        if self.access.is_enabled() {
            self.access.update(conn);
            for record in self.access.take() {
                crate::log_access(&record);
            }
        }
        progress
    }

    fn is_idle(&self) -> bool {
        !self.busy()
    }

    fn closed(&mut self, conn: &mut ServerConnection) {
        self.access.update(conn);
        for record in self.access.take() {
            crate::log_access(&record);
        }
    }

    fn hand_over(&mut self, socket: Io) {
        if let Some(upgrade) = self.upgrade.take() {
            upgrade.send(socket, std::mem::take(&mut self.leftover));
        }
    }
}
