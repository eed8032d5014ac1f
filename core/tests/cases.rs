//! Framing and smuggling cases as data: bytes in, what must come out.
//!
//! Every case runs whole, one byte at a time, and split at every point, and
//! all runs must give the same events and byte-identical output (h11 and
//! hyper test readers the same way: a parser that depends on where reads
//! end is a desync waiting to happen).

mod common;

use nutshell_core::testing::{Harness, Record};
use nutshell_core::{CloseReason, Config, ProtocolError};

/// What a case expects.
enum Expect {
    /// Responses with these statuses, connection still open.
    Served(&'static [u16]),
    /// These statuses (the last one being the error's), then an error and a
    /// close after the linger.
    Refused(&'static [u16], ProtocolError),
}

struct Case {
    name: &'static str,
    input: &'static [u8],
    expect: Expect,
    lenient: bool,
}

const fn served(name: &'static str, input: &'static [u8], statuses: &'static [u16]) -> Case {
    Case {
        name,
        input,
        expect: Expect::Served(statuses),
        lenient: false,
    }
}

const fn refused(
    name: &'static str,
    input: &'static [u8],
    statuses: &'static [u16],
    error: ProtocolError,
) -> Case {
    Case {
        name,
        input,
        expect: Expect::Refused(statuses, error),
        lenient: false,
    }
}

use ProtocolError::*;

const CASES: &[Case] = &[
    served("get", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &[200]),
    served("content-length body", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", &[200]),
    served(
        "chunked body with extension and trailer",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;name=\"v\"\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n",
        &[200],
    ),
    served("chunk sizes in either case", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n", &[200]),
    served("leading empty lines are skipped", b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", &[200]),
    served("pipelined", b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n", &[200, 200, 200]),
    served("http/1.0 keep-alive", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &[200, 200]),
    served("absolute-form", b"GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n", &[200]),
    served("options asterisk", b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &[200]),
    refused("tls clienthello", b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03\x8a\x1f", &[400], InvalidMethod),
    refused("http/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &[505], UnsupportedVersion),
    refused("binary noise", b"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00", &[400], InvalidMethod),
    refused("content-length and transfer-encoding", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", &[400], ContentLengthWithTransferEncoding),
    refused("two content-lengths", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", &[400], DuplicateContentLength),
    refused("two equal content-lengths", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", &[400], DuplicateContentLength),
    refused("content-length list", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc", &[400], DuplicateContentLength),
    refused("signed content-length", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc", &[400], InvalidContentLength),
    refused("content-length with inner space", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 3\r\n\r\nabc", &[400], InvalidContentLength),
    refused("overflowing content-length", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", &[400], InvalidContentLength),
    refused("final coding not chunked", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", &[400], TransferEncodingNotChunked),
    refused("chunked twice", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", &[400], TransferEncodingNotChunked),
    refused("unknown coding", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo, chunked\r\n\r\n", &[501], UnsupportedTransferCoding),
    refused("transfer-encoding in http/1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", &[400], TransferEncodingInHttp10),
    refused("chunk size with 0x", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", &[400], InvalidChunkSize),
    refused("chunk size with sign", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n", &[400], InvalidChunkSize),
    refused("chunk size overflow", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", &[400], InvalidChunkSize),
    refused("chunk size over the body limit", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n", &[413], BodyTooLarge),
    refused("missing crlf after chunk data", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", &[400], MissingChunkCrlf),
    refused("bare lf in a chunk line", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", &[400], BareLineFeed),
    refused("control byte in a chunk extension", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\x01\r\nhello\r\n0\r\n\r\n", &[400], InvalidChunkExtension),
    refused("bare lf in the head", b"GET / HTTP/1.1\nHost: a\r\n\r\n", &[400], BareLineFeed),
    refused("bare lf as an empty line", b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", &[400], BareLineFeed),
    refused("bare lf ending the head", b"GET / HTTP/1.1\r\nHost: a\n\n", &[400], BareLineFeed),
    refused("bare cr in the head", b"GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", &[400], InvalidHeaderValue),
    refused("obs-fold", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n  b\r\n\r\n", &[400], ObsoleteLineFolding),
    refused("space before colon", b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello", &[400], WhitespaceBeforeColon),
    refused("invalid name byte", b"GET / HTTP/1.1\r\nHost: a\r\nX\x01: b\r\n\r\n", &[400], InvalidHeaderName),
    refused("nul in a value", b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", &[400], InvalidHeaderValue),
    refused("missing host", b"GET / HTTP/1.1\r\n\r\n", &[400], MissingHost),
    refused("two hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", &[400], DuplicateHost),
    refused("authority-form for GET", b"GET a:80 HTTP/1.1\r\nHost: a\r\n\r\n", &[400], TargetFormMismatch),
    refused("origin-form for CONNECT", b"CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n", &[400], TargetFormMismatch),
    refused("asterisk for GET", b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", &[400], TargetFormMismatch),
    refused("non-ascii target", b"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", &[400], InvalidTarget),
    refused("http/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &[505], UnsupportedVersion),
    refused("unknown minor version", b"GET / HTTP/1.7\r\nHost: a\r\n\r\n", &[505], UnsupportedVersion),
    refused("garbage version", b"GET / HTTP/one\r\nHost: a\r\n\r\n", &[400], InvalidRequestLine),
    refused("too many empty lines", b"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", &[400], TooManyEmptyLines),
    refused("a framing error after a good request", b"GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", &[200, 400], DuplicateContentLength),
    refused("smuggled request behind a bad chunk", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nG\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n", &[400], InvalidChunkSize),
];

/// Runs `input` through a fresh echo harness, fed by `feed`.
fn run(case: &Case, feed: impl FnOnce(&mut Harness, &[u8])) -> (Vec<Record>, Vec<u8>) {
    let mut config = Config::default();
    config.lenient_bare_lf = case.lenient;
    let mut harness = common::echo_with(config);
    feed(&mut harness, case.input);
    (harness.records().to_vec(), harness.sent().to_vec())
}

fn check(case: &Case, records: &[Record], sent: &[u8]) {
    let statuses = common::statuses(sent);
    match case.expect {
        Expect::Served(expected) => {
            assert_eq!(statuses, expected, "{}: statuses", case.name);
            assert!(
                !records.iter().any(|r| matches!(r, Record::Error(_))),
                "{}: {records:?}",
                case.name
            );
        }
        Expect::Refused(expected, error) => {
            assert_eq!(statuses, expected, "{}: statuses", case.name);
            assert!(
                records.contains(&Record::Error(error)),
                "{}: {records:?}",
                case.name
            );
            // Sticky: no request is reported after the error.
            let at = records
                .iter()
                .position(|r| *r == Record::Error(error))
                .unwrap();
            assert!(
                !records[at..]
                    .iter()
                    .any(|r| matches!(r, Record::Request { .. })),
                "{}: parsed after the error: {records:?}",
                case.name
            );
            let text = String::from_utf8_lossy(sent);
            assert!(
                text.ends_with(&format!("{error}\n")),
                "{}: error body in {text:?}",
                case.name
            );
            assert!(text.contains("Connection: close\r\n"), "{}", case.name);
        }
    }
}

#[test]
fn every_case_whole_bytewise_and_split_everywhere() {
    for case in CASES {
        let (records, sent) = run(case, |h, input| h.feed(input));
        check(case, &records, &sent);

        let bytewise = run(case, |h, input| h.feed_bytewise(input));
        assert_eq!(
            bytewise,
            (records.clone(), sent.clone()),
            "{}: byte by byte",
            case.name
        );

        for cut in 1..case.input.len() {
            let split = run(case, |h, input| h.feed_split(input, &[cut]));
            assert_eq!(
                split,
                (records.clone(), sent.clone()),
                "{}: split at {cut}",
                case.name
            );
        }
    }
}

#[test]
fn refused_cases_close_after_the_linger() {
    for case in CASES
        .iter()
        .filter(|c| matches!(c.expect, Expect::Refused(..)))
    {
        let mut harness = common::echo();
        harness.feed(case.input);
        assert!(
            harness.conn.wants_write_shutdown(),
            "{}: lingering",
            case.name
        );
        harness.advance(Config::default().timeouts.linger);
        assert!(harness.is_closed(), "{}", case.name);
        let Expect::Refused(_, error) = case.expect else {
            unreachable!()
        };
        assert_eq!(
            harness.records().last(),
            Some(&Record::Closed(CloseReason::ProtocolError(error))),
            "{}",
            case.name
        );
    }
}

#[test]
fn bare_lf_is_accepted_with_the_leniency_flag() {
    let lenient = Case {
        name: "lenient bare lf",
        input: b"\nGET / HTTP/1.1\nHost: a\n\nPOST / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n",
        expect: Expect::Served(&[200, 200]),
        lenient: true,
    };
    let (records, sent) = run(&lenient, |h, input| h.feed(input));
    check(&lenient, &records, &sent);
    assert!(records.contains(&Record::Body(b"abc".to_vec())));
    for cut in 1..lenient.input.len() {
        assert_eq!(
            run(&lenient, |h, input| h.feed_split(input, &[cut])),
            (records.clone(), sent.clone())
        );
    }
}
