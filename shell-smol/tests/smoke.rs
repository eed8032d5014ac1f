//! Smoke test: the demo app over real sockets, then a graceful shutdown.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use nutshell_core::service::demo::DemoApp;
use nutshell_core::Config;
use nutshell_smol::{Server, ServerOptions, ShutdownSignal};

fn start(options: ServerOptions) -> (SocketAddr, ShutdownSignal, JoinHandle<std::io::Result<()>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = Server::from_listener(listener, DemoApp, options).unwrap();
    let addr = server.local_addr();
    let signal = server.shutdown_signal();
    (addr, signal, std::thread::spawn(move || server.run()))
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Reads one response with a `Content-Length` body: (head, body).
fn response(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).unwrap(),
            1,
            "EOF inside a head: {head:?}"
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let length = head
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .map_or(0, |n| n.trim().parse().unwrap());
    let mut body = vec![0; length];
    stream.read_exact(&mut body).unwrap();
    (head, body)
}

fn assert_eof(stream: &mut TcpStream) {
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "unexpected bytes: {rest:?}");
}

#[test]
fn serves_the_demo_app_and_shuts_down() {
    let (addr, signal, server) = start(ServerOptions::default().threads(2));
    let mut stream = connect(addr);

    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (head, body) = response(&mut stream);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(body, b"Hello, World!");

    let payload: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    let post = format!(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        payload.len()
    );
    stream.write_all(post.as_bytes()).unwrap();
    stream.write_all(&payload).unwrap();
    let (head, body) = response(&mut stream);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert!(body == payload, "echoed body differs");

    // A pipelined pair in one write: two responses, in order.
    stream
        .write_all(
            b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .unwrap();
    let (head, body) = response(&mut stream);
    assert!(
        head.starts_with("HTTP/1.1 200 ") && body == b"Hello, World!",
        "{head}"
    );
    let (head, _) = response(&mut stream);
    assert!(head.starts_with("HTTP/1.1 404 "), "{head}");

    stream
        .write_all(b"GET /bytes/1048576 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (head, body) = response(&mut stream);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(body.len(), 1 << 20);
    assert!(body.iter().all(|&b| b == b'x'));

    // The connection is idle now: shutdown closes it at once and `run` returns.
    signal.trigger();
    assert_eof(&mut stream);
    server.join().unwrap().unwrap();
    assert!(
        TcpStream::connect(addr).is_err(),
        "still accepting after shutdown"
    );
}

#[test]
fn shutdown_lets_a_request_in_flight_finish() {
    let (addr, signal, server) = start(ServerOptions::default().threads(1));
    let mut idle = connect(addr);
    idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(response(&mut idle).1, b"Hello, World!");

    let mut stream = connect(addr);
    stream
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
        )
        .unwrap();
    // The interim response proves the server has the head: the exchange is
    // in flight before the trigger.
    let (head, _) = response(&mut stream);
    assert!(head.starts_with("HTTP/1.1 100 "), "{head}");
    stream.write_all(b"he").unwrap();
    signal.trigger();
    // The idle connection closing shows the shutdown has been delivered;
    // the shell polls the shutdown before readiness, so the connection in
    // flight sees it before the rest of its body.
    assert_eof(&mut idle);
    stream.write_all(b"llo").unwrap();
    let (head, body) = response(&mut stream);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{head}"
    );
    assert_eq!(body, b"hello");
    assert_eof(&mut stream);
    // Closing our side ends the core's linger at once.
    drop(stream);
    server.join().unwrap().unwrap();
}

#[test]
fn waits_at_the_connection_cap() {
    let (addr, signal, server) = start(ServerOptions::default().threads(1).max_connections(1));
    let mut first = connect(addr);
    first
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    response(&mut first);

    // The second connection waits in the backlog while the first is open.
    let mut second = connect(addr);
    second
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    second
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut byte = [0];
    let early = second.read(&mut byte);
    assert!(early.is_err(), "served beyond the cap: {early:?}");

    drop(first);
    second
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (head, body) = response(&mut second);
    assert!(
        head.starts_with("HTTP/1.1 200 ") && body == b"Hello, World!",
        "{head}"
    );

    signal.trigger();
    server.join().unwrap().unwrap();
}

#[test]
fn deadlines_fire() {
    let mut config = Config::default();
    config.timeouts.head = Duration::from_millis(200);
    config.timeouts.idle = Duration::from_millis(200);
    let (addr, signal, server) = start(ServerOptions::default().threads(1).config(config));

    // A head that never ends: 408, then the close.
    let mut stalled = connect(addr);
    stalled.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let (head, _) = response(&mut stalled);
    assert!(head.starts_with("HTTP/1.1 408 "), "{head}");
    assert_eof(&mut stalled);

    // A kept-alive connection left idle: closed silently.
    let mut idle = connect(addr);
    idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    response(&mut idle);
    assert_eof(&mut idle);

    signal.trigger();
    server.join().unwrap().unwrap();
}

#[test]
fn bind_errors_are_returned() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    assert!(Server::bind(addr, DemoApp, ServerOptions::default()).is_err());
    assert!(Server::bind("no such host:80", DemoApp, ServerOptions::default()).is_err());
}

/// An async handler: `/wait` awaits a message that `/release`, on another
/// connection, sends. With one executor thread this only completes if a
/// handler that awaits leaves the executor free to serve others.
struct Rendezvous(async_channel::Sender<()>, async_channel::Receiver<()>);

impl nutshell_core::service::AsyncHandler for Rendezvous {
    fn call(
        &self,
        request: nutshell_core::service::Request,
    ) -> impl std::future::Future<Output = nutshell_core::service::Response> + Send {
        let (sender, receiver) = (self.0.clone(), self.1.clone());
        async move {
            let path = request.head.path().to_string();
            if path == "/wait" {
                let _ = receiver.recv().await;
            } else {
                let _ = sender.send(()).await;
            }
            let head = nutshell_core::ResponseHead::new(nutshell_core::http::StatusCode::OK);
            nutshell_core::service::Response::full(head, path)
        }
    }
}

#[test]
fn an_async_handler_can_await_without_blocking_the_executor() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let (sender, receiver) = async_channel::bounded(1);
    let server = Server::from_listener_async(
        listener,
        Rendezvous(sender, receiver),
        ServerOptions::default().threads(1),
    )
    .unwrap();
    let addr = server.local_addr();
    let signal = server.shutdown_signal();
    let thread = std::thread::spawn(move || server.run());

    let mut waiting = connect(addr);
    waiting
        .write_all(b"GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut releasing = connect(addr);
    releasing
        .write_all(b"GET /release HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(response(&mut releasing).1, b"/release");
    assert_eq!(response(&mut waiting).1, b"/wait");

    signal.trigger();
    thread.join().unwrap().unwrap();
}
