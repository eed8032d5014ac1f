//! A protocol switch through the tower path on smol: the upgraded
//! connection is a `futures-io` object that starts with the bytes the peer
//! sent right after its request.

use std::io::{Read, Write};
use std::net::TcpListener;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use nutshell_tests::server::{options, test_config};
use nutshell_tests::wire;
use nutshell_tests::Running;

/// Switches to a protocol that echoes bytes until EOF, on a thread of its
/// own (the upgraded socket is a plain async-io object).
async fn raw_echo(mut request: Request) -> Response {
    let upgrade = nutshell_smol::on_upgrade(&mut request);
    std::thread::spawn(move || {
        futures_lite::future::block_on(async move {
            let mut io = upgrade.await.expect("upgraded");
            let mut buf = [0u8; 1024];
            loop {
                match io.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if io.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                }
            }
        })
    });
    (
        StatusCode::SWITCHING_PROTOCOLS,
        [
            (header::CONNECTION, HeaderValue::from_static("upgrade")),
            (header::UPGRADE, HeaderValue::from_static("echo")),
        ],
    )
        .into_response()
}

#[test]
fn bytes_sent_with_the_request_start_the_new_protocol() {
    let router = Router::new().route("/echo", any(raw_echo));
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server =
        nutshell_smol::Server::from_listener_service(listener, router, options(test_config()))
            .expect("server");
    let (addr, signal) = (server.local_addr(), server.shutdown_signal());
    let _running = Running::spawn("smol-upgrade", addr, signal, move || server.run());

    let mut stream = wire::connect(addr);
    stream
        .write_all(b"GET /echo HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\nearly bytes")
        .expect("send");
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(b"early bytes") {
        let n = stream.read(&mut buf).expect("read");
        assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    stream.write_all(b" and later ones").expect("send more");
    let n = stream.read(&mut buf).expect("read echo");
    assert_eq!(&buf[..n], b" and later ones");
}
