//! Clients that send more than the server takes: a pipelining flood that
//! never reads (backpressure, not buffering; closed by the write-stall
//! timeout, not a read timer) and an upload past the body limit whose
//! sender keeps writing (it still reads its 413).

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use crate::server::{options, test_config, Start};
use crate::wire::{self, GET_ROOT, HELLO};

/// A fresh connection still gets `GET /` answered.
fn still_serves(addr: SocketAddr) {
    let mut stream = wire::connect(addr);
    stream.write_all(GET_ROOT).expect("write GET /");
    let response = wire::read_response(&mut stream, &mut Vec::new(), false).expect("GET /");
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, HELLO),
        "{response:?}"
    );
}

/// Whether a write error means the peer has closed the connection.
fn peer_closed(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
    )
}

/// Whether a write error means it only timed out (no progress).
fn timed_out(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// How a pipelining write loop ended.
#[derive(Debug)]
enum Flood {
    /// No write progress for the stall window: the server stopped reading.
    Stalled { written: usize },
    /// The server closed the connection first.
    Closed { written: usize, at: Instant },
}

/// Pipelines `GET /` on `stream` (whose write timeout is the stall window)
/// until a write makes no progress, the server closes, or `cap` bytes.
fn flood(stream: &mut TcpStream, cap: usize) -> Flood {
    let block = GET_ROOT.repeat(64 * 1024 / GET_ROOT.len());
    let began = Instant::now();
    let mut written = 0;
    while written < cap && began.elapsed() < Duration::from_secs(60) {
        // Resume where a short write stopped, so the stream stays whole
        // requests end to end.
        match stream.write(&block[written % block.len()..]) {
            Ok(n) => written += n,
            Err(e) if timed_out(&e) => return Flood::Stalled { written },
            Err(e) if peer_closed(&e) => {
                return Flood::Closed {
                    written,
                    at: Instant::now(),
                }
            }
            Err(e) => panic!("the flood's write failed after {written} bytes: {e}"),
        }
    }
    panic!("the server kept reading: {written} bytes pipelined without a stall");
}

/// A client that pipelines requests and never reads: the server stops
/// reading from it (its writes stall: memory stays bounded) while other
/// clients are still served.
pub fn flood_never_reads(start: Start) {
    const FLOOD_CAP: usize = 256 << 20;
    let server = start(options(test_config()));
    let addr = server.addr();
    let mut stream = wire::connect(addr);
    // A write that makes no progress for this long means the server has
    // stopped reading: backpressure, not buffering.
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    match flood(&mut stream, FLOOD_CAP) {
        Flood::Stalled { .. } => {}
        other => panic!("the flood ended unexpectedly: {other:?}"),
    }
    // Others are served while the flood's connection is stuck.
    for _ in 0..5 {
        still_serves(addr);
    }
    drop(stream);
    still_serves(addr);
}

/// A client that pipelines requests and stops reading its responses: while
/// the server has stopped reading because of that backpressure, no
/// read-side timer may fire (head, idle and body timeouts are 200 ms here);
/// only the write-stall timeout (2 s) governs.
///
/// 1. Stalled for 4x the read timers, then reading again: every request
///    is answered with a 200 (no 408) on the same connection.
/// 2. Stalled for good: the server closes the connection no sooner than
///    the write-stall timeout. The close is seen from the write side, as
///    reading would end the stall: once the server has dropped the
///    connection, a write fails with a reset or a broken pipe.
pub fn pipelined_never_reads_is_closed_by_the_write_stall(start: Start) {
    // The read timers are short, but not so short that a client thread
    // descheduled on a busy machine really is idle mid-head for that long
    // (at 200 ms, a loaded 2-core machine got honest 408s mid-flood). The
    // write stall is well above them, so a close by a read timer shows.
    const WRITE_STALL: Duration = Duration::from_secs(4);
    const READ_TIMERS: Duration = Duration::from_secs(1);
    let mut config = test_config();
    config.timeouts.head = READ_TIMERS;
    config.timeouts.idle = READ_TIMERS;
    config.timeouts.body = READ_TIMERS;
    config.timeouts.write = WRITE_STALL;
    let server = start(options(config));

    let (mut stream, written) = flood_until_stalled(server.addr());
    // Deliberately idle: the read timers must not fire in this time.
    std::thread::sleep(READ_TIMERS * 3);
    let requests = written.div_ceil(GET_ROOT.len());
    let partial = written % GET_ROOT.len();
    let mut writer = stream.try_clone().expect("clone");
    // Completes the request the flood cut off, once the server reads again.
    let finisher = std::thread::spawn(move || {
        if partial > 0 {
            writer.set_write_timeout(Some(wire::IO_TIMEOUT)).unwrap();
            writer
                .write_all(&GET_ROOT[partial..])
                .expect("the rest of the last request");
        }
    });
    stream.set_read_timeout(Some(wire::IO_TIMEOUT)).unwrap();
    let mut buffer = Vec::new();
    for i in 0..requests {
        let response = wire::read_response(&mut stream, &mut buffer, false)
            .unwrap_or_else(|e| panic!("response {i} of {requests} after the stall: {e}"));
        assert_eq!(
            response.status,
            200,
            "response {i} of {requests} after a stall of {:?}: {response:?}",
            READ_TIMERS * 3
        );
    }
    finisher.join().expect("the finisher");
    drop(stream);

    let (mut stream, _) = flood_until_stalled(server.addr());
    let last_progress = Instant::now();
    let probe = b"X-Probe: 1\r\n";
    let closed_at = loop {
        assert!(
            last_progress.elapsed() < WRITE_STALL + Duration::from_secs(30),
            "the connection was never closed"
        );
        match stream.write(probe) {
            Ok(_) => {}
            Err(e) if timed_out(&e) => {}
            Err(e) if peer_closed(&e) => break Instant::now(),
            Err(e) => panic!("probing for the close: {e}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let after = closed_at - last_progress;
    // The write timer counts from the server's last write progress, which
    // comes no later than the stall the client saw (the server only stops
    // reading once its own writes stall), less scheduling slack.
    assert!(
        after >= WRITE_STALL.mul_f32(0.75),
        "closed {after:?} after the stall: sooner than the write-stall timeout \
         ({WRITE_STALL:?}), so a read timer ({READ_TIMERS:?}) closed it"
    );
    still_serves(server.addr());
}

/// Connects with a small receive window (so the server's writes stall
/// sooner) and pipelines `GET /` until a write makes no progress for
/// 100 ms; returns the stream and how many bytes were written. A close by
/// the server before the stall fails the test.
fn flood_until_stalled(addr: SocketAddr) -> (TcpStream, usize) {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(16 * 1024).expect("SO_RCVBUF");
    socket.connect(&addr.into()).expect("connect");
    let mut stream: TcpStream = socket.into();
    stream
        .set_write_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    match flood(&mut stream, 256 << 20) {
        Flood::Stalled { written } => (stream, written),
        Flood::Closed { written, at } => panic!(
            "closed while the client was still writing ({written} bytes, {:?} ago): \
             a read timer fired under backpressure",
            at.elapsed()
        ),
    }
}

/// An upload past the body limit (1 MiB; the body is 100 MB, declared or
/// chunked) whose client goes on writing after the server answered: it
/// writes 16 MiB before it even looks for a response, then reads while
/// still writing. Those 16 MiB must go out without a failed write, and the
/// 413 must then be read: the server reads and drops what keeps arriving
/// for a while (lingering) before it closes. A server that resets the
/// connection instead makes the writes fail with a broken pipe, and a
/// client that stops there (curl does) never sees its 413.
///
/// 16 MiB is far beyond the socket buffers (a few MiB on loopback), so
/// the server must really have kept reading; it assumes the core's
/// lingering budgets cover that much on loopback (they are the lead's
/// choice: lower this if they are meant to be smaller).
pub fn writer_past_the_limit_reads_its_413(start: Start) {
    const TOTAL: usize = 100_000_000;
    const BEFORE_READING: usize = 16 << 20;
    let mut config = test_config();
    config.limits.max_body = 1 << 20;
    let server = start(options(config));
    for declared in [true, false] {
        let mut stream = wire::connect(server.addr());
        let head = if declared {
            format!("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {TOTAL}\r\n\r\n")
        } else {
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".to_string()
        };
        stream.write_all(head.as_bytes()).expect("the head");
        let done = Arc::new(AtomicBool::new(false));
        let (ready, before_reading) = mpsc::channel();
        let mut writer = stream.try_clone().expect("clone");
        let writing = {
            let done = done.clone();
            std::thread::spawn(move || {
                let upload = Upload {
                    declared,
                    total: TOTAL,
                    before_reading: BEFORE_READING,
                };
                upload.write(&mut writer, &done, ready)
            })
        };
        // Either 4 MiB went out or a write failed (the reset came first).
        let _ = before_reading.recv();
        let response = wire::read_response(&mut stream, &mut Vec::new(), false);
        done.store(true, Ordering::Relaxed);
        let sent = writing.join().expect("the writer");
        assert!(
            sent >= BEFORE_READING,
            "declared: {declared}: a write failed after {sent} body bytes, before the client \
             looked for its response (the server reset instead of lingering)"
        );
        let response = response.unwrap_or_else(|e| {
            panic!("declared: {declared}: no 413 after {sent} body bytes written: {e}")
        });
        assert_eq!(response.status, 413, "declared: {declared}: {response:?}");
        assert!(response.closes(), "declared: {declared}: {response:?}");
    }
    still_serves(server.addr());
}

/// A client's upload that ignores the server's answer.
struct Upload {
    /// `Content-Length` (raw bytes) or `chunked` (64 KiB chunks).
    declared: bool,
    /// Body bytes to write at most.
    total: usize,
    /// After this many, `ready` is told (so the reader starts).
    before_reading: usize,
}

impl Upload {
    /// Writes until `total`, `done`, or a failed write; returns how many
    /// bytes went out. `ready` hears once `before_reading` went out, or
    /// when writing ends, whichever comes first.
    fn write(&self, stream: &mut TcpStream, done: &AtomicBool, ready: mpsc::Sender<()>) -> usize {
        let data = vec![b'u'; 64 * 1024];
        let chunk = [format!("{:x}\r\n", data.len()).as_bytes(), &data, b"\r\n"].concat();
        let piece: &[u8] = if self.declared { &data } else { &chunk };
        let mut ready = Some(ready);
        let mut sent = 0;
        while sent < self.total && !done.load(Ordering::Relaxed) {
            if sent >= self.before_reading {
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
            }
            match stream.write_all(piece) {
                Ok(()) => sent += piece.len(),
                Err(_) => break,
            }
        }
        sent
    }
}
