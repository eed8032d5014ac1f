//! Reading the few header fields that decide framing and connection
//! management (RFC 9110 §5, RFC 9112 §6), strictly.

use crate::ProtocolError;

/// Removes optional whitespace (SP / HTAB) at both ends.
pub(crate) fn trim_ows(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|b| !is_ows(*b))
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ows(*b))
        .map_or(start, |i| i + 1);
    &value[start..end]
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The elements of a comma-separated list, trimmed. Empty elements are kept,
/// so a caller can refuse them.
pub(crate) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|b| *b == b',').map(trim_ows)
}

/// Whether a comma-separated list holds `token`, ignoring case.
pub(crate) fn list_contains(value: &[u8], token: &str) -> bool {
    list_elements(value).any(|element| element.eq_ignore_ascii_case(token.as_bytes()))
}

/// `Content-Length = 1*DIGIT` (RFC 9110 §8.6). A list, even of equal values,
/// is refused: two readings of one message are how smuggling starts.
pub(crate) fn parse_content_length(value: &[u8]) -> Result<u64, ProtocolError> {
    let digits = trim_ows(value);
    if digits.contains(&b',') {
        return Err(ProtocolError::DuplicateContentLength);
    }
    parse_decimal(digits).ok_or(ProtocolError::InvalidContentLength)
}

/// Plain decimal digits that fit in u64; nothing else (no sign, no space).
pub(crate) fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, b| {
        let digit = (*b as char).to_digit(10)?;
        acc.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// What a request's `Transfer-Encoding` fields say, across all of them.
#[derive(Debug, Default)]
pub(crate) struct TransferCodings {
    pub(crate) present: bool,
    chunked_last: bool,
    error: Option<ProtocolError>,
    other_coding: bool,
}

impl TransferCodings {
    /// Adds one `Transfer-Encoding` field value.
    pub(crate) fn add(&mut self, value: &[u8]) {
        self.present = true;
        for coding in list_elements(value) {
            if coding.is_empty() || self.chunked_last {
                // An empty element, or any coding after `chunked`: the final
                // coding is not chunked (or chunked was applied twice).
                self.error
                    .get_or_insert(ProtocolError::TransferEncodingNotChunked);
            }
            if coding.eq_ignore_ascii_case(b"chunked") {
                self.chunked_last = true;
            } else {
                self.chunked_last = false;
                self.other_coding = true;
            }
        }
    }

    /// Whether `chunked` is the final coding (so far).
    pub(crate) fn chunked_last(&self) -> bool {
        self.chunked_last
    }

    /// `Ok(true)` for a chunked body, `Ok(false)` when no field was present.
    pub(crate) fn finish(&self) -> Result<bool, ProtocolError> {
        if !self.present {
            return Ok(false);
        }
        if let Some(error) = self.error {
            return Err(error);
        }
        if !self.chunked_last {
            return Err(ProtocolError::TransferEncodingNotChunked);
        }
        if self.other_coding {
            // gzip, deflate, or unknown codings under chunked: we decode none.
            return Err(ProtocolError::UnsupportedTransferCoding);
        }
        Ok(true)
    }
}

/// The framing and connection fields of one head (request or response),
/// gathered in one pass. What they decide depends on the role.
#[derive(Debug, Default)]
pub(crate) struct FramingFields {
    pub(crate) content_length: Option<u64>,
    pub(crate) transfer_codings: TransferCodings,
    pub(crate) hosts: usize,
    pub(crate) invalid_host: bool,
    pub(crate) close: bool,
    pub(crate) keep_alive: bool,
    pub(crate) upgrade_token: bool,
    pub(crate) upgrade_field: bool,
    pub(crate) expect_continue: bool,
}

impl FramingFields {
    /// Takes one field into account; a second `Content-Length` or an
    /// invalid one is refused at once.
    pub(crate) fn add(&mut self, name: &[u8], value: &[u8]) -> Result<(), ProtocolError> {
        // Compare by length first: most fields are none of these.
        match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => {
                self.hosts += 1;
                self.invalid_host |= !is_valid_host(value);
            }
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                if self.content_length.is_some() {
                    return Err(ProtocolError::DuplicateContentLength);
                }
                self.content_length = Some(parse_content_length(value)?);
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                self.transfer_codings.add(value)
            }
            10 if name.eq_ignore_ascii_case(b"connection") => {
                for token in list_elements(value) {
                    if token.eq_ignore_ascii_case(b"close") {
                        self.close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        self.keep_alive = true;
                    } else if token.eq_ignore_ascii_case(b"upgrade") {
                        self.upgrade_token = true;
                    }
                }
            }
            7 if name.eq_ignore_ascii_case(b"upgrade") => self.upgrade_field = true,
            6 if name.eq_ignore_ascii_case(b"expect") => {
                self.expect_continue |= trim_ows(value).eq_ignore_ascii_case(b"100-continue");
            }
            _ => {}
        }
        Ok(())
    }
}

/// `Host = uri-host [ ":" port ]`: reg-name, IPv4 or IP-literal characters.
pub(crate) fn is_valid_host(value: &[u8]) -> bool {
    value.iter().all(|b| HOST_BYTES[usize::from(*b)])
}

/// Bytes of reg-name, IPv4, IP-literal and port (unreserved, sub-delims,
/// `:`, `[`, `]`, `%`), as a table: this runs on every request.
static HOST_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'['
                    | b']'
                    | b'%'
            );
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_is_plain_digits() {
        assert_eq!(parse_content_length(b"0"), Ok(0));
        assert_eq!(parse_content_length(b" 42 "), Ok(42));
        assert_eq!(parse_content_length(b"007"), Ok(7));
        assert_eq!(parse_content_length(b"18446744073709551615"), Ok(u64::MAX));
        for bad in [
            &b""[..],
            b"+1",
            b"-1",
            b"1 2",
            b"0x10",
            b"1e3",
            b"18446744073709551616",
        ] {
            assert_eq!(
                parse_content_length(bad),
                Err(ProtocolError::InvalidContentLength)
            );
        }
        assert_eq!(
            parse_content_length(b"5, 5"),
            Err(ProtocolError::DuplicateContentLength)
        );
    }

    fn codings(values: &[&[u8]]) -> Result<bool, ProtocolError> {
        let mut te = TransferCodings::default();
        values.iter().for_each(|v| te.add(v));
        te.finish()
    }

    #[test]
    fn transfer_codings_must_end_in_a_single_chunked() {
        assert_eq!(codings(&[]), Ok(false));
        assert_eq!(codings(&[b"chunked"]), Ok(true));
        assert_eq!(codings(&[b"CHUNKED"]), Ok(true));
        let not_chunked = Err(ProtocolError::TransferEncodingNotChunked);
        assert_eq!(codings(&[b"gzip"]), not_chunked);
        assert_eq!(codings(&[b"chunked, gzip"]), not_chunked);
        assert_eq!(codings(&[b"chunked", b"gzip"]), not_chunked);
        assert_eq!(codings(&[b"chunked, chunked"]), not_chunked);
        assert_eq!(codings(&[b"chunked,"]), not_chunked);
        assert_eq!(codings(&[b""]), not_chunked);
        assert_eq!(codings(&[b"chunked;q=1"]), not_chunked);
        let unsupported = Err(ProtocolError::UnsupportedTransferCoding);
        assert_eq!(codings(&[b"gzip, chunked"]), unsupported);
        assert_eq!(codings(&[b"foo", b"chunked"]), unsupported);
    }

    #[test]
    fn lists_and_hosts() {
        assert!(list_contains(b"keep-alive, Upgrade", "upgrade"));
        assert!(!list_contains(b"keep-alive-ish", "keep-alive"));
        assert!(is_valid_host(b"example.com:8080"));
        assert!(is_valid_host(b"[::1]:80"));
        assert!(!is_valid_host(b"exa mple.com"));
        assert!(!is_valid_host(b"a/b"));
    }
}
