//! The hyper baseline: the demo application's routes served by hyper 1 on
//! a multi-threaded tokio runtime, so that `compare` measures every shell
//! against a well-known server in the same run. Built in with the default
//! `hyper-baseline` feature. `pipeline_flush` is on, so hyper answers a
//! batch of pipelined requests with one write, as the nutshell shells do;
//! without it hyper writes once per response and looks several times worse
//! on the pipelined workload than it is.

use std::convert::Infallible;
use std::io;
use std::net::TcpListener;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use nutshell_demo as demo;
use nutshell_server::ShutdownSignal;

type DemoBody = BoxBody<Bytes, hyper::Error>;

static XS: [u8; 16 * 1024] = [b'x'; 16 * 1024];

/// What the hyper baselines share: a multi-thread tokio runtime of
/// `threads` workers (as the shells get), the listener as a tokio one, and
/// a receiver that turns `true` once `shutdown` is triggered; `serve` runs
/// on it until it returns.
pub(crate) fn on_tokio<F, Fut>(
    listener: TcpListener,
    threads: usize,
    shutdown: ShutdownSignal,
    serve: F,
) -> io::Result<()>
where
    F: FnOnce(tokio::net::TcpListener, tokio::sync::watch::Receiver<bool>) -> Fut,
    Fut: std::future::Future<Output = io::Result<()>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        shutdown.on_trigger(move || {
            let _ = stop_tx.send(true);
        });
        serve(listener, stop_rx).await
    })
}

/// Serves until `shutdown` is triggered.
pub(crate) fn serve(
    listener: TcpListener,
    threads: usize,
    shutdown: ShutdownSignal,
) -> io::Result<()> {
    on_tokio(
        listener,
        threads,
        shutdown,
        |listener, mut stop_rx| async move {
            loop {
                tokio::select! {
                    _ = stop_rx.wait_for(|stopped| *stopped) => return Ok(()),
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let _ = stream.set_nodelay(true);
                        tokio::spawn(async move {
                            let connection = http1::Builder::new().pipeline_flush(true).serve_connection(TokioIo::new(stream), service_fn(demo));
                            let _ = connection.await;
                        });
                    }
                }
            }
        },
    )
}

async fn demo(request: Request<Incoming>) -> Result<Response<DemoBody>, Infallible> {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let readable = method == Method::GET || method == Method::HEAD;
    let response = match path.as_str() {
        "/" | "/plaintext" if readable => {
            let body = Full::new(Bytes::from_static(b"Hello, World!"))
                .map_err(|never| match never {})
                .boxed();
            with_type(Response::new(body), "text/plain")
        }
        "/echo" if method == Method::POST => {
            let body = match request.into_body().collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(_) => return Ok(status(StatusCode::BAD_REQUEST)),
            };
            with_type(
                Response::new(Full::new(body).map_err(|never| match never {}).boxed()),
                "application/octet-stream",
            )
        }
        "/" | "/plaintext" => not_allowed("GET, HEAD"),
        "/echo" => not_allowed("POST"),
        _ if readable && path.starts_with("/wait/") => match number(&path, "/wait/") {
            // As an async handler would: the runtime's timer.
            Some(ms) if ms <= demo::MAX_WAIT_MS => {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                text(format!("waited {ms} ms\n"))
            }
            _ => status(StatusCode::NOT_FOUND),
        },
        _ if readable && path.starts_with("/cpu/") => match number(&path, "/cpu/") {
            // The same work as the demo app's route, at the same rate.
            Some(us) if us <= demo::MAX_CPU_US => {
                let digest = demo::compute(us.saturating_mul(demo::cpu_rounds_per_us()));
                text(format!("computed {us} us: {digest:016x}\n"))
            }
            _ => status(StatusCode::NOT_FOUND),
        },
        _ => match generated(&path) {
            Some((n, sized)) if readable => Response::new(Xs { left: n, sized }.boxed()),
            Some(_) => not_allowed("GET, HEAD"),
            None => status(StatusCode::NOT_FOUND),
        },
    };
    Ok(response)
}

/// The number after `prefix` in `path`.
fn number(path: &str, prefix: &str) -> Option<u64> {
    path.strip_prefix(prefix)?.parse().ok()
}

fn text(body: String) -> Response<DemoBody> {
    let body = Full::new(Bytes::from(body))
        .map_err(|never| match never {})
        .boxed();
    with_type(Response::new(body), "text/plain")
}

/// `/bytes/{n}` (sized) and `/chunked/{n}`.
fn generated(path: &str) -> Option<(u64, bool)> {
    if let Some(n) = path.strip_prefix("/bytes/") {
        return n.parse().ok().map(|n| (n, true));
    }
    path.strip_prefix("/chunked/")
        .and_then(|n| n.parse().ok())
        .map(|n| (n, false))
}

fn with_type(mut response: Response<DemoBody>, content_type: &'static str) -> Response<DemoBody> {
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    response
}

fn status(code: StatusCode) -> Response<DemoBody> {
    let mut response = Response::new(Empty::new().map_err(|never| match never {}).boxed());
    *response.status_mut() = code;
    response
}

fn not_allowed(allow: &'static str) -> Response<DemoBody> {
    let mut response = status(StatusCode::METHOD_NOT_ALLOWED);
    response
        .headers_mut()
        .insert(http::header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// `left` bytes of `x` from one static buffer; with `sized`, the length is
/// known up front (Content-Length), else hyper chunks it.
struct Xs {
    left: u64,
    sized: bool,
}

impl Body for Xs {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        if this.left == 0 {
            return Poll::Ready(None);
        }
        let n = this.left.min(XS.len() as u64) as usize;
        this.left -= n as u64;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&XS[..n])))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        if self.sized {
            SizeHint::with_exact(self.left)
        } else {
            SizeHint::default()
        }
    }
}
