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
    /// `trigger`, or at once if the signal was already triggered.
    pub fn on_trigger(&self, wake: impl Fn() + Send + Sync + 'static) {
        let mut wakers = self
            .inner
            .wakers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.is_triggered() {
            drop(wakers);
            wake();
            return;
        }
        wakers.push(Box::new(wake));
    }
}
