//! A graceful-shutdown trigger that any shell can wait on its own way.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

type Waker = Box<dyn Fn() + Send + Sync>;

/// Cloneable trigger for a graceful shutdown. A shell registers how to wake
/// its loops (`on_trigger`); whoever holds a clone calls `trigger`.
#[derive(Clone, Default)]
pub struct ShutdownSignal {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    triggered: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

impl std::fmt::Debug for ShutdownSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownSignal")
            .field("triggered", &self.is_triggered())
            .finish()
    }
}

impl ShutdownSignal {
    /// A new, untriggered signal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the graceful shutdown: stop accepting, finish what is in
    /// flight, close idle connections. Later calls do nothing.
    pub fn trigger(&self) {
        if self.inner.triggered.swap(true, Ordering::SeqCst) {
            return;
        }
        let wakers = self
            .inner
            .wakers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for wake in wakers.iter() {
            wake();
        }
    }

    /// Whether `trigger` was called.
    pub fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::SeqCst)
    }

    /// Registers a function that wakes one of the shell's loops. It runs on
    /// `trigger`, or at once if the signal was already triggered. Either way
    /// it is kept as long as the signal lives, so what it holds (a
    /// `mio::Waker`, a channel) stays open for the loop waiting on it.
    pub fn on_trigger(&self, wake: impl Fn() + Send + Sync + 'static) {
        let mut wakers = self
            .inner
            .wakers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.is_triggered() {
            wake();
        }
        wakers.push(Box::new(wake));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn wakers_run_once_and_live_as_long_as_the_signal() {
        let signal = ShutdownSignal::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let early = calls.clone();
        signal.on_trigger(move || {
            early.fetch_add(1, Ordering::SeqCst);
        });
        signal.trigger();
        signal.trigger();
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        // Registered after the trigger: runs at once, and what it holds
        // stays alive (a loop's waker must not be closed under it).
        let late = calls.clone();
        signal.on_trigger(move || {
            late.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(Arc::strong_count(&calls), 3);
        assert!(signal.is_triggered());
    }
}
