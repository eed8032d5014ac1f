//! The handler pool: `ServerOptions::handler_threads` threads that run the
//! handler off the event loops, for handlers that block.
//!
//! A loop hands a complete request to the pool as a [`Job`] and carries on
//! serving its other connections. A worker runs the handler, sends the
//! response back to that loop's reply channel and wakes the loop through its
//! [`Waker`]; the loop gives the response to the connection's session, which
//! sends it as if the handler had run inline. The core, the connections'
//! state and the loop's order of work stay as they are: the pool changes
//! only *where* `Handler::handle` runs.
//!
//! A handler that reads its request body as it arrives
//! (`Handler::wants_body_reader`) runs here too, handed the request as soon
//! as its head is in: its reads block on the worker while the loop feeds
//! the body, and each read that makes room sends the loop an
//! [`Answer::Room`] for that connection, so the loop drives it on. Without
//! a pool such a handler gets its body collected first: a read that blocked
//! on the loop's own thread would stall the loop.
//!
//! The queue needs no bound of its own: a connection has at most one
//! request handed out at a time (the session holds the next one back until
//! the response is in), so at most `max_connections` jobs ever wait.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

use mio::Waker;
use nutshell_core::http::StatusCode;
use nutshell_core::service::{panic_message, BodyWaker, Exchange, Handler, Response, Session};
use nutshell_core::ResponseHead;

/// A request on its way to a worker, with where its response goes.
pub(crate) struct Job {
    exchange: Exchange,
    to: ReplyTo,
}

/// The connection a response belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origin {
    /// The connection's slab key in its loop.
    pub(crate) key: usize,
    /// The connection's number in its loop: slab keys are reused, so a
    /// response for a connection that closed meanwhile is recognised.
    pub(crate) serial: u64,
}

struct ReplyTo {
    origin: Origin,
    replies: Sender<Reply>,
    waker: Arc<Waker>,
}

/// A response on its way back to its loop.
pub(crate) struct Reply {
    pub(crate) origin: Origin,
    pub(crate) response: Answer,
}

/// What a worker tells a connection.
#[allow(
    clippy::large_enum_variant,
    reason = "a response crossed the channel unboxed before; boxing it would cost an allocation per request"
)]
pub(crate) enum Answer {
    /// The handler's response.
    Response(Response),
    /// The handler panicked, saying this: the session answers 500 and
    /// logs it with the request line.
    Panicked(String),
    /// A body reader made room (or went away): drive the connection on.
    Room,
}

/// A loop's end of the pool: where it sends jobs, and where its replies
/// come back.
pub(crate) struct PoolLink {
    jobs: Sender<Job>,
    replies_to: Sender<Reply>,
    replies: Receiver<Reply>,
    waker: Arc<Waker>,
}

impl PoolLink {
    /// A link sending to `jobs`, woken by `waker` when a reply is in.
    pub(crate) fn new(jobs: Sender<Job>, waker: Arc<Waker>) -> Self {
        let (replies_to, replies) = std::sync::mpsc::channel();
        PoolLink {
            jobs,
            replies_to,
            replies,
            waker,
        }
    }

    /// The next reply that came back, if any.
    pub(crate) fn take_reply(&self) -> Option<Reply> {
        self.replies.try_recv().ok()
    }

    /// Queues `exchange`; false when no worker is left to take it.
    fn submit(&self, exchange: Exchange, origin: Origin) -> bool {
        let to = ReplyTo {
            origin,
            replies: self.replies_to.clone(),
            waker: Arc::clone(&self.waker),
        };
        self.jobs.send(Job { exchange, to }).is_ok()
    }

    /// What a body reader of connection `origin` calls when it made room.
    fn room_waker(&self, origin: Origin) -> BodyWaker {
        let replies = self.replies_to.clone();
        let waker = Arc::clone(&self.waker);
        Arc::new(move || {
            let room = Reply {
                origin,
                response: Answer::Room,
            };
            if replies.send(room).is_ok() {
                let _ = waker.wake();
            }
        })
    }
}

/// How a loop answers requests: the handler inline, or through the pool.
pub(crate) struct App<'a, H> {
    pub(crate) handler: &'a H,
    pub(crate) pool: Option<&'a PoolLink>,
}

impl<H: Handler> App<'_, H> {
    /// Answers what `session` has ready: inline, every complete request at
    /// once; with a pool, hands the next request out (its response comes
    /// back as a [`Reply`]) and only moves a streamed body on.
    pub(crate) fn serve(&self, session: &mut Session, origin: Origin) {
        let Some(pool) = self.pool else {
            session.drive(self.handler);
            return;
        };
        if !session.streams_bodies() {
            session.set_body_waker(pool.room_waker(origin));
        }
        while let Some(exchange) = session.poll_exchange(self.handler) {
            if !pool.submit(exchange, origin) {
                // Only when every worker is gone, which a panic cannot
                // cause (see `work`): answer rather than hang.
                session.respond(internal_error());
            }
        }
    }
}

/// A worker: runs jobs until every loop has dropped its link.
pub(crate) fn work<H: Handler>(jobs: &Mutex<Receiver<Job>>, handler: &H) {
    loop {
        // The lock is held only while waiting for the next job.
        let job = match jobs.lock() {
            Ok(receiver) => receiver.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(Job { exchange, to }) = job else {
            return;
        };
        // A handler that panics costs its request a 500, not the worker;
        // the session logs it with the request line.
        let response = match catch_unwind(AssertUnwindSafe(|| exchange.run(handler))) {
            Ok(response) => Answer::Response(response),
            Err(panic) => Answer::Panicked(panic_message(&*panic).to_owned()),
        };
        // The loop may have ended (its connection gone): nothing to do then.
        if to
            .replies
            .send(Reply {
                origin: to.origin,
                response,
            })
            .is_ok()
        {
            let _ = to.waker.wake();
        }
    }
}

fn internal_error() -> Response {
    Response::empty(ResponseHead::new(StatusCode::INTERNAL_SERVER_ERROR))
}
