//! Whole responses to and from the `http` crate's `Response`.

use bytes::Bytes;

use super::{Body, Response};
use crate::ResponseHead;

impl<B: Into<Bytes>> From<http::Response<B>> for Response {
    /// A response held in memory: `http::Response<String>`,
    /// `http::Response<Vec<u8>>`, `http::Response<Bytes>`...
    fn from(response: http::Response<B>) -> Self {
        let (parts, body) = response.into_parts();
        Response::full(ResponseHead::from(parts), body)
    }
}

impl Response {
    /// The response as an `http::Response<Bytes>`, if its body is in memory
    /// (a streamed body is given back as the error).
    #[allow(
        clippy::result_large_err,
        reason = "the error hands the response back unchanged; it is not an error value to pass around"
    )]
    pub fn into_http(self) -> Result<http::Response<Bytes>, Response> {
        let bytes = match self.body {
            Body::Empty => Bytes::new(),
            Body::Full(bytes) => bytes,
            body @ Body::Stream(_) => {
                return Err(Response {
                    head: self.head,
                    body,
                })
            }
        };
        Ok(self.head.to_http().map(|()| bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{header, StatusCode};

    #[test]
    fn round_trip_through_http() {
        let response = http::Response::builder()
            .status(StatusCode::CREATED)
            .header(header::CONTENT_TYPE, "text/plain")
            .body("made")
            .unwrap();
        let ours = Response::from(response);
        assert_eq!(ours.head.status(), StatusCode::CREATED);
        let back = ours.into_http().expect("in memory");
        assert_eq!(back.status(), StatusCode::CREATED);
        assert_eq!(back.headers()[header::CONTENT_TYPE], "text/plain");
        assert_eq!(back.body().as_ref(), b"made");
    }
}
