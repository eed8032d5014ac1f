#![no_main]
//! The client role and the server role, joined by the fake link of
//! `nutshell_core::testing::Pair` and cut at arbitrary points: whatever
//! request the client core agrees to write, the server core must parse back
//! identically (method, target, the application's fields in order, body,
//! trailers), and whatever response the server application sends, the
//! client core must parse back identically.
//!
//! A request or response the cores refuse to write (a `UsageError`) is
//! skipped: the property is about what they do write.

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use nutshell_core::client::ClientRequest;
use nutshell_core::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use nutshell_core::testing::{ClientRecord, Pair, Record};
use nutshell_core::{Bytes, Config, Event, ResponseHead, ServerConnection};

#[derive(Arbitrary, Debug, Clone)]
struct Input {
    method: u8,
    target: Vec<u8>,
    request: Message,
    expect: bool,
    status: u16,
    response: Message,
    cuts: Vec<u8>,
}

/// One side's own fields and body.
#[derive(Arbitrary, Debug, Clone)]
struct Message {
    fields: Vec<(Vec<u8>, Vec<u8>)>,
    pieces: Vec<Vec<u8>>,
    chunked: bool,
    trailers: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A field name that is not framing or connection management (those are
/// the cores' to write): `x-` and letters, digits and token symbols.
fn name(raw: &[u8]) -> String {
    const TCHAR: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~";
    let tail: String = raw
        .iter()
        .take(16)
        .map(|b| char::from(TCHAR[usize::from(*b) % TCHAR.len()]))
        .collect();
    format!("x-{tail}")
}

/// A field value: any bytes `HeaderValue` accepts (visible ASCII, spaces,
/// tabs, obs-text), without leading or trailing whitespace (which a
/// parser strips, so it cannot round-trip).
fn value(raw: &[u8]) -> Option<HeaderValue> {
    let raw: Vec<u8> = raw.iter().take(40).copied().collect();
    let trimmed = raw.trim_ascii();
    HeaderValue::from_bytes(trimmed).ok()
}

fn fields(raw: &[(Vec<u8>, Vec<u8>)]) -> Vec<(HeaderName, HeaderValue)> {
    raw.iter()
        .take(8)
        .filter_map(|(n, v)| Some((HeaderName::from_bytes(name(n).as_bytes()).ok()?, value(v)?)))
        .collect()
}

fn as_records(fields: &[(HeaderName, HeaderValue)]) -> Vec<(String, Vec<u8>)> {
    fields
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
        .collect()
}

/// Trailers as a map yields them (grouped by name), the way both sides
/// report them.
fn map_records(fields: &[(HeaderName, HeaderValue)]) -> Vec<(String, Vec<u8>)> {
    map(fields)
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
        .collect()
}

fn map(fields: &[(HeaderName, HeaderValue)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (n, v) in fields {
        map.append(n.clone(), v.clone());
    }
    map
}

fn body(message: &Message) -> Vec<u8> {
    message.pieces.iter().take(6).flatten().copied().collect()
}

/// Fields a core writes itself, left out of the comparison.
fn own(name: &str) -> bool {
    !matches!(
        name,
        "host"
            | "content-length"
            | "transfer-encoding"
            | "connection"
            | "expect"
            | "date"
            | "server"
    )
}

#[allow(
    clippy::disallowed_methods,
    reason = "one real origin; all later time is virtual"
)]
fn origin() -> Instant {
    Instant::now()
}

/// The server application: answers each request, once read, with the
/// generated response (`respond` at once, or streamed in its pieces
/// with trailers when chunked).
fn responder(status: StatusCode, message: Message) -> impl FnMut(&mut ServerConnection, &Event) {
    move |conn: &mut ServerConnection, event: &Event| {
        if !matches!(event, Event::RequestEnd) {
            return;
        }
        let mut head = ResponseHead::new(status);
        for (n, v) in fields(&message.fields) {
            head.push_header(n, v);
        }
        if !message.chunked {
            let _ = conn.respond(head, Bytes::from(body(&message)));
            return;
        }
        if conn.send_response(head).is_err() {
            return;
        }
        for piece in message.pieces.iter().take(6) {
            let _ = conn.send_body(Bytes::from(piece.clone()));
        }
        let trailers = fields(&message.trailers);
        let _ = if trailers.is_empty() {
            conn.finish()
        } else {
            conn.send_trailers(&map(&trailers))
        };
    }
}

fuzz_target!(|input: Input| {
    let methods = [Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS];
    let method = methods[usize::from(input.method) % methods.len()].clone();
    let target: String = std::iter::once('/')
        .chain(input.target.iter().take(40).map(|b| char::from(b'!' + b % 94)))
        .collect();
    // Statuses with a body and no special framing: 200-599 but 204, 304.
    let status = 200 + input.status % 400;
    if status == 204 || status == 304 {
        return;
    }
    let status = StatusCode::from_u16(status).expect("a status");
    let request_fields = fields(&input.request.fields);
    let request_body = body(&input.request);
    let request_trailers = fields(&input.request.trailers);

    let mut pair = Pair::new(
        Config::default(),
        origin(),
        responder(status, input.response.clone()),
    );
    pair.cuts = input.cuts.iter().take(16).map(|c| usize::from(*c).max(1)).collect();
    let mut request = ClientRequest::new(method.clone(), target.clone())
        .header(HeaderName::from_static("host"), HeaderValue::from_static("a"));
    for (n, v) in &request_fields {
        request = request.header(n.clone(), v.clone());
    }
    if input.expect {
        request = request.expect_continue();
    }
    if input.request.chunked {
        if pair.client.send_request(request.chunked()).is_err() {
            return;
        }
        // Bodies here are far below the transmit bound: these never fail.
        for piece in input.request.pieces.iter().take(6) {
            pair.client.send_body(Bytes::from(piece.clone())).expect("room for a piece");
        }
        // Trailers end the body; without them, `finish` does.
        if request_trailers.is_empty() {
            pair.client.finish().expect("finish");
        } else {
            pair.client.send_trailers(&map(&request_trailers)).expect("trailers");
        }
        pair.settle();
    } else if pair.request(request, Bytes::from(request_body.clone())).is_err() {
        return;
    }
    // An `Expect: 100-continue` body may wait for the client's timer.
    pair.advance(Duration::from_secs(2));

    // The server parsed what the client wrote.
    let records = pair.server.records().to_vec();
    let context = || format!("\nserver: {records:?}\nclient: {:?}", pair.client_records());
    let Some(Record::Request { method: m, target: t, headers }) = records.first() else {
        panic!("no request at the server{}", context());
    };
    assert_eq!((m.as_str(), t.as_str()), (method.as_str(), target.as_str()), "{}", context());
    let mine: Vec<_> = headers.iter().filter(|(n, _)| own(n)).cloned().collect();
    assert_eq!(mine, as_records(&request_fields), "request fields{}", context());
    let got_body: Vec<u8> = records
        .iter()
        .filter_map(|r| match r {
            Record::Body(b) => Some(b.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(got_body, request_body, "request body{}", context());
    let got_trailers = records.iter().find_map(|r| match r {
        Record::Trailers(t) => Some(t.clone()),
        _ => None,
    });
    if input.request.chunked && !request_trailers.is_empty() {
        assert_eq!(got_trailers, Some(map_records(&request_trailers)), "{}", context());
    }
    assert!(records.contains(&Record::RequestEnd), "{}", context());

    // The client parsed what the server wrote.
    let client = pair.client_records();
    let response = client
        .iter()
        .find_map(|r| match r {
            ClientRecord::Response(s, h) => Some((*s, h.clone())),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no response at the client{}", context()));
    assert_eq!(response.0, status.as_u16(), "{}", context());
    let mine: Vec<_> = response.1.into_iter().filter(|(n, _)| own(n)).collect();
    assert_eq!(mine, as_records(&fields(&input.response.fields)), "response fields{}", context());
    let got_body: Vec<u8> = client
        .iter()
        .filter_map(|r| match r {
            ClientRecord::Body(b) => Some(b.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(got_body, body(&input.response), "response body{}", context());
    let response_trailers = fields(&input.response.trailers);
    if input.response.chunked && !response_trailers.is_empty() {
        let got = client.iter().find_map(|r| match r {
            ClientRecord::Trailers(t) => Some(t.clone()),
            _ => None,
        });
        assert_eq!(got, Some(map_records(&response_trailers)), "response trailers{}", context());
    }
    assert!(client.contains(&ClientRecord::ResponseEnd), "{}", context());
});
