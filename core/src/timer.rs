//! Every deadline a connection keeps, in one table.
//!
//! Each role names its own timers ([`ServerTimer`], [`ClientTimer`]), so
//! neither has an arm for a timer it never starts. A deadline is always an
//! instant: a command that starts a timer counts from the latest `now` the
//! connection was given, so `poll_timeout` never has to ask for an extra
//! call to learn the time.

use std::time::Instant;

/// A role's set of timers. Public only as the sealed `Role`'s associated
/// type needs it; it cannot be named outside the crate.
#[allow(unreachable_pub, reason = "named by the sealed Role trait only")]
pub trait TimerKind: Copy + Eq + std::fmt::Debug + 'static {
    /// Every timer, in the order expired ones are handled.
    const ALL: &'static [Self];
    /// The write-stall timer, which the shared transmit side starts.
    const WRITE: Self;
    /// Its slot in the table.
    fn index(self) -> usize;
}

/// The server connection's timers, in the order they are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(unreachable_pub, reason = "named by the sealed Role trait only")]
pub enum ServerTimer {
    /// The request head must arrive by then (408).
    Head,
    /// A kept-alive connection with no request closes then.
    Idle,
    /// The next byte of the request body must arrive by then.
    Body,
    /// Pending output must make progress by then.
    Write,
    /// A graceful shutdown closes the connection by then.
    Shutdown,
    /// Lingering after the last response ends then.
    Linger,
}

impl TimerKind for ServerTimer {
    const ALL: &'static [Self] = &[
        ServerTimer::Head,
        ServerTimer::Idle,
        ServerTimer::Body,
        ServerTimer::Write,
        ServerTimer::Shutdown,
        ServerTimer::Linger,
    ];
    const WRITE: Self = ServerTimer::Write;
    fn index(self) -> usize {
        self as usize
    }
}

/// The client connection's timers, in the order they are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(unreachable_pub, reason = "named by the sealed Role trait only")]
pub enum ClientTimer {
    /// The response head must arrive by then.
    Head,
    /// A kept-alive connection with nothing in flight closes then.
    Idle,
    /// The next byte of the response body must arrive by then.
    Body,
    /// Pending output must make progress by then.
    Write,
    /// A request body held for `100 Continue` is sent then anyway.
    Continue,
}

impl TimerKind for ClientTimer {
    const ALL: &'static [Self] = &[
        ClientTimer::Head,
        ClientTimer::Idle,
        ClientTimer::Body,
        ClientTimer::Write,
        ClientTimer::Continue,
    ];
    const WRITE: Self = ClientTimer::Write;
    fn index(self) -> usize {
        self as usize
    }
}

/// Slots in the table: enough for either role.
const SLOTS: usize = 6;

#[derive(Debug, Clone)]
pub(crate) struct Timers<T> {
    deadlines: [Option<Instant>; SLOTS],
    kind: std::marker::PhantomData<T>,
}

impl<T: TimerKind> Timers<T> {
    pub(crate) fn new() -> Self {
        Timers {
            deadlines: [None; SLOTS],
            kind: std::marker::PhantomData,
        }
    }

    pub(crate) fn set(&mut self, timer: T, at: Instant) {
        self.deadlines[timer.index()] = Some(at);
    }

    pub(crate) fn stop(&mut self, timer: T) {
        self.deadlines[timer.index()] = None;
    }

    pub(crate) fn stop_all(&mut self) {
        self.deadlines = [None; SLOTS];
    }

    pub(crate) fn is_armed(&self, timer: T) -> bool {
        self.deadlines[timer.index()].is_some()
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// The first timer (in check order) whose deadline is at or before `now`.
    pub(crate) fn expired(&self, now: Instant) -> Option<T> {
        T::ALL
            .iter()
            .copied()
            .find(|timer| self.deadlines[timer.index()].is_some_and(|at| at <= now))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::tests::origin;

    #[test]
    fn expired_timers_come_out_in_check_order() {
        let t0 = origin();
        let mut timers = Timers::<ServerTimer>::new();
        assert_eq!(timers.next(), None);
        timers.set(ServerTimer::Write, t0 + Duration::from_secs(5));
        timers.set(ServerTimer::Head, t0 + Duration::from_secs(30));
        assert_eq!(timers.next(), Some(t0 + Duration::from_secs(5)));
        assert_eq!(timers.expired(t0 + Duration::from_secs(1)), None);
        let late = t0 + Duration::from_secs(100);
        assert_eq!(timers.expired(late), Some(ServerTimer::Head));
        timers.stop(ServerTimer::Head);
        assert_eq!(timers.expired(late), Some(ServerTimer::Write));
        assert!(ClientTimer::ALL.len() <= SLOTS && ServerTimer::ALL.len() <= SLOTS);
    }
}
