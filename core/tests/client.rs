//! The client role: against the server core over the fake link, and against
//! hand-written response bytes for the strictness cases.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use nutshell_core::client::{ClientConnection, ClientEvent, ClientRequest};
use nutshell_core::testing::{ClientRecord, Echo, Pair, Record};
use nutshell_core::{
    CloseReason, Config, Event, ProtocolError, ResponseHead, ServerConnection, UsageError,
};

fn get(target: &str) -> ClientRequest {
    ClientRequest::new(Method::GET, target)
        .header(http::header::HOST, HeaderValue::from_static("a"))
}

fn post(target: &str) -> ClientRequest {
    ClientRequest::new(Method::POST, target)
        .header(http::header::HOST, HeaderValue::from_static("a"))
}

fn echo_pair() -> Pair {
    Pair::new(Config::default(), common::origin(), Echo::default())
}

fn statuses(pair: &Pair) -> Vec<u16> {
    pair.client_records()
        .iter()
        .filter_map(|r| match r {
            ClientRecord::Response(status, _) => Some(*status),
            _ => None,
        })
        .collect()
}

#[test]
fn a_request_and_its_response_cross_the_link_intact() {
    let mut pair = echo_pair();
    pair.cuts = vec![1, 3, 7];
    pair.request(post("/up?x=1"), Bytes::from_static(b"payload"))
        .unwrap();
    assert!(pair
        .server
        .records()
        .contains(&Record::Body(b"payload".to_vec())));
    let records = pair.client_records();
    assert!(matches!(&records[0], ClientRecord::Response(200, fields)
        if fields.contains(&("x-request".into(), b"POST /up?x=1".to_vec()))));
    assert_eq!(records[1], ClientRecord::Body(b"payload".to_vec()));
    assert_eq!(records[2], ClientRecord::ResponseEnd);
    assert_eq!(pair.client.responses(), 1);
    assert!(pair.client.can_send());
}

#[test]
fn chunked_request_bodies_with_trailers() {
    let mut pair = echo_pair();
    pair.client.send_request(post("/c").chunked()).unwrap();
    pair.client.send_body(Bytes::from_static(b"abc")).unwrap();
    assert_eq!(
        pair.client.send_request(get("/")),
        Err(UsageError::RequestInProgress)
    );
    pair.client.send_body(Bytes::from_static(b"defgh")).unwrap();
    let mut trailers = HeaderMap::new();
    trailers.insert(
        HeaderName::from_static("x-sum"),
        HeaderValue::from_static("8"),
    );
    pair.client.send_trailers(&trailers).unwrap();
    pair.settle();
    let server = pair.server.records();
    assert!(server.contains(&Record::Body(b"abcdefgh".to_vec())));
    assert!(server.contains(&Record::Trailers(vec![("x-sum".into(), b"8".to_vec())])));
    assert!(pair
        .client_records()
        .contains(&ClientRecord::Body(b"abcdefgh".to_vec())));
}

#[test]
fn pipelined_requests_get_their_responses_in_order() {
    let mut pair = echo_pair();
    for i in 0..3 {
        pair.client
            .request(post(&format!("/{i}")), Bytes::from(format!("body{i}")))
            .unwrap();
    }
    assert_eq!(pair.client.in_flight(), 3);
    pair.settle();
    let bodies: Vec<_> = pair
        .client_records()
        .iter()
        .filter_map(|r| match r {
            ClientRecord::Body(b) => Some(String::from_utf8(b.clone()).unwrap()),
            _ => None,
        })
        .collect();
    assert_eq!(bodies, ["body0", "body1", "body2"]);
    assert_eq!(pair.client.in_flight(), 0);
}

#[test]
fn head_responses_have_no_body_even_with_a_length() {
    let app = |conn: &mut ServerConnection, event: &Event| {
        if let Event::RequestEnd = event {
            conn.respond(
                ResponseHead::new(StatusCode::OK),
                Bytes::from_static(b"Hello, World!"),
            )
            .unwrap();
        }
    };
    let mut pair = Pair::new(Config::default(), common::origin(), app);
    pair.client
        .send_request(
            ClientRequest::new(Method::HEAD, "/")
                .header(http::header::HOST, HeaderValue::from_static("a")),
        )
        .unwrap();
    pair.client.send_request(get("/")).unwrap();
    pair.settle();
    let records = pair.client_records();
    assert!(
        matches!(&records[0], ClientRecord::Response(200, f) if f.contains(&("content-length".into(), b"13".to_vec())))
    );
    assert_eq!(records[1], ClientRecord::ResponseEnd);
    assert_eq!(records[3], ClientRecord::Body(b"Hello, World!".to_vec()));
}

#[test]
fn informational_responses_come_before_the_final_one() {
    let app = |conn: &mut ServerConnection, event: &Event| {
        if let Event::RequestEnd = event {
            let hints = ResponseHead::new(StatusCode::from_u16(103).unwrap()).header(
                http::header::LINK,
                HeaderValue::from_static("</a.css>; rel=preload"),
            );
            conn.send_informational(hints).unwrap();
            conn.respond(ResponseHead::new(StatusCode::NO_CONTENT), Bytes::new())
                .unwrap();
        }
    };
    let mut pair = Pair::new(Config::default(), common::origin(), app);
    pair.request(get("/"), Bytes::new()).unwrap();
    assert_eq!(pair.client_records()[0], ClientRecord::Informational(103));
    assert!(matches!(
        pair.client_records()[1],
        ClientRecord::Response(204, _)
    ));
    assert_eq!(pair.client_records()[2], ClientRecord::ResponseEnd);
}

#[test]
fn expect_continue_holds_the_body_until_100() {
    let mut pair = echo_pair();
    pair.client
        .send_request(post("/").content_length(5).expect_continue())
        .unwrap();
    pair.client.send_body(Bytes::from_static(b"hello")).unwrap();
    pair.client.finish().unwrap();
    pair.settle();
    assert_eq!(pair.client_records()[0], ClientRecord::Informational(100));
    assert!(pair
        .client_records()
        .contains(&ClientRecord::Body(b"hello".to_vec())));
    assert!(pair.client.can_send());
}

#[test]
fn expect_continue_sends_anyway_after_the_wait() {
    let mut config = Config::default();
    config.continue_mode = nutshell_core::ContinueMode::Manual;
    let mut pair = Pair::new(config, common::origin(), Echo::default());
    pair.client
        .request(post("/").expect_continue(), Bytes::from_static(b"late"))
        .unwrap();
    pair.settle();
    assert!(!pair
        .server
        .records()
        .iter()
        .any(|r| matches!(r, Record::Body(_))));
    pair.advance(Duration::from_secs(1));
    assert!(pair
        .client_records()
        .contains(&ClientRecord::Body(b"late".to_vec())));
}

#[test]
fn a_final_answer_before_100_drops_the_body_and_closes() {
    let app = |conn: &mut ServerConnection, event: &Event| {
        if let Event::Request(_) = event {
            conn.respond(
                ResponseHead::new(StatusCode::PAYLOAD_TOO_LARGE),
                Bytes::new(),
            )
            .unwrap();
        }
    };
    let mut pair = Pair::new(Config::default(), common::origin(), app);
    pair.client
        .request(post("/").expect_continue(), Bytes::from_static(b"never"))
        .unwrap();
    pair.settle();
    assert!(matches!(
        pair.client_records()[0],
        ClientRecord::Response(413, _)
    ));
    assert_eq!(
        pair.client_records().last(),
        Some(&ClientRecord::Closed(CloseReason::Done))
    );
}

#[test]
fn connection_close_ends_the_connection_after_the_response() {
    let mut pair = echo_pair();
    pair.request(get("/").close(), Bytes::new()).unwrap();
    assert!(!pair.client.can_send());
    assert_eq!(
        pair.client_records().last(),
        Some(&ClientRecord::Closed(CloseReason::Done))
    );
    assert_eq!(statuses(&pair), [200]);
}

#[test]
fn usage_errors_change_nothing() {
    let mut client = ClientConnection::new(Arc::new(Config::default()), common::origin());
    assert_eq!(
        client.send_request(ClientRequest::new(Method::GET, "/")),
        Err(UsageError::MissingHost)
    );
    assert_eq!(
        client.send_body(Bytes::from_static(b"x")),
        Err(UsageError::NoRequest)
    );
    assert_eq!(
        client.request(post("/").content_length(3), Bytes::from_static(b"x")),
        Err(UsageError::InvalidContentLength)
    );
    assert_eq!(client.transmit_len(), 0);
    client.send_request(post("/").content_length(2)).unwrap();
    assert_eq!(
        client.send_body(Bytes::from_static(b"xyz")),
        Err(UsageError::BodyTooLong)
    );
    assert_eq!(client.finish(), Err(UsageError::BodyTooShort));
}

// ---- against raw bytes ---------------------------------------------------------

/// A client with one request in flight, fed `response`, then EOF.
fn receive(method: Method, response: &[u8]) -> Vec<ClientEvent> {
    let now = common::origin();
    let mut client = ClientConnection::new(Arc::new(Config::default()), now);
    client
        .send_request(
            ClientRequest::new(method, "/")
                .header(http::header::HOST, HeaderValue::from_static("a")),
        )
        .unwrap();
    while client.poll_transmit(now).is_some() {}
    let mut events = Vec::new();
    for byte in response {
        client.handle_read(std::slice::from_ref(byte), now);
        events.extend(std::iter::from_fn(|| client.poll_event()));
    }
    client.handle_eof(now);
    events.extend(std::iter::from_fn(|| client.poll_event()));
    events
}

fn body_of(events: &[ClientEvent]) -> Vec<u8> {
    events
        .iter()
        .filter_map(|e| {
            if let ClientEvent::Body(b) = e {
                Some(b.to_vec())
            } else {
                None
            }
        })
        .flatten()
        .collect()
}

fn error_of(events: &[ClientEvent]) -> Option<ProtocolError> {
    events.iter().find_map(|e| {
        if let ClientEvent::Error(error) = e {
            Some(*error)
        } else {
            None
        }
    })
}

#[test]
fn close_delimited_bodies_end_at_eof() {
    let events = receive(Method::GET, b"HTTP/1.1 200 OK\r\n\r\nuntil the end");
    assert_eq!(body_of(&events), b"until the end");
    assert!(matches!(events[events.len() - 2], ClientEvent::ResponseEnd));
    assert!(matches!(
        events.last(),
        Some(ClientEvent::Closed(CloseReason::Done))
    ));
    let events = receive(
        Method::GET,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz",
    );
    assert_eq!(
        body_of(&events),
        b"zzz",
        "final coding not chunked: until close"
    );
}

#[test]
fn bodiless_statuses_and_304_with_a_length() {
    let events = receive(
        Method::GET,
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n",
    );
    assert!(matches!(events[1], ClientEvent::ResponseEnd));
    assert!(error_of(&events).is_none(), "{events:?}");
}

#[test]
fn the_same_strictness_as_the_server() {
    use ProtocolError::*;
    let cases: &[(&[u8], ProtocolError)] = &[
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            ContentLengthWithTransferEncoding,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
            DuplicateContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n",
            InvalidContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            InvalidChunkSize,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX",
            MissingChunkCrlf,
        ),
        (b"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", BareLineFeed),
        (
            b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
            ObsoleteLineFolding,
        ),
        (b"HTTP/1.1 200 OK\r\nX : a\r\n\r\n", WhitespaceBeforeColon),
        (b"HTTP/1.1 200 OK\r\nX(: a\r\n\r\n", InvalidHeaderName),
        (b"HTTP/1.1 200 OK\r\nX: \x01\r\n\r\n", InvalidHeaderValue),
        (b"HTTP/2.0 200 OK\r\n\r\n", UnsupportedVersion),
        (b"HTTQ/1.1 200 OK\r\n\r\n", InvalidStatusLine),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            IncompleteResponse,
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Le", IncompleteResponse),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
            UnexpectedResponse,
        ),
    ];
    for (response, expected) in cases {
        let events = receive(Method::GET, response);
        assert_eq!(
            error_of(&events),
            Some(*expected),
            "{}",
            String::from_utf8_lossy(response)
        );
        assert!(matches!(
            events.last(),
            Some(ClientEvent::Closed(CloseReason::ProtocolError(_)))
        ));
    }
}

#[test]
fn connect_2xx_and_101_hand_over() {
    let now = common::origin();
    let mut client = ClientConnection::new(Arc::new(Config::default()), now);
    let connect = ClientRequest::new(Method::CONNECT, "a:443")
        .header(http::header::HOST, HeaderValue::from_static("a:443"));
    client.send_request(connect).unwrap();
    client.handle_read(b"HTTP/1.1 200 OK\r\n\r\ntunnel bytes", now);
    let events: Vec<_> = std::iter::from_fn(|| client.poll_event()).collect();
    assert!(
        matches!(&events[1], ClientEvent::Upgrade { leftover } if &leftover[..] == b"tunnel bytes"),
        "{events:?}"
    );
    assert!(!client.wants_read());
    let events = receive(
        Method::GET,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
    );
    assert!(matches!(&events[1], ClientEvent::Upgrade { .. }));
}

#[test]
fn a_missing_response_times_out() {
    let app = |_: &mut ServerConnection, _: &Event| {};
    let mut pair = Pair::new(Config::default(), common::origin(), app);
    pair.request(get("/"), Bytes::new()).unwrap();
    pair.advance(Duration::from_secs(29));
    assert!(!pair.client.is_closed());
    pair.advance(Duration::from_secs(1));
    assert!(pair
        .client_records()
        .contains(&ClientRecord::Error(ProtocolError::ResponseTimeout)));
    assert!(pair.client.is_closed());
}
