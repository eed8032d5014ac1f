//! Conformance scenarios that need more than bytes in, bytes out: time,
//! large bodies, resets, half-closes, many clients, shutdown. Each takes
//! the shell's [`Start`] and is stamped out once per shell.
//!
//! Bounds are failure detectors only, generous for a loaded 2-core CI
//! machine; no assertion is about speed.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::cases::{self, run_group};
use crate::reference::{self, Step};
use crate::server::{options, test_config, Launch, Start, SHUTDOWN_BOUND};
use crate::wire::{self, Ending, Mode, GET_ROOT, HELLO};
use nutshell_demo::DemoApp;
use nutshell_server::Shell;

/// The demo routes.
pub fn routes(start: Start) {
    run_group(start, &cases::routes());
}

/// Keep-alive, close, HTTP/1.0, pipelining.
pub fn connection(start: Start) {
    run_group(start, &cases::connection());
}

/// Chunked and sized request bodies.
pub fn bodies(start: Start) {
    run_group(start, &cases::bodies());
}

/// Smuggling vectors and malformed requests.
pub fn smuggling(start: Start) {
    run_group(start, &cases::smuggling());
}

/// Size limits.
pub fn limits(start: Start) {
    run_group(start, &cases::limits());
}

/// Sends `GET /` on `stream` and checks the answer.
fn get_root(stream: &mut TcpStream, buffer: &mut Vec<u8>) {
    stream.write_all(GET_ROOT).expect("write GET /");
    let response = wire::read_response(stream, buffer, false).expect("GET / response");
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, HELLO),
        "{response:?}"
    );
}

/// A fresh connection still gets `GET /` answered.
fn still_serves(addr: SocketAddr) {
    let mut stream = wire::connect(addr);
    get_root(&mut stream, &mut Vec::new());
}

/// `Expect: 100-continue`: the interim response comes before the body is
/// sent, then the final one; both byte-identical to the core's.
pub fn continue_100(start: Start) {
    let config = test_config();
    let server = start(options(config.clone()));
    let head =
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
    let transcript = reference::run(&config, &[Step::Feed(head), Step::Feed(b"hello")]);
    assert!(
        transcript.sent[0].starts_with(b"HTTP/1.1 100 Continue\r\n"),
        "the core: {transcript:?}"
    );
    for mode in [Mode::Whole, Mode::Bytewise] {
        let mut stream = wire::connect(server.addr());
        wire::send(&mut stream, head, mode).expect("send head");
        let interim = wire::read_normalised(&mut stream, transcript.sent[0].len());
        assert_eq!(
            String::from_utf8_lossy(&interim),
            String::from_utf8_lossy(&transcript.sent[0]),
            "{mode:?}: the interim response"
        );
        wire::send(&mut stream, b"hello", mode).expect("send body");
        let last = wire::read_normalised(&mut stream, transcript.sent[1].len());
        assert_eq!(
            String::from_utf8_lossy(&last),
            String::from_utf8_lossy(&transcript.sent[1]),
            "{mode:?}: the final response"
        );
        get_root(&mut stream, &mut Vec::new());
    }
}

/// An 8 MiB upload to `/echo` comes back exactly.
pub fn upload_8mib(start: Start) {
    let server = start(options(test_config()));
    let body: Vec<u8> = (0..8usize << 20).map(|i| (i * 31 % 251) as u8).collect();
    let mut stream = wire::connect(server.addr());
    let mut writer = stream.try_clone().expect("clone");
    let request = body.clone();
    // Written from another thread so that a shell that answers early (or
    // streams) cannot deadlock the test.
    let sender = std::thread::spawn(move || {
        let head = format!(
            "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
            request.len()
        );
        writer.write_all(head.as_bytes())?;
        writer.write_all(&request)
    });
    let mut buffer = Vec::new();
    let response = wire::read_response(&mut stream, &mut buffer, false).expect("echo response");
    sender.join().expect("sender").expect("upload");
    assert_eq!(response.status, 200);
    assert_eq!(response.body.len(), body.len());
    assert!(response.body == body, "the echo differs from the upload");
    get_root(&mut stream, &mut buffer);
}

/// A 64 MiB download from `/bytes/67108864`, counted, not stored.
pub fn download_64mib(start: Start) {
    const SIZE: usize = 64 << 20;
    let server = start(options(test_config()));
    let mut stream = wire::connect(server.addr());
    stream
        .write_all(format!("GET /bytes/{SIZE} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes())
        .expect("request");
    let mut head = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    let head_end = loop {
        let n = stream.read(&mut buf).expect("read head");
        assert!(n > 0, "closed inside the head");
        head.extend_from_slice(&buf[..n]);
        if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let text = String::from_utf8_lossy(&head[..head_end]).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 200 ok\r\n"), "{text}");
    assert!(
        text.contains(&format!("content-length: {SIZE}\r\n")),
        "{text}"
    );
    let mut count = head.len() - head_end;
    assert!(head[head_end..].iter().all(|b| *b == b'x'));
    while count < SIZE {
        let n = stream
            .read(&mut buf[..(SIZE - count).min(256 * 1024)])
            .expect("read body");
        assert!(n > 0, "closed after {count} of {SIZE} bytes");
        assert!(buf[..n].iter().all(|b| *b == b'x'), "a byte other than x");
        count += n;
    }
    assert_eq!(count, SIZE);
    get_root(&mut stream, &mut Vec::new());
}

/// A partial head, then silence: 408 (as the core words it), then a close.
/// A connection that sends nothing at all gets the same.
pub fn header_timeout(start: Start) {
    let mut config = test_config();
    config.timeouts.head = Duration::from_millis(300);
    let server = start(options(config.clone()));
    let partial = b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow:";
    for (what, steps) in [
        (
            "partial head",
            vec![Step::Feed(partial), Step::Advance(Duration::from_secs(1))],
        ),
        (
            "no bytes at all",
            vec![Step::Advance(Duration::from_secs(1))],
        ),
    ] {
        let transcript = reference::run(&config, &steps);
        let expected = transcript.all();
        let responses = wire::parse_all(&expected, &[]).expect("the core's 408");
        assert_eq!(responses.len(), 1, "the core: {transcript:?}");
        assert_eq!(responses[0].status, 408, "the core");
        assert!(transcript.closes);

        let mut stream = wire::connect(server.addr());
        if let Step::Feed(bytes) = steps[0] {
            stream.write_all(bytes).expect("partial head");
        }
        let got = wire::read_normalised(&mut stream, expected.len());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected),
            "{what}"
        );
        let ending = wire::read_to_end(&mut stream);
        assert!(ending.closed_quietly(), "{what}: then {ending:?}");
    }
    still_serves(server.addr());
}

/// A kept-alive connection that sends nothing more is closed without a
/// byte after the idle timeout (here 300 ms; the head timeout is long, so
/// it is the idle timer that closes it).
pub fn idle_timeout(start: Start) {
    let mut config = test_config();
    config.timeouts.idle = Duration::from_millis(300);
    let server = start(options(config.clone()));
    let transcript = reference::run(
        &config,
        &[Step::Feed(GET_ROOT), Step::Advance(Duration::from_secs(1))],
    );
    assert!(
        transcript.sent[1].is_empty() && transcript.closes,
        "the core: {transcript:?}"
    );
    let mut stream = wire::connect(server.addr());
    let mut buffer = Vec::new();
    get_root(&mut stream, &mut buffer);
    let ending = wire::read_to_end(&mut stream);
    assert!(
        buffer.is_empty() && ending.closed_quietly(),
        "after the idle timeout: {ending:?}"
    );
}

/// A client that asks for 64 MiB and never reads is dropped once writes
/// stall for the write timeout (500 ms): the close is seen from the write
/// side (a write fails once the server has dropped the connection; reading
/// would end the stall), and then reading gets an EOF or a reset before
/// all the bytes.
pub fn write_stall(start: Start) {
    const SIZE: usize = 64 << 20;
    let mut config = test_config();
    config.timeouts.write = Duration::from_millis(500);
    let server = start(options(config));
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    // A small receive window makes the stall come sooner.
    socket.set_recv_buffer_size(16 * 1024).expect("SO_RCVBUF");
    socket.connect(&server.addr().into()).expect("connect");
    let mut stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(wire::IO_TIMEOUT)).unwrap();
    stream
        .write_all(format!("GET /bytes/{SIZE} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes())
        .expect("request");
    wait_for_the_close_without_reading(&mut stream, Duration::from_secs(30));
    let ending = wire::read_to_end(&mut stream);
    match ending {
        Ending::Eof(n) | Ending::Reset(n) => assert!(n < SIZE, "got all {n} bytes"),
        Ending::StillOpen(n) => panic!("still open after {n} bytes"),
    }
    still_serves(server.addr());
}

/// Writes a harmless header line every 20 ms until a write fails because
/// the peer closed the connection (its kernel answers data for a closed
/// socket with a reset); panics after `bound`.
fn wait_for_the_close_without_reading(stream: &mut TcpStream, bound: Duration) {
    let began = Instant::now();
    stream
        .set_write_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    loop {
        assert!(began.elapsed() < bound, "still open after {bound:?}");
        match stream.write(b"X-Probe: 1\r\n") {
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sets SO_LINGER 0 and drops: the peer sees a reset, not a FIN.
fn reset(stream: TcpStream) {
    let socket = socket2::Socket::from(stream);
    socket.set_linger(Some(Duration::ZERO)).expect("SO_LINGER");
    drop(socket);
}

/// Clients that reset mid-head, mid-body and mid-download: the server
/// carries on serving, and still shuts down cleanly (nothing leaked).
pub fn client_resets(start: Start) {
    let server = start(options(test_config()));
    let mut stream = wire::connect(server.addr());
    stream.write_all(b"GET / HTTP/1.1\r\nHo").unwrap();
    reset(stream);
    still_serves(server.addr());

    let mut stream = wire::connect(server.addr());
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n")
        .unwrap();
    stream.write_all(&[b'b'; 500]).unwrap();
    reset(stream);
    still_serves(server.addr());

    let mut stream = wire::connect(server.addr());
    stream
        .write_all(b"GET /bytes/67108864 HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 1024];
    stream
        .read_exact(&mut buf)
        .expect("the start of the download");
    reset(stream);
    still_serves(server.addr());
    server.stop();
}

/// A request, then the client shuts down its write side: the response
/// still arrives, then the server closes. Pipelined requests before the
/// half-close are all answered.
pub fn half_close(start: Start) {
    let config = test_config();
    let server = start(options(config.clone()));
    let two = [
        GET_ROOT,
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi",
    ]
    .concat();
    for input in [GET_ROOT, &two[..]] {
        let transcript = reference::run(&config, &[Step::Feed(input), Step::Eof]);
        let expected = transcript.all();
        let mut stream = wire::connect(server.addr());
        stream.write_all(input).unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        let got = wire::read_normalised(&mut stream, expected.len());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected)
        );
        let ending = wire::read_to_end(&mut stream);
        assert!(ending.closed_quietly(), "after the responses: {ending:?}");
    }
}

/// 200 clients at once, 10 keep-alive requests each: all answered.
pub fn concurrent_clients(start: Start) {
    const CLIENTS: usize = 200;
    const REQUESTS: usize = 10;
    let server = start(options(test_config()));
    let addr = server.addr();
    let served = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let served = &served;
                std::thread::Builder::new()
                    .stack_size(128 * 1024)
                    .spawn_scoped(scope, move || {
                        let mut stream = wire::connect(addr);
                        let mut buffer = Vec::new();
                        for i in 0..REQUESTS {
                            let body = format!("{client}-{i}");
                            let request = format!(
                                "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{body}",
                                body.len()
                            );
                            stream.write_all(request.as_bytes()).expect("write");
                            let response = wire::read_response(&mut stream, &mut buffer, false)
                                .unwrap_or_else(|e| panic!("client {client}, request {i}: {e}"));
                            assert_eq!(response.status, 200);
                            assert_eq!(response.body, body.as_bytes());
                            served.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                    .expect("spawn a client")
            })
            .collect();
        for client in clients {
            client.join().expect("a client failed");
        }
    });
    assert_eq!(served.load(Ordering::Relaxed), CLIENTS * REQUESTS);
}

/// A graceful shutdown with a request in flight: the upload finishes, its
/// response says `Connection: close`, the connection closes and `run()`
/// returns, not before; then nothing is accepted any more. An idle
/// keep-alive connection is closed at once.
pub fn graceful_shutdown(start: Start) {
    let config = test_config();
    let mut server = start(options(config.clone()));
    let head =
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n";
    let transcript = reference::run(
        &config,
        &[
            Step::Feed(head),
            Step::Feed(b"hello"),
            Step::Shutdown,
            Step::Feed(b"world"),
        ],
    );
    let mut idle = wire::connect(server.addr());
    get_root(&mut idle, &mut Vec::new());

    let mut stream = wire::connect(server.addr());
    stream.write_all(head).unwrap();
    // The 100 Continue proves the server has the head: the request is in
    // flight before the trigger.
    let interim = wire::read_normalised(&mut stream, transcript.sent[0].len());
    assert_eq!(interim, transcript.sent[0]);
    stream.write_all(b"hello").unwrap();
    server.signal().trigger();
    let ending = wire::read_to_end(&mut idle);
    assert!(ending.closed_quietly(), "the idle connection: {ending:?}");
    assert!(
        server.is_running(),
        "run() returned with a request in flight"
    );
    stream.write_all(b"world").unwrap();
    let expected = [transcript.sent[2].as_slice(), &transcript.sent[3]].concat();
    let mut buffer = Vec::new();
    let response = wire::read_response(&mut stream, &mut buffer, false).expect("the response");
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, &b"helloworld"[..])
    );
    assert!(response.closes(), "{response:?}");
    let reference = wire::parse_all(&expected, &[]).expect("the core's response");
    assert_eq!(vec![response], reference);
    let ending = wire::read_to_end(&mut stream);
    assert!(
        buffer.is_empty() && ending.closed_quietly(),
        "after the response: {ending:?}"
    );
    match server.wait(SHUTDOWN_BOUND) {
        Ok(Ok(())) => {}
        other => panic!("run() after the shutdown: {other:?}"),
    }
    assert!(
        TcpStream::connect(server.addr()).is_err(),
        "still accepting after the shutdown"
    );
}

/// [`Shell::bind`] reports what stops it listening: a port already taken,
/// a host name that does not resolve. Generic over the shell's server type
/// (serving the demo app), since it does not start one.
pub fn bind_reports_errors<S: Shell<DemoApp>>() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = taken.local_addr().expect("local_addr");
    let options = || options(test_config());
    assert!(
        S::bind(addr, DemoApp, options()).is_err(),
        "bound a port that is taken"
    );
    assert!(
        S::bind("no such host:80", DemoApp, options()).is_err(),
        "bound a host name that does not resolve"
    );
}

/// A shutdown triggered before `run()` is called: `run()` returns `Ok`
/// promptly, without waiting for anything (every loop or task the shell
/// starts must see a signal that fired before it registered its wake-up).
pub fn shutdown_before_run(launch: Launch) {
    let mut server = launch(options(test_config()), true);
    match server.wait(SHUTDOWN_BOUND) {
        Ok(Ok(())) => {}
        other => panic!("run() with the shutdown already triggered: {other:?}"),
    }
}
