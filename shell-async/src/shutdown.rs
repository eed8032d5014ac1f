//! The graceful-shutdown notification, without any one runtime's channel.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use event_listener::{Event, EventListener};
use nutshell_server::ShutdownSignal;

/// Wakes every connection once a [`ShutdownSignal`] is triggered. Make one
/// per server and hand each connection a [`listener`](Self::listener).
#[derive(Debug, Clone)]
pub struct ShutdownWatch {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    triggered: AtomicBool,
    event: Event,
}

impl ShutdownWatch {
    /// Watches `signal`.
    pub fn new(signal: &ShutdownSignal) -> Self {
        let inner = Arc::new(Inner::default());
        let waker = inner.clone();
        signal.on_trigger(move || {
            waker.triggered.store(true, Ordering::SeqCst);
            waker.event.notify(usize::MAX);
        });
        ShutdownWatch { inner }
    }

    /// A handle for one connection to poll.
    pub fn listener(&self) -> ShutdownListener {
        ShutdownListener {
            inner: self.inner.clone(),
            listening: None,
        }
    }
}

/// One connection's view of the shutdown.
#[derive(Debug)]
pub struct ShutdownListener {
    inner: Arc<Inner>,
    listening: Option<EventListener>,
}

impl ShutdownListener {
    /// Completes once the shutdown has started (for an accept loop).
    pub async fn triggered(&mut self) {
        std::future::poll_fn(|cx| self.poll_triggered(cx)).await;
    }

    /// Ready once the shutdown has started; registers `cx` otherwise.
    pub fn poll_triggered(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.inner.triggered.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            match &mut self.listening {
                // Listen first, then check the flag again (the loop): a
                // trigger between the two is not missed.
                None => self.listening = Some(self.inner.event.listen()),
                Some(listener) => {
                    if Pin::new(listener).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    self.listening = None;
                }
            }
        }
    }
}
