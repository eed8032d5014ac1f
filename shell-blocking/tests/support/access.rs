//! The access-log and peer checks, shared by every shell's
//! `tests/access_log.rs` (included with `#[path]`): the log is captured
//! from `tracing` into memory, and each request's `peer` is echoed back.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use nutshell_core::http::StatusCode;
use nutshell_core::service::{Request, Response};
use nutshell_core::ResponseHead;
use nutshell_server::ServerOptions;

/// What `tracing` wrote in this test process.
fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        tracing_subscriber::fmt()
            .with_env_filter("nutshell::access=info")
            .with_ansi(false)
            .with_writer(move || Sink(Arc::clone(&sink)))
            .init();
        log
    })
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Options with the access log on (and the log captured from here on).
pub(crate) fn options() -> ServerOptions {
    captured();
    ServerOptions::default().threads(1).access_log(true)
}

/// Answers with the peer the shell put in the request.
pub(crate) fn echo_peer(request: Request) -> Response {
    let peer = request.peer.map_or("none".to_string(), |p| p.to_string());
    Response::full(ResponseHead::new(StatusCode::OK), peer)
}

/// One request on its own connection: `GET {target}`; returns the local
/// address it came from and the response.
fn get(addr: SocketAddr, target: &str) -> (SocketAddr, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    (stream.local_addr().unwrap(), response)
}

/// The shell fills `Request.peer` (when `peer_in_body`: the handler echoes
/// it) and logs the exchange with its peer, target, status and bytes.
pub(crate) fn check(addr: SocketAddr, target: &str, peer_in_body: bool) {
    let (local, response) = get(addr, target);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    if peer_in_body {
        assert_eq!(
            body,
            local.to_string(),
            "Request.peer is the client's address"
        );
    }
    let line = format!("{local} \"GET {target}\" 200 {} ", body.len());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = String::from_utf8_lossy(&captured().lock().unwrap()).into_owned();
        if log.contains(&line) && log.contains("nutshell::access") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no access line {line:?} in:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
