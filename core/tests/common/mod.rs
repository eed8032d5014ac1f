//! Shared by the core's integration tests.

#![allow(dead_code, reason = "each test file uses a different part")]

use std::time::Instant;

use nutshell_core::testing::Harness;
use nutshell_core::Config;

/// The one real instant the virtual clocks start from.
#[allow(
    clippy::disallowed_methods,
    reason = "tests need one origin for virtual time"
)]
pub(crate) fn origin() -> Instant {
    Instant::now()
}

pub(crate) fn echo() -> Harness {
    Harness::echo(Config::default(), origin())
}

pub(crate) fn echo_with(config: Config) -> Harness {
    Harness::echo(config, origin())
}

/// Status codes of every response in `sent`, in order. Bodies are skipped
/// by their framing (Content-Length, chunked, or none for 1xx/204/304); a
/// response to HEAD must not be followed by another in the same bytes.
pub(crate) fn statuses(sent: &[u8]) -> Vec<u16> {
    let mut statuses = Vec::new();
    let mut rest = sent;
    while !rest.is_empty() {
        let mut fields = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut fields);
        let Ok(httparse::Status::Complete(head_len)) = response.parse(rest) else {
            panic!("unparsable response: {:?}", String::from_utf8_lossy(rest));
        };
        let status = response.code.unwrap_or_default();
        statuses.push(status);
        let field = |name: &str| {
            response
                .headers
                .iter()
                .find(|f| f.name.eq_ignore_ascii_case(name))
                .map(|f| f.value)
        };
        let body_len = if (100..200).contains(&status) || status == 204 || status == 304 {
            0
        } else if let Some(length) = field("content-length") {
            std::str::from_utf8(length)
                .unwrap()
                .parse::<usize>()
                .unwrap()
        } else if field("transfer-encoding").is_some() {
            chunked_len(&rest[head_len..])
        } else {
            rest.len() - head_len
        };
        rest = &rest[(head_len + body_len).min(rest.len())..];
    }
    statuses
}

/// Length of a chunked body (with its trailer section) at the start of `body`.
fn chunked_len(body: &[u8]) -> usize {
    let mut at = 0;
    loop {
        let Ok(httparse::Status::Complete((line, size))) = httparse::parse_chunk_size(&body[at..])
        else {
            return body.len();
        };
        at += line;
        if size == 0 {
            let end = body[at..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .unwrap_or(0);
            // Trailers end with an empty line.
            let trailers = body[at..].windows(4).position(|w| w == b"\r\n\r\n");
            return at
                + if end == 0 {
                    2
                } else {
                    trailers.map_or(body.len() - at, |t| t + 4)
                };
        }
        at += size as usize + 2;
    }
}
