//! Upgrades through the tower path: a WebSocket echo with tokio-tungstenite
//! (axum's own `WebSocketUpgrade` needs hyper, so the handler switches
//! protocols with `nutshell_tokio::on_upgrade`), and a raw protocol switch
//! whose first bytes arrived with the request.

use std::io::{Read, Write};
use std::net::TcpListener;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use futures_util::{SinkExt, StreamExt};
use nutshell_tests::server::{options, test_config};
use nutshell_tests::wire;
use nutshell_tests::Running;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Answers the WebSocket handshake and echoes every message.
async fn websocket(mut request: Request) -> Response {
    let Some(key) = request.headers().get(header::SEC_WEBSOCKET_KEY) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let accept = derive_accept_key(key.as_bytes());
    let upgrade = nutshell_tokio::on_upgrade(&mut request);
    tokio::spawn(async move {
        let io = upgrade.await.expect("upgraded");
        let mut ws = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
        while let Some(Ok(message)) = ws.next().await {
            if message.is_close() {
                break;
            }
            if ws.send(message).await.is_err() {
                break;
            }
        }
    });
    (
        StatusCode::SWITCHING_PROTOCOLS,
        [
            (header::CONNECTION, HeaderValue::from_static("upgrade")),
            (header::UPGRADE, HeaderValue::from_static("websocket")),
            (
                header::SEC_WEBSOCKET_ACCEPT,
                HeaderValue::from_str(&accept).unwrap(),
            ),
        ],
    )
        .into_response()
}

/// Switches to a protocol that echoes bytes until EOF.
async fn raw_echo(mut request: Request) -> Response {
    let upgrade = nutshell_tokio::on_upgrade(&mut request);
    tokio::spawn(async move {
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

/// Not asked to upgrade: `on_upgrade` fails, and a 101 is refused.
async fn no_upgrade(mut request: Request) -> Response {
    match nutshell_tokio::on_upgrade(&mut request).await {
        Ok(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Err(_) => "no upgrade".into_response(),
    }
}

fn start() -> Running {
    let router = Router::new()
        .route("/ws", get(websocket))
        .route("/echo", any(raw_echo))
        .route("/plain", get(no_upgrade));
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server =
        nutshell_tokio::Server::from_listener_service(listener, router, options(test_config()))
            .expect("server");
    let (addr, signal) = (server.local_addr(), server.shutdown_signal());
    Running::spawn("tokio-upgrade", addr, signal, move || server.run())
}

#[test]
fn websocket_echo_with_tokio_tungstenite() {
    let server = start();
    let addr = server.addr();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (mut ws, response) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), stream)
            .await
            .expect("handshake");
        assert_eq!(response.status(), 101);
        for text in ["hello", "nutshell", "bye"] {
            ws.send(Message::text(text)).await.expect("send");
            let echoed = ws.next().await.expect("a reply").expect("a message");
            assert_eq!(echoed.into_text().expect("text").as_str(), text);
        }
        ws.send(Message::binary(vec![1, 2, 3]))
            .await
            .expect("send binary");
        let echoed = ws.next().await.expect("a reply").expect("a message");
        assert_eq!(echoed.into_data().as_ref(), &[1, 2, 3]);
        ws.close(None).await.expect("close");
    });
}

#[test]
fn bytes_sent_with_the_request_start_the_new_protocol() {
    let server = start();
    let mut stream = wire::connect(server.addr());
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
    let text = String::from_utf8_lossy(&got).to_lowercase();
    assert!(
        text.starts_with("http/1.1 101 switching protocols\r\n"),
        "{text}"
    );
    assert!(text.contains("upgrade: echo\r\n"), "{text}");
    stream.write_all(b" and later ones").expect("send more");
    let n = stream.read(&mut buf).expect("read echo");
    assert_eq!(&buf[..n], b" and later ones");
}

#[test]
fn a_request_that_did_not_ask_gets_no_upgrade() {
    let server = start();
    let mut stream = wire::connect(server.addr());
    stream
        .write_all(b"GET /plain HTTP/1.1\r\nHost: a\r\n\r\n")
        .expect("send");
    let response = wire::read_response(&mut stream, &mut Vec::new(), false).expect("response");
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, b"no upgrade".as_slice())
    );
}
