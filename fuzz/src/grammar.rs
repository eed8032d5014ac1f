//! Requests built from a grammar of HTTP/1.1: methods, targets, versions,
//! fields, `Content-Length` and `Transfer-Encoding` variants, chunk sizes,
//! extensions, trailers and line endings. Every choice knows whether the
//! core must accept it, must reject it, or may do either (where RFC 9112
//! and the project's strictness table leave room), so each encoded request
//! comes with its [`Verdict`] and, if accepted, what the echo application
//! must answer.
//!
//! The rules follow the README's "Strict by default" table.

use arbitrary::Arbitrary;

/// Whether the core must accept a piece of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// Valid: it must be answered as the grammar implies.
    Accept,
    /// Either answer is right (answered as implied, or a 4xx/5xx).
    Either,
    /// Invalid: a 4xx/5xx, and nothing after it on the connection.
    Reject,
}

impl Verdict {
    /// The verdict of a request with both pieces: the stricter wins.
    fn and(self, other: Verdict) -> Verdict {
        self.max(other)
    }

    fn when(bad: bool, verdict: Verdict) -> Verdict {
        if bad {
            verdict
        } else {
            Verdict::Accept
        }
    }
}

/// One request of the grammar.
#[derive(Arbitrary, Debug)]
pub struct Request {
    empty_lines: u8,
    method: Method,
    target: Target,
    version: Version,
    host: Host,
    fields: Vec<Field>,
    expect: bool,
    close: bool,
    framing: Framing,
    ending: Ending,
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Options,
    Connect,
    /// A token no one registered.
    Custom,
    /// Lowercase: a different (unknown) method, but a token.
    Lowercase,
    /// Not a token.
    Bad,
}

#[derive(Arbitrary, Debug, Clone)]
enum Target {
    Origin { segments: Vec<u8>, query: bool },
    Absolute,
    Asterisk,
    Authority,
    Fragment,
    ControlByte,
    Space,
    Empty,
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    Http11,
    Http10,
    Http20,
    Http12,
    Lowercase,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Host {
    Plain,
    WithPort,
    Missing,
    Twice,
    Invalid,
}

#[derive(Arbitrary, Debug, Clone)]
struct Field {
    name: u8,
    value: Vec<u8>,
    kind: FieldKind,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum FieldKind {
    Plain,
    Empty,
    SpaceBeforeColon,
    ObsFold,
    ControlInValue,
    ObsText,
    BadName,
}

#[derive(Arbitrary, Debug, Clone)]
enum Framing {
    None,
    Length {
        data: Data,
        form: LengthForm,
    },
    Chunked {
        coding: Coding,
        chunks: Vec<Chunk>,
        last_extension: Extension,
        trailers: Vec<Field>,
        trailer_framing: bool,
        also_length: bool,
    },
}

/// Body bytes: `len` copies of `byte` (cheap to generate, any size).
#[derive(Arbitrary, Debug, Clone, Copy)]
struct Data {
    byte: u8,
    len: u16,
}

impl Data {
    fn bytes(self, at_least_one: bool) -> Vec<u8> {
        let len = usize::from(self.len) % 3000;
        vec![self.byte; if at_least_one { len.max(1) } else { len }]
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum LengthForm {
    Plain,
    Padded,
    Plus,
    List,
    Twice,
    Overflow,
    Hex,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Coding {
    Chunked,
    Uppercase,
    GzipChunked,
    ChunkedGzip,
    ChunkedTwice,
    EmptyElement,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
struct Chunk {
    data: Data,
    size: SizeForm,
    extension: Extension,
    data_end: DataEnd,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum SizeForm {
    Lower,
    Upper,
    LeadingZeros,
    NotHex,
    Overflow,
    Negative,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Extension {
    None,
    Name,
    Value,
    Quoted,
    Control,
    SpaceBefore,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum DataEnd {
    Crlf,
    Missing,
    Lf,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Ending {
    Crlf,
    Lf,
    OneLf,
    Cr,
}

/// What the echo application must answer to an accepted request.
#[derive(Debug, Clone)]
pub struct Expected {
    /// `METHOD TARGET` as the `x-request` field says it, when the target
    /// is in origin form (others may be normalised).
    pub summary: Option<String>,
    /// The body the server must have read (and echoes).
    pub body: Vec<u8>,
    /// HEAD: the response has no body.
    pub head: bool,
    /// The connection closes after the response.
    pub closes: bool,
}

/// A request on the wire, with its verdict and, unless rejected for
/// sure, what the answer must be if it is accepted.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Whether the core must accept it.
    pub verdict: Verdict,
    /// The answer to expect if it is accepted.
    pub expected: Expected,
}

const NAMES: [&str; 8] = [
    "Accept",
    "User-Agent",
    "X-Trace",
    "Cache-Control",
    "X-A_b.c~1",
    "If-None-Match",
    "Cookie",
    "x-lower",
];

/// Bytes a field value may hold (visible ASCII, space and tab inside).
fn value_text(raw: &[u8]) -> String {
    raw.iter()
        .take(40)
        .map(|b| match b % 64 {
            0 => ' ',
            1 => '\t',
            n => char::from(b'!' + (n % 94)),
        })
        .collect::<String>()
        .trim()
        .to_string()
}

impl Field {
    /// One field line (without its line ending) and its verdict.
    fn encode(&self) -> (Vec<u8>, Verdict) {
        let name = NAMES[usize::from(self.name) % NAMES.len()];
        let value = value_text(&self.value);
        let value = if value.is_empty() { "v".to_string() } else { value };
        let (line, verdict) = match self.kind {
            FieldKind::Plain => (format!("{name}: {value}").into_bytes(), Verdict::Accept),
            FieldKind::Empty => (format!("{name}:").into_bytes(), Verdict::Accept),
            FieldKind::SpaceBeforeColon => (format!("{name} : {value}").into_bytes(), Verdict::Reject),
            FieldKind::ObsFold => (format!("{name}: {value}\r\n folded").into_bytes(), Verdict::Reject),
            FieldKind::ControlInValue => (format!("{name}: a\x01{value}").into_bytes(), Verdict::Reject),
            FieldKind::ObsText => {
                let mut line = format!("{name}: a").into_bytes();
                line.push(0xE9);
                (line, Verdict::Either)
            }
            FieldKind::BadName => (format!("{name}(x): {value}").into_bytes(), Verdict::Reject),
        };
        (line, verdict)
    }
}

impl Request {
    /// The request's bytes and what the core must make of them, for a core
    /// configured with `lenient_bare_lf` and a `max_body` limit.
    pub fn encode(&self, lenient_bare_lf: bool, max_body: usize) -> Encoded {
        let mut verdict = Verdict::Accept;
        let mut out = b"\r\n".repeat(usize::from(self.empty_lines % 3));
        let http10 = self.version == Version::Http10;

        // The request line.
        let (method, method_verdict) = match self.method {
            Method::Get => ("GET", Verdict::Accept),
            Method::Head => ("HEAD", Verdict::Accept),
            Method::Post => ("POST", Verdict::Accept),
            Method::Put => ("PUT", Verdict::Accept),
            Method::Delete => ("DELETE", Verdict::Accept),
            Method::Options => ("OPTIONS", Verdict::Accept),
            Method::Connect => ("CONNECT", Verdict::Accept),
            Method::Custom => ("FROB-1", Verdict::Either),
            Method::Lowercase => ("get", Verdict::Either),
            Method::Bad => ("G@T", Verdict::Reject),
        };
        verdict = verdict.and(method_verdict);
        let connect = self.method == Method::Connect;
        let (target, target_verdict, origin) = match &self.target {
            Target::Origin { segments, query } => {
                let mut path: String = segments
                    .iter()
                    .take(12)
                    .map(|b| match b % 40 {
                        0..=3 => '/',
                        n => char::from(b'a' + (n % 26)),
                    })
                    .collect();
                path.insert(0, '/');
                if *query {
                    path.push_str("?q=1&r");
                }
                (path, Verdict::when(connect, Verdict::Reject), true)
            }
            Target::Absolute => (
                "http://a/abs".to_string(),
                Verdict::when(connect, Verdict::Reject),
                false,
            ),
            Target::Asterisk => (
                "*".to_string(),
                Verdict::when(self.method != Method::Options, Verdict::Reject),
                false,
            ),
            // A real CONNECT would need the application to take the tunnel
            // over (the echo application does not), so CONNECT only ever
            // comes with a target it must refuse.
            Target::Authority if connect => ("/tunnel".to_string(), Verdict::Reject, false),
            Target::Authority => ("a:80".to_string(), Verdict::Reject, false),
            Target::Fragment => ("/f#frag".to_string(), Verdict::Either, false),
            Target::ControlByte => ("/c\x01".to_string(), Verdict::Reject, false),
            Target::Space => ("/a b".to_string(), Verdict::Reject, false),
            Target::Empty => (String::new(), Verdict::Reject, false),
        };
        verdict = verdict.and(target_verdict);
        let (version, version_verdict) = match self.version {
            Version::Http11 => ("HTTP/1.1", Verdict::Accept),
            Version::Http10 => ("HTTP/1.0", Verdict::Accept),
            Version::Http20 => ("HTTP/2.0", Verdict::Reject),
            Version::Http12 => ("HTTP/1.2", Verdict::Reject),
            Version::Lowercase => ("http/1.1", Verdict::Reject),
        };
        verdict = verdict.and(version_verdict);

        // Head lines (the request line first), then the empty line.
        let mut lines: Vec<Vec<u8>> = vec![format!("{method} {target} {version}").into_bytes()];
        let host_verdict = match self.host {
            Host::Plain => {
                lines.push(b"Host: a".to_vec());
                Verdict::Accept
            }
            Host::WithPort => {
                lines.push(b"Host: example.com:8080".to_vec());
                Verdict::Accept
            }
            Host::Missing => Verdict::when(!http10, Verdict::Reject),
            Host::Twice => {
                lines.push(b"Host: a".to_vec());
                lines.push(b"Host: a".to_vec());
                if http10 { Verdict::Either } else { Verdict::Reject }
            }
            Host::Invalid => {
                lines.push(b"Host: a b".to_vec());
                if http10 { Verdict::Either } else { Verdict::Reject }
            }
        };
        verdict = verdict.and(host_verdict);
        for field in self.fields.iter().take(12) {
            let (line, field_verdict) = field.encode();
            lines.push(line);
            verdict = verdict.and(field_verdict);
        }
        if self.expect {
            lines.push(b"Expect: 100-continue".to_vec());
            if http10 {
                verdict = verdict.and(Verdict::Either);
            }
        }
        if self.close {
            lines.push(b"Connection: close".to_vec());
        }

        // Framing fields, and the body after the head.
        let mut body = Vec::new();
        let mut wire_body = Vec::new();
        match &self.framing {
            Framing::None => {}
            Framing::Length { data, form } => {
                body = data.bytes(false);
                let n = body.len();
                let (field, form_verdict) = match form {
                    LengthForm::Plain => (format!("Content-Length: {n}"), Verdict::Accept),
                    LengthForm::Padded => (format!("Content-Length:   {n}  "), Verdict::Either),
                    LengthForm::Plus => (format!("Content-Length: +{n}"), Verdict::Reject),
                    LengthForm::List => (format!("Content-Length: {n}, {n}"), Verdict::Reject),
                    LengthForm::Twice => (
                        format!("Content-Length: {n}\r\nContent-Length: {n}"),
                        Verdict::Reject,
                    ),
                    LengthForm::Overflow => (
                        "Content-Length: 99999999999999999999999".to_string(),
                        Verdict::Reject,
                    ),
                    LengthForm::Hex => (format!("Content-Length: 0x{n:x}"), Verdict::Reject),
                };
                lines.push(field.into_bytes());
                verdict = verdict.and(form_verdict);
                wire_body = body.clone();
            }
            Framing::Chunked {
                coding,
                chunks,
                last_extension,
                trailers,
                trailer_framing,
                also_length,
            } => {
                let (field, coding_verdict) = match coding {
                    Coding::Chunked => ("chunked", Verdict::Accept),
                    Coding::Uppercase => ("CHUNKED", Verdict::Either),
                    Coding::GzipChunked => ("gzip, chunked", Verdict::Reject),
                    Coding::ChunkedGzip => ("chunked, gzip", Verdict::Reject),
                    Coding::ChunkedTwice => ("chunked, chunked", Verdict::Reject),
                    Coding::EmptyElement => ("chunked, ,", Verdict::Reject),
                };
                lines.push(format!("Transfer-Encoding: {field}").into_bytes());
                verdict = verdict.and(coding_verdict);
                verdict = verdict.and(Verdict::when(http10, Verdict::Reject));
                if *also_length {
                    lines.push(b"Content-Length: 5".to_vec());
                    verdict = verdict.and(Verdict::Reject);
                }
                for chunk in chunks.iter().take(6) {
                    let data = chunk.data.bytes(true);
                    let (line, chunk_verdict) = chunk.size_line(data.len());
                    verdict = verdict.and(chunk_verdict);
                    wire_body.extend_from_slice(&line);
                    wire_body.extend_from_slice(&data);
                    body.extend_from_slice(&data);
                    let (end, end_verdict) = match chunk.data_end {
                        DataEnd::Crlf => (&b"\r\n"[..], Verdict::Accept),
                        DataEnd::Missing => (&b"XX"[..], Verdict::Reject),
                        DataEnd::Lf => (&b"\n"[..], Verdict::Either),
                    };
                    verdict = verdict.and(end_verdict);
                    wire_body.extend_from_slice(end);
                }
                let (extension, extension_verdict) = last_extension.encode();
                verdict = verdict.and(extension_verdict);
                wire_body.extend_from_slice(b"0");
                wire_body.extend_from_slice(extension);
                wire_body.extend_from_slice(b"\r\n");
                for trailer in trailers.iter().take(4) {
                    let (line, trailer_verdict) = trailer.encode();
                    verdict = verdict.and(trailer_verdict);
                    wire_body.extend_from_slice(&line);
                    wire_body.extend_from_slice(b"\r\n");
                }
                if *trailer_framing {
                    // Framing fields in trailers are dropped, not obeyed.
                    wire_body.extend_from_slice(b"Content-Length: 3\r\n");
                }
                wire_body.extend_from_slice(b"\r\n");
            }
        }
        if body.len() > max_body {
            verdict = verdict.and(Verdict::Reject);
        }

        let (ending, last_ending, ending_verdict): (&[u8], &[u8], Verdict) = match self.ending {
            Ending::Crlf => (b"\r\n", b"\r\n", Verdict::Accept),
            Ending::Lf => (
                b"\n",
                b"\n",
                Verdict::when(!lenient_bare_lf, Verdict::Reject),
            ),
            Ending::OneLf => (
                b"\r\n",
                b"\n",
                Verdict::when(!lenient_bare_lf, Verdict::Reject),
            ),
            Ending::Cr => (b"\r", b"\r\n", Verdict::Reject),
        };
        verdict = verdict.and(ending_verdict);
        for line in &lines {
            out.extend_from_slice(line);
            out.extend_from_slice(ending);
        }
        out.extend_from_slice(last_ending);
        out.extend_from_slice(&wire_body);

        let head = self.method == Method::Head;
        Encoded {
            bytes: out,
            verdict,
            expected: Expected {
                summary: (origin && !matches!(self.method, Method::Custom | Method::Lowercase))
                    .then(|| format!("{method} {target}")),
                body,
                head,
                closes: self.close || http10,
            },
        }
    }
}

impl Chunk {
    fn size_line(&self, len: usize) -> (Vec<u8>, Verdict) {
        let (size, size_verdict) = match self.size {
            SizeForm::Lower => (format!("{len:x}"), Verdict::Accept),
            SizeForm::Upper => (format!("{len:X}"), Verdict::Accept),
            SizeForm::LeadingZeros => (format!("000{len:x}"), Verdict::Accept),
            SizeForm::NotHex => (format!("{len:x}g"), Verdict::Reject),
            SizeForm::Overflow => ("1".repeat(17), Verdict::Reject),
            SizeForm::Negative => (format!("-{len:x}"), Verdict::Reject),
        };
        let (extension, extension_verdict) = self.extension.encode();
        let mut line = size.into_bytes();
        line.extend_from_slice(extension);
        line.extend_from_slice(b"\r\n");
        (line, size_verdict.and(extension_verdict))
    }
}

impl Extension {
    fn encode(self) -> (&'static [u8], Verdict) {
        match self {
            Extension::None => (b"", Verdict::Accept),
            Extension::Name => (b";ext", Verdict::Accept),
            Extension::Value => (b";ext=v", Verdict::Accept),
            Extension::Quoted => (b";ext=\"a b\"", Verdict::Accept),
            Extension::Control => (b";e\x01", Verdict::Reject),
            Extension::SpaceBefore => (b" ;ext", Verdict::Either),
        }
    }
}
