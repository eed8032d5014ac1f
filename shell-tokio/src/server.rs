//! The accept loop, the connection cap and the graceful shutdown.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use nutshell_core::service::{AsyncHandler, ServerOptions, ShutdownSignal};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tracing::{debug, warn};

use crate::connection;

/// How long accepting pauses after an error such as EMFILE, so a full file
/// table is not retried in a busy loop.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Wakes every task once the [`ShutdownSignal`] is triggered.
#[derive(Debug, Clone)]
pub(crate) struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    fn new(signal: &ShutdownSignal) -> Self {
        let (trigger, triggered) = watch::channel(false);
        signal.on_trigger(move || {
            trigger.send_replace(true);
        });
        Shutdown(triggered)
    }

    /// Completes once the shutdown has started.
    pub(crate) async fn triggered(&mut self) {
        // An error means the signal itself is gone: nobody can trigger it,
        // but nothing is left to serve for either, so it counts as triggered.
        let _ = self.0.wait_for(|triggered| *triggered).await;
    }
}

/// Accepts until the shutdown signal, then waits for every connection to close.
pub(crate) async fn serve<A: AsyncHandler>(
    listener: std::net::TcpListener,
    handler: A,
    options: ServerOptions,
    signal: ShutdownSignal,
) -> io::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    let mut shutdown = Shutdown::new(&signal);
    let handler = Arc::new(handler);
    // One permit per live connection: at the cap, accepting waits for a close.
    let cap = options
        .max_connections
        .clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
    let limit = Arc::new(Semaphore::new(cap));
    loop {
        let next = async {
            let permit = limit
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            (permit, listener.accept().await)
        };
        let (permit, accepted) = tokio::select! {
            biased;
            () = shutdown.triggered() => break,
            next = next => next,
        };
        match accepted {
            Ok((stream, peer)) => {
                debug!(%peer, "accepted");
                let connection = connection::serve(
                    stream,
                    handler.clone(),
                    options.config.clone(),
                    shutdown.clone(),
                );
                tokio::spawn(async move {
                    connection.await;
                    drop(permit);
                });
            }
            Err(error) => {
                warn!(%error, "accept failed; pausing");
                tokio::select! {
                    biased;
                    () = shutdown.triggered() => break,
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                }
            }
        }
    }
    drop(listener);
    debug!("shutting down: no longer accepting");
    // Each connection holds a permit until it closes: taking them all back
    // waits for the last one.
    let _all = limit
        .acquire_many(cap as u32)
        .await
        .expect("the semaphore is never closed");
    debug!("shut down");
    Ok(())
}
