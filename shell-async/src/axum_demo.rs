//! The demo application (`nutshell-demo`) as an
//! `axum::Router`, answering byte for byte as the core's own demo does, so
//! the conformance suite can judge the tower path, and `compare` can set
//! axum on nutshell beside axum on hyper with the same application.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path};
use axum::http::header::{ALLOW, CONTENT_TYPE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use nutshell_demo::{compute, cpu_rounds_per_us, CHUNK, MAX_CPU_US, MAX_GENERATED};

static XS: [u8; CHUNK] = [b'x'; CHUNK];

/// The demo app's routes on axum, all but `/wait/{ms}`: waiting needs a
/// runtime's timer, and this Router runs on every runtime (add the route
/// with your runtime's sleep, as `nutshell compare` does for tokio).
/// Request bodies are limited by the core
/// (`Limits::max_body`), so axum's own 2 MB default limit is lifted.
pub fn router() -> Router {
    Router::new()
        .route("/", any(hello))
        .route("/plaintext", any(hello))
        .route("/echo", any(echo))
        .route("/bytes/{n}", any(bytes))
        .route("/chunked/{n}", any(chunked))
        .route("/cpu/{us}", any(cpu))
        .fallback(|| async { status(StatusCode::NOT_FOUND) })
        .layer(DefaultBodyLimit::disable())
}

fn status(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

fn not_allowed(allow: &'static str) -> Response {
    let mut response = status(StatusCode::METHOD_NOT_ALLOWED);
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

/// GET and HEAD only (axum strips the body of a HEAD response).
fn readable(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

async fn hello(method: Method) -> Response {
    if !readable(&method) {
        return not_allowed("GET, HEAD");
    }
    let mut response = Response::new(Body::from("Hello, World!"));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

async fn echo(method: Method, body: Bytes) -> Response {
    if method != Method::POST {
        return not_allowed("POST");
    }
    let mut response = Response::new(Body::from(body));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    response
}

async fn bytes(method: Method, Path(n): Path<String>) -> Response {
    generated(&method, &n, true)
}

async fn chunked(method: Method, Path(n): Path<String>) -> Response {
    generated(&method, &n, false)
}

/// `/cpu/{us}`: the same hashing as the core's demo, at the same rate.
async fn cpu(method: Method, Path(us): Path<String>) -> Response {
    let Some(us) = us.parse::<u64>().ok().filter(|us| *us <= MAX_CPU_US) else {
        return status(StatusCode::NOT_FOUND);
    };
    if !readable(&method) {
        return not_allowed("GET, HEAD");
    }
    let digest = compute(us.saturating_mul(cpu_rounds_per_us()));
    let mut response = Response::new(Body::from(format!("computed {us} us: {digest:016x}\n")));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

fn generated(method: &Method, n: &str, sized: bool) -> Response {
    let Some(n) = n.parse().ok().filter(|n| *n <= MAX_GENERATED) else {
        return status(StatusCode::NOT_FOUND);
    };
    if !readable(method) {
        return not_allowed("GET, HEAD");
    }
    Response::new(Body::new(Xs { left: n, sized }))
}

/// `left` more bytes of `x` in pieces of at most [`CHUNK`], from one static
/// buffer; `sized` declares the length (so `Content-Length` framing).
struct Xs {
    left: u64,
    sized: bool,
}

impl http_body::Body for Xs {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let n = self.left.min(CHUNK as u64) as usize;
        self.left -= n as u64;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&XS[..n])))))
    }

    fn is_end_stream(&self) -> bool {
        self.sized && self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        if self.sized {
            SizeHint::with_exact(self.left)
        } else {
            SizeHint::default()
        }
    }
}
