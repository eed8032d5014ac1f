//! The request body as an `http_body::Body`: frames handed over one at a
//! time from the connection's task.
//!
//! The connection takes the next event from the core only when the body has
//! been polled and its one slot is empty. Until then the core's receive
//! buffer fills and it stops reading: that is the backpressure. Asking for
//! the first frame is also what makes the core answer
//! `Expect: 100-continue` (`ContinueMode::Automatic`).

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Frame, SizeHint};

/// The body of a request served to an [`HttpService`](crate::HttpService).
pub struct RequestBody {
    inner: Option<Arc<Mutex<Shared>>>,
    /// Body bytes still to come, when the request declared a length.
    remaining: Option<u64>,
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody")
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

/// Why a request body ended early.
#[derive(Debug, Clone)]
pub struct BodyError {
    message: String,
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BodyError {}

#[derive(Default)]
struct Shared {
    /// The next frame, handed over from the connection.
    slot: Option<Frame<Bytes>>,
    /// Every frame was handed over.
    ended: bool,
    error: Option<BodyError>,
    /// The body was polled and found the slot empty: it wants another.
    demanded: bool,
    /// The body was dropped: nothing more is wanted.
    dropped: bool,
    /// Wakes the task polling the body.
    reader: Option<Waker>,
    /// Wakes the connection's task (when the body is polled elsewhere).
    connection: Option<Waker>,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A panic while holding this lock leaves plain data behind: keep going.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl RequestBody {
    /// A body with nothing in it.
    pub fn empty() -> Self {
        RequestBody {
            inner: None,
            remaining: Some(0),
        }
    }

    /// A body fed by the returned sender; `length` when declared.
    pub(crate) fn channel(length: Option<u64>) -> (BodySender, Self) {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let body = RequestBody {
            inner: Some(shared.clone()),
            remaining: length,
        };
        (BodySender { shared }, body)
    }
}

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let Some(shared) = &self.inner else {
            return Poll::Ready(None);
        };
        let mut state = lock(shared);
        if let Some(frame) = state.slot.take() {
            drop(state);
            if let (Some(data), Some(remaining)) = (frame.data_ref(), &mut self.remaining) {
                *remaining = remaining.saturating_sub(data.len() as u64);
            }
            return Poll::Ready(Some(Ok(frame)));
        }
        if let Some(error) = state.error.take() {
            return Poll::Ready(Some(Err(error)));
        }
        if state.ended {
            return Poll::Ready(None);
        }
        state.demanded = true;
        state.reader = Some(cx.waker().clone());
        let connection = state.connection.take();
        drop(state);
        if let Some(connection) = connection {
            connection.wake();
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            None => true,
            Some(shared) => {
                let state = lock(shared);
                state.ended && state.slot.is_none()
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self.remaining {
            Some(remaining) => SizeHint::with_exact(remaining),
            None => SizeHint::default(),
        }
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        if let Some(shared) = &self.inner {
            let mut state = lock(shared);
            state.dropped = true;
            let connection = state.connection.take();
            drop(state);
            if let Some(connection) = connection {
                connection.wake();
            }
        }
    }
}

/// The connection's end of a [`RequestBody`].
pub(crate) struct BodySender {
    shared: Arc<Mutex<Shared>>,
}

impl BodySender {
    /// Whether the body wants the next frame now. If not (and it is still
    /// alive), the connection's task is woken once it does.
    pub(crate) fn wants_more(&self, cx: &Context<'_>) -> bool {
        let mut state = lock(&self.shared);
        if state.dropped {
            return false;
        }
        if state.demanded && state.slot.is_none() {
            return true;
        }
        state.connection = Some(cx.waker().clone());
        false
    }

    /// Whether the application dropped the body.
    pub(crate) fn is_dropped(&self) -> bool {
        lock(&self.shared).dropped
    }

    pub(crate) fn data(&self, data: Bytes) {
        self.hand_over(|state| state.slot = Some(Frame::data(data)));
    }

    pub(crate) fn trailers(&self, trailers: HeaderMap) {
        self.hand_over(|state| state.slot = Some(Frame::trailers(trailers)));
    }

    pub(crate) fn end(self) {
        self.hand_over(|state| state.ended = true);
    }

    /// Ends the body with an error the application will see.
    pub(crate) fn fail(self, message: impl Into<String>) {
        let message = message.into();
        self.hand_over(|state| {
            state.error = Some(BodyError { message });
            state.ended = true;
        });
    }

    fn hand_over(&self, change: impl FnOnce(&mut Shared)) {
        let mut state = lock(&self.shared);
        change(&mut state);
        state.demanded = false;
        let reader = state.reader.take();
        drop(state);
        if let Some(reader) = reader {
            reader.wake();
        }
    }
}

impl Drop for BodySender {
    fn drop(&mut self) {
        let mut state = lock(&self.shared);
        if !state.ended {
            state.ended = true;
            state.error = Some(BodyError {
                message: "the connection closed before the request body ended".into(),
            });
            let reader = state.reader.take();
            drop(state);
            if let Some(reader) = reader {
                reader.wake();
            }
        }
    }
}
