//! Behaviour of one connection, driven through the deterministic harness:
//! framing choices, keep-alive, 100-continue, upgrades, timeouts, shutdown,
//! backpressure and usage errors. No sockets, no sleeps.

mod common;

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use nutshell_core::testing::{Harness, Record};
use nutshell_core::{
    CloseReason, Config, ConnectionState, ContinueMode, Event, ProtocolError, ResponseHead,
    ServerConnection, UsageError,
};

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

/// A harness whose application does nothing: the test answers by hand.
fn manual(config: Config) -> Harness {
    Harness::new(
        config,
        common::origin(),
        |_: &mut ServerConnection, _: &Event| {},
    )
}

fn ok() -> ResponseHead {
    ResponseHead::new(StatusCode::OK)
}

fn text(h: &Harness) -> String {
    h.sent_text()
}

// ---- keep-alive and framing -------------------------------------------------

#[test]
fn http11_keeps_alive_by_default() {
    let mut h = common::echo();
    h.feed(GET);
    h.feed(GET);
    assert_eq!(common::statuses(h.sent()), [200, 200]);
    assert!(!text(&h).contains("Connection:"));
    assert_eq!(h.conn.state(), ConnectionState::Idle);
    assert_eq!(h.conn.requests(), 2);
}

#[test]
fn connection_close_from_the_client_closes_after_the_response() {
    let mut h = common::echo();
    h.feed(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(common::statuses(h.sent()), [200]);
    assert!(text(&h).contains("Connection: close\r\n"));
    assert!(h.conn.wants_write_shutdown());
    assert_eq!(
        h.records()
            .iter()
            .filter(|r| matches!(r, Record::Request { .. }))
            .count(),
        1
    );
    h.eof();
    assert_eq!(h.records().last(), Some(&Record::Closed(CloseReason::Done)));
}

#[test]
fn app_connection_close_is_honoured() {
    let mut h = manual(Config::default());
    h.feed(GET);
    let head = ok().header(http::header::CONNECTION, HeaderValue::from_static("close"));
    h.conn.respond(head, Bytes::from_static(b"x")).unwrap();
    h.drain();
    assert_eq!(text(&h).matches("Connection: close").count(), 1);
    assert!(h.conn.wants_write_shutdown());
}

#[test]
fn http10_gets_close_delimited_or_keep_alive_with_a_length() {
    let mut h = manual(Config::default());
    h.feed(b"GET / HTTP/1.0\r\n\r\n");
    h.conn.send_response(ok()).unwrap();
    h.conn.send_body(Bytes::from_static(b"raw body")).unwrap();
    h.conn.finish().unwrap();
    h.drain();
    let sent = text(&h);
    assert!(sent.starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(sent.contains("Connection: close\r\n") && !sent.contains("chunked"));
    assert!(sent.ends_with("\r\n\r\nraw body"));
    assert!(h.conn.wants_write_shutdown());

    let mut h = common::echo();
    h.feed(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert!(text(&h).contains("Connection: keep-alive\r\n"));
    assert!(!h.conn.wants_write_shutdown());
}

#[test]
fn chunked_response_with_trailers_for_http11() {
    let mut h = manual(Config::default());
    h.feed(GET);
    h.conn.send_response(ok()).unwrap();
    h.conn.send_body(Bytes::from_static(b"hello ")).unwrap();
    h.conn.send_body(Bytes::new()).unwrap();
    h.conn
        .send_body(Bytes::from_static(b"world, this is sixteen+"))
        .unwrap();
    let mut trailers = HeaderMap::new();
    trailers.insert(
        HeaderName::from_static("x-checksum"),
        HeaderValue::from_static("42"),
    );
    h.conn.send_trailers(&trailers).unwrap();
    h.drain();
    let sent = text(&h);
    assert!(sent.contains("Transfer-Encoding: chunked\r\n"));
    assert!(
        sent.ends_with(
            "\r\n\r\n6\r\nhello \r\n17\r\nworld, this is sixteen+\r\n0\r\nx-checksum: 42\r\n\r\n"
        ),
        "{sent}"
    );
    assert_eq!(h.conn.state(), ConnectionState::Idle);
}

#[test]
fn head_responses_announce_but_send_no_body() {
    let mut h = manual(Config::default());
    h.feed(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
    h.conn.send_response(ok().content_length(13)).unwrap();
    assert_eq!(
        h.conn.send_body(Bytes::from_static(b"Hello, World!")),
        Err(UsageError::BodyNotAllowed)
    );
    h.conn.finish().unwrap();
    h.drain();
    assert!(text(&h).ends_with("Content-Length: 13\r\n\r\n"));
    h.feed(b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
    h.conn.send_response(ok()).unwrap();
    h.conn.finish().unwrap();
    h.drain();
    assert!(
        text(&h).ends_with("Transfer-Encoding: chunked\r\n\r\n"),
        "HEAD keeps GET's framing"
    );
    assert_eq!(text(&h).matches("HTTP/1.1 200 OK\r\n").count(), 2);
}

#[test]
fn no_body_for_204_and_304() {
    let mut h = manual(Config::default());
    h.feed(GET);
    h.conn
        .send_response(ResponseHead::new(StatusCode::NO_CONTENT))
        .unwrap();
    assert_eq!(
        h.conn.send_body(Bytes::from_static(b"x")),
        Err(UsageError::BodyNotAllowed)
    );
    h.conn.finish().unwrap();
    h.feed(GET);
    h.conn
        .send_response(ResponseHead::new(StatusCode::NOT_MODIFIED).content_length(10))
        .unwrap();
    h.conn.finish().unwrap();
    h.drain();
    let sent = text(&h);
    assert!(sent.starts_with("HTTP/1.1 204 No Content\r\nDate: "));
    assert!(!sent[..sent.find("304").unwrap()].contains("Content-Length"));
    assert!(sent.ends_with("Content-Length: 10\r\n\r\n"));
    assert_eq!(h.conn.state(), ConnectionState::Idle);
}

#[test]
fn every_response_carries_date_from_the_clock_given_and_server_when_configured() {
    let mut config = Config::default();
    config.server_header = Some(HeaderValue::from_static("nutshell"));
    let mut h = common::echo_with(config);
    h.feed(GET);
    assert!(text(&h).contains("Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: nutshell\r\n"));
    h.advance(Duration::from_secs(2));
    h.feed(GET);
    assert!(text(&h).contains("Date: Sun, 06 Nov 1994 08:49:39 GMT\r\n"));
}

#[test]
fn request_limit_per_connection() {
    let mut config = Config::default();
    config.max_requests_per_connection = Some(2);
    let mut h = common::echo_with(config);
    h.feed(GET);
    assert!(!text(&h).contains("Connection: close"));
    h.feed(GET);
    assert!(text(&h).ends_with("Connection: close\r\n\r\n"));
    h.feed(GET);
    assert_eq!(common::statuses(h.sent()), [200, 200]);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mut h = common::echo();
    let mut input = Vec::new();
    for i in 0..10 {
        input.extend_from_slice(format!("GET /{i} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes());
    }
    h.feed(&input);
    let sent = text(&h);
    let order: Vec<&str> = sent
        .lines()
        .filter_map(|l| l.strip_prefix("x-request: GET "))
        .collect();
    assert_eq!(
        order,
        ["/0", "/1", "/2", "/3", "/4", "/5", "/6", "/7", "/8", "/9"]
    );
}

#[test]
fn a_request_waits_in_the_buffer_until_the_previous_response_finishes() {
    let mut h = manual(Config::default());
    h.feed(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(
        h.records()
            .iter()
            .filter(|r| matches!(r, Record::Request { .. }))
            .count(),
        1
    );
    h.conn.send_response(ok().content_length(0)).unwrap();
    h.drain();
    assert_eq!(
        h.records()
            .iter()
            .filter(|r| matches!(r, Record::Request { .. }))
            .count(),
        1
    );
    h.conn.finish().unwrap();
    h.drain();
    assert_eq!(
        h.records()
            .iter()
            .filter(|r| matches!(r, Record::Request { .. }))
            .count(),
        2
    );
}

// ---- usage errors -------------------------------------------------------------

#[test]
fn usage_errors_change_nothing() {
    let mut h = manual(Config::default());
    assert_eq!(h.conn.send_response(ok()), Err(UsageError::NoRequest));
    h.feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx");
    assert_eq!(
        h.conn.send_body(Bytes::from_static(b"x")),
        Err(UsageError::ResponseNotStarted)
    );
    assert_eq!(h.conn.finish(), Err(UsageError::ResponseNotStarted));
    let gzip = ok().header(
        http::header::TRANSFER_ENCODING,
        HeaderValue::from_static("gzip"),
    );
    assert_eq!(
        h.conn.send_response(gzip),
        Err(UsageError::TransferEncodingNotAllowed)
    );
    assert_eq!(
        h.conn
            .send_response(ResponseHead::new(StatusCode::CONTINUE)),
        Err(UsageError::WrongStatusClass)
    );
    assert_eq!(
        h.conn.send_informational(ok()),
        Err(UsageError::WrongStatusClass)
    );
    assert_eq!(
        h.conn
            .accept_upgrade(ResponseHead::new(StatusCode::SWITCHING_PROTOCOLS)),
        Err(UsageError::NotAnUpgrade)
    );
    assert_eq!(
        h.conn.transmit_len(),
        0,
        "nothing was queued by the failed commands"
    );

    h.conn.send_response(ok().content_length(4)).unwrap();
    assert_eq!(
        h.conn.send_response(ok()),
        Err(UsageError::ResponseAlreadyStarted)
    );
    assert_eq!(
        h.conn.send_body(Bytes::from_static(b"12345")),
        Err(UsageError::BodyTooLong)
    );
    h.conn.send_body(Bytes::from_static(b"12")).unwrap();
    assert_eq!(h.conn.finish(), Err(UsageError::BodyTooShort));
    assert_eq!(
        h.conn.send_trailers(&HeaderMap::new()),
        Err(UsageError::BodyTooShort)
    );
    h.conn.send_body(Bytes::from_static(b"34")).unwrap();
    let mut trailers = HeaderMap::new();
    trailers.insert(HeaderName::from_static("x"), HeaderValue::from_static("y"));
    assert_eq!(
        h.conn.send_trailers(&trailers),
        Err(UsageError::TrailersNeedChunked)
    );
    h.conn.finish().unwrap();
    h.drain();
    assert!(text(&h).ends_with("Content-Length: 4\r\n\r\n1234"));
    assert_eq!(h.conn.state(), ConnectionState::Idle);
}

#[test]
fn send_body_respects_the_transmit_bound() {
    let mut config = Config::default();
    config.limits.max_transmit = 1024;
    let mut h = manual(config);
    h.peer_reads = false;
    h.feed(GET);
    h.conn.send_response(ok()).unwrap();
    h.conn.send_body(Bytes::from(vec![b'x'; 2000])).unwrap();
    assert_eq!(h.conn.send_capacity(), 0);
    assert_eq!(
        h.conn.send_body(Bytes::from_static(b"more")),
        Err(UsageError::TransmitFull)
    );
    assert!(
        !h.conn.wants_read(),
        "backpressure: no input while output is over its bound"
    );
}

// ---- 100-continue ---------------------------------------------------------------

const EXPECT: &[u8] =
    b"PUT /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";

#[test]
fn automatic_100_continue_when_the_app_reads_the_body() {
    let mut h = common::echo();
    h.feed(EXPECT);
    assert_eq!(text(&h), "HTTP/1.1 100 Continue\r\n\r\n");
    h.feed(b"hello");
    assert_eq!(common::statuses(h.sent()), [100, 200]);
    assert!(text(&h).ends_with("hello"));
    assert!(!text(&h).contains("Connection: close"));
}

#[test]
fn manual_100_continue_waits_for_the_app() {
    let mut config = Config::default();
    config.continue_mode = ContinueMode::Manual;
    let mut h = manual(config);
    h.feed(EXPECT);
    assert_eq!(h.sent(), b"");
    h.conn
        .send_informational(ResponseHead::new(StatusCode::CONTINUE))
        .unwrap();
    h.conn
        .send_informational(ResponseHead::new(StatusCode::CONTINUE))
        .unwrap();
    h.drain();
    assert_eq!(text(&h), "HTTP/1.1 100 Continue\r\n\r\n", "sent once");
}

#[test]
fn answering_without_the_body_closes_when_100_was_not_sent() {
    let mut h = Harness::new(
        Config::default(),
        common::origin(),
        |conn: &mut ServerConnection, event: &Event| {
            if let Event::Request(_) = event {
                conn.respond(
                    ResponseHead::new(StatusCode::PAYLOAD_TOO_LARGE),
                    Bytes::new(),
                )
                .unwrap();
            }
        },
    );
    h.feed(EXPECT);
    let sent = text(&h);
    assert!(!sent.contains("100 Continue"));
    assert!(
        sent.starts_with("HTTP/1.1 413 Payload Too Large\r\n")
            && sent.contains("Connection: close\r\n")
    );
    assert!(h.conn.wants_write_shutdown());
}

#[test]
fn early_hints_go_before_the_final_response() {
    let mut h = manual(Config::default());
    h.feed(GET);
    let hints = ResponseHead::new(StatusCode::from_u16(103).unwrap()).header(
        http::header::LINK,
        HeaderValue::from_static("</style.css>; rel=preload"),
    );
    h.conn.send_informational(hints.clone()).unwrap();
    h.conn.respond(ok(), Bytes::new()).unwrap();
    h.drain();
    assert!(text(&h).starts_with(
        "HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\n"
    ));

    let mut h = manual(Config::default());
    h.feed(b"GET / HTTP/1.0\r\n\r\n");
    h.conn.send_informational(hints).unwrap();
    h.drain();
    assert_eq!(h.sent(), b"", "no 1xx to HTTP/1.0 peers");
}

// ---- unread bodies --------------------------------------------------------------

fn answer_at_once() -> impl FnMut(&mut ServerConnection, &Event) {
    |conn: &mut ServerConnection, event: &Event| {
        if let Event::Request(_) = event {
            conn.respond(
                ResponseHead::new(StatusCode::OK),
                Bytes::from_static(b"early"),
            )
            .unwrap();
        }
    }
}

#[test]
fn an_unread_small_body_is_drained_and_the_connection_kept() {
    let mut h = Harness::new(Config::default(), common::origin(), answer_at_once());
    h.feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123");
    h.feed(b"456789");
    h.feed(GET);
    assert_eq!(common::statuses(h.sent()), [200, 200]);
    assert!(!text(&h).contains("Connection: close"));
    assert!(
        !h.records().iter().any(|r| matches!(r, Record::Body(_))),
        "drained bytes are not events"
    );
}

#[test]
fn an_unread_large_body_closes_instead() {
    let mut config = Config::default();
    config.limits.discard_body = 4;
    let mut h = Harness::new(config, common::origin(), answer_at_once());
    h.feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n");
    assert_eq!(common::statuses(h.sent()), [200]);
    assert!(h.conn.wants_write_shutdown());

    let mut config = Config::default();
    config.limits.discard_body = 4;
    let mut h = Harness::new(config, common::origin(), answer_at_once());
    h.feed(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert!(
        !h.conn.wants_write_shutdown(),
        "unknown length: drain first"
    );
    h.feed(b"a\r\n0123456789\r\n");
    assert!(
        h.conn.wants_write_shutdown(),
        "over the discard budget: close"
    );
}

// ---- trailers -------------------------------------------------------------------

#[test]
fn trailers_arrive_without_framing_fields() {
    let mut h = common::echo();
    h.feed(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 9\r\nContent-Length: 100\r\nHost: evil\r\n\r\n");
    assert!(h
        .records()
        .contains(&Record::Trailers(vec![("x-sum".into(), b"9".to_vec())])));
    assert!(text(&h).ends_with("abc"));
}

#[test]
fn trailers_over_the_limit_are_refused() {
    let mut config = Config::default();
    config.limits.max_trailer_bytes = 16;
    let mut h = common::echo_with(config);
    h.feed(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n");
    assert!(h
        .records()
        .contains(&Record::Error(ProtocolError::TrailersTooLarge)));
    assert_eq!(common::statuses(h.sent()), [431]);
}

// ---- limits ---------------------------------------------------------------------

#[test]
fn limits_answer_with_their_status() {
    let mut config = Config::default();
    config.limits.max_request_line = 64;
    config.limits.max_head_bytes = 256;
    config.limits.max_headers = 4;
    config.limits.max_body = 100;
    let cases: Vec<(Vec<u8>, u16, ProtocolError)> = vec![
        (
            format!("GET /{} HTTP/1.1\r\n", "a".repeat(100)).into_bytes(),
            414,
            ProtocolError::RequestLineTooLong,
        ),
        (
            format!("GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n", "b".repeat(300)).into_bytes(),
            431,
            ProtocolError::HeadTooLarge,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n".to_vec(),
            431,
            ProtocolError::TooManyHeaders,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n".to_vec(),
            413,
            ProtocolError::BodyTooLarge,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n".to_vec(),
            0,
            ProtocolError::BodyTooLarge,
        ),
    ];
    for (input, status, error) in cases {
        let mut h = common::echo_with(config.clone());
        h.feed(&input);
        if status == 0 {
            // The running total passes the limit at the second chunk.
            h.feed(&[b'x'; 64]);
            h.feed(b"\r\n40\r\n");
        }
        assert!(
            h.records().contains(&Record::Error(error)),
            "{error:?}: {:?}",
            h.records()
        );
        let status = if status == 0 { 413 } else { status };
        assert_eq!(common::statuses(h.sent()), [status], "{error:?}");
    }
}

#[test]
fn the_receive_buffer_holds_its_bound_under_a_pipelining_peer_that_never_reads() {
    let mut config = Config::default();
    config.limits.recv_buffer = 4096;
    config.limits.max_head_bytes = 1024;
    config.limits.max_transmit = 2048;
    let mut h = common::echo_with(config);
    h.peer_reads = false;
    let flood = GET.repeat(2000);
    h.feed(&flood);
    assert!(!h.conn.wants_read());
    assert!(h.max_buffered <= 4096, "{}", h.max_buffered);
    assert!(h.max_transmit <= 2048 + 200, "{}", h.max_transmit);
    // Once the peer reads again, everything is answered.
    h.peer_reads = true;
    h.drain();
    h.feed(b"");
    assert_eq!(common::statuses(h.sent()).len(), 2000);
}

// ---- upgrades -------------------------------------------------------------------

#[test]
fn upgrade_hands_over_the_leftover_bytes() {
    let mut h = manual(Config::default());
    h.feed(b"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello");
    let head = ResponseHead::new(StatusCode::SWITCHING_PROTOCOLS)
        .header(
            http::header::CONNECTION,
            HeaderValue::from_static("Upgrade"),
        )
        .header(http::header::UPGRADE, HeaderValue::from_static("websocket"));
    assert_eq!(h.conn.accept_upgrade(ok()), Err(UsageError::NotAnUpgrade));
    h.conn.accept_upgrade(head).unwrap();
    h.drain();
    assert!(h
        .records()
        .contains(&Record::Upgrade(b"\x81\x05hello".to_vec())));
    assert!(text(&h).starts_with(
        "HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: websocket\r\n"
    ));
    assert_eq!(h.conn.state(), ConnectionState::Upgraded);
    assert!(!h.conn.wants_read());
    assert_eq!(h.conn.send_response(ok()), Err(UsageError::Closed));
}

#[test]
fn connect_opens_a_tunnel_with_2xx() {
    let mut h = manual(Config::default());
    h.feed(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01");
    assert_eq!(
        h.conn
            .accept_upgrade(ResponseHead::new(StatusCode::SWITCHING_PROTOCOLS)),
        Err(UsageError::NotAnUpgrade)
    );
    h.conn.accept_upgrade(ok()).unwrap();
    h.drain();
    assert!(h
        .records()
        .contains(&Record::Upgrade(b"\x16\x03\x01".to_vec())));
    assert!(text(&h).starts_with("HTTP/1.1 200 OK\r\n"));
}

// ---- timeouts -------------------------------------------------------------------

#[test]
fn a_slow_head_gets_408() {
    let mut h = common::echo();
    h.feed(b"GET / HTTP/1.1\r\nHo");
    h.advance(Duration::from_secs(29));
    h.feed(b"st: a\r\n");
    assert_eq!(h.sent(), b"");
    h.advance(Duration::from_secs(1));
    assert!(h
        .records()
        .contains(&Record::Error(ProtocolError::HeadTimeout)));
    assert_eq!(common::statuses(h.sent()), [408]);
    h.advance(Duration::from_secs(2));
    assert!(h.is_closed());
}

#[test]
fn a_silent_new_connection_gets_408_after_the_head_timeout() {
    let mut h = common::echo();
    assert_eq!(
        h.conn.poll_timeout(),
        Some(h.now() + Duration::from_secs(30))
    );
    h.advance(Duration::from_secs(30));
    assert_eq!(common::statuses(h.sent()), [408]);
}

#[test]
fn the_head_timer_restarts_with_each_request_and_idle_applies_between() {
    let mut h = common::echo();
    h.feed(GET);
    // Idle: nothing arrives for 59 s, which is fine; the next head then has
    // its own 30 s.
    h.advance(Duration::from_secs(59));
    h.feed(b"GET / HTTP/1.1\r\n");
    h.advance(Duration::from_secs(29));
    h.feed(b"Host: a\r\n\r\n");
    assert_eq!(common::statuses(h.sent()), [200, 200]);
    h.advance(Duration::from_secs(60));
    assert!(h.is_closed());
    assert_eq!(
        h.records().last(),
        Some(&Record::Closed(CloseReason::IdleTimeout))
    );
    assert_eq!(
        common::statuses(h.sent()),
        [200, 200],
        "idle close sends nothing"
    );
}

#[test]
fn a_stalled_body_gets_408_and_a_late_one_after_the_response_just_closes() {
    let mut h = common::echo();
    h.feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234");
    h.advance(Duration::from_secs(29));
    h.feed(b"5");
    h.advance(Duration::from_secs(29));
    assert_eq!(h.sent(), b"", "each byte restarts the body timer");
    h.advance(Duration::from_secs(1));
    assert!(h
        .records()
        .contains(&Record::Error(ProtocolError::BodyTimeout)));
    assert_eq!(common::statuses(h.sent()), [408]);

    let mut h = manual(Config::default());
    h.feed(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234");
    h.conn.send_response(ok()).unwrap();
    h.drain();
    h.advance(Duration::from_secs(30));
    assert_eq!(
        h.records().last(),
        Some(&Record::Closed(CloseReason::BodyTimeout))
    );
}

#[test]
fn a_peer_that_does_not_read_is_closed_after_the_write_timeout() {
    let mut h = common::echo();
    h.peer_reads = false;
    h.feed(GET);
    assert!(h.conn.wants_write());
    h.advance(Duration::from_secs(29));
    assert!(!h.is_closed());
    h.advance(Duration::from_secs(1));
    assert_eq!(
        h.records().last(),
        Some(&Record::Closed(CloseReason::WriteStalled))
    );
    assert_eq!(h.conn.transmit_len(), 0, "queued output is dropped");
}

#[test]
fn handle_timeout_before_a_deadline_is_a_no_op() {
    let mut h = common::echo();
    h.feed(b"GET / HTTP/1.1\r\n");
    let deadline = h.conn.poll_timeout().unwrap();
    let state = h.conn.state();
    h.conn.handle_timeout(deadline - Duration::from_millis(1));
    h.conn.handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(h.conn.poll_timeout(), Some(deadline));
    assert_eq!(h.conn.state(), state);
    assert_eq!(h.conn.poll_event().map(|_| ()), None);
}

// ---- EOF, write errors, shutdown -----------------------------------------------

#[test]
fn half_close_after_a_request_still_gets_the_response() {
    let mut h = common::echo();
    h.feed(GET);
    h.take_sent();
    h.feed(b"GET /last HTTP/1.1\r\nHost: a\r\n\r\n");
    h.eof();
    assert!(text(&h).contains("x-request: GET /last"));
    assert_eq!(
        h.records().last(),
        Some(&Record::Closed(CloseReason::PeerClosed))
    );

    let mut h = manual(Config::default());
    h.feed(GET);
    h.eof();
    assert!(!h.is_closed(), "the answer is still owed");
    h.conn.respond(ok(), Bytes::from_static(b"late")).unwrap();
    h.drain();
    assert!(text(&h).ends_with("late"));
    assert!(h.is_closed());
}

#[test]
fn eof_in_the_middle_of_a_request_is_a_400() {
    for partial in [
        &b"GET / HTTP/1.1\r\nHost"[..],
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nabc",
    ] {
        let mut h = common::echo();
        h.feed(partial);
        h.eof();
        assert!(h
            .records()
            .contains(&Record::Error(ProtocolError::IncompleteRequest)));
        assert_eq!(common::statuses(h.sent()), [400]);
        assert!(h.is_closed());
    }
}

#[test]
fn a_write_error_closes_at_once() {
    let mut h = common::echo();
    h.peer_reads = false;
    h.feed(GET);
    h.conn.handle_write_error();
    h.drain();
    assert_eq!(
        h.records().last(),
        Some(&Record::Closed(CloseReason::WriteError))
    );
}

#[test]
fn shutdown_closes_idle_connections_at_once() {
    let mut h = common::echo();
    h.feed(GET);
    h.shutdown();
    assert_eq!(
        h.records().last(),
        Some(&Record::Closed(CloseReason::Shutdown))
    );
}

#[test]
fn shutdown_lets_the_request_in_flight_finish_with_connection_close() {
    let mut h = manual(Config::default());
    h.feed(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
    h.shutdown();
    assert!(!h.is_closed());
    h.conn.respond(ok(), Bytes::from_static(b"done")).unwrap();
    h.drain();
    let sent = text(&h);
    assert!(sent.contains("Connection: close\r\n") && sent.ends_with("done"));
    assert_eq!(
        common::statuses(h.sent()),
        [200],
        "no new request after shutdown"
    );
    assert!(h.conn.wants_write_shutdown());
    h.eof();
    assert_eq!(
        h.records().last(),
        Some(&Record::Closed(CloseReason::Shutdown))
    );
}

#[test]
fn shutdown_has_a_deadline() {
    let mut h = manual(Config::default());
    h.feed(GET);
    h.shutdown();
    h.advance(Duration::from_secs(30));
    assert_eq!(
        h.records().last(),
        Some(&Record::Closed(CloseReason::ShutdownDeadline))
    );
}

#[test]
fn errors_are_sticky() {
    let mut h = common::echo();
    h.feed(b"GET / HTTP/1.1\r\n\r\n");
    let records = h.records().len();
    h.feed(GET);
    assert_eq!(h.records().len(), records);
    assert_eq!(common::statuses(h.sent()), [400]);
}

#[test]
fn lingering_reads_are_bounded() {
    let mut config = Config::default();
    config.limits.linger_bytes = 100;
    let mut h = common::echo_with(config);
    h.feed(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert!(h.conn.wants_write_shutdown());
    h.feed(&[b'z'; 50]);
    assert!(!h.is_closed());
    h.feed(&[b'z'; 60]);
    assert!(h.is_closed());
}

#[test]
fn path_strips_scheme_authority_and_query() {
    let paths = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = paths.clone();
    let mut h = Harness::new(
        Config::default(),
        common::origin(),
        move |conn: &mut ServerConnection, event: &Event| {
            if let Event::Request(head) = event {
                seen.lock().unwrap().push(head.path().to_string());
                conn.respond(ResponseHead::new(StatusCode::OK), Bytes::new())
                    .unwrap();
            }
        },
    );
    h.feed(b"GET /a/b?c=d HTTP/1.1\r\nHost: a\r\n\r\nGET http://a.test/x?y HTTP/1.1\r\nHost: a\r\n\r\nGET http://a.test HTTP/1.1\r\nHost: a\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(*paths.lock().unwrap(), ["/a/b", "/x", "/", "*"]);
}

#[test]
fn request_heads_convert_to_the_http_crate() {
    let converted = std::sync::Arc::new(std::sync::Mutex::new(None));
    let slot = converted.clone();
    let mut h = Harness::new(
        Config::default(),
        common::origin(),
        move |_: &mut ServerConnection, event: &Event| {
            if let Event::Request(head) = event {
                *slot.lock().unwrap() = Some(head.to_http());
            }
        },
    );
    h.feed(b"PUT /a?b=c HTTP/1.0\r\nX-One: 1\r\nx-one: 2\r\nContent-Length: 0\r\n\r\n");
    let request = converted.lock().unwrap().take().unwrap();
    assert_eq!(request.method(), http::Method::PUT);
    assert_eq!(request.uri(), "/a?b=c");
    assert_eq!(request.version(), http::Version::HTTP_10);
    let ones: Vec<_> = request.headers().get_all("x-one").iter().collect();
    assert_eq!(ones, ["1", "2"]);
    assert_eq!(request.headers()["content-length"], "0");
}

#[test]
fn an_error_answering_head_sends_no_body() {
    let mut h = common::echo();
    h.feed(b"HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab");
    h.eof();
    assert!(h
        .records()
        .contains(&Record::Error(ProtocolError::IncompleteRequest)));
    assert!(text(&h).starts_with("HTTP/1.1 400 Bad Request\r\n"));
    assert!(
        text(&h).ends_with("Connection: close\r\n\r\n"),
        "{}",
        text(&h)
    );
}
