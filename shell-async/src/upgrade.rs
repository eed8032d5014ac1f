//! Protocol upgrades (101, and 2xx to CONNECT) for tower services: the
//! request carries an [`OnUpgrade`] that resolves, once the switching
//! response is flushed, to the socket and the bytes the peer already sent
//! after its request. The shells turn that into their runtime's IO object.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;

/// Resolves to the connection once the service answered its request with
/// a switching response. Found in the extensions of every request that
/// asked for an upgrade (or is a CONNECT); the shells' `on_upgrade` takes
/// it out for you.
pub struct OnUpgrade<S> {
    shared: Arc<Mutex<Slot<S>>>,
}

impl<S> Clone for OnUpgrade<S> {
    fn clone(&self) -> Self {
        OnUpgrade {
            shared: self.shared.clone(),
        }
    }
}

impl<S> fmt::Debug for OnUpgrade<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnUpgrade").finish_non_exhaustive()
    }
}

/// Takes the upgrade out of a request that asked to switch protocols (or
/// is a CONNECT) and awaits it: the socket `S` and the bytes the peer sent
/// after its request, once the switching response is flushed. Fails at once
/// if the request did not ask for an upgrade. Each shell's `on_upgrade`
/// wraps this in its runtime's IO object.
pub fn take_upgrade<S: Send + 'static, B>(
    request: &mut http::Request<B>,
) -> impl Future<Output = io::Result<(S, Bytes)>> + Send + 'static {
    let on_upgrade = request.extensions_mut().remove::<OnUpgrade<S>>();
    async move {
        let Some(on_upgrade) = on_upgrade else {
            return Err(io::Error::other("the request did not ask for an upgrade"));
        };
        on_upgrade.await.map_err(io::Error::other)
    }
}

/// Why an upgrade did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpgradeError {
    /// The response did not switch protocols, or the connection closed
    /// before the switch was flushed.
    NotUpgraded,
    /// Another clone of the `OnUpgrade` already took the connection.
    AlreadyTaken,
}

impl fmt::Display for UpgradeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UpgradeError::NotUpgraded => "the connection was not upgraded",
            UpgradeError::AlreadyTaken => "the upgraded connection was already taken",
        })
    }
}

impl std::error::Error for UpgradeError {}

struct Slot<S> {
    outcome: Option<Result<(S, Bytes), UpgradeError>>,
    taken: bool,
    waker: Option<Waker>,
}

fn lock<S>(shared: &Mutex<Slot<S>>) -> MutexGuard<'_, Slot<S>> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A pair: the connection's end and the request's.
pub(crate) fn channel<S>() -> (UpgradeSender<S>, OnUpgrade<S>) {
    let shared = Arc::new(Mutex::new(Slot {
        outcome: None,
        taken: false,
        waker: None,
    }));
    (
        UpgradeSender {
            shared: shared.clone(),
        },
        OnUpgrade { shared },
    )
}

impl<S> Future for OnUpgrade<S> {
    type Output = Result<(S, Bytes), UpgradeError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = lock(&self.shared);
        if slot.taken {
            return Poll::Ready(Err(UpgradeError::AlreadyTaken));
        }
        match slot.outcome.take() {
            Some(outcome) => {
                slot.taken = true;
                Poll::Ready(outcome)
            }
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// The connection's end: hands the socket over, or says it never will.
pub(crate) struct UpgradeSender<S> {
    shared: Arc<Mutex<Slot<S>>>,
}

impl<S> UpgradeSender<S> {
    pub(crate) fn send(self, socket: S, leftover: Bytes) {
        self.settle(Ok((socket, leftover)));
    }

    fn settle(&self, outcome: Result<(S, Bytes), UpgradeError>) {
        let mut slot = lock(&self.shared);
        if slot.outcome.is_some() || slot.taken {
            return;
        }
        slot.outcome = Some(outcome);
        let waker = slot.waker.take();
        drop(slot);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<S> Drop for UpgradeSender<S> {
    fn drop(&mut self) {
        self.settle(Err(UpgradeError::NotUpgraded));
    }
}
