//! What an I/O error means to a drive loop, written once for every shell.
//! Small predicates keep the loops' match arms readable.

use std::io;

/// "Would block" is the OS saying the socket is not ready: wait for
/// readiness, then try again. Not a failure.
pub fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

/// A signal interrupted the call before it did anything: just try again.
pub fn interrupted(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Interrupted
}

/// A socket's read or write timeout expired (`WouldBlock` on Unix,
/// `TimedOut` on Windows): the blocking shell's way of reaching a deadline.
pub fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// An `accept()` error that concerns one connection (interrupted, or the
/// peer gave up before it was accepted), not the listener: accept again at
/// once. Any other error (EMFILE, say) calls for a pause before retrying.
pub fn accept_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_predicate_takes_its_kinds_only() {
        let kind = |kind: io::ErrorKind| io::Error::from(kind);
        assert!(would_block(&kind(io::ErrorKind::WouldBlock)));
        assert!(!would_block(&kind(io::ErrorKind::TimedOut)));
        assert!(interrupted(&kind(io::ErrorKind::Interrupted)));
        assert!(!interrupted(&kind(io::ErrorKind::WouldBlock)));
        assert!(timed_out(&kind(io::ErrorKind::WouldBlock)));
        assert!(timed_out(&kind(io::ErrorKind::TimedOut)));
        assert!(!timed_out(&kind(io::ErrorKind::ConnectionReset)));
        assert!(accept_transient(&kind(io::ErrorKind::ConnectionAborted)));
        assert!(accept_transient(&kind(io::ErrorKind::Interrupted)));
        assert!(!accept_transient(&kind(io::ErrorKind::Other)));
    }
}
