//! The accept loop, the connection cap and the graceful shutdown.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use async_executor::Executor;
use async_io::{Async, Timer};
use async_lock::Semaphore;
use futures_lite::FutureExt;
use nutshell_async::{ShutdownListener, ShutdownWatch};
use nutshell_server::{ServerOptions, ShutdownSignal};
use tracing::{debug, warn};

/// How long accepting pauses after an error such as EMFILE, so a full file
/// table is not retried in a busy loop.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts until the shutdown signal, then waits for every connection to
/// close. `connect` makes the future that serves one connection, which
/// watches the shutdown through the listener it is given.
pub(crate) async fn serve<F, C>(
    executor: &Executor<'_>,
    listener: TcpListener,
    options: &ServerOptions,
    signal: &ShutdownSignal,
    connect: F,
) -> io::Result<()>
where
    F: Fn(Async<TcpStream>, SocketAddr, ShutdownListener) -> C,
    C: Future<Output = ()> + Send + 'static,
{
    let listener = Async::new(listener)?;
    let watch = ShutdownWatch::new(signal);
    let mut shutdown = watch.listener();
    // One permit per live connection: at the cap, accepting waits for a close.
    let cap = options.max_connections.max(1);
    let limit = Arc::new(Semaphore::new(cap));
    loop {
        let next = async { Some((limit.acquire_arc().await, listener.accept().await)) };
        // `or` polls its first future first: shutdown wins a tie.
        let triggered = async {
            shutdown.triggered().await;
            None
        };
        let Some((permit, accepted)) = triggered.or(next).await else {
            break;
        };
        match accepted {
            Ok((stream, peer)) => {
                debug!(%peer, "accepted");
                // Responses are written whole or streamed in large pieces:
                // Nagle's algorithm would only delay the tail of each.
                let _ = stream.get_ref().set_nodelay(true);
                let connection = connect(stream, peer, watch.listener());
                executor
                    .spawn(async move {
                        connection.await;
                        drop(permit);
                    })
                    .detach();
            }
            Err(error) => {
                warn!(%error, "accept failed; pausing");
                let triggered = async {
                    shutdown.triggered().await;
                    true
                };
                let paused = async {
                    Timer::after(ACCEPT_BACKOFF).await;
                    false
                };
                if triggered.or(paused).await {
                    break;
                }
            }
        }
    }
    drop(listener);
    debug!("shutting down: no longer accepting");
    // Each connection holds a permit until it closes: taking them all back
    // waits for the last one.
    for _ in 0..cap {
        limit.acquire().await.forget();
    }
    debug!("shut down");
    Ok(())
}
