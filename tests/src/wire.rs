//! The client side of the wire: raw sockets, sending whole or byte by
//! byte, and a small HTTP/1.1 response parser that keeps the exact bytes.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long any single read or write may block before the test fails. A
/// failure detector only: generous, so a loaded 2-core CI machine passes.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// A connected client socket: `TCP_NODELAY` (so byte-by-byte writes leave
/// as separate segments) and [`IO_TIMEOUT`] on reads and writes.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream.set_nodelay(true).expect("TCP_NODELAY");
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .expect("read timeout");
    stream
        .set_write_timeout(Some(IO_TIMEOUT))
        .expect("write timeout");
    stream
}

/// How a case's bytes go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One write.
    Whole,
    /// One write per byte.
    Bytewise,
}

/// Sends `bytes` as `mode` says.
pub fn send(stream: &mut TcpStream, bytes: &[u8], mode: Mode) -> io::Result<()> {
    match mode {
        Mode::Whole => stream.write_all(bytes),
        Mode::Bytewise => bytes
            .iter()
            .try_for_each(|byte| stream.write_all(std::slice::from_ref(byte))),
    }
}

/// Reads until what arrived, `Date`-normalised, is at least `len` bytes
/// long (or the peer closed, or a read failed). Returns the normalised
/// bytes, which may run past `len`.
pub fn read_normalised(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut got = Vec::with_capacity(len);
    let mut buf = [0u8; 16 * 1024];
    loop {
        let normalised = normalise_date(&got);
        // A Date line may be cut in the middle: wait for its end.
        if normalised.len() >= len && !normalised.ends_with(b"Date: *") {
            return normalised;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return normalised,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// How a read that waits for the end of a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// A clean EOF after this many more bytes.
    Eof(usize),
    /// A reset (or another error) after this many more bytes.
    Reset(usize),
    /// Still open after [`IO_TIMEOUT`], with this many more bytes.
    StillOpen(usize),
}

impl Ending {
    /// Whether the server closed the connection (EOF or reset) without
    /// sending anything more.
    pub fn closed_quietly(self) -> bool {
        matches!(self, Ending::Eof(0) | Ending::Reset(0))
    }
}

/// Reads and counts (without storing) until the connection ends.
pub fn read_to_end(stream: &mut TcpStream) -> Ending {
    let mut buf = vec![0u8; 64 * 1024];
    let mut count = 0;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ending::Eof(count),
            Ok(n) => count += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ending::StillOpen(count)
            }
            Err(_) => return Ending::Reset(count),
        }
    }
}

/// One parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// `1` for HTTP/1.1, `0` for HTTP/1.0.
    pub minor_version: u8,
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// Fields in order, names lowercased, `Date` values replaced by `*`.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a field (name in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the response says `Connection: close`.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// Parses one response at the start of `bytes`. `head_request` says that it
/// answers a HEAD (no body follows); `eof` that no more bytes will come (a
/// body without framing ends there). `Ok(None)`: incomplete.
pub fn parse_response(
    bytes: &[u8],
    head_request: bool,
    eof: bool,
) -> Result<Option<(Response, usize)>, String> {
    let mut fields = [httparse::EMPTY_HEADER; 128];
    let mut parsed = httparse::Response::new(&mut fields);
    let head_len = match parsed.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("{e}: {:?}", String::from_utf8_lossy(bytes))),
    };
    let status = parsed.code.unwrap_or_default();
    let headers: Vec<(String, String)> = parsed
        .headers
        .iter()
        .map(|f| {
            let name = f.name.to_ascii_lowercase();
            let value = if name == "date" {
                "*".to_string()
            } else {
                String::from_utf8_lossy(f.value).into_owned()
            };
            (name, value)
        })
        .collect();
    let mut response = Response {
        minor_version: parsed.version.unwrap_or_default(),
        status,
        reason: parsed.reason.unwrap_or_default().to_string(),
        headers,
        body: Vec::new(),
    };
    let rest = &bytes[head_len..];
    let no_body = head_request || (100..200).contains(&status) || status == 204 || status == 304;
    if no_body {
        return Ok(Some((response, head_len)));
    }
    if let Some(length) = response.header("content-length") {
        let length: usize = length.parse().map_err(|_| format!("bad length {length}"))?;
        if rest.len() < length {
            return Ok(None);
        }
        response.body = rest[..length].to_vec();
        return Ok(Some((response, head_len + length)));
    }
    if response.header("transfer-encoding").is_some() {
        return match dechunk(rest)? {
            Some((body, used)) => {
                response.body = body;
                Ok(Some((response, head_len + used)))
            }
            None => Ok(None),
        };
    }
    if !eof {
        return Ok(None);
    }
    response.body = rest.to_vec();
    Ok(Some((response, bytes.len())))
}

/// A chunked body at the start of `bytes`: its data and the bytes it took,
/// trailers included. `Ok(None)`: incomplete.
fn dechunk(bytes: &[u8]) -> Result<Option<(Vec<u8>, usize)>, String> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let (line, size) = match httparse::parse_chunk_size(&bytes[at..]) {
            Ok(httparse::Status::Complete(found)) => found,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(format!("bad chunk at {at}")),
        };
        at += line;
        if size == 0 {
            // Trailer fields, then an empty line.
            loop {
                let Some(end) = bytes[at..].windows(2).position(|w| w == b"\r\n") else {
                    return Ok(None);
                };
                at += end + 2;
                if end == 0 {
                    return Ok(Some((body, at)));
                }
            }
        }
        let size = size as usize;
        if bytes.len() < at + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&bytes[at..at + size]);
        if &bytes[at + size..at + size + 2] != b"\r\n" {
            return Err(format!("chunk data not followed by CRLF at {at}"));
        }
        at += size + 2;
    }
}

/// Parses every response in `bytes`; `heads[i]` says whether the i-th
/// answers a HEAD (missing entries: no). Bytes after the last complete
/// response are an error.
pub fn parse_all(bytes: &[u8], heads: &[bool]) -> Result<Vec<Response>, String> {
    let mut responses = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let head = heads.get(responses.len()).copied().unwrap_or(false);
        match parse_response(&bytes[at..], head, true)? {
            Some((response, used)) => {
                responses.push(response);
                at += used;
            }
            None => {
                return Err(format!(
                    "incomplete response after {} complete ones: {:?}",
                    responses.len(),
                    String::from_utf8_lossy(&bytes[at..])
                ))
            }
        }
    }
    Ok(responses)
}

/// Reads one response from `stream`, keeping bytes that follow it in
/// `buffer` for the next call.
pub fn read_response(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    head_request: bool,
) -> Result<Response, String> {
    let mut chunk = [0u8; 16 * 1024];
    let mut eof = false;
    loop {
        if let Some((response, used)) = parse_response(buffer, head_request, eof)? {
            buffer.drain(..used);
            return Ok(response);
        }
        if eof {
            return Err(format!(
                "connection ended inside a response: {:?}",
                String::from_utf8_lossy(buffer)
            ));
        }
        match stream.read(&mut chunk) {
            Ok(0) => eof = true,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(e) => {
                return Err(format!(
                    "read: {e} after {:?}",
                    String::from_utf8_lossy(buffer)
                ))
            }
        }
    }
}

/// `bytes` with every `Date` field's value replaced by `*`, so transcripts
/// taken at different times compare equal.
pub fn normalise_date(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let line_start = at == 0 || bytes[at - 1] == b'\n';
        if line_start && bytes.len() - at >= 5 && bytes[at..at + 5].eq_ignore_ascii_case(b"date:") {
            let end = bytes[at..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .map_or(bytes.len(), |p| at + p);
            out.extend_from_slice(b"Date: *");
            at = end;
            continue;
        }
        out.push(bytes[at]);
        at += 1;
    }
    out
}

/// A simple `GET / HTTP/1.1` request.
pub const GET_ROOT: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
/// What `GET /` answers with.
pub const HELLO: &[u8] = b"Hello, World!";
