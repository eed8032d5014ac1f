//! What a client sends (`ClientRequest`) and receives (`ReceivedResponse`).

use std::ops::Range;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, StatusCode, Version};

use crate::request::FieldSpans;

/// How a request's body will be framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutgoingBody {
    Empty,
    Length(u64),
    Chunked,
}

/// A request head to send. The application names method, target and its
/// own fields (including `Host`); the core writes framing and `Connection`.
#[derive(Debug, Clone)]
pub struct ClientRequest {
    pub(crate) method: Method,
    pub(crate) target: String,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: OutgoingBody,
    pub(crate) expect_continue: bool,
    pub(crate) close: bool,
}

impl ClientRequest {
    /// A request with no body.
    pub fn new(method: Method, target: impl Into<String>) -> Self {
        ClientRequest {
            method,
            target: target.into(),
            headers: Vec::new(),
            body: OutgoingBody::Empty,
            expect_continue: false,
            close: false,
        }
    }

    /// Adds a field.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The body has this many bytes (`Content-Length`).
    pub fn content_length(mut self, length: u64) -> Self {
        self.body = OutgoingBody::Length(length);
        self
    }

    /// The body is sent in chunks of unknown total length.
    pub fn chunked(mut self) -> Self {
        self.body = OutgoingBody::Chunked;
        self
    }

    /// Sends `Expect: 100-continue` and holds the body until the server
    /// says `100 Continue` (or `Timeouts::expect_continue` passes).
    pub fn expect_continue(mut self) -> Self {
        self.expect_continue = true;
        self
    }

    /// Asks the server to close the connection after the response.
    pub fn close(mut self) -> Self {
        self.close = true;
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request-target.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The application's fields.
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }
}

/// How a response's body is framed (RFC 9112 §6.3), as the core decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseBody {
    /// No body (HEAD, 1xx, 204, 304, or `Content-Length: 0`).
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// Chunked.
    Chunked,
    /// Until the server closes the connection.
    UntilClose,
    /// A switch of protocols or a CONNECT tunnel: the rest is not HTTP.
    Tunnel,
}

/// A parsed, validated response head.
#[derive(Debug, Clone)]
pub struct ReceivedResponse {
    pub(crate) bytes: Bytes,
    pub(crate) version: Version,
    pub(crate) status: StatusCode,
    pub(crate) reason: Range<u32>,
    pub(crate) fields: FieldSpans,
    pub(crate) body: ResponseBody,
    pub(crate) keep_alive: bool,
}

impl ReceivedResponse {
    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// `HTTP/1.0` or `HTTP/1.1`.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The reason phrase as sent.
    pub fn reason(&self) -> &[u8] {
        &self.bytes[self.reason.start as usize..self.reason.end as usize]
    }

    /// The fields in the order received: name (as sent) and value.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.fields.as_slice().iter().map(|span| {
            let name = &self.bytes[span.name()];
            (
                std::str::from_utf8(name).unwrap_or(""),
                &self.bytes[span.value()],
            )
        })
    }

    /// The first value of the field `name` (matched without regard to case).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// How the body is framed.
    pub fn body(&self) -> ResponseBody {
        self.body
    }

    /// Whether the connection stays open after this response.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// The head as an `http::Response<()>` (fields copied into a `HeaderMap`).
    pub fn to_http(&self) -> http::Response<()> {
        let mut response = http::Response::new(());
        *response.status_mut() = self.status;
        *response.version_mut() = self.version;
        for (name, value) in self.headers() {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(value),
            ) {
                response.headers_mut().append(name, value);
            }
        }
        response
    }
}
