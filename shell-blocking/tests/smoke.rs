//! Smoke test: the demo app over real sockets, with a plain `TcpStream`.

use nutshell_blocking as shell;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nutshell_core::service::demo::DemoApp;
use shell::{ServerOptions, ShutdownSignal};

struct Running {
    addr: SocketAddr,
    signal: ShutdownSignal,
    thread: JoinHandle<std::io::Result<()>>,
}

fn start(options: ServerOptions) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = shell::Server::from_listener(listener, DemoApp, options).unwrap();
    let addr = server.local_addr();
    let signal = server.shutdown_signal();
    let thread = std::thread::spawn(move || server.run());
    Running {
        addr,
        signal,
        thread,
    }
}

impl Running {
    /// Triggers the shutdown and checks that `run` returns soon, and Ok.
    fn stop(self) {
        let started = Instant::now();
        self.signal.trigger();
        while !self.thread.is_finished() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "run() did not return"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        self.thread.join().unwrap().unwrap();
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Reads one response with a `Content-Length` body, or an interim (1xx)
/// one: (head, body).
fn read_response(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).unwrap(),
            1,
            "closed mid-head: {head:?}"
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    if head.starts_with("HTTP/1.1 1") {
        return (head, Vec::new());
    }
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .expect("a content-length");
    let mut body = vec![0; length];
    stream.read_exact(&mut body).unwrap();
    (head, body)
}

fn assert_closed(stream: &mut TcpStream) {
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    assert!(
        rest.is_empty(),
        "unexpected bytes: {:?}",
        String::from_utf8_lossy(&rest)
    );
}

#[test]
fn serves_the_demo_app() {
    let server = start(ServerOptions::default());
    let mut stream = connect(server.addr);

    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (head, body) = read_response(&mut stream);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(body, b"Hello, World!");

    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        .unwrap();
    let (head, body) = read_response(&mut stream);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(body, b"hello");

    // A pipelined pair, in one write.
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        .unwrap();
    assert_eq!(read_response(&mut stream).1, b"Hello, World!");
    assert_eq!(read_response(&mut stream).1, b"abc");

    stream
        .write_all(b"GET /bytes/1048576 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (_, body) = read_response(&mut stream);
    assert_eq!(body.len(), 1 << 20);
    assert!(body.iter().all(|&b| b == b'x'));

    // An idle keep-alive connection is closed by the shutdown.
    server.stop();
    assert_closed(&mut stream);
}

#[test]
fn serves_concurrent_connections() {
    let server = start(ServerOptions::default().max_connections(64));
    let clients: Vec<_> = (0..8)
        .map(|i| {
            let addr = server.addr;
            std::thread::spawn(move || {
                let mut stream = connect(addr);
                for j in 0..20 {
                    let body = format!("client {i} request {j}");
                    let request = format!(
                        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    stream.write_all(request.as_bytes()).unwrap();
                    assert_eq!(read_response(&mut stream).1, body.as_bytes());
                }
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    server.stop();
}

#[test]
fn shutdown_finishes_the_request_in_flight() {
    // One loop, so that the idle connection's close below shows that the
    // shutdown reached the loop holding the request in flight too.
    let server = start(ServerOptions::default().threads(1));
    let mut idle = connect(server.addr);
    idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut idle).1, b"Hello, World!");

    let mut stream = connect(server.addr);
    stream
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n",
        )
        .unwrap();
    // The interim response proves the server has the head: the request is
    // in flight before the trigger.
    let (head, _) = read_response(&mut stream);
    assert!(head.starts_with("HTTP/1.1 100 "), "{head}");
    stream.write_all(b"hello").unwrap();
    server.signal.trigger();
    // The idle connection closing shows the shutdown has been seen.
    assert_closed(&mut idle);
    assert!(
        !server.thread.is_finished(),
        "run() returned with a request in flight"
    );
    stream.write_all(b"world").unwrap();
    let (head, body) = read_response(&mut stream);
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
    assert_eq!(body, b"helloworld");
    // The server lingers until we close our side too.
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert_closed(&mut stream);
    server.stop();
}

#[test]
fn bind_reports_a_taken_port() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    assert!(shell::Server::bind(addr, DemoApp, ServerOptions::default()).is_err());
}

#[test]
fn waits_at_the_connection_cap() {
    let server = start(ServerOptions::default().max_connections(1));
    let mut first = connect(server.addr);
    first
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut first).1, b"Hello, World!");

    // The second connection waits in the backlog, unanswered...
    let mut second = connect(server.addr);
    second
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    second
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8; 1];
    let waited = second.read(&mut byte).unwrap_err();
    assert!(matches!(
        waited.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ));

    // ...until the first one closes.
    drop(first);
    second
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(read_response(&mut second).1, b"Hello, World!");

    // A third waits in the backlog when the shutdown comes: run() returns.
    let _third = connect(server.addr);
    server.stop();
}

/// Options with short timeouts, so the tests see the core's deadlines fire.
fn quick_timeouts() -> ServerOptions {
    let mut config = nutshell_core::Config::default();
    config.timeouts.idle = Duration::from_millis(300);
    config.timeouts.head = Duration::from_millis(300);
    config.timeouts.write = Duration::from_millis(300);
    ServerOptions::default().config(config)
}

#[test]
fn closes_at_the_core_deadlines() {
    let server = start(quick_timeouts());

    // Idle keep-alive: closed silently at the idle deadline.
    let mut idle = connect(server.addr);
    idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut idle).1, b"Hello, World!");
    let started = Instant::now();
    assert_closed(&mut idle);
    assert!(started.elapsed() < Duration::from_secs(5));

    // A head that never ends: 408 at the head deadline.
    let mut slow = connect(server.addr);
    slow.write_all(b"GET / HTTP/1.1\r\nHost:").unwrap();
    let (head, _) = read_response(&mut slow);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");

    // A peer that does not read: closed at the write-stall deadline,
    // long before 1 GiB went out.
    let mut stalled = connect(server.addr);
    stalled
        .write_all(b"GET /bytes/1073741824 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    wait_until_closed_without_reading(&mut stalled);
    let mut received = 0usize;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        match stalled.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => received += n,
        }
    }
    assert!(received < 1 << 30, "the whole body arrived");
    server.stop();
}

/// Writes a harmless header line every 20 ms until a write fails: the
/// server has dropped the connection (its kernel answers data for a closed
/// socket with a reset). Reading instead would end the stall. Fails after
/// 10 s.
fn wait_until_closed_without_reading(stream: &mut TcpStream) {
    let started = Instant::now();
    stream
        .set_write_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not closed at the write-stall deadline"
        );
        match stream.write(b"X-Probe: 1\r\n") {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
