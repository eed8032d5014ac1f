//! What a connection reports to the application.

use bytes::Bytes;
use http::HeaderMap;

use crate::{ProtocolError, RequestHead};

/// One thing that happened on a connection, in order. Drain them with
/// `poll_event()` after every input.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A request head. Its body (if any) follows as `Body` events, then
    /// `Trailers` (chunked bodies only, when present) and `RequestEnd`.
    Request(RequestHead),
    /// A piece of the request body, split from the receive buffer (no copy).
    Body(Bytes),
    /// The trailer section of a chunked request body. Framing fields
    /// (`Content-Length`, `Transfer-Encoding`, `Host`, ...) are dropped.
    Trailers(HeaderMap),
    /// The request is complete. The next `Request` can only come after the
    /// response to this one is finished: requests are answered in order.
    RequestEnd,
    /// `accept_upgrade` was called: once the transmit queue is empty the
    /// connection belongs to the application, starting with these bytes the
    /// peer already sent.
    Upgrade {
        /// Bytes received after the request, for the new protocol.
        leftover: Bytes,
    },
    /// The peer broke HTTP or a limit. The error response is already queued
    /// (when a response could still be sent) and the connection is closing.
    Error(ProtocolError),
    /// The connection is closed: drop the socket. Sent once, last.
    Closed(CloseReason),
}

/// Why a connection closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer closed its side between requests.
    PeerClosed,
    /// The exchange asked for it (`Connection: close`, HTTP/1.0, the request
    /// limit, an unread body too large to drain) and the response was sent.
    Done,
    /// A protocol error was answered.
    ProtocolError(ProtocolError),
    /// Nothing arrived within the idle timeout after a response.
    IdleTimeout,
    /// The peer stopped reading for longer than the write timeout.
    WriteStalled,
    /// The body stopped arriving after the response had started.
    BodyTimeout,
    /// The shell could not write.
    WriteError,
    /// A graceful shutdown finished.
    Shutdown,
    /// A graceful shutdown's drain deadline passed with a request in flight.
    ShutdownDeadline,
}
