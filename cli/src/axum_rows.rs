//! The `axum-nutshell` and `axum-hyper` rows of `compare`: one axum
//! Router, the demo app (`nutshell_async::axum_demo::router()`), served by
//! the tokio shell (`bind_service`) and by axum's own `axum::serve` on
//! hyper, so the two differ only in the HTTP server under the Router.

use std::time::Duration;
#[cfg(feature = "hyper-baseline")]
use std::{io, net::TcpListener};

use axum::extract::Path;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
#[cfg(feature = "hyper-baseline")]
use axum::serve::ListenerExt;
use axum::Router;
use nutshell_demo::MAX_WAIT_MS;
#[cfg(feature = "hyper-baseline")]
use nutshell_server::ShutdownSignal;

/// The demo Router with `GET /wait/{ms}` awaiting tokio's timer, as an
/// axum user would write it (the shared Router has no wait route, since
/// it also runs on smol, where tokio's timer needs a bridge).
pub(crate) fn router() -> Router {
    nutshell_async::axum_demo::router().route("/wait/{ms}", get(wait))
}

async fn wait(Path(ms): Path<String>) -> Response {
    let Some(ms) = ms.parse::<u64>().ok().filter(|ms| *ms <= MAX_WAIT_MS) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    tokio::time::sleep(Duration::from_millis(ms)).await;
    let mut response = format!("waited {ms} ms\n").into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// `axum-hyper`: the Router on `axum::serve` over a multi-thread tokio
/// runtime of `threads` workers (as the other rows get), until `shutdown`.
#[cfg(feature = "hyper-baseline")]
pub(crate) fn serve_on_hyper(
    listener: TcpListener,
    threads: usize,
    shutdown: ShutdownSignal,
) -> io::Result<()> {
    crate::baseline::on_tokio(
        listener,
        threads,
        shutdown,
        |listener, mut stop_rx| async move {
            // Responses are written whole, as on the shells: no Nagle delay.
            let listener = listener.tap_io(|stream| {
                let _ = stream.set_nodelay(true);
            });
            // axum::serve as its users run it (hyper's defaults, no
            // pipeline_flush, unlike the plain `hyper` row).
            axum::serve(listener, router())
                .with_graceful_shutdown(async move {
                    let _ = stop_rx.wait_for(|stopped| *stopped).await;
                })
                .await
        },
    )
}
