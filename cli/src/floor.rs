//! `serve --shell floor`: the I/O floor. **Not HTTP and not a server**: a
//! mio loop per thread (thread per core, `SO_REUSEPORT` listeners, like the
//! mio shell) that answers every `\r\n\r\n` it reads with one canned
//! `Hello, World!` response and parses nothing else. What it costs per
//! request is the system calls alone, so its requests per server-core
//! second are the limit on this machine for any shell; `compare` shows
//! each shell's as a fraction of it. It ignores methods, paths and bodies,
//! so only the `GET /` workloads mean anything against it.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use nutshell_server::ShutdownSignal;
use socket2::{Domain, Socket, Type};

/// What the floor sends for each request head: the same status line and
/// fields as the shells' answer to `GET /`, with a fixed date.
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 13\r\n\
date: Tue, 01 Dec 2026 10:00:00 GMT\r\n\r\nHello, World!";
const END_OF_HEAD: &[u8; 4] = b"\r\n\r\n";
const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX);

/// Serves the floor on `threads` loops until `signal` is triggered.
pub(crate) fn serve(addr: SocketAddr, threads: usize, signal: &ShutdownSignal) -> io::Result<()> {
    let first = listen(addr, false)?;
    let addr = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..threads.max(1) {
        listeners.push(listen(addr, true)?);
    }
    std::thread::scope(|scope| {
        let loops: Vec<_> = listeners
            .into_iter()
            .map(|listener| scope.spawn(move || run_loop(listener, signal)))
            .collect();
        loops
            .into_iter()
            .map(|l| {
                l.join()
                    .unwrap_or_else(|_| Err(io::Error::other("a loop panicked")))
            })
            .collect::<io::Result<Vec<()>>>()
            .map(|_| ())
    })
}

fn listen(addr: SocketAddr, sibling: bool) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    if sibling {
        socket.set_reuse_port(true)?;
    }
    socket.bind(&addr.into())?;
    if !sibling {
        socket.set_reuse_port(true)?;
    }
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// One connection: how much of `\r\n\r\n` the last read ended with, and
/// the responses not yet written.
struct Conn {
    socket: TcpStream,
    matched: usize,
    pending: Vec<u8>,
}

fn run_loop(listener: std::net::TcpListener, signal: &ShutdownSignal) -> io::Result<()> {
    let mut poll = Poll::new()?;
    let mut listener = TcpListener::from_std(listener);
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
    signal.on_trigger(move || {
        let _ = waker.wake();
    });
    let mut events = Events::with_capacity(1024);
    let mut conns: HashMap<usize, Conn> = HashMap::new();
    let mut next = 0usize;
    let mut buffer = vec![0u8; 64 * 1024];
    while !signal.is_triggered() {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for event in &events {
            match event.token() {
                WAKER => {}
                LISTENER => loop {
                    let Ok((mut socket, _)) = listener.accept() else {
                        break;
                    };
                    socket.set_nodelay(true)?;
                    let token = Token(next);
                    next += 1;
                    poll.registry().register(
                        &mut socket,
                        token,
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    let conn = Conn {
                        socket,
                        matched: 0,
                        pending: Vec::new(),
                    };
                    conns.insert(token.0, conn);
                    // The request may be there already.
                    if !serve_conn(conns.get_mut(&token.0).expect("inserted"), &mut buffer) {
                        conns.remove(&token.0);
                    }
                },
                Token(key) => {
                    if let Some(conn) = conns.get_mut(&key) {
                        if !serve_conn(conn, &mut buffer) {
                            conns.remove(&key);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Reads until the socket would block, queues a response per head end,
/// writes what it can. False once the connection is done.
fn serve_conn(conn: &mut Conn, buffer: &mut [u8]) -> bool {
    loop {
        match conn.socket.read(buffer) {
            Ok(0) => return false,
            Ok(n) => {
                for &byte in &buffer[..n] {
                    conn.matched = next_match(conn.matched, byte);
                    if conn.matched == END_OF_HEAD.len() {
                        conn.matched = 0;
                        conn.pending.extend_from_slice(RESPONSE);
                    }
                }
                if n < buffer.len() {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    while !conn.pending.is_empty() {
        match conn.socket.write(&conn.pending) {
            Ok(n) => {
                conn.pending.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

/// How much of `\r\n\r\n` is matched after `byte`, given `matched` before.
fn next_match(matched: usize, byte: u8) -> usize {
    if byte == END_OF_HEAD[matched] {
        matched + 1
    } else if byte == b'\r' {
        1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_head_ends_across_splits() {
        let input = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n\r\r\n\r\n";
        let mut matched = 0;
        let mut heads = 0;
        for &byte in input {
            matched = next_match(matched, byte);
            if matched == 4 {
                matched = 0;
                heads += 1;
            }
        }
        assert_eq!(heads, 2);
    }
}
