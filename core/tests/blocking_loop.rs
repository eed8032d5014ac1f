//! The crate docs' blocking loop (`examples/blocking.rs`), run for real
//! against clients on 127.0.0.1.

#[allow(dead_code, unreachable_pub, reason = "only serve_one is used here")]
#[path = "../examples/blocking.rs"]
mod blocking;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use nutshell_core::Config;

fn serve(config: Config) -> (std::net::SocketAddr, mpsc::Receiver<std::io::Result<()>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        let _ = done.send(blocking::serve_one(socket, Arc::new(config)));
    });
    (addr, finished)
}

#[test]
fn answers_a_request() {
    let (addr, finished) = serve(Config::default());
    let mut client = TcpStream::connect(addr).unwrap();
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    client.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.ends_with("hi\n"));
    finished
        .recv_timeout(Duration::from_secs(30))
        .expect("the loop ends when the core closes")
        .unwrap();
}

#[test]
fn survives_a_client_that_pipelines_and_never_reads() {
    let mut config = Config::default();
    config.timeouts.write = Duration::from_millis(300);
    config.limits.max_transmit = 4096;
    let (addr, finished) = serve(config);
    let mut client = TcpStream::connect(addr).unwrap();
    client
        .set_write_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // Enough requests to fill both socket buffers with responses; the
    // client never reads one.
    let request = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n".repeat(1000);
    for _ in 0..200 {
        if client.write_all(&request).is_err() {
            break;
        }
    }
    // Without a write timeout from the core's deadline, the loop would block
    // in write forever; with it, the write-stall timeout closes the
    // connection and the loop returns.
    finished
        .recv_timeout(Duration::from_secs(60))
        .expect("the loop returned instead of blocking forever")
        .unwrap();
}
