// A complete blocking server for one connection at a time, on the core
// alone: the loop every shell runs, with its own way of waiting. Serves
// `hi` on 127.0.0.1:8080 (`cargo run -p nutshell-core --example blocking`).
#![allow(
    clippy::disallowed_methods,
    reason = "a shell reads the clock and waits; the core does neither"
)]
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use nutshell_core::http::StatusCode;
use nutshell_core::{Bytes, Config, Event, ResponseHead, ServerConnection};

/// Serves one connection until the core closes it.
pub fn serve_one(mut socket: TcpStream, config: Arc<Config>) -> io::Result<()> {
    let mut conn = ServerConnection::new(config, Instant::now(), SystemTime::now());
    loop {
        // 1. Drain events; answer requests.
        while let Some(event) = conn.poll_event() {
            if let Event::Request(_head) = event {
                let hi = Bytes::from_static(b"hi\n");
                // Misuse would be our bug, not the peer's: stop.
                conn.respond(ResponseHead::new(StatusCode::OK), hi)
                    .map_err(io::Error::other)?;
            }
        }
        // 2. Write what the core says. A blocking write must never outlast
        // the core's next deadline, or a peer that does not read would hold
        // this thread forever: the write-stall timeout is among those
        // deadlines while output waits.
        while conn.wants_write() && !conn.is_closed() {
            socket.set_write_timeout(Some(until(conn.poll_timeout())))?;
            let mut slices = [IoSlice::new(&[]); 16];
            let n = conn.transmit_slices(&mut slices);
            match socket.write_vectored(&slices[..n]) {
                Ok(0) => conn.handle_write_error(),
                Ok(written) => conn.advance_transmit(written, Instant::now()),
                Err(e) if timed_out(&e) => conn.handle_timeout(Instant::now()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => conn.handle_write_error(),
            }
        }
        if conn.wants_write_shutdown() {
            let _ = socket.shutdown(Shutdown::Write);
        }
        if conn.is_closed() {
            return Ok(());
        }
        // 3. Wait for input or the next deadline, whichever comes first.
        if let Some(deadline) = conn.poll_timeout() {
            if deadline <= Instant::now() {
                conn.handle_timeout(Instant::now());
                continue;
            }
        }
        if !conn.wants_read() {
            // `recv_buf()` is empty now, and a read into it would return
            // Ok(0), which looks like EOF. With nothing to write either, only
            // a deadline can move the core: sleep until it.
            match conn.poll_timeout() {
                Some(deadline) => std::thread::sleep(until(Some(deadline))),
                None => return Ok(()),
            }
            conn.handle_timeout(Instant::now());
            continue;
        }
        socket.set_read_timeout(Some(until(conn.poll_timeout())))?;
        match socket.read(conn.recv_buf()) {
            Ok(0) => conn.handle_eof(Instant::now()),
            Ok(n) => conn.commit_recv(n, Instant::now()),
            Err(e) if timed_out(&e) => conn.handle_timeout(Instant::now()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => conn.handle_eof(Instant::now()),
        }
    }
}

/// Time left until `deadline`, at least a millisecond (a zero timeout means
/// "block forever" to the socket API), and at most a minute without one.
fn until(deadline: Option<Instant>) -> Duration {
    deadline
        .map_or(Duration::from_secs(60), |d| {
            d.saturating_duration_since(Instant::now())
        })
        .max(Duration::from_millis(1))
}

fn timed_out(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

#[allow(dead_code, reason = "the test suite includes this file for serve_one")]
fn main() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:8080")?;
    let config = Arc::new(Config::default());
    for socket in listener.incoming() {
        serve_one(socket?, Arc::clone(&config))?;
    }
    Ok(())
}
