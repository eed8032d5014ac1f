//! The open connections: how many (for the cap), and a handle on each so a
//! shutdown can wake the idle ones out of their blocking reads.
//! ("Idle" here includes lingering after the last response.)

use std::collections::HashMap;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use nutshell_server::ShutdownSignal;

/// How long the accept thread pauses after an accept or spawn failure,
/// unless a connection closes first.
const BACK_OFF: Duration = Duration::from_millis(100);

/// The open connections, shared by the accept thread, the connection
/// threads and the shutdown trigger.
#[derive(Debug)]
pub(crate) struct Registry {
    open: Mutex<Open>,
    /// Notified when a connection closes and on shutdown.
    changed: Condvar,
    max_connections: usize,
}

#[derive(Debug, Default)]
struct Open {
    next_id: u64,
    connections: HashMap<u64, Arc<Entry>>,
}

/// One open connection's socket, shared between its thread and the registry
/// (an `Arc`, not a `try_clone`: no second descriptor per connection).
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) stream: TcpStream,
    /// Set by the connection thread while it is blocked reading with no
    /// request under way (waiting for one, or lingering before the close):
    /// only then may a shutdown cut its read short.
    pub(crate) idle: AtomicBool,
}

/// A connection's place in the registry; dropping it (when the thread ends)
/// frees the place and wakes the accept thread.
#[derive(Debug)]
pub(crate) struct Registration<'r> {
    registry: &'r Registry,
    id: u64,
    pub(crate) entry: Arc<Entry>,
}

impl Registry {
    pub(crate) fn new(max_connections: usize) -> Self {
        Registry {
            open: Mutex::new(Open::default()),
            changed: Condvar::new(),
            max_connections: max_connections.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Open> {
        // A panicking connection thread must not take the server down.
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits while the cap is reached. False once the shutdown started.
    pub(crate) fn wait_for_room(&self, signal: &ShutdownSignal) -> bool {
        let mut open = self.lock();
        while open.connections.len() >= self.max_connections && !signal.is_triggered() {
            open = self
                .changed
                .wait(open)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        !signal.is_triggered()
    }

    /// Pauses the accept thread until a connection closes, the shutdown
    /// starts, or [`BACK_OFF`] passes: never a tight retry loop.
    pub(crate) fn back_off(&self, signal: &ShutdownSignal) {
        let open = self.lock();
        if !signal.is_triggered() {
            let _ = self.changed.wait_timeout(open, BACK_OFF);
        }
    }

    pub(crate) fn register(&self, stream: TcpStream) -> Registration<'_> {
        let entry = Arc::new(Entry {
            stream,
            idle: AtomicBool::new(false),
        });
        let mut open = self.lock();
        let id = open.next_id;
        open.next_id += 1;
        open.connections.insert(id, Arc::clone(&entry));
        Registration {
            registry: self,
            id,
            entry,
        }
    }

    /// The shutdown trigger: wakes the accept thread and every idle reader.
    pub(crate) fn shut_down(&self, accept_addr: SocketAddr) {
        {
            let open = self.lock();
            for entry in open.connections.values() {
                // The signal is already set (SeqCst) when this runs, and a
                // reader sets `idle` (SeqCst) before it checks the signal:
                // either it sees the signal, or this sees `idle`.
                if entry.idle.load(Ordering::SeqCst) {
                    // The read returns 0 at once; the write side stays open.
                    let _ = entry.stream.shutdown(Shutdown::Read);
                }
            }
        }
        self.changed.notify_all();
        crate::wake_acceptor(accept_addr);
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.registry.lock().connections.remove(&self.id);
        self.registry.changed.notify_all();
    }
}
