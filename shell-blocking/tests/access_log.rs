//! The access log and `Request.peer` on the blocking shell.

#[path = "support/access.rs"]
mod access;

use std::net::TcpListener;

#[test]
fn every_exchange_is_logged_with_its_peer() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server =
        nutshell_blocking::Server::from_listener(listener, access::echo_peer, access::options())
            .unwrap();
    let addr = server.local_addr();
    let signal = server.shutdown_signal();
    let thread = std::thread::spawn(move || server.run());
    access::check(addr, "/who?am=i", true);
    signal.trigger();
    thread.join().unwrap().unwrap();
}
