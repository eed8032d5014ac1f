//! The core's answers to hostile and unlucky peers: garbage refused at once,
//! backpressure judged by the write-stall timer alone, lingering long enough
//! for an uploader to read its 413, and output lent to completion-based I/O.

mod common;

use std::time::Duration;

use nutshell_core::testing::Record;
use nutshell_core::{CloseReason, Config, ProtocolError};

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

fn statuses_and_error(h: &nutshell_core::testing::Harness) -> (Vec<u16>, Option<ProtocolError>) {
    let error = h.records().iter().find_map(|r| match r {
        Record::Error(e) => Some(*e),
        _ => None,
    });
    (common::statuses(h.sent()), error)
}

#[test]
fn bytes_that_cannot_begin_a_request_are_refused_before_any_line_end() {
    // The start of a TLS 1.3 ClientHello record, binary noise, a control
    // byte: none has a line end, so nothing but the first bytes decides.
    let inputs: [&[u8]; 4] = [
        &[
            0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
        ],
        &[0x8f, 0x00, 0xff, 0x13, 0x37],
        b"\x00GET / HTTP/1.1",
        b"GE\x01T / HTTP/1.1",
    ];
    for input in inputs {
        for bytewise in [false, true] {
            let mut h = common::echo();
            if bytewise {
                h.feed_bytewise(input);
            } else {
                h.feed(input);
            }
            assert_eq!(
                statuses_and_error(&h),
                (vec![400], Some(ProtocolError::InvalidMethod)),
                "{input:?}"
            );
            assert!(h.sent_text().contains("Connection: close\r\n"));
        }
    }
}

#[test]
fn an_http2_preface_is_answered_with_505() {
    let mut h = common::echo();
    h.feed(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    assert_eq!(
        statuses_and_error(&h),
        (vec![505], Some(ProtocolError::UnsupportedVersion))
    );
}

#[test]
fn a_valid_method_prefix_waits_for_the_rest() {
    let mut h = common::echo();
    h.feed(b"OPTIO");
    assert!(h.sent().is_empty() && !h.is_closed());
    h.feed(b"NS * HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(common::statuses(h.sent()), vec![200]);
}

#[test]
fn backpressure_holds_the_read_timers_and_the_write_stall_decides() {
    let mut config = Config::default();
    config.timeouts.head = Duration::from_secs(1);
    config.timeouts.idle = Duration::from_secs(1);
    config.timeouts.write = Duration::from_secs(10);
    config.limits.max_transmit = 1024;
    let mut h = common::echo_with(config);
    h.peer_reads = false;
    // Far more pipelined requests than the transmit bound lets through.
    h.feed(&GET.repeat(200));
    assert!(!h.conn.wants_read(), "stopped reading under backpressure");
    h.advance(Duration::from_secs(9));
    assert!(
        !h.is_closed(),
        "no read-side timer fired: {:?}",
        h.records()
    );
    assert!(!h
        .records()
        .iter()
        .any(|r| matches!(r, Record::Error(ProtocolError::HeadTimeout))));
    h.advance(Duration::from_secs(1));
    assert_eq!(
        h.records().last(),
        Some(&Record::Closed(CloseReason::WriteStalled))
    );
}

#[test]
fn read_timers_count_again_once_the_peer_reads() {
    let mut config = Config::default();
    config.timeouts.idle = Duration::from_secs(1);
    config.limits.max_transmit = 64;
    let mut h = common::echo_with(config);
    h.peer_reads = false;
    h.feed(GET);
    h.advance(Duration::from_secs(5));
    assert!(!h.is_closed(), "idle is held while output waits");
    h.peer_reads = true;
    h.drain();
    h.advance(Duration::from_secs(2));
    assert_eq!(
        h.records().last(),
        Some(&Record::Closed(CloseReason::IdleTimeout))
    );
}

#[test]
fn lingering_after_a_413_drops_a_large_upload_until_the_peer_stops() {
    let mut config = Config::default();
    config.limits.max_body = 1024;
    let mut h = common::echo_with(config);
    h.feed(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    let chunk = [b"1000\r\n".as_slice(), &[b'x'; 0x1000], b"\r\n"].concat();
    h.feed(&chunk);
    assert_eq!(common::statuses(h.sent()), vec![413]);
    assert!(h.conn.wants_write_shutdown(), "half-closed after the 413");
    // The uploader keeps sending for a while (4 MiB) before it reads the
    // 413; all of it is read and dropped, none of it resets the connection.
    for _ in 0..1024 {
        h.feed(&chunk);
        h.advance(Duration::from_millis(1));
    }
    assert!(!h.is_closed(), "{:?}", h.records().last());
    // Then it goes quiet: the connection closes after the quiet period.
    h.advance(Duration::from_secs(2));
    assert!(h.is_closed());
}

#[test]
fn lingering_ends_at_its_total_budget() {
    let mut config = Config::default();
    config.timeouts.linger_total = Duration::from_secs(3);
    let mut h = common::echo_with(config);
    h.feed(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    for _ in 0..40 {
        h.feed(b"more");
        h.advance(Duration::from_millis(100));
    }
    assert!(h.is_closed(), "closed by the total budget despite input");
}

#[test]
fn lent_output_keeps_the_write_stall_timer_and_the_close_waiting() {
    let mut config = Config::default();
    config.timeouts.write = Duration::from_secs(5);
    let mut h = common::echo_with(config);
    h.peer_reads = false;
    h.feed(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    let now = h.now();
    let lent = h.conn.lend_transmit(now).expect("a response to lend");
    assert!(lent.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert_eq!(h.conn.lend_transmit(now), None, "everything is lent");
    assert_eq!(h.conn.transmit_len(), lent.len(), "still queued");
    assert!(
        !h.conn.wants_write_shutdown(),
        "no close while the kernel holds it"
    );
    h.advance(Duration::from_secs(4));
    assert!(!h.is_closed());
    // The write completes: the close can start.
    let later = h.now();
    h.conn.advance_transmit(lent.len(), later);
    assert!(h.conn.wants_write_shutdown());

    // A write that never completes is judged by the write-stall timer.
    let mut h = common::echo_with({
        let mut c = Config::default();
        c.timeouts.write = Duration::from_secs(5);
        c
    });
    h.peer_reads = false;
    h.feed(GET);
    let _lent = h.conn.lend_transmit(h.now());
    h.advance(Duration::from_secs(5));
    assert_eq!(
        h.records().last(),
        Some(&Record::Closed(CloseReason::WriteStalled))
    );
}

#[test]
fn a_timer_a_command_starts_counts_from_the_latest_now() {
    // The response (a command, without `now`) starts the write-stall timer:
    // its deadline is a real instant, never "call me at once".
    let mut h = common::echo();
    h.peer_reads = false;
    h.feed(GET);
    let deadline = h.conn.poll_timeout().expect("write-stall armed");
    assert!(deadline > h.now());
    assert_eq!(
        deadline,
        h.now()
            + Config::default()
                .timeouts
                .write
                .min(Config::default().timeouts.idle)
    );
}

#[test]
fn a_refused_head_request_gets_an_error_without_a_body() {
    // Found by the grammar fuzzer: a HEAD whose target does not fit.
    for input in [
        &b"HEAD a:80 HTTP/1.1\r\nHost: a\r\n\r\n"[..],
        b"HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n",
    ] {
        let mut h = common::echo();
        h.feed(input);
        let text = h.sent_text();
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
        assert!(
            text.ends_with("\r\n\r\n"),
            "no body after the head: {text:?}"
        );
    }
}
