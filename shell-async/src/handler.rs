//! An [`AsyncHandler`] (a synchronous `Handler` too, through `SyncHandler`)
//! as the application of a connection: the core's [`Session`] collects each
//! request, the handler's future is polled in the connection's task, and the
//! response goes back through the session, streamed bodies included.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::drive::App;
use nutshell_core::service::{panic_message, AsyncHandler, Request, Response, Session};

/// One connection's application: the handler and the answer being awaited.
///
/// `F` is the type of the handler's future with its handler attached (see
/// [`HandlerApp::new`]): naming it lets one allocation per connection hold
/// every request's future in turn, rather than a box per request.
pub struct HandlerApp<A, F> {
    handler: Arc<A>,
    peer: SocketAddr,
    call: fn(Arc<A>, Request) -> F,
    /// The future answering the current request, if one is in progress.
    answer: Pin<Box<Option<F>>>,
}

impl<A, F> std::fmt::Debug for HandlerApp<A, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerApp")
            .field("peer", &self.peer)
            .field("answering", &self.answer.is_some())
            .finish_non_exhaustive()
    }
}

/// The handler's answer to `request`, owning the handler it borrows. The
/// handler is called inside this future, so that a synchronous handler
/// (whose whole work happens in `call`) runs where a panic is caught.
async fn call_owned<A: AsyncHandler>(handler: Arc<A>, request: Request) -> Response {
    handler.call(request).await
}

impl<A: AsyncHandler> HandlerApp<A, ()> {
    /// The application of one connection from `peer`. Give the driver a
    /// [`Session`] (with `set_peer`) as the connection it holds.
    #[allow(
        clippy::new_ret_no_self,
        reason = "the future's type is only known here, so `new` names it"
    )]
    pub fn new(
        handler: Arc<A>,
        peer: SocketAddr,
    ) -> HandlerApp<A, impl Future<Output = Response> + Send + 'static> {
        HandlerApp {
            handler,
            peer,
            call: call_owned::<A>,
            answer: Box::pin(None),
        }
    }
}

impl<A: AsyncHandler, F: Future<Output = Response> + Send> HandlerApp<A, F> {
    /// Polls the answer in progress; `true` once it came back (or the
    /// handler panicked) and was handed to the session.
    fn poll_answer(&mut self, cx: &mut Context<'_>, session: &mut Session) -> bool {
        let Some(answer) = self.answer.as_mut().as_pin_mut() else {
            return false;
        };
        // The future is dropped after a panic, never polled again, so the
        // state it left half-changed is not observed.
        let polled = catch_unwind(AssertUnwindSafe(|| answer.poll(cx)));
        match polled {
            Ok(Poll::Pending) => return false,
            Ok(Poll::Ready(response)) => {
                self.answer.set(None);
                session.respond(response);
            }
            Err(panic) => {
                self.answer.set(None);
                session.respond_panicked(panic_message(&*panic));
            }
        }
        true
    }
}

impl<S, A, F> App<S, Session> for HandlerApp<A, F>
where
    A: AsyncHandler,
    F: Future<Output = Response> + Send,
{
    fn poll_app(&mut self, cx: &mut Context<'_>, session: &mut Session) -> bool {
        // What the last round finished: panics and access records.
        crate::log_session(session, self.peer);
        let mut progress = false;
        loop {
            progress |= self.poll_answer(cx, session);
            if self.answer.is_some() {
                // Still awaited: the core holds the next request back anyway.
                return progress;
            }
            // The next request, if one is complete; this also moves a
            // streamed response body on.
            let Some(request) = session.poll_request() else {
                return progress;
            };
            let call = (self.call)(self.handler.clone(), request);
            self.answer.set(Some(call));
            progress = true;
        }
    }

    fn is_idle(&self) -> bool {
        self.answer.is_none()
    }

    fn closed(&mut self, session: &mut Session) {
        crate::log_session(session, self.peer);
        if let Some(error) = session.protocol_error() {
            crate::log_protocol_error(error, self.peer);
        }
        let requests = session.connection().requests();
        crate::log_close(session.close_reason(), requests, self.peer);
    }
}
