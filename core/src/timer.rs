//! Every deadline a connection keeps, in one table.
//!
//! A timer is either off, armed at an instant, or *pending*: armed by a
//! command that has no `now` to count from (the application answered). A
//! pending timer starts counting at the next input's `now`; until then
//! `poll_timeout` asks to be called at once, so no deadline is ever counted
//! from a stale instant.

use std::time::{Duration, Instant};

/// The connection's timers, in the order they are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
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
    /// (Client) A request body held for `100 Continue` is sent then anyway.
    Continue,
}

const ALL: [Timer; 7] = [
    Timer::Head,
    Timer::Idle,
    Timer::Body,
    Timer::Write,
    Timer::Shutdown,
    Timer::Linger,
    Timer::Continue,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deadline {
    Off,
    Pending(Duration),
    At(Instant),
}

#[derive(Debug, Clone)]
pub(crate) struct Timers {
    deadlines: [Deadline; ALL.len()],
    /// Whether any timer is pending: `resolve` runs on every input, and
    /// usually has nothing to do.
    any_pending: bool,
}

impl Timers {
    pub(crate) fn new() -> Self {
        Timers {
            deadlines: [Deadline::Off; ALL.len()],
            any_pending: false,
        }
    }

    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer as usize] = Deadline::At(at);
    }

    /// Arms `timer` to fire `after` the next input's `now`.
    pub(crate) fn set_pending(&mut self, timer: Timer, after: Duration) {
        self.deadlines[timer as usize] = Deadline::Pending(after);
        self.any_pending = true;
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.deadlines[timer as usize] = Deadline::Off;
    }

    pub(crate) fn stop_all(&mut self) {
        self.deadlines = [Deadline::Off; ALL.len()];
    }

    pub(crate) fn is_armed(&self, timer: Timer) -> bool {
        self.deadlines[timer as usize] != Deadline::Off
    }

    /// Starts the pending timers at `now`.
    pub(crate) fn resolve(&mut self, now: Instant) {
        if !std::mem::take(&mut self.any_pending) {
            return;
        }
        for deadline in &mut self.deadlines {
            if let Deadline::Pending(after) = *deadline {
                *deadline = Deadline::At(now + after);
            }
        }
    }

    /// The earliest deadline; `pending_from` when a timer waits to start.
    pub(crate) fn next(&self, pending_from: Instant) -> Option<Instant> {
        self.deadlines
            .iter()
            .filter_map(|deadline| match deadline {
                Deadline::Off => None,
                Deadline::Pending(_) => Some(pending_from),
                Deadline::At(at) => Some(*at),
            })
            .min()
    }

    /// The first timer (in check order) whose deadline is at or before `now`.
    pub(crate) fn expired(&self, now: Instant) -> Option<Timer> {
        ALL.into_iter()
            .find(|timer| matches!(self.deadlines[*timer as usize], Deadline::At(at) if at <= now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::origin;

    #[test]
    fn pending_timers_start_at_the_next_input() {
        let t0 = origin();
        let mut timers = Timers::new();
        assert_eq!(timers.next(t0), None);
        timers.set(Timer::Head, t0 + Duration::from_secs(30));
        timers.set_pending(Timer::Write, Duration::from_secs(5));
        assert_eq!(timers.next(t0), Some(t0));
        let t1 = t0 + Duration::from_secs(1);
        timers.resolve(t1);
        assert_eq!(timers.next(t1), Some(t1 + Duration::from_secs(5)));
        assert_eq!(timers.expired(t1), None);
        assert_eq!(
            timers.expired(t1 + Duration::from_secs(100)),
            Some(Timer::Head)
        );
        timers.stop(Timer::Head);
        assert_eq!(
            timers.expired(t1 + Duration::from_secs(100)),
            Some(Timer::Write)
        );
    }
}
