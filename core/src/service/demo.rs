//! The demo application, written once and used by `nutshell serve`, the
//! conformance suite and `nutshell compare`:
//!
//! | request | response |
//! | --- | --- |
//! | `GET /`, `GET /plaintext` | 200, `text/plain`, `Hello, World!` |
//! | `HEAD` of those | the same head, no body |
//! | `POST /echo` | 200, `application/octet-stream`, the request body |
//! | `GET /bytes/{n}` | 200, `Content-Length: n`, n bytes of `x`, streamed |
//! | `GET /chunked/{n}` | 200, chunked, n bytes of `x` in chunks of at most 16 KiB |
//! | a known path, another method | 405 with `Allow` |
//! | anything else | 404, empty body |

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE};
use http::{HeaderValue, Method, StatusCode};

use super::{BodyStream, Handler, Request, Response};
use crate::ResponseHead;

/// The largest `n` for `/bytes/{n}` and `/chunked/{n}`: 1 GiB.
pub const MAX_GENERATED: u64 = 1 << 30;
/// The largest chunk `/chunked/{n}` sends.
pub const CHUNK: usize = 16 * 1024;

static XS: [u8; CHUNK] = [b'x'; CHUNK];
const HELLO: &[u8] = b"Hello, World!";

/// The demo application.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoApp;

impl Handler for DemoApp {
    fn handle(&self, request: Request) -> Response {
        respond(&request)
    }
}

/// Which route a path names, and the methods it allows.
enum Route {
    Hello,
    Echo,
    Bytes(u64),
    Chunked(u64),
    NotFound,
}

fn route(path: &str) -> Route {
    match path {
        "/" | "/plaintext" => Route::Hello,
        "/echo" => Route::Echo,
        _ => {
            if let Some(n) = path.strip_prefix("/bytes/") {
                return n
                    .parse()
                    .ok()
                    .filter(|n| *n <= MAX_GENERATED)
                    .map_or(Route::NotFound, Route::Bytes);
            }
            if let Some(n) = path.strip_prefix("/chunked/") {
                return n
                    .parse()
                    .ok()
                    .filter(|n| *n <= MAX_GENERATED)
                    .map_or(Route::NotFound, Route::Chunked);
            }
            Route::NotFound
        }
    }
}

fn respond(request: &Request) -> Response {
    let method = request.head.method();
    let readable = *method == Method::GET || *method == Method::HEAD;
    match route(request.head.path()) {
        Route::NotFound => Response::empty(ResponseHead::new(StatusCode::NOT_FOUND)),
        Route::Echo if *method == Method::POST => Response::full(
            ResponseHead::new(StatusCode::OK).header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            request.body.clone(),
        ),
        Route::Echo => not_allowed("POST"),
        _ if !readable => not_allowed("GET, HEAD"),
        Route::Hello => Response::full(
            ResponseHead::new(StatusCode::OK)
                .header(CONTENT_TYPE, HeaderValue::from_static("text/plain")),
            Bytes::from_static(HELLO),
        ),
        Route::Bytes(n) => Response::stream(
            ResponseHead::new(StatusCode::OK).content_length(n),
            Xs { left: n },
        ),
        Route::Chunked(n) => Response::stream(ResponseHead::new(StatusCode::OK), Xs { left: n }),
    }
}

fn not_allowed(allow: &'static str) -> Response {
    Response::empty(
        ResponseHead::new(StatusCode::METHOD_NOT_ALLOWED)
            .header(ALLOW, HeaderValue::from_static(allow)),
    )
}

/// `left` more bytes of `x`, in pieces of at most [`CHUNK`], from one static
/// buffer: no allocation per piece.
struct Xs {
    left: u64,
}

impl BodyStream for Xs {
    fn next_chunk(&mut self, max_len: usize) -> Option<Bytes> {
        if self.left == 0 {
            return None;
        }
        let n = (self.left.min(CHUNK as u64) as usize).min(max_len.max(1));
        self.left -= n as u64;
        Some(Bytes::from_static(&XS[..n]))
    }
}
