//! The response head the application hands to the core.
//!
//! The application names the status and its own fields. Framing
//! (`Content-Length`, `Transfer-Encoding`), `Connection` and `Date` are the
//! core's to write: a `Content-Length` given here (as a field or with
//! [`ResponseHead::content_length`]) is taken as the body's declared length.

use http::{HeaderName, HeaderValue, StatusCode};

/// Status and fields of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) content_length: Option<u64>,
}

impl ResponseHead {
    /// A head with this status and no fields.
    pub fn new(status: StatusCode) -> Self {
        ResponseHead {
            status,
            headers: Vec::new(),
            content_length: None,
        }
    }

    /// Adds a field (builder style).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Declares the body's length, so the core frames it with `Content-Length`.
    pub fn content_length(mut self, length: u64) -> Self {
        self.content_length = Some(length);
        self
    }

    /// Adds a field.
    pub fn push_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.headers.push((name, value));
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The fields the application gave, in order.
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// The declared body length, if any.
    pub fn declared_length(&self) -> Option<u64> {
        self.content_length
    }
}

impl From<http::response::Parts> for ResponseHead {
    fn from(parts: http::response::Parts) -> Self {
        let mut head = ResponseHead::new(parts.status);
        head.headers.reserve(parts.headers.len());
        let mut last_name = None;
        for (name, value) in parts.headers {
            // `HeaderMap` yields a name only for the first of its values.
            if let Some(name) = name {
                last_name = Some(name);
            }
            if let Some(name) = &last_name {
                head.headers.push((name.clone(), value));
            }
        }
        head
    }
}

impl<T> From<http::Response<T>> for ResponseHead {
    fn from(response: http::Response<T>) -> Self {
        response.into_parts().0.into()
    }
}

/// The other direction: a head back into the `http` crate's types.
impl ResponseHead {
    /// The head as an `http::Response<()>`: status and fields (a declared
    /// length becomes a `Content-Length` field unless one is there).
    pub fn to_http(&self) -> http::Response<()> {
        let mut response = http::Response::new(());
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.reserve(self.headers.len());
        for (name, value) in &self.headers {
            headers.append(name.clone(), value.clone());
        }
        if let Some(length) = self.content_length {
            headers
                .entry(http::header::CONTENT_LENGTH)
                .or_insert_with(|| HeaderValue::from(length));
        }
        response
    }
}
