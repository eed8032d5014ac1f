//! The accept loop, the connection cap and the graceful shutdown.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use nutshell_async::{ShutdownListener, ShutdownWatch};
use nutshell_server::{ServerOptions, ShutdownSignal};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tracing::{debug, warn};

/// How long accepting pauses after an error such as EMFILE, so a full file
/// table is not retried in a busy loop.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts until the shutdown signal, then waits for every connection to
/// close. `connect` makes the future that serves one connection, which
/// watches the shutdown through the listener it is given.
pub(crate) async fn serve<F, C>(
    listener: std::net::TcpListener,
    options: &ServerOptions,
    signal: &ShutdownSignal,
    connect: F,
) -> io::Result<()>
where
    F: Fn(TcpStream, SocketAddr, ShutdownListener) -> C,
    C: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::from_std(listener)?;
    let watch = ShutdownWatch::new(signal);
    let mut shutdown = watch.listener();
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
                // Responses are written whole or streamed in large pieces:
                // Nagle's algorithm would only delay the tail of each.
                let _ = stream.set_nodelay(true);
                let connection = connect(stream, peer, watch.listener());
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
