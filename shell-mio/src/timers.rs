//! The loop's deadlines: one min-heap of `(instant, connection)` wake-ups.
//!
//! Each connection's core reports one deadline (`poll_timeout`), and it moves
//! on almost every event. Pushing a heap entry for every move would fill the
//! heap with dead entries, so a connection keeps at most one wake-up that
//! matters, `scheduled`, and a new entry is pushed only when the deadline
//! moves *earlier* than it. When a deadline moves later, the old, earlier
//! wake-up stays: it fires, the core's `handle_timeout` does nothing (calls
//! before a deadline are harmless), and the connection is scheduled again at
//! its real deadline. A core deadline lies a whole timeout after the input
//! that set it (2 s at the least with the default timeouts), so that costs
//! at most one spare wake-up per connection per timeout, however busy the
//! connection is, and the heap holds a few entries per connection.
//!
//! Entries are never removed from the middle (lazy deletion): an entry whose
//! instant is not its connection's `scheduled` any more, or whose connection
//! is gone, is skipped when it comes out. The entries of closed connections
//! would stay for a whole timeout, so the heap would grow with the rate of
//! connections times the longest timeout (a soak saw its capacity, and the
//! server's idle heap, still growing minutes in): `compact` drops the dead
//! ones once they outnumber the live connections.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// Below this many entries the heap is never compacted.
const COMPACT_FLOOR: usize = 64;

/// Wake-ups, earliest first.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, usize)>>,
}

impl Timers {
    /// Makes sure connection `key` is woken by `deadline`. `scheduled` is the
    /// wake-up it already has, and is updated.
    pub(crate) fn schedule(
        &mut self,
        key: usize,
        deadline: Option<Instant>,
        scheduled: &mut Option<Instant>,
    ) {
        let Some(deadline) = deadline else { return };
        if scheduled.is_none_or(|at| deadline < at) {
            self.heap.push(Reverse((deadline, key)));
            *scheduled = Some(deadline);
        }
    }

    /// How long the loop may sleep: until the earliest wake-up, or for ever
    /// (`None`) when there is none.
    pub(crate) fn timeout(&self, now: Instant) -> Option<Duration> {
        let Reverse((at, _)) = self.heap.peek()?;
        Some(at.saturating_duration_since(now))
    }

    /// Keeps only the entries `is_current(instant, key)` accepts, once the
    /// heap holds more than twice `live` (the open connections, each with at
    /// most one current entry) plus a floor; then gives back spare capacity.
    /// A compaction leaves at most `live` entries, so it comes again only
    /// after as many pushes as it visited: O(1) per push, amortised.
    pub(crate) fn compact(&mut self, live: usize, is_current: impl Fn(Instant, usize) -> bool) {
        if self.heap.len() <= 2 * live + COMPACT_FLOOR {
            return;
        }
        self.heap.retain(|Reverse((at, key))| is_current(*at, *key));
        let keep = 2 * self.heap.len().max(COMPACT_FLOOR);
        if self.heap.capacity() > 2 * keep {
            self.heap.shrink_to(keep);
        }
    }

    /// The next wake-up due at `now`: `(instant, key)`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, usize)> {
        match self.heap.peek() {
            Some(Reverse((at, _))) if *at <= now => self.heap.pop().map(|Reverse(entry)| entry),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compaction_drops_the_entries_of_closed_connections() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        // 1,000 connections came and went; connection 7 is still open.
        for key in 0..1000 {
            let mut scheduled = None;
            timers.schedule(key, Some(t0 + Duration::from_secs(60)), &mut scheduled);
        }
        let open = |at: Instant, key: usize| key == 7 && at == t0 + Duration::from_secs(60);
        timers.compact(1, open);
        assert_eq!(timers.heap.len(), 1);
        assert!(timers.heap.capacity() <= 4 * COMPACT_FLOOR);
        assert_eq!(
            timers.pop_due(t0 + Duration::from_secs(60)),
            Some((t0 + Duration::from_secs(60), 7))
        );
        // Within the bound nothing is visited.
        for key in 0..10 {
            let mut scheduled = None;
            timers.schedule(key, Some(t0), &mut scheduled);
        }
        timers.compact(0, |_, _| false);
        assert_eq!(timers.heap.len(), 10);
    }

    #[test]
    fn pushes_only_earlier_deadlines() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        let mut scheduled = None;
        timers.schedule(3, Some(t0 + Duration::from_secs(30)), &mut scheduled);
        // Later deadlines keep the earlier wake-up.
        timers.schedule(3, Some(t0 + Duration::from_secs(60)), &mut scheduled);
        assert_eq!(timers.heap.len(), 1);
        assert_eq!(timers.timeout(t0), Some(Duration::from_secs(30)));
        // An earlier one is pushed; the old entry stays until it comes out.
        timers.schedule(3, Some(t0 + Duration::from_secs(2)), &mut scheduled);
        assert_eq!(scheduled, Some(t0 + Duration::from_secs(2)));
        assert_eq!(timers.pop_due(t0 + Duration::from_secs(1)), None);
        let due = timers.pop_due(t0 + Duration::from_secs(40));
        assert_eq!(due, Some((t0 + Duration::from_secs(2), 3)));
        assert_eq!(
            timers.pop_due(t0 + Duration::from_secs(40)),
            Some((t0 + Duration::from_secs(30), 3))
        );
        assert_eq!(timers.timeout(t0), None);
    }
}
