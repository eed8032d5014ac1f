//! A request body streamed to a sync handler's `BodyReader` on the
//! blocking shell: 64 MiB through with bounded memory.

#[path = "support/streaming.rs"]
mod streaming;

use std::net::TcpListener;

#[test]
fn a_64_mib_upload_streams_to_the_handler_with_bounded_memory() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = nutshell_blocking::Server::from_listener(
        listener,
        streaming::counting_handler(),
        streaming::options(),
    )
    .unwrap();
    let addr = server.local_addr();
    let signal = server.shutdown_signal();
    let thread = std::thread::spawn(move || server.run());
    streaming::check(addr);
    signal.trigger();
    thread.join().unwrap().unwrap();
}
