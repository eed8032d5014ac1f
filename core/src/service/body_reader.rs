//! Request bodies as a blocking `std::io::Read`, for synchronous handlers
//! that stream an upload instead of receiving it collected.
//!
//! The [`Session`](super::Session) feeds a [`BodyReader`] piece by piece as
//! the core delivers the body, at most [`FEED_PIECES`] pieces ahead of the
//! handler: while the handler does not read, the session stops taking the
//! core's events, so the core stops reading the socket and the peer is held
//! back. Memory stays bounded whatever the body's size.
//!
//! The handler blocks in `read` until data comes, so it must not run on
//! the thread that drives the connection: the blocking shell runs such a
//! handler on a thread of its own, the mio shell on its handler pool. Each
//! read that makes room calls the shell's waker, so the connection moves
//! on. Where no shell thread can be spared (the mio shell without a pool,
//! the async shells), the body is collected first and the reader hands it
//! out from memory.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use bytes::{Buf, Bytes};

use super::{Handler, Request, Response};
use crate::RequestHead;

/// Pieces the session queues ahead of the handler's reads (each at most
/// the receive buffer, 32 KiB by default).
pub const FEED_PIECES: usize = 4;

/// Tells the shell that a reader made room or went away: the session has
/// more to do. Called on the handler's thread.
pub type BodyWaker = Arc<dyn Fn() + Send + Sync>;

/// A request body read as it arrives. `read` blocks until the core has
/// delivered more; `Ok(0)` is the end of the body; an error means the body
/// broke off (a malformed chunk, a timeout, the connection closed).
pub struct BodyReader {
    shared: Arc<Shared>,
    /// The piece being read.
    current: Bytes,
}

impl std::fmt::Debug for BodyReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyReader").finish_non_exhaustive()
    }
}

struct Shared {
    state: Mutex<State>,
    arrived: Condvar,
    waker: Option<BodyWaker>,
}

#[derive(Default)]
struct State {
    pieces: VecDeque<Bytes>,
    /// `Some(Ok)` at the end of the body; `Some(Err)` when it broke off.
    end: Option<Result<(), String>>,
    /// The reader was dropped: whatever is left is the core's to drain.
    dropped: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A handler that panicked while holding the lock left the queue
        // consistent (every change is one push or pop): go on.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn wake(&self) {
        if let Some(waker) = &self.waker {
            waker();
        }
    }
}

impl BodyReader {
    /// A reader over a body already in memory (where the shell cannot
    /// stream, and for tests of one's own handler).
    pub fn from_bytes(body: impl Into<Bytes>) -> Self {
        let shared = Shared {
            state: Mutex::new(State {
                end: Some(Ok(())),
                ..State::default()
            }),
            arrived: Condvar::new(),
            waker: None,
        };
        BodyReader {
            shared: Arc::new(shared),
            current: body.into(),
        }
    }

    /// A reader and the feed the session fills it from.
    pub(crate) fn channel(waker: BodyWaker) -> (BodyFeed, BodyReader) {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            arrived: Condvar::new(),
            waker: Some(waker),
        });
        let feed = BodyFeed {
            shared: Arc::clone(&shared),
        };
        (
            feed,
            BodyReader {
                shared,
                current: Bytes::new(),
            },
        )
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.current.is_empty() {
            let mut state = self.shared.lock();
            loop {
                if let Some(piece) = state.pieces.pop_front() {
                    self.current = piece;
                    break;
                }
                match &state.end {
                    Some(Ok(())) => return Ok(0),
                    Some(Err(why)) => return Err(io::Error::other(why.clone())),
                    None => {}
                }
                state = self
                    .shared
                    .arrived
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            drop(state);
            // A piece was taken: there is room for the session to feed more.
            self.shared.wake();
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

impl Drop for BodyReader {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.dropped = true;
        state.pieces.clear();
        drop(state);
        self.shared.wake();
    }
}

/// The session's end of a [`BodyReader`].
pub(crate) struct BodyFeed {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for BodyFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyFeed").finish_non_exhaustive()
    }
}

impl BodyFeed {
    /// Whether the reader can take another piece now (a dropped reader
    /// takes everything, to let the core drain the rest).
    pub(crate) fn has_room(&self) -> bool {
        let state = self.shared.lock();
        state.dropped || state.pieces.len() < FEED_PIECES
    }

    pub(crate) fn push(&self, piece: Bytes) {
        let mut state = self.shared.lock();
        if !state.dropped {
            state.pieces.push_back(piece);
            self.shared.arrived.notify_one();
        }
    }

    /// The body ended (`Ok`) or broke off (`Err`, with why).
    pub(crate) fn end(&self, result: Result<(), String>) {
        let mut state = self.shared.lock();
        state.end.get_or_insert(result);
        self.shared.arrived.notify_one();
    }
}

impl Drop for BodyFeed {
    /// A feed dropped before the end (the response came first, or the
    /// connection closed) breaks the body off for the reader.
    fn drop(&mut self) {
        self.end(Err("the request body was not delivered in full".into()));
    }
}

/// A handler that reads every request body as it arrives: `F` gets the
/// request (its `body` empty) and a [`BodyReader`].
///
/// ```no_run
/// use std::io::Read;
/// use nutshell_core::service::{BodyReader, Request, Response, StreamingHandler};
/// use nutshell_core::{http::StatusCode, ResponseHead};
///
/// let count = StreamingHandler(|_request: Request, mut body: BodyReader| {
///     let n = std::io::copy(&mut body, &mut std::io::sink()).unwrap_or(0);
///     Response::full(ResponseHead::new(StatusCode::OK), format!("{n}\n"))
/// });
/// # let _ = count;
/// ```
#[derive(Debug, Clone)]
pub struct StreamingHandler<F>(pub F);

impl<F> Handler for StreamingHandler<F>
where
    F: Fn(Request, BodyReader) -> Response + Send + Sync + 'static,
{
    fn handle(&self, request: Request) -> Response {
        let body = BodyReader::from_bytes(request.body.clone());
        (self.0)(
            Request {
                body: Bytes::new(),
                ..request
            },
            body,
        )
    }

    fn wants_body_reader(&self, _head: &RequestHead) -> bool {
        true
    }

    fn handle_streaming(&self, request: Request, body: BodyReader) -> Response {
        (self.0)(request, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn reads_what_is_fed_then_the_end() {
        let wakes = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&wakes);
        let (feed, mut reader) = BodyReader::channel(Arc::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        }));
        feed.push(Bytes::from_static(b"hello "));
        feed.push(Bytes::from_static(b"world"));
        let handle = std::thread::spawn(move || {
            let mut all = String::new();
            reader.read_to_string(&mut all).map(|_| all)
        });
        feed.end(Ok(()));
        assert_eq!(handle.join().unwrap().unwrap(), "hello world");
        assert!(
            wakes.load(Ordering::SeqCst) >= 2,
            "each piece taken wakes the shell"
        );
    }

    #[test]
    fn a_body_that_breaks_off_is_an_error() {
        let (feed, mut reader) = BodyReader::channel(Arc::new(|| {}));
        feed.push(Bytes::from_static(b"part"));
        drop(feed);
        let mut all = Vec::new();
        assert!(reader.read_to_end(&mut all).is_err());
        assert_eq!(all, b"part");
    }

    #[test]
    fn the_feed_holds_at_most_a_few_pieces_while_the_reader_waits() {
        let (feed, reader) = BodyReader::channel(Arc::new(|| {}));
        for _ in 0..FEED_PIECES {
            assert!(feed.has_room());
            feed.push(Bytes::from_static(b"x"));
        }
        assert!(!feed.has_room());
        drop(reader);
        assert!(feed.has_room(), "a dropped reader takes everything");
    }

    #[test]
    fn a_reader_over_bytes_in_memory() {
        let mut all = Vec::new();
        BodyReader::from_bytes("abc").read_to_end(&mut all).unwrap();
        assert_eq!(all, b"abc");
    }
}
