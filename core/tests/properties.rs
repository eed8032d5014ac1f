//! Properties of one connection, checked on generated input with the
//! deterministic harness (no sockets, a virtual clock, a fixed `Date`):
//!
//! - a valid request stream gives the same events and the same bytes out
//!   however it is split;
//! - arbitrary bytes never panic: the run holds only valid events, or ends
//!   in one error whose response was sent, and EOF plus time closes it;
//! - a peer that never reads cannot make the connection hold more than its
//!   bounds (plus the one response in flight);
//! - pipelined requests are answered in order;
//! - `handle_timeout` before the deadline changes nothing, an open
//!   connection always has a deadline, and one that fires moves it later;
//! - what the application sends is what a client parses back.

mod common;

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use nutshell_core::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use nutshell_core::testing::{App, Harness, Record};
use nutshell_core::{
    Bytes, CloseReason, Config, ConnectionState, Event, ProtocolError, ResponseHead,
    ServerConnection,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::FileFailurePersistence;

use common::origin;

// ---------------------------------------------------------------- requests

/// A valid HTTP/1.1 request, encoded by [`Request::encode`].
#[derive(Debug, Clone)]
struct Request {
    method: &'static str,
    target: String,
    host: String,
    fields: Vec<(String, String)>,
    expect_continue: bool,
    close: bool,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    None,
    Length(Vec<u8>),
    Chunked {
        chunks: Vec<Chunk>,
        last_ext: String,
        trailers: Vec<(String, String)>,
    },
}

#[derive(Debug, Clone)]
struct Chunk {
    data: Vec<u8>,
    /// `chunk-size` as sent: hex in either case, maybe with leading zeros.
    size: String,
    ext: String,
}

impl Request {
    fn encode(&self) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\n",
            self.method, self.target, self.host
        );
        for (name, value) in &self.fields {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if self.expect_continue {
            head.push_str("Expect: 100-continue\r\n");
        }
        if self.close {
            head.push_str("Connection: close\r\n");
        }
        match &self.body {
            Body::None => {}
            Body::Length(data) => head.push_str(&format!("Content-Length: {}\r\n", data.len())),
            Body::Chunked { .. } => head.push_str("Transfer-Encoding: chunked\r\n"),
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        match &self.body {
            Body::None => {}
            Body::Length(data) => out.extend_from_slice(data),
            Body::Chunked {
                chunks,
                last_ext,
                trailers,
            } => {
                for chunk in chunks {
                    out.extend_from_slice(format!("{}{}\r\n", chunk.size, chunk.ext).as_bytes());
                    out.extend_from_slice(&chunk.data);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(format!("0{last_ext}\r\n").as_bytes());
                for (name, value) in trailers {
                    out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
                }
                out.extend_from_slice(b"\r\n");
            }
        }
        out
    }

    /// The body as the application reads it.
    fn data(&self) -> Vec<u8> {
        match &self.body {
            Body::None => Vec::new(),
            Body::Length(data) => data.clone(),
            Body::Chunked { chunks, .. } => chunks.iter().flat_map(|c| c.data.clone()).collect(),
        }
    }
}

/// Bytes that print as a byte string, so that a failing case reads as HTTP.
#[derive(Clone)]
struct Wire(Vec<u8>);

impl fmt::Debug for Wire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

fn encode_all(requests: &[Request]) -> Vec<u8> {
    requests.iter().flat_map(Request::encode).collect()
}

/// A field value: visible ASCII, inner spaces, no surrounding whitespace.
fn field_value() -> impl Strategy<Value = String> {
    "[!-~]([ !-~]{0,12}[!-~])?"
}

fn chunk() -> impl Strategy<Value = Chunk> {
    (
        vec(any::<u8>(), 1..40),
        any::<bool>(),
        0..3usize,
        chunk_ext(),
    )
        .prop_map(|(data, upper, zeros, ext)| {
            let hex = if upper {
                format!("{:X}", data.len())
            } else {
                format!("{:x}", data.len())
            };
            Chunk {
                size: format!("{}{hex}", "0".repeat(zeros)),
                data,
                ext,
            }
        })
}

/// Empty, or `;name`, `;name=token`, `;name="quoted"` (meaning ignored).
fn chunk_ext() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        ";[a-z]{1,6}(=[a-z0-9]{1,6})?",
        ";[a-z]{1,6}=\"[a-z ]{0,6}\""
    ]
}

fn body() -> impl Strategy<Value = Body> {
    let trailer = ("[xX]-t[a-z]{0,5}", field_value());
    prop_oneof![
        Just(Body::None),
        vec(any::<u8>(), 0..80).prop_map(Body::Length),
        (vec(chunk(), 0..4), chunk_ext(), vec(trailer, 0..3)).prop_map(
            |(chunks, last_ext, trailers)| Body::Chunked {
                chunks,
                last_ext,
                trailers
            }
        ),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    let method = select(&["GET", "HEAD", "POST", "PUT"][..]);
    let target = "/[a-zA-Z0-9._~/?=&%-]{0,24}";
    let host = "[a-z0-9.-]{1,12}(:[0-9]{1,4})?";
    let fields = vec(("[xX]-[a-zA-Z0-9-]{1,10}", field_value()), 0..4);
    (method, target, host, fields, any::<bool>(), body()).prop_map(
        |(method, target, host, fields, expect_continue, body)| Request {
            method,
            target,
            host,
            fields,
            expect_continue,
            close: false,
            // A body on HEAD is legal, but rare enough to leave to the
            // arbitrary-bytes property.
            body: if method == "HEAD" { Body::None } else { body },
        },
    )
}

/// 1 to `max - 1` requests, the last maybe with `Connection: close`.
fn pipeline(max: usize) -> impl Strategy<Value = Vec<Request>> {
    (vec(request(), 1..max), any::<bool>()).prop_map(|(mut requests, close)| {
        if let Some(last) = requests.last_mut() {
            last.close = close;
        }
        requests
    })
}

/// Ascending cut offsets into a stream of `len` bytes.
fn cuts(picks: &[Index], len: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = picks.iter().map(|pick| pick.index(len + 1)).collect();
    cuts.sort_unstable();
    cuts
}

// --------------------------------------------------------------- responses

/// A response as a client reads it.
#[derive(Debug)]
struct Parsed {
    status: u16,
    /// Names lowercased, in order.
    fields: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    trailers: Vec<(String, Vec<u8>)>,
    /// Bytes it took on the wire.
    len: usize,
}

impl Parsed {
    fn field(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    fn count(&self, name: &str) -> usize {
        self.fields.iter().filter(|(n, _)| n == name).count()
    }
}

/// The final responses in `bytes`, 1xx skipped; `has_body[i]` is false
/// where the i-th answers HEAD. Every byte must belong to a response.
fn parse_responses(mut bytes: &[u8], has_body: &[bool]) -> Result<Vec<Parsed>, String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let parsed = parse_response(bytes, has_body.get(out.len()).copied().unwrap_or(true))?;
        bytes = &bytes[parsed.len..];
        if parsed.status >= 200 {
            if out.len() == has_body.len() {
                return Err(format!("more responses than requests: {parsed:?}"));
            }
            out.push(parsed);
        }
    }
    Ok(out)
}

fn parse_response(bytes: &[u8], body_allowed: bool) -> Result<Parsed, String> {
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut slots);
    let head_len = match response.parse(bytes) {
        Ok(httparse::Status::Complete(len)) if response.version == Some(1) => len,
        other => return Err(format!("no response head ({other:?}): {:?}", lossy(bytes))),
    };
    let status = response.code.unwrap_or_default();
    let fields = response
        .headers
        .iter()
        .map(|f| (f.name.to_ascii_lowercase(), f.value.to_vec()));
    let mut parsed = Parsed {
        status,
        fields: fields.collect(),
        body: Vec::new(),
        trailers: Vec::new(),
        len: head_len,
    };
    let rest = &bytes[head_len..];
    if status < 200 || status == 204 || status == 304 || !body_allowed {
        return Ok(parsed);
    }
    if parsed.field("transfer-encoding") == Some(b"chunked") {
        let (body, trailers, len) = decode_chunked(rest)?;
        (parsed.body, parsed.trailers) = (body, trailers);
        parsed.len += len;
    } else if let Some(length) = parsed.field("content-length") {
        let length: usize = std::str::from_utf8(length)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("bad length")?;
        parsed.body = rest
            .get(..length)
            .ok_or("body shorter than its length")?
            .to_vec();
        parsed.len += length;
    } else {
        parsed.body = rest.to_vec();
        parsed.len += rest.len();
    }
    Ok(parsed)
}

/// A chunked body: data, trailers, and the bytes it took.
type Decoded = (Vec<u8>, Vec<(String, Vec<u8>)>, usize);

fn decode_chunked(bytes: &[u8]) -> Result<Decoded, String> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let line_len = find(&bytes[at..], b"\r\n").ok_or("no chunk-size line")?;
        let line = &bytes[at..at + line_len];
        let digits = line.split(|b| *b == b';').next().unwrap_or_default();
        let size = std::str::from_utf8(digits)
            .ok()
            .and_then(|s| usize::from_str_radix(s, 16).ok());
        let size = size.ok_or_else(|| format!("bad chunk size {:?}", lossy(line)))?;
        at += line_len + 2;
        if size == 0 {
            break;
        }
        body.extend_from_slice(bytes.get(at..at + size).ok_or("short chunk")?);
        at += size;
        if bytes.get(at..at + 2) != Some(b"\r\n") {
            return Err("chunk data not followed by CRLF".into());
        }
        at += 2;
    }
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let Ok(httparse::Status::Complete((len, fields))) =
        httparse::parse_headers(&bytes[at..], &mut slots)
    else {
        return Err(format!("bad trailer section: {:?}", lossy(&bytes[at..])));
    };
    let trailers = fields
        .iter()
        .map(|f| (f.name.to_ascii_lowercase(), f.value.to_vec()))
        .collect();
    Ok((body, trailers, at + len))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned()
}

/// What the harness clock's fixed start time gives as `Date`.
const DATE: &[u8] = b"Sun, 06 Nov 1994 08:49:37 GMT";

// ------------------------------------------------------------ event checks

/// Request, body pieces and trailers, end; an error ends parsing; `Closed`
/// is last. Echo never upgrades.
fn check_order(records: &[Record]) -> Result<(), TestCaseError> {
    let mut in_request = false;
    let mut failed = false;
    for (i, record) in records.iter().enumerate() {
        let legal = match record {
            Record::Closed(_) => i + 1 == records.len(),
            _ if failed => false,
            Record::Error(_) => {
                failed = true;
                true
            }
            Record::Request { .. } => !std::mem::replace(&mut in_request, true),
            Record::Body(_) | Record::Trailers(_) => in_request,
            Record::RequestEnd => std::mem::replace(&mut in_request, false),
            Record::Upgrade(_) => false,
        };
        prop_assert!(legal, "{record:?} out of place in {records:?}");
    }
    Ok(())
}

/// Each request the records show: "METHOD TARGET", its body, and whether
/// it was read to its end.
fn exchanges(records: &[Record]) -> Vec<(String, Vec<u8>, bool)> {
    let mut out: Vec<(String, Vec<u8>, bool)> = Vec::new();
    for record in records {
        match (record, out.last_mut()) {
            (Record::Request { method, target, .. }, _) => {
                out.push((format!("{method} {target}"), Vec::new(), false))
            }
            (Record::Body(data), Some(last)) => last.1.extend_from_slice(data),
            (Record::RequestEnd, Some(last)) => last.2 = true,
            _ => {}
        }
    }
    out
}

/// The core's error responses carry a body, even for HEAD: the connection
/// closes after them anyway.
fn responses_expected(exchanges: &[(String, Vec<u8>, bool)], error: bool) -> Vec<bool> {
    let answered = exchanges.iter().filter(|(_, _, ended)| *ended);
    let mut has_body: Vec<bool> = answered
        .map(|(summary, _, _)| !summary.starts_with("HEAD "))
        .collect();
    if error {
        has_body.push(true);
    }
    has_body
}

/// Echo answered every request read to its end, in order; an error (at
/// most one, last) was answered after them with its own status.
fn check_answers(h: &Harness) -> Result<Option<ProtocolError>, TestCaseError> {
    check_order(h.records())?;
    let error = h.records().iter().find_map(|r| match r {
        Record::Error(error) => Some(*error),
        _ => None,
    });
    let exchanges = exchanges(h.records());
    let mut has_body = responses_expected(&exchanges, error.is_some());
    let responses = match parse_responses(h.sent(), &has_body) {
        Ok(responses) => responses,
        // An error answered to a HEAD request (one whose head was refused,
        // so no exchange records it) carries no body.
        Err(_) if error.is_some() => {
            if let Some(last) = has_body.last_mut() {
                *last = false;
            }
            parse_responses(h.sent(), &has_body).map_err(TestCaseError::fail)?
        }
        Err(e) => return Err(TestCaseError::fail(e)),
    };
    prop_assert_eq!(responses.len(), has_body.len());
    for ((summary, body, _), response) in exchanges.iter().filter(|e| e.2).zip(&responses) {
        prop_assert_eq!(response.status, 200);
        prop_assert_eq!(response.field("x-request"), Some(summary.as_bytes()));
        if !summary.starts_with("HEAD ") {
            prop_assert_eq!(&response.body, body);
        }
    }
    if let (Some(error), Some(last)) = (error, responses.last()) {
        prop_assert!(error.status().is_client_error() || error.status().is_server_error());
        prop_assert_eq!(last.status, error.status().as_u16(), "{:?}", error);
    }
    Ok(error)
}

/// Runs until every deadline has passed; it must end closed, once.
/// `wait_first`: time passes before the EOF too (so a partial request
/// times out instead of being cut short).
fn close_out(h: &mut Harness, wait_first: bool) -> Result<(), TestCaseError> {
    if wait_first {
        h.advance(Duration::from_secs(1000));
    }
    h.eof();
    h.advance(Duration::from_secs(1000));
    prop_assert!(
        h.is_closed(),
        "open after EOF and every deadline: {:?}",
        h.conn.state()
    );
    let closes = h
        .records()
        .iter()
        .filter(|r| matches!(r, Record::Closed(_)))
        .count();
    prop_assert_eq!(closes, 1);
    prop_assert!(matches!(h.records().last(), Some(Record::Closed(_))));
    Ok(())
}

// -------------------------------------------------------------- properties

/// Pieces of HTTP for the arbitrary-bytes generator: random bytes alone
/// rarely spell a request head.
const FRAGMENTS: &[&[u8]] = &[
    b"GET ",
    b"HEAD ",
    b"POST ",
    b"OPTIONS ",
    b"CONNECT ",
    b"/",
    b"*",
    b" ",
    b"\t",
    b"\r\n",
    b"\n",
    b"\r",
    b":",
    b";",
    b",",
    b"=",
    b"HTTP/1.1",
    b"HTTP/1.0",
    b"HTTP/1.2",
    b"HTTP/2.0",
    b"Host: a\r\n",
    b"Content-Length: ",
    b"Transfer-Encoding: ",
    b"chunked",
    b"gzip",
    b"gzip, chunked",
    b"Content-Length: 99999\r\n",
    b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
    b"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    b"Connection: close\r\n",
    b"Expect: 100-continue\r\n",
    b"Connection: upgrade\r\nUpgrade: x\r\n",
    b"0\r\n\r\n",
];

fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<u8>().prop_map(|b| vec![b]),
        select(FRAGMENTS).prop_map(<[u8]>::to_vec),
        any::<u16>().prop_map(|n| n.to_string().into_bytes()),
        any::<u16>().prop_map(|n| format!("{n:x}").into_bytes()),
        // Repeats reach the limits of `tight_config`.
        (select(FRAGMENTS), 2..12usize).prop_map(|(piece, n)| piece.repeat(n)),
    ]
}

fn arbitrary_input() -> impl Strategy<Value = Wire> {
    let input = prop_oneof![
        vec(any::<u8>(), 0..300),
        vec(fragment(), 0..40).prop_map(|pieces| pieces.concat()),
        (pipeline(4), any::<Index>(), vec(any::<u8>(), 0..64)).prop_map(|(requests, cut, tail)| {
            let mut bytes = encode_all(&requests);
            bytes.truncate(cut.index(bytes.len() + 1));
            bytes.extend_from_slice(&tail);
            bytes
        }),
        (pipeline(4), vec(fragment(), 1..20))
            .prop_map(|(requests, pieces)| { [encode_all(&requests), pieces.concat()].concat() }),
        (
            pipeline(3),
            vec((any::<Index>(), any::<u8>(), 0..3u8), 1..4)
        )
            .prop_map(|(requests, edits)| {
                let mut bytes = encode_all(&requests);
                for (at, byte, kind) in edits {
                    let at = at.index(bytes.len() + 1);
                    mutate(&mut bytes, at, byte, kind);
                }
                bytes
            }),
    ];
    input.prop_map(Wire)
}

/// A valid stream with one byte replaced, inserted or removed: most such
/// edits break one rule of the grammar, which is where the error paths are.
fn mutate(bytes: &mut Vec<u8>, at: usize, byte: u8, kind: u8) {
    match kind {
        0 if at < bytes.len() => bytes[at] = byte,
        1 => bytes.insert(at, byte),
        _ if at < bytes.len() => {
            bytes.remove(at);
        }
        _ => bytes.push(byte),
    }
}

/// Limits small enough that short input reaches each of them (413, 414,
/// 431 and the chunk and trailer bounds).
fn tight_config() -> Config {
    let mut config = Config::default();
    config.limits.max_request_line = 128;
    config.limits.max_head_bytes = 512;
    config.limits.max_headers = 8;
    config.limits.max_body = 64;
    config.limits.max_chunk_line = 32;
    config.limits.max_trailer_bytes = 64;
    config
}

fn small_config() -> Config {
    let mut config = Config::default();
    config.limits.recv_buffer = 2048;
    config.limits.max_head_bytes = 1024;
    config.limits.max_transmit = 4096;
    config
}

/// One step of a scripted peer, for the timer properties.
#[derive(Debug, Clone)]
enum Step {
    Send(Wire),
    Advance(Duration),
    PeerReads(bool),
    Eof,
    Shutdown,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => request().prop_map(|r| Step::Send(Wire(r.encode()))),
        3 => (request(), any::<Index>()).prop_map(|(r, cut)| {
            let bytes = r.encode();
            Step::Send(Wire(bytes[..cut.index(bytes.len())].to_vec()))
        }),
        1 => vec(any::<u8>(), 1..16).prop_map(|bytes| Step::Send(Wire(bytes))),
        // Mostly short waits, so that a run lives through several steps.
        6 => (0..3_000u64).prop_map(|ms| Step::Advance(Duration::from_millis(ms))),
        1 => (0..70_000u64).prop_map(|ms| Step::Advance(Duration::from_millis(ms))),
        2 => any::<bool>().prop_map(Step::PeerReads),
        1 => Just(Step::Eof),
        1 => Just(Step::Shutdown),
    ]
}

/// Everything outside the connection can see.
#[derive(Debug, PartialEq)]
struct Snapshot {
    state: ConnectionState,
    deadline: Option<std::time::Instant>,
    records: Vec<Record>,
    sent: Vec<u8>,
    wants_read: bool,
    wants_write: bool,
    buffered: usize,
    queued: usize,
}

fn snapshot(h: &Harness) -> Snapshot {
    Snapshot {
        state: h.conn.state(),
        deadline: h.conn.poll_timeout(),
        records: h.records().to_vec(),
        sent: h.sent().to_vec(),
        wants_read: h.conn.wants_read(),
        wants_write: h.conn.wants_write(),
        buffered: h.conn.buffered(),
        queued: h.conn.transmit_len(),
    }
}

/// A response the application sends, and how.
#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    fields: Vec<(String, String)>,
    pieces: Vec<Vec<u8>>,
    framing: Framing,
}

#[derive(Debug, Clone)]
enum Framing {
    /// `respond` with the whole body.
    Whole,
    /// A declared length, then the pieces.
    Length,
    /// Chunked pieces, then trailers (if any).
    Chunked(Vec<(String, String)>),
}

fn reply() -> impl Strategy<Value = Reply> {
    let status = select(
        &[
            200u16, 201, 202, 203, 206, 301, 302, 400, 404, 418, 500, 503, 204, 304,
        ][..],
    );
    let name = prop_oneof![
        "x-[a-z0-9-]{1,10}",
        select(&["content-type", "etag", "vary"][..]).prop_map(String::from)
    ];
    let trailers = vec(("x-t[a-z]{0,4}", field_value()), 0..3);
    let framing = prop_oneof![
        Just(Framing::Whole),
        Just(Framing::Length),
        trailers.prop_map(Framing::Chunked)
    ];
    (
        status,
        vec((name, field_value()), 0..5),
        vec(vec(any::<u8>(), 1..60), 0..4),
        framing,
    )
        .prop_map(|(status, fields, pieces, framing)| {
            if status == 204 || status == 304 {
                Reply {
                    status,
                    fields,
                    pieces: Vec::new(),
                    framing: Framing::Whole,
                }
            } else {
                Reply {
                    status,
                    fields,
                    pieces,
                    framing,
                }
            }
        })
}

impl Reply {
    fn send(&self, conn: &mut ServerConnection, head_request: bool) {
        let mut head = ResponseHead::new(StatusCode::from_u16(self.status).expect("a status"));
        for (name, value) in &self.fields {
            let name = HeaderName::from_bytes(name.as_bytes()).expect("a field name");
            head.push_header(name, HeaderValue::from_str(value).expect("a field value"));
        }
        let body = self.pieces.concat();
        let length = body.len() as u64;
        let sent = match &self.framing {
            // For HEAD, `respond` announces the length and drops the body.
            Framing::Whole => conn.respond(head, Bytes::from(body)),
            Framing::Length | Framing::Chunked(_) => {
                let head = if matches!(self.framing, Framing::Length) {
                    head.content_length(length)
                } else {
                    head
                };
                conn.send_response(head).expect("a response head");
                for piece in self.pieces.iter().filter(|_| !head_request) {
                    conn.send_body(Bytes::from(piece.clone()))
                        .expect("a body piece");
                }
                match &self.framing {
                    Framing::Chunked(trailers) if !trailers.is_empty() && !head_request => {
                        conn.send_trailers(&trailer_map(trailers))
                    }
                    _ => conn.finish(),
                }
            }
        };
        sent.expect("a valid reply");
    }
}

fn trailer_map(trailers: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in trailers {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("a trailer name");
        map.append(name, HeaderValue::from_str(value).expect("a trailer value"));
    }
    map
}

/// Answers the n-th request with the n-th reply.
fn replier(replies: Vec<Reply>) -> impl App {
    let mut replies = VecDeque::from(replies);
    let mut head_request = false;
    move |conn: &mut ServerConnection, event: &Event| match event {
        Event::Request(head) => head_request = head.method() == Method::HEAD,
        Event::RequestEnd => replies
            .pop_front()
            .expect("a reply per request")
            .send(conn, head_request),
        _ => {}
    }
}

/// The reply as it must read back: status, the application's fields in
/// order, framing the core chose, body and trailers.
fn check_reply(parsed: &Parsed, reply: &Reply, head_request: bool) -> Result<(), TestCaseError> {
    prop_assert_eq!(parsed.status, reply.status);
    let core_fields = ["date", "content-length", "transfer-encoding", "connection"];
    let own: Vec<_> = parsed
        .fields
        .iter()
        .filter(|(n, _)| !core_fields.contains(&n.as_str()))
        .cloned()
        .collect();
    let sent: Vec<_> = reply
        .fields
        .iter()
        .map(|(n, v)| (n.clone(), v.clone().into_bytes()))
        .collect();
    prop_assert_eq!(own, sent);
    prop_assert_eq!(parsed.count("date"), 1);
    prop_assert_eq!(parsed.field("date"), Some(DATE));
    let body = reply.pieces.concat();
    let length = body.len().to_string();
    match &reply.framing {
        _ if reply.status == 204 || reply.status == 304 => {
            prop_assert_eq!(
                parsed.count("content-length") + parsed.count("transfer-encoding"),
                0
            );
        }
        Framing::Whole | Framing::Length => {
            prop_assert_eq!(parsed.count("transfer-encoding"), 0);
            prop_assert_eq!(parsed.count("content-length"), 1);
            prop_assert_eq!(parsed.field("content-length"), Some(length.as_bytes()));
        }
        Framing::Chunked(trailers) => {
            prop_assert_eq!(parsed.count("content-length"), 0);
            prop_assert_eq!(parsed.field("transfer-encoding"), Some(&b"chunked"[..]));
            if !head_request {
                let map = trailer_map(trailers);
                let expected: Vec<_> = map
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                    .collect();
                prop_assert_eq!(&parsed.trailers, &expected);
            }
        }
    }
    let expected_body = if head_request { Vec::new() } else { body };
    prop_assert_eq!(&parsed.body, &expected_body);
    Ok(())
}

/// `cases` per property; failures are kept in the crate's
/// `proptest-regressions/` (the default looks for a `lib.rs` beside the
/// test and finds none).
/// `PROPTEST_CASES` in the environment overrides `cases`, for long runs.
fn config(cases: u32) -> ProptestConfig {
    let defaults = ProptestConfig::default();
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        defaults.cases
    } else {
        cases
    };
    let file = FileFailurePersistence::Direct("proptest-regressions/properties.txt");
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(file)),
        ..defaults
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// However a valid stream is cut, the events and the bytes sent are the
    /// same as for the whole stream, one byte at a time included.
    #[test]
    fn any_split_gives_the_same_result(
        requests in pipeline(6),
        picks in vec(any::<Index>(), 0..8),
    ) {
        let stream = encode_all(&requests);
        let mut whole = Harness::echo(Config::default(), origin());
        whole.feed(&stream);
        let mut split = Harness::echo(Config::default(), origin());
        split.feed_split(&stream, &cuts(&picks, stream.len()));
        let mut bytewise = Harness::echo(Config::default(), origin());
        bytewise.feed_bytewise(&stream);

        prop_assert!(!whole.records().iter().any(|r| matches!(r, Record::Error(_))), "{:?}", whole.records());
        let ends = whole.records().iter().filter(|r| **r == Record::RequestEnd).count();
        prop_assert_eq!(ends, requests.len());
        for other in [&mut split, &mut bytewise] {
            prop_assert_eq!(whole.records(), other.records());
            prop_assert_eq!(whole.sent(), other.sent());
        }
        // A complete stream then EOF: everything is answered, so it closes
        // at once, however it was cut.
        for h in [&mut whole, &mut split, &mut bytewise] {
            h.eof();
            prop_assert!(h.is_closed(), "{:?}", h.conn.state());
        }
        prop_assert_eq!(whole.records(), split.records());
        prop_assert_eq!(whole.records(), bytewise.records());
    }

    /// Arbitrary bytes, alone or after valid requests, against tight limits:
    /// no panic, events in a legal order, every finished request answered by
    /// Echo, and an error (at most one) answered last with its own status.
    /// Time and EOF then close the connection.
    #[test]
    fn arbitrary_bytes_end_valid_or_in_an_answered_error(
        input in arbitrary_input(),
        picks in vec(any::<Index>(), 0..6),
        wait_first in any::<bool>(),
    ) {
        let mut h = Harness::echo(tight_config(), origin());
        h.feed_split(&input.0, &cuts(&picks, input.0.len()));
        check_answers(&h)?;
        close_out(&mut h, wait_first)?;
        // EOF and timeouts are where most broken input is noticed.
        if let Some(error) = check_answers(&h)? {
            let closed = h.records().last();
            prop_assert_eq!(closed, Some(&Record::Closed(CloseReason::ProtocolError(error))));
        }
    }

    /// A peer that pipelines requests (GETs, some POSTs with a body) and
    /// never reads: the receive buffer stays within its bound and the
    /// output queue within its bound plus one response; once it reads, it
    /// gets exactly what a reading peer gets.
    #[test]
    fn a_peer_that_never_reads_gets_bounded_memory(
        requests in vec(("/[a-z0-9]{0,60}", proptest::option::weighted(0.3, vec(any::<u8>(), 1..300))), 20..120),
        picks in vec(any::<Index>(), 0..6),
    ) {
        let stream: Vec<u8> = requests
            .iter()
            .flat_map(|(target, body)| match body {
                None => format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n").into_bytes(),
                Some(body) => {
                    let head = format!("POST {target} HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n", body.len());
                    [head.as_bytes(), body].concat()
                }
            })
            .collect();
        let mut reader = Harness::echo(small_config(), origin());
        reader.feed(&stream);
        let has_body = vec![true; requests.len()];
        let responses = parse_responses(reader.sent(), &has_body).map_err(TestCaseError::fail)?;
        prop_assert_eq!(responses.len(), requests.len());
        let largest = responses.iter().map(|r| r.len).max().unwrap_or(0);

        let mut h = Harness::echo(small_config(), origin());
        h.peer_reads = false;
        h.feed_split(&stream, &cuts(&picks, stream.len()));
        prop_assert!(h.max_buffered <= 2048, "buffered {}", h.max_buffered);
        prop_assert!(h.max_transmit <= 4096 + largest, "queued {} (+{largest})", h.max_transmit);
        h.peer_reads = true;
        h.feed(&[]);
        prop_assert_eq!(h.sent(), reader.sent());
        prop_assert_eq!(h.records(), reader.records());
    }

    /// Responses come back in the order the requests were sent, each
    /// echoing its own request line and body.
    #[test]
    fn pipelined_requests_are_answered_in_order(
        requests in pipeline(10),
        picks in vec(any::<Index>(), 0..8),
    ) {
        let stream = encode_all(&requests);
        let mut h = Harness::echo(Config::default(), origin());
        h.feed_split(&stream, &cuts(&picks, stream.len()));
        let has_body: Vec<bool> = requests.iter().map(|r| r.method != "HEAD").collect();
        let responses = parse_responses(h.sent(), &has_body).map_err(TestCaseError::fail)?;
        prop_assert_eq!(responses.len(), requests.len());
        for (request, response) in requests.iter().zip(&responses) {
            let summary = format!("{} {}", request.method, request.target);
            prop_assert_eq!(response.status, 200);
            prop_assert_eq!(response.field("x-request"), Some(summary.as_bytes()));
            if request.method != "HEAD" {
                prop_assert_eq!(&response.body, &request.data());
            }
        }
    }

    /// At every point of a scripted run: `handle_timeout` at any instant
    /// before the deadline changes nothing anyone can see; the deadline is
    /// never in the past after a full drain; and when it fires (at some
    /// steps: firing mostly closes), the next one is later or there is none.
    #[test]
    fn early_timeouts_change_nothing_and_deadlines_move_forward(
        steps in vec((step(), 0.0..1.0f64, prop::bool::weighted(0.25)), 1..16),
    ) {
        let mut h = Harness::echo(small_config(), origin());
        for (step, fraction, fire) in steps {
            match step {
                Step::Send(bytes) => h.feed(&bytes.0),
                Step::Advance(by) => h.advance(by),
                Step::PeerReads(reads) => {
                    h.peer_reads = reads;
                    h.feed(&[]);
                }
                Step::Eof => h.eof(),
                Step::Shutdown => h.shutdown(),
            }
            // An open connection always waits for something with a limit.
            let Some(deadline) = h.conn.poll_timeout() else {
                prop_assert!(h.is_closed(), "open with no deadline: {:?}", h.conn.state());
                continue;
            };
            prop_assert!(deadline > h.now(), "a deadline left in the past: {:?}", h.conn.state());

            let before = snapshot(&h);
            let early = h.now() + (deadline - h.now()).mul_f64(fraction);
            let early = if early >= deadline { h.now() } else { early };
            h.conn.handle_timeout(early);
            h.drain();
            // The harness's clock catches up; that calls it once more.
            h.advance(early - h.now());
            prop_assert_eq!(&snapshot(&h), &before);

            if !fire {
                continue;
            }
            h.advance(deadline - h.now());
            if let Some(next) = h.conn.poll_timeout() {
                prop_assert!(next > deadline, "the deadline did not move: {:?}", h.conn.state());
            }
        }
        close_out(&mut h, false)?;
    }

    /// Status, the application's fields, the framing the core chose, body
    /// and trailers all parse back with httparse as they were sent.
    #[test]
    fn responses_parse_back_as_sent(
        exchanges in vec((select(&["GET", "HEAD"][..]), reply()), 1..6),
    ) {
        let stream: Vec<u8> = exchanges
            .iter()
            .flat_map(|(method, _)| format!("{method} / HTTP/1.1\r\nHost: a\r\n\r\n").into_bytes())
            .collect();
        let replies = exchanges.iter().map(|(_, reply)| reply.clone()).collect();
        let mut h = Harness::new(Config::default(), origin(), replier(replies));
        h.feed(&stream);
        let has_body: Vec<bool> = exchanges.iter().map(|(method, _)| *method != "HEAD").collect();
        let responses = parse_responses(h.sent(), &has_body).map_err(TestCaseError::fail)?;
        prop_assert_eq!(responses.len(), exchanges.len());
        for ((method, reply), parsed) in exchanges.iter().zip(&responses) {
            check_reply(parsed, reply, *method == "HEAD")?;
        }
    }
}
