//! The request head as the application sees it.
//!
//! The head's bytes are split from the receive buffer without a copy and kept
//! whole; method, target and fields are ranges into them. `to_http()` gives
//! the `http` crate's types for the rest of a Rust stack.

use std::ops::Range;

use bytes::Bytes;
use http::{Method, Version};

pub(crate) use crate::spans::{FieldSpan, FieldSpans};

/// How the request's body is framed (RFC 9112 §6.3), as the core decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestBody {
    /// No body.
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A parsed, validated request head.
#[derive(Debug, Clone)]
pub struct RequestHead {
    pub(crate) bytes: Bytes,
    pub(crate) method: Method,
    pub(crate) version: Version,
    pub(crate) target: Range<u32>,
    pub(crate) fields: FieldSpans,
    pub(crate) body: RequestBody,
    pub(crate) keep_alive: bool,
    pub(crate) expects_continue: bool,
    pub(crate) wants_upgrade: bool,
}

impl RequestHead {
    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// `HTTP/1.0` or `HTTP/1.1`.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The request-target exactly as sent (origin, absolute, authority or
    /// asterisk form); always visible ASCII.
    pub fn target(&self) -> &str {
        std::str::from_utf8(&self.bytes[range(&self.target)]).unwrap_or("")
    }

    /// The path of an origin-form target, without the query.
    pub fn path(&self) -> &str {
        let target = self.target();
        // Origin-form is by far the most common: no scheme to look for.
        let path = if target.starts_with('/') {
            target
        } else if let Some(scheme_end) = target.find("://") {
            let rest = &target[scheme_end + 3..];
            rest.find('/').map_or("/", |slash| &rest[slash..])
        } else {
            target
        };
        path.split_once('?').map_or(path, |(path, _query)| path)
    }

    /// The header fields in the order received: name (as sent) and value.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.fields.as_slice().iter().map(|span| {
            let name = std::str::from_utf8(&self.bytes[span.name()]).unwrap_or("");
            (name, &self.bytes[span.value()])
        })
    }

    /// The first value of the field `name` (matched without regard to case).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// How the body is framed.
    pub fn body(&self) -> RequestBody {
        self.body
    }

    /// Whether the connection stays open after this exchange, as far as the
    /// request is concerned.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// Whether the client sent `Expect: 100-continue` (HTTP/1.1 only).
    pub fn expects_continue(&self) -> bool {
        self.expects_continue
    }

    /// Whether the client asked to switch protocols (`Upgrade` listed in
    /// `Connection`) or to open a tunnel (CONNECT).
    pub fn wants_upgrade(&self) -> bool {
        self.wants_upgrade || self.method == Method::CONNECT
    }

    /// The head as an `http::Request<()>`. This copies the fields into a
    /// `HeaderMap`; fields the `http` crate refuses are left out (the core
    /// has already rejected anything outside RFC 9110's grammar, so in
    /// practice none are).
    pub fn to_http(&self) -> http::Request<()> {
        let mut builder = http::Request::builder()
            .method(self.method.clone())
            .version(self.version)
            .uri(self.target());
        if let Some(headers) = builder.headers_mut() {
            headers.reserve(self.fields.len());
            for (name, value) in self.headers() {
                if let (Ok(name), Ok(value)) = (
                    http::HeaderName::from_bytes(name.as_bytes()),
                    http::HeaderValue::from_bytes(value),
                ) {
                    headers.append(name, value);
                }
            }
        }
        builder.body(()).unwrap_or_else(|_| {
            // The target was validated as visible ASCII; the `http` crate may
            // still refuse some forms. Keep method and version, drop the URI.
            let mut request = http::Request::new(());
            *request.method_mut() = self.method.clone();
            *request.version_mut() = self.version;
            request
        })
    }
}

fn range(r: &Range<u32>) -> Range<usize> {
    r.start as usize..r.end as usize
}

/// Conveniences for handlers: the query, and field values as text.
impl RequestHead {
    /// The query of the target (after `?`, without the fragment), if any.
    pub fn query(&self) -> Option<&str> {
        let (_, query) = self.target().split_once('?')?;
        Some(query.split_once('#').map_or(query, |(query, _)| query))
    }

    /// The first value of the field `name` as text, if it is visible ASCII
    /// (spaces and tabs allowed), as the `http` crate's `to_str` has it.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(visible_ascii)
    }

    /// The fields whose values are visible ASCII, as text, in order.
    pub fn headers_str(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.headers()
            .filter_map(|(name, value)| Some((name, visible_ascii(value)?)))
    }
}

fn visible_ascii(value: &[u8]) -> Option<&str> {
    let visible = value
        .iter()
        .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b));
    visible.then(|| std::str::from_utf8(value).ok()).flatten()
}
