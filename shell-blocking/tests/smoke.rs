//! What is specific to the blocking shell, over real sockets: the
//! connection cap, which is its thread cap. Everything else every shell
//! must do is the conformance suite's (`tests/`), run on this shell too.

use nutshell_blocking as shell;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nutshell_demo::DemoApp;
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
