#![no_main]
//! A pipeline of requests built from the grammar in `nutshell_fuzz::grammar`
//! (methods, targets, fields, framing variants, chunk sizes, extensions,
//! trailers, line endings), fed to one server connection with the echo
//! application, cut at arbitrary points.
//!
//! Checked: nothing panics and memory stays within the connection's bounds;
//! each request the grammar calls valid is answered 200 with the body the
//! grammar framed (and `x-request` naming its method and target); the first
//! one it calls invalid gets a 4xx/5xx, which is the last thing sent; one
//! that may go either way gets one or the other. Nothing is answered after
//! a response that closes the connection, so no request can be smuggled
//! past another's framing.

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use nutshell_core::testing::{Echo, Harness, Record};
use nutshell_core::Config;
use nutshell_fuzz::grammar::{Encoded, Request, Verdict};
use nutshell_fuzz::responses::{self, Response};

#[derive(Arbitrary, Debug)]
struct Input {
    lenient_bare_lf: bool,
    requests: Vec<Request>,
    /// Sizes of the pieces the stream is cut into, in turn (none: whole).
    cuts: Vec<u8>,
}

/// Small enough that the grammar's bodies cross it often.
const MAX_BODY: usize = 4096;

fn config(lenient_bare_lf: bool) -> Config {
    let mut config = Config::default();
    config.limits.max_body = MAX_BODY as u64;
    config.lenient_bare_lf = lenient_bare_lf;
    config
}

#[allow(
    clippy::disallowed_methods,
    reason = "one real origin; all later time is virtual"
)]
fn origin() -> Instant {
    Instant::now()
}

/// Positions to cut `len` bytes at, from the piece sizes in `cuts`.
fn cut_points(cuts: &[u8], len: usize) -> Vec<usize> {
    if cuts.is_empty() {
        return Vec::new();
    }
    let mut points = Vec::new();
    let mut at = 0;
    for size in cuts.iter().cycle() {
        at += usize::from(*size).max(1);
        if at >= len {
            break;
        }
        points.push(at);
    }
    points
}

fn check_bounds(h: &Harness, config: &Config) {
    let limits = &config.limits;
    let recv_bound = limits.recv_buffer.max(limits.max_head_bytes);
    assert!(h.max_buffered <= recv_bound, "buffered {}", h.max_buffered);
    // The bound, plus one response (head, echoed body, a 100 Continue).
    let transmit_bound = limits.max_transmit + MAX_BODY + 4096;
    assert!(h.max_transmit <= transmit_bound, "queued {}", h.max_transmit);
}

/// Whether `response` is the echo of an accepted request.
fn answers(response: &Response, request: &Encoded) -> Result<(), String> {
    let expected = &request.expected;
    if response.status != 200 {
        return Err(format!("status {}", response.status));
    }
    if let Some(summary) = &expected.summary {
        if response.field("x-request") != Some(summary.as_bytes()) {
            return Err(format!("x-request {:?}, not {summary:?}", response.field("x-request")));
        }
    }
    if !expected.head && response.body != expected.body {
        return Err(format!(
            "a body of {} bytes, not the {} framed",
            response.body.len(),
            expected.body.len()
        ));
    }
    Ok(())
}

fn is_error(response: &Response) -> bool {
    (400..600).contains(&response.status)
}

fuzz_target!(|input: Input| {
    let config = config(input.lenient_bare_lf);
    let requests: Vec<Encoded> = input
        .requests
        .iter()
        .take(8)
        .map(|r| r.encode(input.lenient_bare_lf, MAX_BODY))
        .collect();
    let stream: Vec<u8> = requests.iter().flat_map(|r| r.bytes.clone()).collect();
    let mut h = Harness::new(config.clone(), origin(), Echo::default());
    h.feed_split(&stream, &cut_points(&input.cuts, stream.len()));
    check_bounds(&h, &config);
    h.eof();
    h.advance(Duration::from_secs(600));
    check_bounds(&h, &config);
    assert!(h.is_closed(), "open after EOF and every deadline");
    assert!(
        matches!(h.records().last(), Some(Record::Closed(_))),
        "{:?}",
        h.records()
    );

    let sent = h.sent().to_vec();
    let finals: Vec<Response> = responses::parse_all(&sent, |i| {
        requests.get(i).is_some_and(|r| r.expected.head)
    })
    .into_iter()
    .filter(|r| !(100..200).contains(&r.status))
    .collect();
    let context = || {
        format!(
            "\nrequests: {:?}\nsent: {:?}",
            requests
                .iter()
                .map(|r| (r.verdict, String::from_utf8_lossy(&r.bytes)))
                .collect::<Vec<_>>(),
            String::from_utf8_lossy(&sent)
        )
    };
    for (i, request) in requests.iter().enumerate() {
        let Some(response) = finals.get(i) else {
            panic!("request {i} ({:?}) got no response{}", request.verdict, context());
        };
        let last = match request.verdict {
            Verdict::Accept => {
                if let Err(why) = answers(response, request) {
                    panic!("valid request {i} answered wrongly: {why}{}", context());
                }
                request.expected.closes
            }
            Verdict::Reject => {
                assert!(is_error(response), "invalid request {i} answered {}{}", response.status, context());
                true
            }
            Verdict::Either => {
                if is_error(response) {
                    true
                } else if let Err(why) = answers(response, request) {
                    panic!("request {i} neither refused nor answered right: {why}{}", context());
                } else {
                    request.expected.closes
                }
            }
        };
        if last {
            assert_eq!(finals.len(), i + 1, "responses after a closing one{}", context());
            return;
        }
    }
    assert_eq!(finals.len(), requests.len(), "more responses than requests{}", context());
});
