//! The access log and `Request.peer` on the smol shell, for plain
//! handlers (the Session path) and for an axum Router (the tower path).

#[path = "../../shell-blocking/tests/support/access.rs"]
mod access;

use std::net::TcpListener;

#[test]
fn every_exchange_is_logged_with_its_peer() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server =
        nutshell_smol::Server::from_listener(listener, access::echo_peer, access::options())
            .unwrap();
    let (addr, signal) = (server.local_addr(), server.shutdown_signal());
    let thread = std::thread::spawn(move || server.run());
    access::check(addr, "/who?am=i", true);
    signal.trigger();
    thread.join().unwrap().unwrap();

    let router = nutshell_async::axum_demo::router();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server =
        nutshell_smol::Server::from_listener_service(listener, router, access::options()).unwrap();
    let (addr, signal) = (server.local_addr(), server.shutdown_signal());
    let thread = std::thread::spawn(move || server.run());
    access::check(addr, "/plaintext", false);
    signal.trigger();
    thread.join().unwrap().unwrap();
}
