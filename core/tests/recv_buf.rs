//! The zero-copy input path, `recv_buf()` + `commit_recv(n, now)`, driven
//! through `ServerConnection` itself (no harness): it must read exactly
//! what `handle_read` reads, never see bytes that were not committed, stay
//! as long as `recv_capacity()`, and be empty while the connection wants
//! no input (backpressure) until the peer's output drains.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use nutshell_core::http::StatusCode;
use nutshell_core::{Bytes, Config, Event, ResponseHead, ServerConnection};

/// A fixed time of day, so that two runs render the same `Date`.
fn wall_clock() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// How input reaches the connection.
#[derive(Debug, Clone, Copy)]
enum Path {
    /// `handle_read(&bytes, now)`, as much as it takes per call.
    HandleRead,
    /// `recv_buf()` + `commit_recv(n, now)`, at most this many bytes per read.
    RecvBuf(usize),
}

/// A connection, the virtual clock, and everything it reported and sent.
/// The application echoes each request's body in a 200 (an empty body for
/// a GET), answering once the request has ended.
struct Driven {
    conn: ServerConnection,
    now: std::time::Instant,
    body: Vec<u8>,
    log: Vec<String>,
    sent: Vec<u8>,
    /// Whether output is drained after every step (false: a peer that
    /// never reads).
    reads_output: bool,
}

impl Driven {
    fn new(config: Config) -> Self {
        let now = common::origin();
        Driven {
            conn: ServerConnection::new(Arc::new(config), now, wall_clock()),
            now,
            body: Vec::new(),
            log: Vec::new(),
            sent: Vec::new(),
            reads_output: true,
        }
    }

    /// Drains events (answering them) and, if the peer reads, the output,
    /// until neither gives more: draining the output lets the connection
    /// go on to a pipelined request it has buffered.
    fn drain(&mut self) {
        loop {
            let events = self.drain_events();
            let mut wrote = false;
            if self.reads_output {
                while let Some(bytes) = self.conn.poll_transmit(self.now) {
                    self.sent.extend_from_slice(&bytes);
                    wrote = true;
                }
            }
            if !events && !wrote {
                return;
            }
        }
    }

    /// Answers every pending event; returns whether there was any.
    fn drain_events(&mut self) -> bool {
        let mut any = false;
        while let Some(event) = self.conn.poll_event() {
            any = true;
            match &event {
                Event::Request(head) => self.log.push(format!("request {}", head.target())),
                Event::Body(piece) => self.body.extend_from_slice(piece),
                Event::RequestEnd => {
                    self.log
                        .push(format!("end, {} body bytes", self.body.len()));
                    let body = Bytes::from(std::mem::take(&mut self.body));
                    self.conn
                        .respond(ResponseHead::new(StatusCode::OK), body)
                        .expect("respond");
                }
                other => self.log.push(format!("{other:?}")),
            }
        }
        any
    }

    /// Feeds `input` along `path`, draining after every read; returns how
    /// much was taken before the connection stopped wanting input.
    fn feed(&mut self, input: &[u8], path: Path) -> usize {
        let mut at = 0;
        self.drain();
        while at < input.len() {
            let taken = match path {
                Path::HandleRead => self.conn.handle_read(&input[at..], self.now),
                Path::RecvBuf(most) => self.read_into_recv_buf(&input[at..], most),
            };
            if taken == 0 {
                break;
            }
            at += taken;
            self.drain();
        }
        at
    }

    /// One "read from the socket" into `recv_buf()`: the whole spare room
    /// is first scribbled over, so a byte the core read beyond the
    /// committed `n` would show up as garbage in its output. The buffer
    /// may be shorter than `recv_capacity()` (it grows as it fills) but is
    /// empty only when no input is wanted.
    fn read_into_recv_buf(&mut self, input: &[u8], most: usize) -> usize {
        let capacity = self.conn.recv_capacity();
        let buf = self.conn.recv_buf();
        assert!(buf.len() <= capacity, "recv_buf() beyond recv_capacity()");
        assert_eq!(
            buf.is_empty(),
            capacity == 0,
            "recv_buf() vs recv_capacity()"
        );
        buf.fill(b'!');
        let n = buf.len().min(input.len()).min(most);
        buf[..n].copy_from_slice(&input[..n]);
        self.conn.commit_recv(n, self.now);
        n
    }
}

/// Pipelined requests: a GET, a sized body larger than the receive buffer,
/// a chunked body, and a final GET.
fn pipeline() -> Vec<u8> {
    let big: Vec<u8> = (0..100_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut input = b"GET /first HTTP/1.1\r\nHost: a\r\n\r\n".to_vec();
    input.extend_from_slice(
        format!(
            "POST /sized HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
            big.len()
        )
        .as_bytes(),
    );
    input.extend_from_slice(&big);
    input.extend_from_slice(
        b"POST /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n",
    );
    input.extend_from_slice(b"GET /last HTTP/1.1\r\nHost: a\r\n\r\n");
    input
}

fn run(path: Path, input: &[u8]) -> Driven {
    let mut driven = Driven::new(Config::default());
    let taken = driven.feed(input, path);
    assert_eq!(taken, input.len(), "{path:?}: stopped taking input");
    driven
}

#[test]
fn recv_buf_reads_exactly_what_handle_read_reads() {
    let input = pipeline();
    let reference = run(Path::HandleRead, &input);
    assert_eq!(
        reference
            .log
            .iter()
            .filter(|l| l.starts_with("end"))
            .count(),
        4,
        "{:?}",
        reference.log
    );
    assert!(!reference.sent.contains(&b'!'));
    for most in [1, 7, 1000, usize::MAX] {
        let driven = run(Path::RecvBuf(most), &input);
        assert_eq!(driven.log, reference.log, "reads of at most {most}");
        assert!(
            driven.sent == reference.sent,
            "reads of at most {most}: the output differs:\n{}\n---\n{}",
            String::from_utf8_lossy(&driven.sent),
            String::from_utf8_lossy(&reference.sent)
        );
    }
}

#[test]
fn malformed_input_read_through_recv_buf_is_answered_like_handle_read() {
    let input = b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx";
    let reference = run(Path::HandleRead, input);
    assert!(
        reference.sent.starts_with(b"HTTP/1.1 400 "),
        "{}",
        String::from_utf8_lossy(&reference.sent)
    );
    for most in [1, usize::MAX] {
        let mut driven = Driven::new(Config::default());
        driven.feed(input, Path::RecvBuf(most));
        assert_eq!(driven.log, reference.log, "reads of at most {most}");
        assert_eq!(driven.sent, reference.sent, "reads of at most {most}");
    }
}

#[test]
fn a_zero_commit_is_no_input_and_no_eof() {
    let mut driven = Driven::new(Config::default());
    driven.feed(b"GET / HTTP/1.1\r\n", Path::RecvBuf(usize::MAX));
    let buffered = driven.conn.buffered();
    driven.conn.recv_buf();
    driven.conn.commit_recv(0, driven.now);
    driven.drain();
    assert!(!driven.conn.is_closed());
    assert!(driven.conn.wants_read());
    assert_eq!(driven.conn.buffered(), buffered);
    driven.feed(b"Host: a\r\n\r\n", Path::RecvBuf(usize::MAX));
    assert_eq!(driven.log, ["request /", "end, 0 body bytes"]);
    // The end of stream is `handle_eof`, not a zero-length commit.
    driven.conn.handle_eof(driven.now);
    driven.drain();
    assert!(driven.conn.is_closed(), "{:?}", driven.log);
}

#[test]
fn recv_buf_is_empty_while_the_peer_reads_nothing_and_refills_once_it_does() {
    let mut driven = Driven::new(Config::default());
    driven.reads_output = false;
    // Each answer echoes 48 KiB, so two of them pass the 64 KiB transmit
    // bound and the connection stops reading.
    let body = vec![b'b'; 48 * 1024];
    let mut input = Vec::new();
    for _ in 0..8 {
        input.extend_from_slice(
            format!(
                "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        input.extend_from_slice(&body);
    }
    let taken = driven.feed(&input, Path::RecvBuf(usize::MAX));
    assert!(
        taken < input.len(),
        "took all {taken} bytes without a stall"
    );
    assert!(!driven.conn.wants_read());
    assert!(driven.conn.recv_buf().is_empty());
    assert_eq!(driven.conn.recv_capacity(), 0);
    assert!(driven.conn.transmit_len() <= 2 * driven.conn.config().limits.max_transmit);

    // The peer reads everything queued: input is wanted again, and the
    // rest of the pipeline goes through.
    driven.reads_output = true;
    driven.drain();
    assert!(driven.conn.wants_read());
    assert!(!driven.conn.recv_buf().is_empty());
    driven.reads_output = false;
    let mut at = taken;
    while at < input.len() {
        let more = driven.feed(&input[at..], Path::RecvBuf(usize::MAX));
        at += more;
        driven.reads_output = true;
        driven.drain();
        driven.reads_output = false;
        assert!(more > 0 || driven.conn.wants_read(), "stuck at {at}");
    }
    assert_eq!(
        driven.log.iter().filter(|l| l.starts_with("end")).count(),
        8,
        "{:?}",
        driven.log
    );
    assert_eq!(common::statuses(&driven.sent), [200; 8]);
}
