//! The conformance cases as data: bytes in, the responses that must come
//! out, and whether the server then closes. Each case is sent whole and one
//! byte at a time; every shell's bytes must equal the core's own transcript
//! (see [`crate::reference`]) after `Date` normalisation, so all shells
//! answer identically.

use crate::reference::{self, Step};
use crate::server::{options, test_config, Start};
use crate::wire::{self, Mode, Response, GET_ROOT, HELLO};

/// One expected response.
#[derive(Debug, Clone, Copy)]
pub struct Exp {
    /// Its status.
    pub status: u16,
    /// It answers a HEAD: no body follows.
    pub head: bool,
    /// Its exact body, where the case pins it.
    pub body: Option<&'static [u8]>,
    /// A field that must be present, name in lowercase, with this value.
    pub field: Option<(&'static str, &'static str)>,
}

/// A response with `status`.
pub const fn st(status: u16) -> Exp {
    Exp {
        status,
        head: false,
        body: None,
        field: None,
    }
}

/// A 200 with exactly `body`.
pub const fn ok(body: &'static [u8]) -> Exp {
    Exp {
        status: 200,
        head: false,
        body: Some(body),
        field: None,
    }
}

/// A response to HEAD with `status`.
pub const fn head(status: u16) -> Exp {
    Exp {
        status,
        head: true,
        body: Some(b""),
        field: None,
    }
}

impl Exp {
    /// The same, also requiring the field `name: value`.
    pub const fn with(mut self, name: &'static str, value: &'static str) -> Exp {
        self.field = Some((name, value));
        self
    }
}

/// One case.
#[derive(Debug, Clone)]
pub struct Case {
    /// What it checks.
    pub name: &'static str,
    /// The bytes the client sends.
    pub input: Vec<u8>,
    /// The responses, in order.
    pub expect: Vec<Exp>,
    /// Whether the server closes the connection after them. If not, a
    /// follow-up `GET /` on the same connection must be answered.
    pub closes: bool,
}

// The tables below keep one case per line: they are data, read across.

fn keeps(name: &'static str, input: &[u8], expect: &[Exp]) -> Case {
    Case {
        name,
        input: input.to_vec(),
        expect: expect.to_vec(),
        closes: false,
    }
}

fn closes(name: &'static str, input: &[u8], expect: &[Exp]) -> Case {
    Case {
        closes: true,
        ..keeps(name, input, expect)
    }
}

/// The demo application's routes.
#[rustfmt::skip]
pub fn routes() -> Vec<Case> {
    vec![
        keeps("GET /", GET_ROOT, &[ok(HELLO).with("content-type", "text/plain")]),
        keeps("GET /plaintext", b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n", &[ok(HELLO)]),
        keeps("HEAD /", b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", &[head(200).with("content-length", "13")]),
        keeps("HEAD /bytes/100", b"HEAD /bytes/100 HTTP/1.1\r\nHost: a\r\n\r\n", &[head(200).with("content-length", "100")]),
        keeps("HEAD /chunked/100", b"HEAD /chunked/100 HTTP/1.1\r\nHost: a\r\n\r\n", &[head(200)]),
        keeps("POST /echo", b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world", &[ok(b"hello world").with("content-type", "application/octet-stream")]),
        keeps("POST /echo empty", b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &[ok(b"")]),
        keeps("GET /bytes/1000", b"GET /bytes/1000 HTTP/1.1\r\nHost: a\r\n\r\n", &[ok(&[b'x'; 1000]).with("content-length", "1000")]),
        keeps("GET /bytes/0", b"GET /bytes/0 HTTP/1.1\r\nHost: a\r\n\r\n", &[ok(b"")]),
        keeps("GET /chunked/100", b"GET /chunked/100 HTTP/1.1\r\nHost: a\r\n\r\n", &[ok(&[b'x'; 100]).with("transfer-encoding", "chunked")]),
        keeps("GET /chunked/0", b"GET /chunked/0 HTTP/1.1\r\nHost: a\r\n\r\n", &[ok(b"")]),
        keeps("404", b"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n", &[st(404)]),
        keeps("404 for a bad number", b"GET /bytes/abc HTTP/1.1\r\nHost: a\r\n\r\n", &[st(404)]),
        keeps("HEAD of a 404", b"HEAD /nope HTTP/1.1\r\nHost: a\r\n\r\n", &[head(404)]),
        keeps("405 POST /", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", &[st(405).with("allow", "GET, HEAD")]),
        keeps("405 GET /echo", b"GET /echo HTTP/1.1\r\nHost: a\r\n\r\n", &[st(405).with("allow", "POST")]),
        keeps("405 DELETE /bytes/10", b"DELETE /bytes/10 HTTP/1.1\r\nHost: a\r\n\r\n", &[st(405).with("allow", "GET, HEAD")]),
        keeps("absolute-form target", b"GET http://a/plaintext HTTP/1.1\r\nHost: a\r\n\r\n", &[ok(HELLO)]),
    ]
}

/// Keep-alive, close, HTTP/1.0 and pipelining.
#[rustfmt::skip]
pub fn connection() -> Vec<Case> {
    let mut pipelined = Vec::new();
    let mut expect = Vec::new();
    for i in 0..10 {
        match i % 5 {
            0 => {
                pipelined.extend_from_slice(GET_ROOT);
                expect.push(ok(HELLO));
            }
            1 => {
                pipelined.extend_from_slice(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
                expect.push(ok(b"abc"));
            }
            2 => {
                pipelined.extend_from_slice(b"HEAD /bytes/10 HTTP/1.1\r\nHost: a\r\n\r\n");
                expect.push(head(200));
            }
            3 => {
                pipelined.extend_from_slice(b"GET /chunked/5 HTTP/1.1\r\nHost: a\r\n\r\n");
                expect.push(ok(b"xxxxx"));
            }
            _ => {
                pipelined.extend_from_slice(b"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n");
                expect.push(st(404));
            }
        }
    }
    vec![
        keeps("keep-alive: two requests", &[GET_ROOT, GET_ROOT].concat(), &[ok(HELLO), ok(HELLO)]),
        closes("Connection: close", b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", &[ok(HELLO).with("connection", "close")]),
        closes("Connection: close on the second request", &[GET_ROOT, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"].concat(), &[ok(HELLO), ok(HELLO).with("connection", "close")]),
        closes("HTTP/1.0", b"GET / HTTP/1.0\r\n\r\n", &[ok(HELLO)]),
        keeps("HTTP/1.0 keep-alive", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &[ok(HELLO).with("connection", "keep-alive")]),
        closes("HTTP/1.0 keep-alive, then without", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n", &[ok(HELLO), ok(HELLO)]),
        closes("HTTP/1.0 chunked response ends at close", b"GET /chunked/10 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &[ok(b"xxxxxxxxxx")]),
        keeps("leading empty lines", &[b"\r\n\r\n", GET_ROOT].concat(), &[ok(HELLO)]),
        keeps("10 pipelined requests", &pipelined, &expect),
        keeps("pipelined after a discarded body", &[b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", GET_ROOT].concat(), &[st(405), ok(HELLO)]),
    ]
}

/// Request bodies: chunked and sized.
#[rustfmt::skip]
pub fn bodies() -> Vec<Case> {
    vec![
        keeps("chunked echo", b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", &[ok(b"hello world")]),
        keeps("chunked, extension and trailer", b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;name=\"v\"\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n", &[ok(b"hello")]),
        keeps("chunk sizes in either case", b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n", &[ok(b"01234567890123456789")]),
        keeps("empty chunked body", b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", &[ok(b"")]),
        keeps("body bytes that look like a request", b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 27\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", &[ok(GET_ROOT)]),
        keeps("chunked then sized, pipelined", b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\ndef", &[ok(b"abc"), ok(b"def")]),
    ]
}

/// Request smuggling and malformed requests: refused, then closed.
#[rustfmt::skip]
pub fn smuggling() -> Vec<Case> {
    vec![
        closes("Content-Length with Transfer-Encoding", b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", &[st(400).with("connection", "close")]),
        closes("two Content-Lengths", b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", &[st(400)]),
        closes("two equal Content-Lengths", b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", &[st(400)]),
        closes("Content-Length list", b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc", &[st(400)]),
        closes("signed Content-Length", b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc", &[st(400)]),
        closes("non-numeric Content-Length", b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", &[st(400)]),
        closes("Transfer-Encoding not ending in chunked", b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", &[st(400)]),
        closes("Transfer-Encoding: identity", b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", &[st(400)]),
        closes("unknown transfer coding", b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", &[st(501)]),
        closes("Transfer-Encoding in HTTP/1.0", b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", &[st(400)]),
        closes("chunk size 0x5", b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", &[st(400)]),
        closes("chunk size not hex", b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nG\r\n", &[st(400)]),
        closes("chunk size overflow", b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", &[st(400)]),
        closes("chunk data without CRLF", b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", &[st(400)]),
        closes("bare LF in a chunk line", b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", &[st(400)]),
        closes("bare LF in the head", b"GET / HTTP/1.1\nHost: a\r\n\r\n", &[st(400)]),
        closes("bare LF ending the head", b"GET / HTTP/1.1\r\nHost: a\n\n", &[st(400)]),
        closes("bare CR in the head", b"GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", &[st(400)]),
        closes("obs-fold", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n  b\r\n\r\n", &[st(400)]),
        closes("space before colon", b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello", &[st(400)]),
        closes("missing Host", b"GET / HTTP/1.1\r\n\r\n", &[st(400)]),
        closes("two Hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", &[st(400)]),
        closes("HTTP/2.0", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", &[st(505)]),
        closes("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &[st(505)]),
        closes("garbage version", b"GET / HTTP/one\r\nHost: a\r\n\r\n", &[st(400)]),
        closes("non-ASCII target", b"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", &[st(400)]),
        closes("good request, then two Content-Lengths", b"GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", &[ok(HELLO), st(400)]),
        closes("request smuggled behind a bad chunk", b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nG\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\n", &[st(400)]),
    ]
}

/// Size limits: refused with their status, then closed.
#[rustfmt::skip]
pub fn limits() -> Vec<Case> {
    let long_line = [b"GET /".as_slice(), &[b'a'; 9000], b" HTTP/1.1\r\nHost: a\r\n\r\n"].concat();
    let mut many = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
    for i in 0..101 {
        many.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    let mut large = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
    for i in 0..20 {
        large.extend_from_slice(format!("X-{i}: {}\r\n", "v".repeat(1000)).as_bytes());
    }
    large.extend_from_slice(b"\r\n");
    vec![
        closes("request line over 8 KiB", &long_line, &[st(414)]),
        closes("101 header fields", &many, &[st(431)]),
        closes("head over 16 KiB", &large, &[st(431)]),
        closes("Content-Length over max_body", b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 16777217\r\n\r\n", &[st(413)]),
        closes("Content-Length over max_body with 100-continue", b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 16777217\r\nExpect: 100-continue\r\n\r\n", &[st(413)]),
        closes("chunk over max_body", b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n", &[st(413)]),
    ]
}

/// Runs every case of a group against a fresh server, whole and byte by
/// byte. Failures are collected so one run reports every broken case.
pub fn run_group(start: Start, cases: &[Case]) {
    let config = test_config();
    let server = start(options(config.clone()));
    let mut failures = Vec::new();
    for case in cases {
        let transcript = reference::run(&config, &[Step::Feed(&case.input)]);
        let expected = transcript.all();
        let heads: Vec<bool> = case.expect.iter().map(|e| e.head).collect();
        // The table states intent; the core must agree before shells are judged.
        if let Err(e) = check_intent(case, &expected, &heads, transcript.closes) {
            failures.push(format!("{}: the core itself: {e}", case.name));
            continue;
        }
        for mode in [Mode::Whole, Mode::Bytewise] {
            if let Err(e) = run_case(server.addr(), case, mode, &expected, &heads) {
                failures.push(format!("{} ({mode:?}): {e}", case.name));
            }
        }
    }
    drop(server);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn check_intent(case: &Case, sent: &[u8], heads: &[bool], closes: bool) -> Result<(), String> {
    let responses = wire::parse_all(sent, heads)?;
    check_responses(case, &responses)?;
    if closes != case.closes {
        return Err(format!("closes: {closes}, the table says {}", case.closes));
    }
    Ok(())
}

fn check_responses(case: &Case, responses: &[Response]) -> Result<(), String> {
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    let wanted: Vec<u16> = case.expect.iter().map(|e| e.status).collect();
    if statuses != wanted {
        return Err(format!("statuses {statuses:?}, expected {wanted:?}"));
    }
    for (response, exp) in responses.iter().zip(&case.expect) {
        if let Some(body) = exp.body {
            if response.body != body {
                return Err(format!(
                    "body {:?}, expected {:?}",
                    String::from_utf8_lossy(&response.body),
                    String::from_utf8_lossy(body)
                ));
            }
        }
        if let Some((name, value)) = exp.field {
            if response.header(name) != Some(value) {
                return Err(format!(
                    "{name}: {:?}, expected {value:?}",
                    response.header(name)
                ));
            }
        }
    }
    Ok(())
}

/// One case over a real connection: same parsed responses and the same
/// bytes as the core's transcript, then the close or a working follow-up.
fn run_case(
    addr: std::net::SocketAddr,
    case: &Case,
    mode: Mode,
    expected: &[u8],
    heads: &[bool],
) -> Result<(), String> {
    let mut stream = wire::connect(addr);
    let sent = wire::send(&mut stream, &case.input, mode);
    if let (Err(e), false) = (&sent, case.closes) {
        return Err(format!("write failed: {e}"));
    }
    let mut got = wire::read_normalised(&mut stream, expected.len());
    let extra = got.split_off(got.len().min(expected.len()));
    let responses = wire::parse_all(&got, heads).map_err(|e| {
        format!(
            "unparsable: {e}\nbytes: {:?}",
            String::from_utf8_lossy(&got)
        )
    })?;
    let reference = wire::parse_all(expected, heads)?;
    if responses != reference {
        return Err(format!(
            "responses differ from the core's:\n got: {responses:?}\nwant: {reference:?}"
        ));
    }
    if got != expected {
        return Err(format!(
            "bytes differ from the core's:\n got: {:?}\nwant: {:?}",
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected)
        ));
    }
    if case.closes {
        let more = extra.len();
        match wire::read_to_end(&mut stream) {
            wire::Ending::Eof(0) | wire::Ending::Reset(0) if more == 0 => Ok(()),
            ending => Err(format!(
                "expected a close, got {ending:?} after {more} extra bytes"
            )),
        }
    } else {
        let mut buffer = extra;
        wire::send(&mut stream, GET_ROOT, Mode::Whole).map_err(|e| format!("follow-up: {e}"))?;
        let follow = wire::read_response(&mut stream, &mut buffer, false)
            .map_err(|e| format!("follow-up: {e}"))?;
        if follow.status != 200 || follow.body != HELLO || !buffer.is_empty() {
            return Err(format!(
                "follow-up GET /: {follow:?}, {} extra bytes",
                buffer.len()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table's intent and the core's in-memory transcript agree, before
    /// any shell is involved.
    #[test]
    fn the_core_agrees_with_the_table() {
        let config = test_config();
        let mut failures = Vec::new();
        for case in [routes(), connection(), bodies(), smuggling(), limits()].concat() {
            let transcript = reference::run(&config, &[Step::Feed(&case.input)]);
            let heads: Vec<bool> = case.expect.iter().map(|e| e.head).collect();
            if let Err(e) = check_intent(&case, &transcript.all(), &heads, transcript.closes) {
                failures.push(format!(
                    "{}: {e}\n{}",
                    case.name,
                    String::from_utf8_lossy(&transcript.all())
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }
}
