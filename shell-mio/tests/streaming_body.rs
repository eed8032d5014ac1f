//! A request body streamed to a sync handler's `BodyReader` on the mio
//! shell's handler pool: 64 MiB through with bounded memory. Without a
//! pool the body is collected first (a read that blocked would stall the
//! loop), and the handler still gets its reader.

#[path = "../../shell-blocking/tests/support/streaming.rs"]
mod streaming;

use std::net::TcpListener;

fn serve(handler_threads: usize, check: impl FnOnce(std::net::SocketAddr)) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let options = streaming::options().handler_threads(handler_threads);
    let server =
        nutshell_mio::Server::from_listener(listener, streaming::counting_handler(), options)
            .unwrap();
    let addr = server.local_addr();
    let signal = server.shutdown_signal();
    let thread = std::thread::spawn(move || server.run());
    check(addr);
    signal.trigger();
    thread.join().unwrap().unwrap();
}

#[test]
fn a_64_mib_upload_streams_to_the_handler_pool_with_bounded_memory() {
    serve(2, streaming::check);
}

#[test]
fn without_a_pool_the_handler_reads_the_collected_body() {
    serve(0, |addr| {
        let response = streaming::upload(addr, 100_000, true);
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.contains("\r\n\r\n100000 "), "{response}");
    });
}
