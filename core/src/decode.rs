//! Request body decoding: `Content-Length` and chunked (RFC 9112 §7.1).
//!
//! One small step per call: the decoder looks at the receive buffer, takes
//! what it can, and says what it found. Data is split out of the buffer
//! without copying. Every line it waits for is bounded, so a peer cannot make
//! it buffer without limit.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::parse::{find_head_end, MAX_HEADER_SLOTS};
use crate::recv::RecvBuffer;
use crate::{Config, ProtocolError};

/// Where a body is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyDecoder {
    /// `Content-Length`: this many bytes still to come.
    Length { remaining: u64 },
    /// Chunked, at `state`; `total` data bytes so far (for `max_body`).
    Chunked { state: ChunkState, total: u64 },
    /// A response body that ends when the connection closes; `total` data
    /// bytes so far (for `max_body`). The caller ends it at EOF.
    UntilClose { total: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChunkState {
    /// Waiting for a chunk-size line.
    Size,
    /// Inside a chunk's data.
    Data { remaining: u64 },
    /// After a chunk's data, expecting CRLF.
    DataEnd,
    /// After the last chunk, expecting trailers or the final CRLF; the
    /// search for the section's end resumes at `scan_from`.
    Trailers { scan_from: usize },
    /// The body ended.
    Done,
}

/// One thing the decoder found.
#[derive(Debug)]
pub(crate) enum Decoded {
    Data(Bytes),
    Trailers(HeaderMap),
    End,
}

/// Fields that say how a message is framed or routed; a trailer may not
/// carry them (RFC 9110 §6.5.1), so they are dropped.
const NOT_IN_TRAILERS: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "host",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "content-encoding",
    "content-type",
    "content-range",
];

impl BodyDecoder {
    pub(crate) fn length(length: u64) -> Self {
        BodyDecoder::Length { remaining: length }
    }

    pub(crate) fn chunked() -> Self {
        BodyDecoder::Chunked {
            state: ChunkState::Size,
            total: 0,
        }
    }

    /// The next thing in the buffer, or `None` when more input is needed.
    pub(crate) fn decode(
        &mut self,
        recv: &mut RecvBuffer,
        config: &Config,
    ) -> Result<Option<Decoded>, ProtocolError> {
        match self {
            BodyDecoder::Length { remaining } => Ok(
                take_data(recv, remaining).or_else(|| (*remaining == 0).then_some(Decoded::End))
            ),
            BodyDecoder::UntilClose { total } => {
                if recv.is_empty() {
                    return Ok(None);
                }
                *total = total.saturating_add(recv.len() as u64);
                if *total > config.limits.max_body {
                    return Err(ProtocolError::BodyTooLarge);
                }
                Ok(Some(Decoded::Data(recv.take_all())))
            }
            BodyDecoder::Chunked { state, total } => loop {
                let step = match state {
                    ChunkState::Size => chunk_size(recv, config, total)?,
                    ChunkState::Data { remaining } => {
                        let data = take_data(recv, remaining);
                        if *remaining == 0 {
                            *state = ChunkState::DataEnd;
                        }
                        return Ok(data);
                    }
                    ChunkState::DataEnd => chunk_data_end(recv, config)?,
                    ChunkState::Trailers { scan_from } => trailers(recv, config, scan_from)?,
                    ChunkState::Done => return Ok(Some(Decoded::End)),
                };
                match step {
                    Step::NeedMore => return Ok(None),
                    Step::Next(next) => *state = next,
                    Step::Emit(next, decoded) => {
                        *state = next;
                        return Ok(Some(decoded));
                    }
                }
            },
        }
    }

    /// Body bytes still declared but not received, when known.
    pub(crate) fn remaining(&self) -> Option<u64> {
        match self {
            BodyDecoder::Length { remaining } => Some(*remaining),
            BodyDecoder::Chunked {
                state: ChunkState::Done,
                ..
            } => Some(0),
            BodyDecoder::Chunked { .. } | BodyDecoder::UntilClose { .. } => None,
        }
    }
}

enum Step {
    NeedMore,
    Next(ChunkState),
    Emit(ChunkState, Decoded),
}

fn take_data(recv: &mut RecvBuffer, remaining: &mut u64) -> Option<Decoded> {
    if *remaining == 0 || recv.is_empty() {
        return None;
    }
    let n = (recv.len() as u64).min(*remaining) as usize;
    *remaining -= n as u64;
    Some(Decoded::Data(recv.split_to(n)))
}

/// `chunk-size [ chunk-ext ] CRLF`, with a bounded line.
fn chunk_size(
    recv: &mut RecvBuffer,
    config: &Config,
    total: &mut u64,
) -> Result<Step, ProtocolError> {
    let data = recv.data();
    let limit = config.limits.max_chunk_line;
    let Some(lf) = data.iter().take(limit + 2).position(|b| *b == b'\n') else {
        return if data.len() > limit + 1 {
            Err(ProtocolError::ChunkLineTooLong)
        } else {
            Ok(Step::NeedMore)
        };
    };
    let line = match data[..lf].strip_suffix(b"\r") {
        Some(line) => line,
        None if config.lenient_bare_lf => &data[..lf],
        None => return Err(ProtocolError::BareLineFeed),
    };
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(ProtocolError::InvalidChunkSize);
    }
    let size = line[..digits].iter().try_fold(0u64, |acc, b| {
        let digit = (*b as char).to_digit(16)?;
        acc.checked_mul(16)?.checked_add(u64::from(digit))
    });
    let size = size.ok_or(ProtocolError::InvalidChunkSize)?;
    check_extension(&line[digits..])?;
    recv.consume(lf + 1);

    *total = total.saturating_add(size);
    if *total > config.limits.max_body {
        return Err(ProtocolError::BodyTooLarge);
    }
    Ok(Step::Next(if size == 0 {
        ChunkState::Trailers { scan_from: 0 }
    } else {
        ChunkState::Data { remaining: size }
    }))
}

/// `*( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )`: after optional
/// whitespace it must open with `;`, and it may hold no control bytes. The
/// extensions' meaning is ignored (RFC 9112 §7.1.1).
fn check_extension(rest: &[u8]) -> Result<(), ProtocolError> {
    let after_ws = rest.iter().position(|b| *b != b' ' && *b != b'\t');
    match after_ws {
        None if rest.is_empty() => Ok(()),
        // Trailing whitespace with no extension: not in the grammar.
        None => Err(ProtocolError::InvalidChunkSize),
        Some(i) if rest[i] != b';' => Err(ProtocolError::InvalidChunkSize),
        Some(_) if rest.iter().any(|b| b.is_ascii_control() && *b != b'\t') => {
            Err(ProtocolError::InvalidChunkExtension)
        }
        Some(_) => Ok(()),
    }
}

fn chunk_data_end(recv: &mut RecvBuffer, config: &Config) -> Result<Step, ProtocolError> {
    match recv.data() {
        [b'\r', b'\n', ..] => recv.consume(2),
        [b'\n', ..] if config.lenient_bare_lf => recv.consume(1),
        [] | [b'\r'] => return Ok(Step::NeedMore),
        _ => return Err(ProtocolError::MissingChunkCrlf),
    }
    Ok(Step::Next(ChunkState::Size))
}

/// `*( field-line CRLF ) CRLF` after the last chunk.
fn trailers(
    recv: &mut RecvBuffer,
    config: &Config,
    scan_from: &mut usize,
) -> Result<Step, ProtocolError> {
    let data = recv.data();
    match data {
        [b'\r', b'\n', ..] => {
            recv.consume(2);
            return Ok(Step::Emit(ChunkState::Done, Decoded::End));
        }
        [b'\n', ..] if config.lenient_bare_lf => {
            recv.consume(1);
            return Ok(Step::Emit(ChunkState::Done, Decoded::End));
        }
        [] | [b'\r'] => return Ok(Step::NeedMore),
        _ => {}
    }
    let limit = config.limits.max_trailer_bytes;
    let end = match find_head_end(data, *scan_from) {
        Ok(end) => end,
        Err(resume) => {
            *scan_from = resume;
            return if data.len() > limit {
                Err(ProtocolError::TrailersTooLarge)
            } else {
                Ok(Step::NeedMore)
            };
        }
    };
    if end > limit {
        return Err(ProtocolError::TrailersTooLarge);
    }
    let section = &data[..end];
    let bare_lf = crate::parse::has_bare_lf(section);
    if bare_lf && !config.lenient_bare_lf {
        return Err(ProtocolError::BareLineFeed);
    }
    // Trailers are rare: a heap slot array is fine here.
    let mut slots = vec![httparse::EMPTY_HEADER; config.limits.max_headers.min(MAX_HEADER_SLOTS)];
    let fields = match httparse::parse_headers(section, &mut slots) {
        Ok(httparse::Status::Complete((len, fields))) if len == end => fields,
        Ok(_) | Err(_) => return Err(ProtocolError::InvalidTrailers),
    };
    let mut map = HeaderMap::with_capacity(fields.len());
    for field in fields.iter() {
        let name = HeaderName::from_bytes(field.name.as_bytes())
            .map_err(|_| ProtocolError::InvalidTrailers)?;
        if NOT_IN_TRAILERS.contains(&name.as_str()) {
            continue;
        }
        let value =
            HeaderValue::from_bytes(field.value).map_err(|_| ProtocolError::InvalidTrailers)?;
        map.append(name, value);
    }
    recv.consume(end);
    if map.is_empty() {
        return Ok(Step::Emit(ChunkState::Done, Decoded::End));
    }
    Ok(Step::Emit(ChunkState::Done, Decoded::Trailers(map)))
}
