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
    pub(crate) headers: HeadFields,
    pub(crate) content_length: Option<u64>,
}

/// Fields held inline: a typical response names a few (`Content-Type`, a
/// cache field), so building one costs no allocation.
const INLINE: usize = 4;

/// What fills an unused inline slot: a standard name (dropping it is a
/// no-op, where a custom one would call through its `Bytes` vtable).
const UNUSED: (HeaderName, HeaderValue) = (http::header::ACCEPT, HeaderValue::from_static(""));

/// A response's own fields: inline up to `INLINE`, then on the heap.
#[derive(Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "inline is the point: the common head is built without allocating"
)]
pub(crate) enum HeadFields {
    Inline {
        len: usize,
        fields: [(HeaderName, HeaderValue); INLINE],
    },
    Heap(Vec<(HeaderName, HeaderValue)>),
}

impl HeadFields {
    #[inline]
    fn new() -> Self {
        HeadFields::Inline {
            len: 0,
            fields: [UNUSED; INLINE],
        }
    }

    #[inline]
    fn push(&mut self, field: (HeaderName, HeaderValue)) {
        match self {
            HeadFields::Inline { len, fields } if *len < INLINE => {
                fields[*len] = field;
                *len += 1;
            }
            HeadFields::Inline { fields, .. } => {
                let mut heap: Vec<_> = std::mem::replace(fields, [UNUSED; INLINE]).into();
                heap.push(field);
                *self = HeadFields::Heap(heap);
            }
            HeadFields::Heap(heap) => heap.push(field),
        }
    }

    fn reserve(&mut self, additional: usize) {
        if let HeadFields::Heap(heap) = self {
            heap.reserve(additional);
        } else if self.len() + additional > INLINE {
            let mut heap = Vec::with_capacity(self.len() + additional);
            heap.extend(self.as_slice().iter().cloned());
            *self = HeadFields::Heap(heap);
        }
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[(HeaderName, HeaderValue)] {
        match self {
            HeadFields::Inline { len, fields } => &fields[..*len],
            HeadFields::Heap(heap) => heap,
        }
    }

    fn len(&self) -> usize {
        self.as_slice().len()
    }
}

impl std::fmt::Debug for HeadFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl PartialEq for HeadFields {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for HeadFields {}

impl ResponseHead {
    /// A head with this status and no fields.
    #[inline]
    pub fn new(status: StatusCode) -> Self {
        ResponseHead {
            status,
            headers: HeadFields::new(),
            content_length: None,
        }
    }

    /// Adds a field (builder style).
    #[inline]
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Declares the body's length, so the core frames it with `Content-Length`.
    #[inline]
    pub fn content_length(mut self, length: u64) -> Self {
        self.content_length = Some(length);
        self
    }

    /// Adds a field.
    #[inline]
    pub fn push_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.headers.push((name, value));
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The fields the application gave, in order.
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        self.headers.as_slice()
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
        for (name, value) in self.headers.as_slice() {
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
