//! Heads, for both roles: finding their end, the checks before `httparse`
//! (size, line endings), the field spans and framing fields gathered in the
//! same pass, and naming what `httparse` refused. Then the request's own
//! rules (request line, versions, target forms, `Host`); the response's
//! framing rules are the client's (`client/parse.rs`).
//!
//! Parsing happens only once the whole head is buffered (its end is searched
//! for incrementally), so a peer that sends one byte at a time costs linear,
//! not quadratic, work.

use std::mem::MaybeUninit;

use http::{Method, Version};

use crate::fields::{self, FramingFields};
use crate::recv::RecvBuffer;
use crate::request::{FieldSpan, FieldSpans, RequestBody, RequestHead};
use crate::{Config, ProtocolError};

/// Whether a whole request head is buffered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadEnd {
    /// Not yet; nothing wrong so far.
    Incomplete,
    /// The head ends here (one past its empty line).
    At(usize),
}

/// How far the start of an incomplete request line is known to be valid,
/// so bytes that can never begin a request (a TLS handshake, binary noise)
/// are refused as soon as they arrive, not at the head timeout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LineCheck {
    /// Bytes of the method checked so far.
    checked: usize,
    /// The method ended with a space: the rest is left to the full parse.
    done: bool,
}

impl LineCheck {
    /// Checks the bytes of the method that arrived since the last call.
    fn advance(&mut self, data: &[u8]) -> Result<(), ProtocolError> {
        while !self.done {
            let Some(&byte) = data.get(self.checked) else {
                return Ok(());
            };
            match byte {
                b' ' if self.checked > 0 => self.done = true,
                // Line ends (an empty line not yet whole, too): the full
                // parse names what is wrong with them.
                b'\r' | b'\n' => self.done = true,
                byte if is_tchar(byte) => self.checked += 1,
                _ => return Err(ProtocolError::InvalidMethod),
            }
        }
        Ok(())
    }
}

/// RFC 9110 §5.6.2 `tchar`: what a method is made of.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// RFC 9112 §2.2: a server SHOULD ignore at least one empty line before
/// a request line; we ignore up to `max_empty_lines`. True if any was
/// skipped (so the search for the head's end starts over).
pub(crate) fn skip_empty_lines(
    recv: &mut RecvBuffer,
    empty_lines: &mut usize,
    config: &Config,
) -> Result<bool, ProtocolError> {
    let mut skipped = false;
    loop {
        let skip = match recv.data() {
            [b'\r', b'\n', ..] => 2,
            [b'\n', ..] if config.lenient_bare_lf => 1,
            [b'\n', ..] => return Err(ProtocolError::BareLineFeed),
            _ => return Ok(skipped),
        };
        recv.consume(skip);
        skipped = true;
        *empty_lines += 1;
        if *empty_lines > config.limits.max_empty_lines {
            return Err(ProtocolError::TooManyEmptyLines);
        }
    }
}

/// What the search for a head's end has learnt on the way, so that no
/// later check walks the head again: one pass finds the end, the request
/// line's length and any bare LF.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct HeadScan {
    /// Where the search resumes when more bytes arrive.
    resume: usize,
    /// The first LF (the request line's end), once seen.
    first_lf: Option<usize>,
    /// Whether an LF without a CR before it was seen.
    bare_lf: bool,
}

impl HeadScan {
    /// Scans `buf` from where the last call stopped; the head's end (one
    /// past its empty line) once it is there.
    fn scan(&mut self, buf: &[u8]) -> Option<usize> {
        let mut at = self.resume;
        // A word at a time, and within a word every LF in turn: one pass
        // over the head, however many lines it has.
        while let Some(word) = buf.get(at..at + 8) {
            let mut lfs = lf_bytes(u64::from_le_bytes(word.try_into().unwrap_or([0; 8])));
            while lfs != 0 {
                let lf = at + (lfs.trailing_zeros() / 8) as usize;
                lfs &= lfs - 1;
                if let Some(end) = self.line_end(buf, lf) {
                    return end;
                }
            }
            at += 8;
        }
        while let Some(offset) = buf[at.min(buf.len())..].iter().position(|b| *b == b'\n') {
            let lf = at + offset;
            if let Some(end) = self.line_end(buf, lf) {
                return end;
            }
            at = lf + 1;
        }
        self.resume = buf.len();
        None
    }

    /// Looks at the LF at `lf`: `Some(Some(end))` when it ends the head,
    /// `Some(None)` when the bytes after it are still to come (the search
    /// resumes on it), `None` when the head goes on.
    #[inline]
    fn line_end(&mut self, buf: &[u8], lf: usize) -> Option<Option<usize>> {
        // An LF is looked at again when the search resumes on it, so these
        // are idempotent.
        self.first_lf.get_or_insert(lf);
        self.bare_lf |= lf == 0 || buf[lf - 1] != b'\r';
        match &buf[lf + 1..] {
            [b'\n', ..] => {
                self.bare_lf = true;
                Some(Some(lf + 2))
            }
            [b'\r', b'\n', ..] => Some(Some(lf + 3)),
            [] | [b'\r'] => {
                self.resume = lf;
                Some(None)
            }
            _ => None,
        }
    }

    /// The request line's length, LF included, as far as it is known.
    fn line_len(&self, buffered: usize) -> usize {
        self.first_lf.map_or(buffered, |lf| lf + 1)
    }
}

/// Looks for the end of a request head in `data`, resuming where `scan`
/// stopped; while it is incomplete, refuses a request line that cannot
/// become valid or has grown too long, and a head over its size limit.
pub(crate) fn find_request_head(
    data: &[u8],
    scan: &mut HeadScan,
    line: &mut LineCheck,
    config: &Config,
) -> Result<HeadEnd, ProtocolError> {
    if let Some(end) = scan.scan(data) {
        return Ok(HeadEnd::At(end));
    }
    line.advance(data)?;
    if scan.line_len(data.len()) > config.limits.max_request_line + 2 {
        return Err(ProtocolError::RequestLineTooLong);
    }
    if data.len() > config.limits.max_head_bytes {
        return Err(ProtocolError::HeadTooLarge);
    }
    Ok(HeadEnd::Incomplete)
}

/// Field slots on the stack; `max_headers` above this is capped to it.
pub(crate) const MAX_HEADER_SLOTS: usize = 256;

/// Where the head ends (one past its empty line), or where to resume the
/// search once more bytes arrive.
pub(crate) fn find_head_end(buf: &[u8], from: usize) -> Result<usize, usize> {
    let mut at = from;
    while let Some(lf) = find_lf(buf, at) {
        match &buf[lf + 1..] {
            [b'\n', ..] => return Ok(lf + 2),
            [b'\r', b'\n', ..] => return Ok(lf + 3),
            [] | [b'\r'] => return Err(lf),
            _ => at = lf + 1,
        }
    }
    Err(buf.len())
}

/// Parses and validates a complete request head (`head` ends with its empty
/// line), scanning it first. The returned head's `bytes` are empty.
#[cfg(test)]
pub(crate) fn parse_request_head(
    head: &[u8],
    config: &Config,
) -> Result<RequestHead, ProtocolError> {
    let mut scan = HeadScan::default();
    scan.scan(head);
    parse_scanned_request_head(head, &scan, config)
}

/// Parses and validates a complete request head that `scan` found (`head`
/// ends with its empty line). The returned head's `bytes` are empty; the
/// caller attaches them.
pub(crate) fn parse_scanned_request_head(
    head: &[u8],
    scan: &HeadScan,
    config: &Config,
) -> Result<RequestHead, ProtocolError> {
    // The checks `check_request_line` and `check_head` make, in their
    // order, from what the scan saw.
    if scan.line_len(head.len()) > config.limits.max_request_line + 2 {
        return Err(ProtocolError::RequestLineTooLong);
    }
    if head.len() > config.limits.max_head_bytes {
        return Err(ProtocolError::HeadTooLarge);
    }
    if !config.lenient_bare_lf && scan.bare_lf {
        return Err(ProtocolError::BareLineFeed);
    }

    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADER_SLOTS];
    let slots = &mut slots[..config.limits.max_headers.min(MAX_HEADER_SLOTS)];
    let mut request = httparse::Request::new(&mut []);
    let parser = httparse::ParserConfig::default();
    match parser.parse_request_with_uninit_headers(&mut request, head, slots) {
        Ok(httparse::Status::Complete(len)) if len == head.len() => {}
        Ok(_) => return Err(ProtocolError::InvalidLineEnding),
        Err(error) => return Err(classify(error, head)),
    }

    let method = request.method.unwrap_or_default();
    let method = Method::from_bytes(method.as_bytes()).map_err(|_| ProtocolError::InvalidMethod)?;
    let target = request.path.unwrap_or_default();
    if !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ProtocolError::InvalidTarget);
    }
    check_target_form(&method, target.as_bytes())?;
    let version = match request.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };

    let mut framing = FramingFields::default();
    let spans = field_spans(head, request.headers, &mut framing)?;
    let fields = Decided::from(framing, version, config)?;
    let (start, end) = span(head, target.as_bytes());

    Ok(RequestHead {
        bytes: bytes::Bytes::new(),
        method,
        version,
        target: start..end,
        fields: spans,
        body: fields.body,
        keep_alive: fields.keep_alive,
        expects_continue: fields.expects_continue,
        wants_upgrade: fields.wants_upgrade,
    })
}

/// Where `part` (a slice of `head`) lies in it.
pub(crate) fn span(head: &[u8], part: &[u8]) -> (u32, u32) {
    let start = (part.as_ptr() as usize - head.as_ptr() as usize) as u32;
    (start, start + part.len() as u32)
}

/// The spans of the fields `httparse` found in `head`, and their framing
/// meaning, gathered in one pass.
pub(crate) fn field_spans(
    head: &[u8],
    fields: &[httparse::Header<'_>],
    framing: &mut FramingFields,
) -> Result<FieldSpans, ProtocolError> {
    let mut spans = FieldSpans::with_capacity(fields.len());
    for field in fields {
        framing.add(field.name.as_bytes(), field.value)?;
        spans.push(FieldSpan {
            name: span(head, field.name.as_bytes()),
            value: span(head, field.value),
        });
    }
    Ok(spans)
}

/// Names a field-section error `httparse` reported, from the bytes
/// themselves: the same for requests and responses.
pub(crate) fn classify_field_error(error: httparse::Error, fields: &[u8]) -> Option<ProtocolError> {
    Some(match error {
        httparse::Error::TooManyHeaders => ProtocolError::TooManyHeaders,
        httparse::Error::HeaderValue => ProtocolError::InvalidHeaderValue,
        httparse::Error::NewLine => ProtocolError::InvalidLineEnding,
        httparse::Error::HeaderName => {
            for line in fields.split(|b| *b == b'\n') {
                if matches!(line.first(), Some(b' ' | b'\t')) {
                    return Some(ProtocolError::ObsoleteLineFolding);
                }
                if let Some(colon) = line.iter().position(|b| *b == b':') {
                    if colon > 0 && matches!(line[colon - 1], b' ' | b'\t') {
                        return Some(ProtocolError::WhitespaceBeforeColon);
                    }
                }
            }
            ProtocolError::InvalidHeaderName
        }
        _ => return None,
    })
}

/// What every complete head (request or response) must pass before
/// `httparse` sees it: the size limit and, unless lenient, CRLF endings.
pub(crate) fn check_head(head: &[u8], config: &Config) -> Result<(), ProtocolError> {
    if head.len() > config.limits.max_head_bytes {
        return Err(ProtocolError::HeadTooLarge);
    }
    if !config.lenient_bare_lf && has_bare_lf(head) {
        return Err(ProtocolError::BareLineFeed);
    }
    Ok(())
}

pub(crate) fn has_bare_lf(bytes: &[u8]) -> bool {
    let mut at = 0;
    while let Some(lf) = find_lf(bytes, at) {
        if lf == 0 || bytes[lf - 1] != b'\r' {
            return true;
        }
        at = lf + 1;
    }
    false
}

/// The first LF at or after `from`. Heads are scanned a word at a time
/// (the "has zero byte" trick), since this scan runs over every request.
pub(crate) fn find_lf(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const LFS: u64 = ONES * b'\n' as u64;
    let mut at = from;
    while let Some(word) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(word.try_into().unwrap_or([0; 8])) ^ LFS;
        // The lowest flagged byte is always a true match; higher ones may
        // be borrows from it, which is why only the lowest is used.
        let found = word.wrapping_sub(ONES) & !word & HIGHS;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    bytes
        .get(at..)?
        .iter()
        .position(|b| *b == b'\n')
        .map(|offset| at + offset)
}

/// A mask with the high bit set in exactly the bytes of `word` that are LF
/// (the exact form of the "has zero byte" trick: no borrows between bytes).
#[inline]
fn lf_bytes(word: u64) -> u64 {
    const LOWS: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const LFS: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    let x = word ^ LFS;
    !(((x & LOWS) + LOWS) | x | LOWS)
}

/// Names what `httparse` refused in a request head.
fn classify(error: httparse::Error, head: &[u8]) -> ProtocolError {
    let first_line_end = head.iter().position(|b| *b == b'\n').unwrap_or(head.len());
    if let Some(field_error) =
        classify_field_error(error, head.get(first_line_end + 1..).unwrap_or_default())
    {
        return field_error;
    }
    let request_line = head[..first_line_end]
        .strip_suffix(b"\r")
        .unwrap_or(&head[..first_line_end]);
    match error {
        httparse::Error::Version => classify_version(request_line),
        _ => {
            let method = request_line
                .split(|b| *b == b' ')
                .next()
                .unwrap_or_default();
            if method.is_empty() || Method::from_bytes(method).is_err() {
                ProtocolError::InvalidMethod
            } else if request_line.split(|b| *b == b' ').count() == 3 {
                ProtocolError::InvalidTarget
            } else {
                ProtocolError::InvalidRequestLine
            }
        }
    }
}

/// `HTTP/x.y` with digits that we do not speak is 505; anything else is 400.
fn classify_version(request_line: &[u8]) -> ProtocolError {
    let version = request_line
        .rsplit(|b| *b == b' ')
        .next()
        .unwrap_or_default();
    match version {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            ProtocolError::UnsupportedVersion
        }
        _ => ProtocolError::InvalidRequestLine,
    }
}

/// RFC 9112 §3.2: CONNECT takes authority-form only, `*` is for OPTIONS
/// only, every other request is origin-form or absolute-form.
fn check_target_form(method: &Method, target: &[u8]) -> Result<(), ProtocolError> {
    let fits = if *method == Method::CONNECT {
        is_authority_form(target)
    } else if target == b"*" {
        *method == Method::OPTIONS
    } else {
        target.first() == Some(&b'/') || is_absolute_form(target)
    };
    if fits {
        Ok(())
    } else {
        Err(ProtocolError::TargetFormMismatch)
    }
}

fn is_authority_form(target: &[u8]) -> bool {
    let Some(colon) = target.iter().rposition(|b| *b == b':') else {
        return false;
    };
    let (host, port) = (&target[..colon], &target[colon + 1..]);
    !host.is_empty()
        && !port.is_empty()
        && port.iter().all(u8::is_ascii_digit)
        && fields::is_valid_host(host)
}

fn is_absolute_form(target: &[u8]) -> bool {
    let Some(colon) = target.iter().position(|b| *b == b':') else {
        return false;
    };
    let scheme = &target[..colon];
    scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && target[colon + 1..].starts_with(b"//")
}

/// What the framing fields decided.
struct Decided {
    body: RequestBody,
    keep_alive: bool,
    expects_continue: bool,
    wants_upgrade: bool,
}

impl Decided {
    fn from(
        fields: FramingFields,
        version: Version,
        config: &Config,
    ) -> Result<Decided, ProtocolError> {
        let this = fields;
        let http11 = version == Version::HTTP_11;
        if this.hosts > 1 {
            return Err(ProtocolError::DuplicateHost);
        }
        if this.invalid_host {
            return Err(ProtocolError::InvalidHost);
        }
        if http11 && this.hosts == 0 {
            return Err(ProtocolError::MissingHost);
        }
        if this.transfer_codings.present {
            if this.content_length.is_some() {
                return Err(ProtocolError::ContentLengthWithTransferEncoding);
            }
            if !http11 {
                return Err(ProtocolError::TransferEncodingInHttp10);
            }
        }
        let body = if this.transfer_codings.finish()? {
            RequestBody::Chunked
        } else {
            match this.content_length {
                None | Some(0) => RequestBody::Empty,
                Some(length) if length > config.limits.max_body => {
                    return Err(ProtocolError::BodyTooLarge)
                }
                Some(length) => RequestBody::Length(length),
            }
        };
        Ok(Decided {
            body,
            keep_alive: !this.close && (http11 || this.keep_alive),
            // RFC 9110 §10.1.1: ignore the expectation from HTTP/1.0 peers,
            // and there is nothing to continue to without a body.
            expects_continue: http11 && this.expect_continue && body != RequestBody::Empty,
            // RFC 9110 §7.8: an Upgrade in HTTP/1.0 is ignored.
            wants_upgrade: http11 && this.upgrade_token && this.upgrade_field,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(head: &[u8]) -> Result<RequestHead, ProtocolError> {
        parse_request_head(head, &Config::default())
    }

    #[test]
    fn finds_the_end_of_a_head_incrementally() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nrest";
        assert_eq!(find_head_end(head, 0), Ok(head.len() - 4));
        let mut from = 0;
        for end in 1..head.len() - 4 {
            from = find_head_end(&head[..end], from).unwrap_err();
        }
        assert_eq!(
            find_head_end(&head[..head.len() - 4], from),
            Ok(head.len() - 4)
        );
        assert_eq!(find_head_end(b"GET / HTTP/1.1\nHost: a\n\n", 0), Ok(24));
    }

    #[test]
    fn marks_exactly_the_lf_bytes_of_a_word() {
        // Bytes next to LF in value, alone and in every mix of positions.
        let near = [0x0a, 0x0b, 0x09, 0x8a, 0x00, 0xff, 0x0d, 0x20];
        for seed in 0..(1u32 << 16) {
            let bytes: [u8; 8] = std::array::from_fn(|i| near[((seed >> (2 * i)) & 7) as usize]);
            let want = bytes.iter().enumerate().fold(0u64, |mask, (i, b)| {
                mask | (u64::from(*b == b'\n') << (8 * i + 7))
            });
            assert_eq!(lf_bytes(u64::from_le_bytes(bytes)), want, "{bytes:02x?}");
        }
    }

    #[test]
    fn finds_every_lf_a_word_at_a_time() {
        let text = b"abcdefgh\nijklmnopqrstuvw\n\nxyz0123456789\n";
        let expected: Vec<usize> = (0..text.len()).filter(|i| text[*i] == b'\n').collect();
        for from in 0..text.len() {
            let want = expected.iter().copied().find(|i| *i >= from);
            assert_eq!(find_lf(text, from), want, "from {from}");
        }
        assert_eq!(find_lf(b"\x0b\x0a", 0), Some(1));
        assert_eq!(find_lf(b"\x8a\x0a\x09\x0b", 0), Some(1));
        assert!(has_bare_lf(b"a\r\nb\nc"));
        assert!(!has_bare_lf(b"a\r\nb\r\n\r\n"));
        assert!(has_bare_lf(b"\n"));
    }

    #[test]
    fn parses_a_simple_request() {
        let head = parse(b"GET /a?b HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n").unwrap();
        assert_eq!(head.method, Method::GET);
        assert_eq!(head.version, Version::HTTP_11);
        assert_eq!(head.body, RequestBody::Empty);
        assert!(head.keep_alive);
        assert_eq!(head.fields.len(), 2);
    }

    #[test]
    fn names_what_was_wrong() {
        use ProtocolError::*;
        let cases: &[(&[u8], ProtocolError)] = &[
            (b"GET / HTTP/1.1\nHost: x\r\n\r\n", BareLineFeed),
            (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", UnsupportedVersion),
            (b"GET / HTTP/1.2\r\nHost: x\r\n\r\n", UnsupportedVersion),
            (b"GET / HTTX/1.1\r\nHost: x\r\n\r\n", InvalidRequestLine),
            (b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", InvalidMethod),
            (b"GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n", ObsoleteLineFolding),
            (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", WhitespaceBeforeColon),
            (b"GET / HTTP/1.1\r\nHo(st: x\r\n\r\n", InvalidHeaderName),
            (b"GET / HTTP/1.1\r\nHost: x\r\nA: \x01\r\n\r\n", InvalidHeaderValue),
            (b"GET / HTTP/1.1\r\n\r\n", MissingHost),
            (b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", DuplicateHost),
            (b"GET / HTTP/1.1\r\nHost: x y\r\n\r\n", InvalidHost),
            (b"GET example.com:80 HTTP/1.1\r\nHost: x\r\n\r\n", TargetFormMismatch),
            (b"CONNECT / HTTP/1.1\r\nHost: x\r\n\r\n", TargetFormMismatch),
            (b"GET * HTTP/1.1\r\nHost: x\r\n\r\n", TargetFormMismatch),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                ContentLengthWithTransferEncoding,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
                DuplicateContentLength,
            ),
            (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", InvalidContentLength),
            (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", TransferEncodingInHttp10),
            (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", TransferEncodingNotChunked),
            (
                b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                UnsupportedTransferCoding,
            ),
            (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", BodyTooLarge),
        ];
        for (head, expected) in cases {
            assert_eq!(
                parse(head).err(),
                Some(*expected),
                "{}",
                String::from_utf8_lossy(head)
            );
        }
    }

    #[test]
    fn accepts_the_forms_that_fit() {
        assert!(parse(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").is_ok());
        assert!(
            parse(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n").is_ok()
        );
        assert!(parse(b"GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n").is_ok());
        assert!(parse(b"GET / HTTP/1.0\r\n\r\n").is_ok());
        let lenient = Config {
            lenient_bare_lf: true,
            ..Config::default()
        };
        assert!(parse_request_head(b"GET / HTTP/1.1\nHost: x\n\n", &lenient).is_ok());
    }

    #[test]
    fn decides_keep_alive_continue_and_upgrade() {
        let head = parse(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").unwrap();
        assert!(head.keep_alive);
        assert!(!parse(b"GET / HTTP/1.0\r\n\r\n").unwrap().keep_alive);
        assert!(
            !parse(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap()
                .keep_alive
        );
        let head = parse(
            b"PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n",
        )
        .unwrap();
        assert!(head.expects_continue);
        assert_eq!(head.body, RequestBody::Length(3));
        let head = parse(
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        )
        .unwrap();
        assert!(head.wants_upgrade);
    }
}
