//! The handler basics over real sockets: an async closure as the handler,
//! the peer's address and the query in the request, and a panicking
//! handler answered with a 500 while the server carries on.

use std::io::Write;
use std::net::TcpListener;

use nutshell_core::http::StatusCode;
use nutshell_core::service::{Request, Response};
use nutshell_core::ResponseHead;
use nutshell_tests::server::{options, test_config};
use nutshell_tests::wire::{self, read_response};
use nutshell_tests::Running;

#[test]
fn async_closure_sees_peer_and_query_and_panics_are_answered() {
    let handler = |request: Request| async move {
        if request.head.path() == "/panic" {
            panic!("the handler gave up");
        }
        let peer = request.peer.map(|p| p.to_string()).unwrap_or_default();
        let query = request.head.query().unwrap_or("").to_owned();
        Response::full(ResponseHead::new(StatusCode::OK), format!("{peer} {query}"))
    };
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server =
        nutshell_smol::Server::from_listener_async(listener, handler, options(test_config()))
            .expect("server");
    let (addr, signal) = (server.local_addr(), server.shutdown_signal());
    let _running = Running::spawn("smol-handler", addr, signal, move || server.run());

    let mut stream = wire::connect(addr);
    stream
        .write_all(b"GET /panic HTTP/1.1\r\nHost: a\r\n\r\n")
        .expect("send");
    let response = read_response(&mut stream, &mut Vec::new(), false).expect("response");
    assert_eq!(response.status, 500);
    assert!(response.closes());

    let mut stream = wire::connect(addr);
    let local = stream.local_addr().expect("local");
    stream
        .write_all(b"GET /q?x=1 HTTP/1.1\r\nHost: a\r\n\r\n")
        .expect("send");
    let response = read_response(&mut stream, &mut Vec::new(), false).expect("response");
    assert_eq!(response.status, 200);
    assert_eq!(
        String::from_utf8(response.body).unwrap(),
        format!("{local} x=1")
    );
}
