//! Response heads: parsing with `httparse` and the framing rules for
//! responses (RFC 9112 §6.3), with the same strictness as for requests.

use std::mem::MaybeUninit;

use http::{StatusCode, Version};

use super::message::{ReceivedResponse, ResponseBody};
use crate::fields::FramingFields;
use crate::parse::{check_head, classify_field_error, field_spans, span, MAX_HEADER_SLOTS};
use crate::{Config, ProtocolError};

/// What the request said that decides how its response is framed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asked {
    pub(crate) head: bool,
    pub(crate) connect: bool,
}

/// Parses and validates a complete response head.
pub(crate) fn parse_response_head(
    head: &[u8],
    config: &Config,
    asked: Asked,
) -> Result<ReceivedResponse, ProtocolError> {
    check_head(head, config)?;
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADER_SLOTS];
    let slots = &mut slots[..config.limits.max_headers.min(MAX_HEADER_SLOTS)];
    let mut response = httparse::Response::new(&mut []);
    let parser = httparse::ParserConfig::default();
    match parser.parse_response_with_uninit_headers(&mut response, head, slots) {
        Ok(httparse::Status::Complete(len)) if len == head.len() => {}
        Ok(_) => return Err(ProtocolError::InvalidLineEnding),
        Err(error) if classify_field_error(error, status_line_rest(head)).is_some() => {
            let fields = status_line_rest(head);
            return Err(
                classify_field_error(error, fields).unwrap_or(ProtocolError::InvalidHeaderName)
            );
        }
        Err(httparse::Error::Version) if head.starts_with(b"HTTP/") => {
            return Err(ProtocolError::UnsupportedVersion)
        }
        Err(_) => return Err(ProtocolError::InvalidStatusLine),
    }
    let status = response
        .code
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or(ProtocolError::InvalidStatusLine)?;
    let version = if response.version == Some(0) {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };

    let mut framing = FramingFields::default();
    let fields = field_spans(head, response.headers, &mut framing)?;
    let reason = response.reason.map_or(0..0, |reason| {
        let (start, end) = span(head, reason.as_bytes());
        start..end
    });
    let body = response_body(&framing, status, version, asked, config)?;
    let keep_alive = body != ResponseBody::UntilClose
        && !framing.close
        && (version == Version::HTTP_11 || framing.keep_alive);
    Ok(ReceivedResponse {
        bytes: bytes::Bytes::new(),
        version,
        status,
        reason,
        fields,
        body,
        keep_alive,
    })
}

/// The head after its status line: the field section.
fn status_line_rest(head: &[u8]) -> &[u8] {
    let end = head.iter().position(|b| *b == b'\n').unwrap_or(head.len());
    head.get(end + 1..).unwrap_or_default()
}

/// RFC 9112 §6.3, in order.
fn response_body(
    framing: &FramingFields,
    status: StatusCode,
    version: Version,
    asked: Asked,
    config: &Config,
) -> Result<ResponseBody, ProtocolError> {
    if status == StatusCode::SWITCHING_PROTOCOLS || (asked.connect && status.is_success()) {
        return Ok(ResponseBody::Tunnel);
    }
    if asked.head
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok(ResponseBody::Empty);
    }
    if framing.transfer_codings.present {
        if framing.content_length.is_some() {
            return Err(ProtocolError::ContentLengthWithTransferEncoding);
        }
        if version == Version::HTTP_10 {
            return Err(ProtocolError::TransferEncodingInHttp10);
        }
        // A response whose final coding is not chunked runs until the close
        // (§6.3 rule 4); one we would have to decode is refused.
        return match framing.transfer_codings.finish() {
            Ok(_) => Ok(ResponseBody::Chunked),
            Err(ProtocolError::TransferEncodingNotChunked)
                if !framing.transfer_codings.chunked_last() =>
            {
                Ok(ResponseBody::UntilClose)
            }
            Err(error) => Err(error),
        };
    }
    match framing.content_length {
        Some(0) => Ok(ResponseBody::Empty),
        Some(length) if length > config.limits.max_body => Err(ProtocolError::BodyTooLarge),
        Some(length) => Ok(ResponseBody::Length(length)),
        None => Ok(ResponseBody::UntilClose),
    }
}
