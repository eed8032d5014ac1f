//! Response encoding: heads, body framing and chunk lines.
//!
//! Heads are written into one reusable `BytesMut` and split off as `Bytes`;
//! body chunks are queued as the application's own `Bytes`, never copied.

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderName, HeaderValue, StatusCode, Version};

use crate::client::{ClientRequest, OutgoingBody};
use crate::date::DATE_LEN;
use crate::fields;
use crate::{ResponseHead, UsageError};

/// How the response body is framed, and what is left of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyEncoder {
    /// No body may follow (HEAD, 1xx, 204, 304).
    Empty,
    /// `Content-Length`: this many bytes still to send.
    Length { remaining: u64 },
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// HTTP/1.0 peer and no length: the body ends when the connection closes.
    UntilClose,
}

/// What the request and the connection contribute to a response head.
#[derive(Debug)]
pub(crate) struct Exchange<'a> {
    pub(crate) peer_version: Version,
    pub(crate) head_request: bool,
    /// Whether the connection can stay open, before the response has a say.
    pub(crate) keep_alive: bool,
    pub(crate) date: &'a [u8; DATE_LEN],
    pub(crate) server: Option<&'a HeaderValue>,
    /// The body's length when the core holds the whole body (`respond`),
    /// used when the head declares none.
    pub(crate) implied_length: Option<u64>,
}

/// The framing the core chose for a final response.
#[derive(Debug)]
pub(crate) struct Framed {
    pub(crate) body: BodyEncoder,
    pub(crate) keep_alive: bool,
}

/// What the application's own fields say about framing.
struct AppFields {
    length: Option<u64>,
    close: bool,
    has_date: bool,
    has_server: bool,
}

/// Writes the application's own fields to `out`, except those the core
/// writes itself, and reads what they say about framing: one pass.
fn app_fields(
    out: &mut BytesMut,
    head: &ResponseHead,
    implied_length: Option<u64>,
) -> Result<AppFields, UsageError> {
    let mut app = AppFields {
        length: head.content_length,
        close: false,
        has_date: false,
        has_server: false,
    };
    for (name, value) in head.headers() {
        match *name {
            http::header::CONTENT_LENGTH => {
                let length = fields::parse_content_length(value.as_bytes())
                    .map_err(|_| UsageError::InvalidContentLength)?;
                if app.length.is_some_and(|declared| declared != length) {
                    return Err(UsageError::InvalidContentLength);
                }
                app.length = Some(length);
                continue;
            }
            http::header::TRANSFER_ENCODING => {
                if !value.as_bytes().eq_ignore_ascii_case(b"chunked") {
                    return Err(UsageError::TransferEncodingNotAllowed);
                }
                continue;
            }
            http::header::CONNECTION => {
                app.close |= fields::list_contains(value.as_bytes(), "close");
                continue;
            }
            http::header::DATE => app.has_date = true,
            http::header::SERVER => app.has_server = true,
            _ => {}
        }
        field(out, name.as_str().as_bytes(), value.as_bytes());
    }
    app.length = app.length.or(implied_length);
    Ok(app)
}

/// Whether a field is the core's to write (a request's, on the client side).
fn is_core_field(name: &HeaderName) -> bool {
    matches!(
        *name,
        http::header::CONTENT_LENGTH | http::header::TRANSFER_ENCODING | http::header::CONNECTION
    )
}

/// Encodes a final (status >= 200) response head, choosing its framing.
pub(crate) fn final_head(
    out: &mut BytesMut,
    head: &ResponseHead,
    exchange: &Exchange<'_>,
) -> Result<Framed, UsageError> {
    let status = head.status;
    if status.is_informational() {
        return Err(UsageError::WrongStatusClass);
    }
    // The status line and the application's fields go out as they are
    // checked; a refused head is taken back whole.
    let mark = out.len();
    status_line(out, status);
    let app = app_fields(out, head, exchange.implied_length);
    let no_content = status == StatusCode::NO_CONTENT;
    let app = match app {
        Ok(app) if no_content && app.length.is_some_and(|n| n != 0) => {
            Err(UsageError::InvalidContentLength)
        }
        app => app,
    }
    .inspect_err(|_| out.truncate(mark))?;
    let http10 = exchange.peer_version == Version::HTTP_10;
    // The framing a GET would get; HEAD announces it and sends nothing.
    let announced = match app.length {
        _ if no_content => BodyEncoder::Empty,
        Some(length) => BodyEncoder::Length { remaining: length },
        None if status == StatusCode::NOT_MODIFIED => BodyEncoder::Empty,
        None if http10 => BodyEncoder::UntilClose,
        None => BodyEncoder::Chunked,
    };
    let keep_alive = exchange.keep_alive && !app.close && announced != BodyEncoder::UntilClose;
    let body = if exchange.head_request || status == StatusCode::NOT_MODIFIED {
        BodyEncoder::Empty
    } else {
        announced
    };

    let server = exchange.server.filter(|_| !app.has_server);
    let mut end = HeadEnd::default();
    if let Some(server) = server {
        // `Date` first, as always; `Server` has no bound, so not on the stack.
        if !app.has_date {
            field(out, b"Date", exchange.date);
        }
        field(out, b"Server", server.as_bytes());
    } else if !app.has_date {
        end.put(b"Date: ");
        end.put(exchange.date);
        end.put(b"\r\n");
    }
    match announced {
        BodyEncoder::Length { remaining } if !no_content => {
            end.put(b"Content-Length: ");
            end.decimal(remaining);
            end.put(b"\r\n");
        }
        BodyEncoder::Chunked => end.put(b"Transfer-Encoding: chunked\r\n"),
        _ => {}
    }
    if !keep_alive {
        end.put(b"Connection: close\r\n");
    } else if http10 {
        end.put(b"Connection: keep-alive\r\n");
    }
    end.put(b"\r\n");
    out.put_slice(end.as_slice());
    Ok(Framed { body, keep_alive })
}

/// Encodes a request head (client role), choosing its framing.
pub(crate) fn request_head(
    out: &mut BytesMut,
    request: &ClientRequest,
) -> Result<BodyEncoder, UsageError> {
    let mut body = request.body;
    let mut has_host = false;
    for (name, value) in &request.headers {
        match *name {
            http::header::HOST => has_host = true,
            http::header::TRANSFER_ENCODING => return Err(UsageError::TransferEncodingNotAllowed),
            http::header::CONTENT_LENGTH => {
                let length = fields::parse_content_length(value.as_bytes())
                    .map_err(|_| UsageError::InvalidContentLength)?;
                match body {
                    OutgoingBody::Empty => body = OutgoingBody::Length(length),
                    OutgoingBody::Length(declared) if declared == length => {}
                    _ => return Err(UsageError::InvalidContentLength),
                }
            }
            _ => {}
        }
    }
    if !has_host {
        return Err(UsageError::MissingHost);
    }
    out.put_slice(request.method.as_str().as_bytes());
    out.put_u8(b' ');
    out.put_slice(request.target.as_bytes());
    out.put_slice(b" HTTP/1.1\r\n");
    for (name, value) in request
        .headers
        .iter()
        .filter(|(name, _)| !is_core_field(name))
    {
        field(out, name.as_str().as_bytes(), value.as_bytes());
    }
    let encoder = match body {
        OutgoingBody::Empty => BodyEncoder::Empty,
        OutgoingBody::Length(length) => {
            out.put_slice(b"Content-Length: ");
            decimal(out, length);
            out.put_slice(b"\r\n");
            BodyEncoder::Length { remaining: length }
        }
        OutgoingBody::Chunked => {
            out.put_slice(b"Transfer-Encoding: chunked\r\n");
            BodyEncoder::Chunked
        }
    };
    if request.expect_continue && encoder != BodyEncoder::Empty {
        out.put_slice(b"Expect: 100-continue\r\n");
    }
    if request.close {
        out.put_slice(b"Connection: close\r\n");
    }
    out.put_slice(b"\r\n");
    Ok(encoder)
}

/// Encodes an informational head (100, 103, ...) or a protocol switch (101,
/// CONNECT 2xx): the application's fields as given, no framing.
pub(crate) fn bare_head(out: &mut BytesMut, head: &ResponseHead, date: Option<&[u8; DATE_LEN]>) {
    status_line(out, head.status);
    for (name, value) in head.headers() {
        field(out, name.as_str().as_bytes(), value.as_bytes());
    }
    if let Some(date) = date {
        field(out, b"Date", date);
    }
    out.put_slice(b"\r\n");
}

/// The response the core sends for a protocol error: the status, a short
/// text body, and `Connection: close`.
pub(crate) fn error_response(
    out: &mut BytesMut,
    status: StatusCode,
    message: &str,
    date: &[u8; DATE_LEN],
    with_body: bool,
) {
    status_line(out, status);
    field(out, b"Date", date);
    out.put_slice(b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: ");
    decimal(out, message.len() as u64 + 1);
    out.put_slice(b"\r\nConnection: close\r\n\r\n");
    if with_body {
        out.put_slice(message.as_bytes());
        out.put_slice(b"\n");
    }
}

/// The chunk-size line before `len` bytes of chunk data.
pub(crate) fn chunk_line(out: &mut BytesMut, len: usize) {
    let digits = (usize::BITS - len.leading_zeros()).div_ceil(4).max(1);
    for shift in (0..digits).rev() {
        out.put_u8(b"0123456789abcdef"[(len >> (shift * 4)) & 0xf]);
    }
    out.put_slice(b"\r\n");
}

/// The last chunk and the trailer section.
pub(crate) fn last_chunk(out: &mut BytesMut, trailers: &http::HeaderMap) {
    out.put_slice(b"0\r\n");
    for (name, value) in trailers {
        field(out, name.as_str().as_bytes(), value.as_bytes());
    }
    out.put_slice(b"\r\n");
}

pub(crate) const CRLF: Bytes = Bytes::from_static(b"\r\n");
pub(crate) const LAST_CHUNK: Bytes = Bytes::from_static(b"0\r\n\r\n");
pub(crate) const CONTINUE: Bytes = Bytes::from_static(b"HTTP/1.1 100 Continue\r\n\r\n");

fn status_line(out: &mut BytesMut, status: StatusCode) {
    if status == StatusCode::OK {
        // By far the most common line: one copy of a literal.
        out.put_slice(b"HTTP/1.1 200 OK\r\n");
        return;
    }
    out.put_slice(b"HTTP/1.1 ");
    out.put_slice(status.as_str().as_bytes());
    out.put_u8(b' ');
    out.put_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.put_slice(b"\r\n");
}

fn field(out: &mut BytesMut, name: &[u8], value: &[u8]) {
    out.put_slice(name);
    out.put_slice(b": ");
    out.put_slice(value);
    out.put_slice(b"\r\n");
}

/// The fields of a final head that the core writes, and the empty line:
/// assembled on the stack from pieces of known size, then copied into the
/// output at once (one bounds check instead of one per piece).
struct HeadEnd {
    buf: [u8; HEAD_END_MAX],
    len: usize,
}

/// `Date` (37), `Content-Length` with 20 digits (38), `Connection:
/// keep-alive` (24) and the empty line (2), with room to spare.
const HEAD_END_MAX: usize = 128;

impl Default for HeadEnd {
    fn default() -> Self {
        HeadEnd {
            buf: [0; HEAD_END_MAX],
            len: 0,
        }
    }
}

impl HeadEnd {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// `value` in decimal, written in place.
    #[inline]
    fn decimal(&mut self, mut value: u64) {
        let digits = value.checked_ilog10().unwrap_or(0) as usize + 1;
        let end = self.len + digits;
        for slot in self.buf[self.len..end].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
        self.len = end;
    }

    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

fn decimal(out: &mut BytesMut, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.put_slice(&digits[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &[u8; DATE_LEN] = b"Sun, 06 Nov 1994 08:49:37 GMT";

    fn exchange(version: Version, head_request: bool) -> Exchange<'static> {
        Exchange {
            peer_version: version,
            head_request,
            keep_alive: true,
            date: DATE,
            server: None,
            implied_length: None,
        }
    }

    fn encode(head: ResponseHead, exchange: &Exchange<'_>) -> (String, Framed) {
        let mut out = BytesMut::new();
        let framed = final_head(&mut out, &head, exchange).unwrap();
        (String::from_utf8(out.to_vec()).unwrap(), framed)
    }

    #[test]
    fn chooses_framing() {
        let (text, framed) = encode(
            ResponseHead::new(StatusCode::OK).content_length(5),
            &exchange(Version::HTTP_11, false),
        );
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 5\r\n\r\n"
        );
        assert_eq!(framed.body, BodyEncoder::Length { remaining: 5 });

        let (text, framed) = encode(
            ResponseHead::new(StatusCode::OK),
            &exchange(Version::HTTP_11, false),
        );
        assert!(text.contains("Transfer-Encoding: chunked\r\n"));
        assert_eq!(framed.body, BodyEncoder::Chunked);

        let (text, framed) = encode(
            ResponseHead::new(StatusCode::OK),
            &exchange(Version::HTTP_10, false),
        );
        assert!(text.contains("Connection: close\r\n") && !text.contains("chunked"));
        assert_eq!(framed.body, BodyEncoder::UntilClose);
        assert!(!framed.keep_alive);

        let (text, framed) = encode(
            ResponseHead::new(StatusCode::OK).content_length(3),
            &exchange(Version::HTTP_10, false),
        );
        assert!(text.contains("Connection: keep-alive\r\n"));
        assert!(framed.keep_alive);

        let (text, framed) = encode(
            ResponseHead::new(StatusCode::OK).content_length(9),
            &exchange(Version::HTTP_11, true),
        );
        assert!(text.contains("Content-Length: 9\r\n"));
        assert_eq!(framed.body, BodyEncoder::Empty);

        let (text, framed) = encode(
            ResponseHead::new(StatusCode::NO_CONTENT),
            &exchange(Version::HTTP_11, false),
        );
        assert!(!text.contains("Content-Length") && !text.contains("chunked"));
        assert_eq!(framed.body, BodyEncoder::Empty);
    }

    #[test]
    fn refuses_framing_from_the_application() {
        let mut out = BytesMut::new();
        let ex = exchange(Version::HTTP_11, false);
        let te = ResponseHead::new(StatusCode::OK).header(
            http::header::TRANSFER_ENCODING,
            HeaderValue::from_static("gzip"),
        );
        assert_eq!(
            final_head(&mut out, &te, &ex).err(),
            Some(UsageError::TransferEncodingNotAllowed)
        );
        let cl = ResponseHead::new(StatusCode::OK)
            .header(http::header::CONTENT_LENGTH, HeaderValue::from_static("x"));
        assert_eq!(
            final_head(&mut out, &cl, &ex).err(),
            Some(UsageError::InvalidContentLength)
        );
        let info = ResponseHead::new(StatusCode::CONTINUE);
        assert_eq!(
            final_head(&mut out, &info, &ex).err(),
            Some(UsageError::WrongStatusClass)
        );
        assert!(out.is_empty());
    }

    #[test]
    fn writes_chunk_lines_in_hex() {
        let mut out = BytesMut::new();
        for len in [1usize, 15, 16, 255, 4096, 16 * 1024] {
            chunk_line(&mut out, len);
        }
        assert_eq!(&out[..], b"1\r\nf\r\n10\r\nff\r\n1000\r\n4000\r\n");
    }
}
