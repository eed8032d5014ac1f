//! # nutshell-demo: the demo application
//!
//! Written once and used by `nutshell serve`, the conformance suite and
//! `nutshell compare` (and its hyper baseline, which serves the same routes
//! with these constants):
//!
//! | request | response |
//! | --- | --- |
//! | `GET /`, `GET /plaintext` | 200, `text/plain`, `Hello, World!` |
//! | `HEAD` of those | the same head, no body |
//! | `POST /echo` | 200, `application/octet-stream`, the request body |
//! | `GET /bytes/{n}` | 200, `Content-Length: n`, n bytes of `x`, streamed |
//! | `GET /chunked/{n}` | 200, chunked, n bytes of `x` in chunks of at most 16 KiB |
//! | `GET /wait/{ms}` | 200, `waited {ms} ms`, after the handler waited that long |
//! | `GET /cpu/{us}` | 200, a digest, after the handler computed for about that long |
//! | a known path, another method | 405 with `Allow` |
//! | anything else | 404, empty body |
//!
//! ## Handlers that wait and handlers that compute
//!
//! `/wait/{ms}` stands for a handler that waits on a database. As a
//! synchronous [`Handler`], [`DemoApp`] waits the way such a handler would:
//! it blocks its thread (`thread::sleep`). An async handler awaits its
//! runtime's timer instead: it calls [`requested_wait`], awaits that long,
//! then answers with [`DemoApp::answer`], which never waits (`nutshell
//! serve` does this on the tokio and smol shells).
//!
//! `/cpu/{us}` stands for a handler that computes: it hashes in a loop,
//! [`cpu_rounds_per_us`] rounds per microsecond asked. The core reads no
//! clock, so the rate is a number, not a measurement: set it once per
//! process with [`set_cpu_rounds_per_us`] (`nutshell serve` calibrates it,
//! and `nutshell compare` gives every server the same figure, so every shell
//! does the same work).

#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE};
use http::{HeaderValue, Method, StatusCode};

use nutshell_core::service::{BodyStream, Handler, Request, Response};
use nutshell_core::ResponseHead;

/// The largest `n` for `/bytes/{n}` and `/chunked/{n}`: 1 GiB.
pub const MAX_GENERATED: u64 = 1 << 30;
/// The largest chunk `/chunked/{n}` sends.
pub const CHUNK: usize = 16 * 1024;

/// The longest wait `/wait/{ms}` accepts: 60 s.
pub const MAX_WAIT_MS: u64 = 60_000;
/// The longest computation `/cpu/{us}` accepts: 1 s.
pub const MAX_CPU_US: u64 = 1_000_000;
/// Hash rounds per microsecond before [`set_cpu_rounds_per_us`] is called:
/// roughly a microsecond's work on a 2020s x86-64 core.
pub const DEFAULT_CPU_ROUNDS_PER_US: u64 = 200;

static XS: [u8; CHUNK] = [b'x'; CHUNK];
const HELLO: &[u8] = b"Hello, World!";
static CPU_ROUNDS_PER_US: AtomicU64 = AtomicU64::new(DEFAULT_CPU_ROUNDS_PER_US);

/// The demo application.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoApp;

impl Handler for DemoApp {
    fn handle(&self, request: Request) -> Response {
        if let Some(wait) = requested_wait(&request) {
            block_for(wait);
        }
        self.answer(&request)
    }
}

impl DemoApp {
    /// The response to `request`, without the wait `/wait/{ms}` asks for:
    /// an async handler awaits [`requested_wait`] first, then calls this.
    pub fn answer(&self, request: &Request) -> Response {
        respond(request)
    }
}

/// How long the handler for `request` is meant to wait: `Some` for
/// `GET /wait/{ms}` (and HEAD), `None` for every other request.
pub fn requested_wait(request: &Request) -> Option<Duration> {
    let method = request.head.method();
    if *method != Method::GET && *method != Method::HEAD {
        return None;
    }
    match route(request.head.path()) {
        Route::Wait(ms) => Some(Duration::from_millis(ms)),
        _ => None,
    }
}

/// Sets the rate of `/cpu/{us}` for this process: hash rounds per
/// microsecond asked (at least 1).
pub fn set_cpu_rounds_per_us(rounds: u64) {
    CPU_ROUNDS_PER_US.store(rounds.max(1), Ordering::Relaxed);
}

/// The rate `/cpu/{us}` computes at: hash rounds per microsecond asked.
pub fn cpu_rounds_per_us() -> u64 {
    CPU_ROUNDS_PER_US.load(Ordering::Relaxed)
}

/// `rounds` rounds of a 64-bit mixing hash (splitmix64's finaliser), each
/// depending on the last, so the compiler can neither skip nor fold them.
/// Public so that a calibration measures exactly the work the route does.
pub fn compute(rounds: u64) -> u64 {
    let mut state = std::hint::black_box(0x9e37_79b9_7f4a_7c15_u64);
    for i in 0..rounds {
        state = state.wrapping_add(i);
        state = (state ^ (state >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        state = (state ^ (state >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        state ^= state >> 31;
    }
    std::hint::black_box(state)
}

/// The synchronous handler's wait: it blocks its thread, as a handler
/// calling a blocking database client would. (This crate is outside the
/// core, whose `clippy.toml` bans sleeping.)
fn block_for(wait: Duration) {
    std::thread::sleep(wait);
}

/// Which route a path names, and the methods it allows.
enum Route {
    Hello,
    Echo,
    Bytes(u64),
    Chunked(u64),
    Wait(u64),
    Cpu(u64),
    NotFound,
}

fn route(path: &str) -> Route {
    match path {
        "/" | "/plaintext" => Route::Hello,
        "/echo" => Route::Echo,
        _ => {
            if let Some(n) = path.strip_prefix("/bytes/") {
                return number_up_to(n, MAX_GENERATED).map_or(Route::NotFound, Route::Bytes);
            }
            if let Some(n) = path.strip_prefix("/chunked/") {
                return number_up_to(n, MAX_GENERATED).map_or(Route::NotFound, Route::Chunked);
            }
            if let Some(ms) = path.strip_prefix("/wait/") {
                return number_up_to(ms, MAX_WAIT_MS).map_or(Route::NotFound, Route::Wait);
            }
            if let Some(us) = path.strip_prefix("/cpu/") {
                return number_up_to(us, MAX_CPU_US).map_or(Route::NotFound, Route::Cpu);
            }
            Route::NotFound
        }
    }
}

/// A decimal number no larger than `max`.
fn number_up_to(text: &str, max: u64) -> Option<u64> {
    text.parse().ok().filter(|n| *n <= max)
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
        Route::Wait(ms) => text(format!("waited {ms} ms\n")),
        Route::Cpu(us) => {
            let digest = compute(us.saturating_mul(cpu_rounds_per_us()));
            text(format!("computed {us} us: {digest:016x}\n"))
        }
    }
}

fn text(body: String) -> Response {
    Response::full(
        ResponseHead::new(StatusCode::OK)
            .header(CONTENT_TYPE, HeaderValue::from_static("text/plain")),
        body,
    )
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
