//! Response heads: parsing with `httparse` and the framing rules for
//! responses (RFC 9112 §6.3), with the same strictness as for requests.

use std::mem::MaybeUninit;

use http::{StatusCode, Version};

use super::message::{ReceivedResponse, ResponseBody};
use crate::fields::FramingFields;
use crate::parse::{check_head, MAX_HEADER_SLOTS};
use crate::request::FieldSpan;
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
        Err(httparse::Error::TooManyHeaders) => return Err(ProtocolError::TooManyHeaders),
        Err(httparse::Error::HeaderName) => return Err(ProtocolError::InvalidHeaderName),
        Err(httparse::Error::HeaderValue) => return Err(ProtocolError::InvalidHeaderValue),
        Err(httparse::Error::NewLine) => return Err(ProtocolError::InvalidLineEnding),
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

    let base = head.as_ptr() as usize;
    let span = |part: &[u8]| {
        let start = (part.as_ptr() as usize - base) as u32;
        start..start + part.len() as u32
    };
    let mut framing = FramingFields::default();
    let mut fields = Vec::with_capacity(response.headers.len());
    for field in response.headers.iter() {
        framing.add(field.name.as_bytes(), field.value)?;
        fields.push(FieldSpan {
            name: span(field.name.as_bytes()),
            value: span(field.value),
        });
    }
    let reason = response
        .reason
        .map_or(0..0, |reason| span(reason.as_bytes()));
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
