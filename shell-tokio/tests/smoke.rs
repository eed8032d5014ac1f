//! What is specific to the tokio shell, over real sockets: the connection cap
//! (new connections wait in the backlog) and an async handler that awaits
//! without blocking the others. Everything else every shell must do is the
//! conformance suite's (`tests/`), run on this shell too.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use nutshell_demo::DemoApp;
use nutshell_tokio::{Server, ServerOptions, ShutdownSignal};

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

/// An async handler: `/wait` awaits a notification that `/release`, on
/// another connection, sends. With one worker thread this only completes if
/// a handler that awaits leaves the runtime free to serve others.
struct Rendezvous(std::sync::Arc<tokio::sync::Notify>);

impl nutshell_core::service::AsyncHandler for Rendezvous {
    fn call(
        &self,
        request: nutshell_core::service::Request,
    ) -> impl std::future::Future<Output = nutshell_core::service::Response> + Send {
        let notify = self.0.clone();
        async move {
            let path = request.head.path().to_string();
            if path == "/wait" {
                notify.notified().await;
            } else {
                notify.notify_one();
            }
            let head = nutshell_core::ResponseHead::new(nutshell_core::http::StatusCode::OK);
            nutshell_core::service::Response::full(head, path)
        }
    }
}

#[test]
fn an_async_handler_can_await_without_blocking_the_runtime() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let handler = Rendezvous(std::sync::Arc::new(tokio::sync::Notify::new()));
    let server =
        Server::from_listener_async(listener, handler, ServerOptions::default().threads(1))
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
