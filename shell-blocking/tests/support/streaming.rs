//! The streaming-body checks, shared by the shells that stream request
//! bodies to sync handlers (blocking; mio with a handler pool): included
//! with `#[path]` by each shell's `tests/streaming_body.rs`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use nutshell_core::http::StatusCode;
use nutshell_core::service::{BodyReader, Request, Response, StreamingHandler};
use nutshell_core::{Config, ResponseHead};
use nutshell_server::ServerOptions;

/// The upload: 64 MiB, far more than a collected body could hold within
/// the memory bound checked below.
pub(crate) const UPLOAD: u64 = 64 << 20;
/// How much the process's peak RSS may grow during the upload.
pub(crate) const MEMORY_BOUND: u64 = 24 << 20;

/// A handler that counts the bytes of its body as they arrive (and sums
/// them, so a lost or repeated piece shows) and answers `count sum`.
pub(crate) fn counting_handler() -> impl nutshell_core::service::Handler {
    StreamingHandler(|_request: Request, mut body: BodyReader| {
        let mut buffer = [0u8; 16 * 1024];
        let (mut count, mut sum) = (0u64, 0u64);
        loop {
            match body.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => {
                    count += n as u64;
                    sum += buffer[..n].iter().map(|b| u64::from(*b)).sum::<u64>();
                }
                Err(e) => {
                    return Response::full(
                        ResponseHead::new(StatusCode::BAD_REQUEST),
                        format!("body broke off: {e}"),
                    )
                }
            }
        }
        Response::full(ResponseHead::new(StatusCode::OK), format!("{count} {sum}"))
    })
}

/// Options with a body limit above the upload.
pub(crate) fn options() -> ServerOptions {
    let mut config = Config::default();
    config.limits.max_body = 2 * UPLOAD;
    ServerOptions::default().threads(1).config(config)
}

/// The byte at `offset` of the upload: a pattern, so the sum checks order
/// and completeness.
fn pattern(offset: u64) -> u8 {
    (offset % 251) as u8
}

fn expected_sum(len: u64) -> u64 {
    (0..len).map(|i| u64::from(pattern(i))).sum()
}

/// Sends `len` bytes (Content-Length, or chunked) and returns the response.
pub(crate) fn upload(addr: SocketAddr, len: u64, chunked: bool) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_string()
    } else {
        format!("Content-Length: {len}")
    };
    write!(
        stream,
        "POST /upload HTTP/1.1\r\nHost: a\r\n{framing}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut piece = vec![0u8; 64 * 1024];
    let mut sent = 0u64;
    while sent < len {
        let n = (len - sent).min(piece.len() as u64) as usize;
        for (i, byte) in piece[..n].iter_mut().enumerate() {
            *byte = pattern(sent + i as u64);
        }
        if chunked {
            write!(stream, "{n:x}\r\n").unwrap();
        }
        stream.write_all(&piece[..n]).unwrap();
        if chunked {
            stream.write_all(b"\r\n").unwrap();
        }
        sent += n as u64;
    }
    if chunked {
        stream.write_all(b"0\r\n\r\n").unwrap();
    }
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// This process's resident set now, and at its peak, in bytes.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map_or(0, |kib| kib * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The 64 MiB upload arrives whole and in order, and the process's peak
/// RSS grows by less than [`MEMORY_BOUND`] (a collected body alone would
/// be 64 MiB). Also a chunked upload.
pub(crate) fn check(addr: SocketAddr) {
    let small = upload(addr, 1 << 20, true);
    assert!(
        small.starts_with("HTTP/1.1 200")
            && small.ends_with(&format!("{} {}", 1 << 20, expected_sum(1 << 20))),
        "chunked upload: {small}"
    );
    let (before, _) = rss();
    let response = upload(addr, UPLOAD, false);
    let (_, peak) = rss();
    assert!(
        response.starts_with("HTTP/1.1 200")
            && response.ends_with(&format!("{UPLOAD} {}", expected_sum(UPLOAD))),
        "64 MiB upload: {response}"
    );
    if before > 0 {
        let growth = peak.saturating_sub(before);
        assert!(
            growth < MEMORY_BOUND,
            "peak RSS grew by {} MiB during a {} MiB upload",
            growth >> 20,
            UPLOAD >> 20
        );
    }
}
