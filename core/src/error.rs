//! The two kinds of error.
//!
//! - [`ProtocolError`]: the peer broke HTTP or a limit. It arrives as
//!   [`Event::Error`](crate::Event::Error) with the error response already
//!   queued, and it is sticky: nothing is parsed after it.
//! - [`UsageError`]: the application misused the API (say, more body than the
//!   declared `Content-Length`). It is returned as a `Result` and leaves the
//!   connection's state unchanged.

use std::fmt;

use http::StatusCode;

/// A request the core refuses, each variant naming what was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The request line is longer than `max_request_line`.
    RequestLineTooLong,
    /// The head is larger than `max_head_bytes`.
    HeadTooLarge,
    /// The head has more than `max_headers` fields.
    TooManyHeaders,
    /// More empty lines than `max_empty_lines` before the request line.
    TooManyEmptyLines,
    /// A line ended in LF without CR (and `lenient_bare_lf` is off).
    BareLineFeed,
    /// A line ending that is neither CRLF nor a lone LF (for example a bare CR).
    InvalidLineEnding,
    /// The method is not a token.
    InvalidMethod,
    /// The request-target has bytes outside visible ASCII.
    InvalidTarget,
    /// The request-target's form does not fit the method (RFC 9112 §3.2).
    TargetFormMismatch,
    /// The request line is not `method SP target SP version`.
    InvalidRequestLine,
    /// The version is well formed but not HTTP/1.0 or HTTP/1.1 (505).
    UnsupportedVersion,
    /// A field line continued on the next line (obs-fold, RFC 9112 §5.2).
    ObsoleteLineFolding,
    /// Whitespace between a field name and its colon (RFC 9112 §5.1).
    WhitespaceBeforeColon,
    /// A field name with bytes outside `token`.
    InvalidHeaderName,
    /// A field value with control bytes.
    InvalidHeaderValue,
    /// An HTTP/1.1 request without `Host`.
    MissingHost,
    /// More than one `Host` field.
    DuplicateHost,
    /// A `Host` value that is not a host and optional port.
    InvalidHost,
    /// Both `Content-Length` and `Transfer-Encoding` (RFC 9112 §6.3).
    ContentLengthWithTransferEncoding,
    /// More than one `Content-Length` field or a list of values, even if
    /// equal: a strict server leaves no room for two readings.
    DuplicateContentLength,
    /// A `Content-Length` that is not plain decimal digits that fit in u64.
    InvalidContentLength,
    /// `Transfer-Encoding` in an HTTP/1.0 request.
    TransferEncodingInHttp10,
    /// `Transfer-Encoding` whose final coding is not `chunked`, or which
    /// applies `chunked` twice, or has an empty list element.
    TransferEncodingNotChunked,
    /// A transfer coding other than `chunked` (501).
    UnsupportedTransferCoding,
    /// A chunk size that is not plain hex or does not fit in u64.
    InvalidChunkSize,
    /// A chunk-size line longer than `max_chunk_line`.
    ChunkLineTooLong,
    /// Invalid bytes in a chunk extension.
    InvalidChunkExtension,
    /// Chunk data not followed by CRLF.
    MissingChunkCrlf,
    /// A trailer section larger than `max_trailer_bytes`.
    TrailersTooLarge,
    /// A trailer section that does not parse.
    InvalidTrailers,
    /// A body larger than `max_body`, declared or counted.
    BodyTooLarge,
    /// The head did not arrive within the head timeout.
    HeadTimeout,
    /// The body stalled for longer than the body timeout.
    BodyTimeout,
    /// The peer closed its side in the middle of a request.
    IncompleteRequest,
    /// (Client) A status line that is not `HTTP/1.x NNN reason`.
    InvalidStatusLine,
    /// (Client) Bytes arrived while no request was waiting for a response.
    UnexpectedResponse,
    /// (Client) The server closed in the middle of a response.
    IncompleteResponse,
    /// (Client) The response head or body did not arrive in time.
    ResponseTimeout,
}

impl ProtocolError {
    /// The status a server answers with.
    pub fn status(self) -> StatusCode {
        use ProtocolError::*;
        match self {
            RequestLineTooLong => StatusCode::URI_TOO_LONG,
            HeadTooLarge | TooManyHeaders | TrailersTooLarge => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            UnsupportedVersion => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            UnsupportedTransferCoding => StatusCode::NOT_IMPLEMENTED,
            BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            HeadTimeout | BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn describe(self) -> &'static str {
        use ProtocolError::*;
        match self {
            RequestLineTooLong => "request line too long",
            HeadTooLarge => "request head too large",
            TooManyHeaders => "too many header fields",
            TooManyEmptyLines => "too many empty lines before the request line",
            BareLineFeed => "bare LF line ending",
            InvalidLineEnding => "invalid line ending",
            InvalidMethod => "invalid method",
            InvalidTarget => "invalid request target",
            TargetFormMismatch => "request target form does not fit the method",
            InvalidRequestLine => "invalid request line",
            UnsupportedVersion => "http version not supported",
            ObsoleteLineFolding => "obsolete line folding",
            WhitespaceBeforeColon => "whitespace before colon in a header field",
            InvalidHeaderName => "invalid header field name",
            InvalidHeaderValue => "invalid header field value",
            MissingHost => "missing host header",
            DuplicateHost => "more than one host header",
            InvalidHost => "invalid host header",
            ContentLengthWithTransferEncoding => "content-length together with transfer-encoding",
            DuplicateContentLength => "more than one content-length",
            InvalidContentLength => "invalid content-length",
            TransferEncodingInHttp10 => "transfer-encoding in an http/1.0 request",
            TransferEncodingNotChunked => "final transfer coding is not chunked",
            UnsupportedTransferCoding => "unsupported transfer coding",
            InvalidChunkSize => "invalid chunk size",
            ChunkLineTooLong => "chunk size line too long",
            InvalidChunkExtension => "invalid chunk extension",
            MissingChunkCrlf => "chunk data not followed by crlf",
            TrailersTooLarge => "trailer section too large",
            InvalidTrailers => "invalid trailer section",
            BodyTooLarge => "request body too large",
            HeadTimeout => "timed out waiting for the request head",
            BodyTimeout => "timed out waiting for the request body",
            IncompleteRequest => "connection closed in the middle of a request",
            InvalidStatusLine => "invalid status line",
            UnexpectedResponse => "response without a request",
            IncompleteResponse => "connection closed in the middle of a response",
            ResponseTimeout => "timed out waiting for the response",
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

impl std::error::Error for ProtocolError {}

/// The application asked for something the connection cannot do now.
/// The connection's state is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UsageError {
    /// There is no request waiting for this response.
    NoRequest,
    /// The final response head has already been sent.
    ResponseAlreadyStarted,
    /// The response head has not been sent yet.
    ResponseNotStarted,
    /// A final response needs a status of 200 or more; an informational one
    /// a status from 100 to 199 other than 101.
    WrongStatusClass,
    /// The response may not have a body (HEAD, 1xx, 204, 304).
    BodyNotAllowed,
    /// More body than the declared `Content-Length`.
    BodyTooLong,
    /// `finish` before the declared `Content-Length` was sent.
    BodyTooShort,
    /// The response headers carry an invalid `Content-Length`, or one that a
    /// 204 or 1xx response may not have.
    InvalidContentLength,
    /// The response headers carry a `Transfer-Encoding` other than `chunked`:
    /// framing is the core's job.
    TransferEncodingNotAllowed,
    /// Trailers need chunked framing, and this response has a `Content-Length`.
    TrailersNeedChunked,
    /// The transmit queue is full: wait for `send_capacity()` to be positive.
    TransmitFull,
    /// The request did not ask for an upgrade (or is not CONNECT), or the
    /// status does not switch protocols (101, or 2xx for CONNECT).
    NotAnUpgrade,
    /// The request body has not been read to its end yet.
    RequestBodyUnread,
    /// The connection is closing or closed.
    Closed,
    /// (Client) An HTTP/1.1 request needs a `Host` field.
    MissingHost,
    /// (Client) The previous request's body is not finished.
    RequestInProgress,
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use UsageError::*;
        f.write_str(match self {
            NoRequest => "no request is waiting for a response",
            ResponseAlreadyStarted => "the response head was already sent",
            ResponseNotStarted => "the response head was not sent yet",
            WrongStatusClass => "status class does not fit this command",
            BodyNotAllowed => "this response may not have a body",
            BodyTooLong => "more body than the declared content-length",
            BodyTooShort => "less body than the declared content-length",
            InvalidContentLength => "invalid content-length in the response",
            TransferEncodingNotAllowed => "transfer-encoding is chosen by the core",
            TrailersNeedChunked => "trailers need a chunked response",
            TransmitFull => "the transmit queue is full",
            NotAnUpgrade => {
                "the request is not an upgrade or connect, or the status does not switch"
            }
            RequestBodyUnread => "the request body was not read to its end",
            Closed => "the connection is closing",
            MissingHost => "an http/1.1 request needs a host field",
            RequestInProgress => "the previous request is not finished",
        })
    }
}

impl std::error::Error for UsageError {}
