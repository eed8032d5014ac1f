//! Holding many idle keep-alive connections: each sends one request, reads
//! its response, and then stays open doing nothing, while the server's
//! memory is read.

use std::collections::BTreeMap;
use std::io::{self, IoSlice, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use nutshell_core::client::{ClientConnection, ClientEvent, ClientRequest};
use nutshell_core::Config;

/// Connections opened per round, so the listen backlog never overflows.
const BATCH: usize = 256;

/// Open connections, answered or not.
pub(crate) struct IdleConnections {
    // Held only to keep the sockets open.
    _sockets: Vec<TcpStream>,
    /// Connections that got their response and are idle now.
    pub(crate) held: usize,
    /// What went wrong with the others, by kind.
    pub(crate) failures: BTreeMap<String, u64>,
}

struct Pending {
    socket: TcpStream,
    client: ClientConnection,
    done: bool,
}

/// Opens `count` connections to `addr`, each answering one GET /, giving up
/// on those without an answer by `timeout`. `progress` is told how many are
/// held so far.
pub(crate) fn hold(
    addr: SocketAddr,
    count: usize,
    timeout: Duration,
    mut progress: impl FnMut(usize),
) -> IdleConnections {
    let mut failures = BTreeMap::new();
    let mut fail = |kind: String| *failures.entry(kind).or_insert(0) += 1;
    let config = Arc::new(Config::default());
    let Ok(mut poll) = Poll::new() else {
        fail("poll".into());
        return IdleConnections {
            _sockets: Vec::new(),
            held: 0,
            failures,
        };
    };
    let mut events = Events::with_capacity(1024);
    let mut all: Vec<Pending> = Vec::with_capacity(count);
    let deadline = Instant::now() + timeout;
    let mut held = 0;
    let mut buf = vec![0u8; 4096];
    while Instant::now() < deadline && (all.len() < count || held < all.len()) {
        // Open the next batch once the previous one has been answered.
        if all.len() < count && all.len() - held < BATCH {
            for _ in 0..BATCH.min(count - all.len()) {
                match open(addr, &config, &poll, all.len()) {
                    Ok(pending) => all.push(pending),
                    Err(e) => {
                        fail(format!("connect: {}", e.kind()));
                        break;
                    }
                }
            }
        }
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(100));
        if poll.poll(&mut events, Some(wait)).is_err() {
            continue;
        }
        let now = Instant::now();
        for event in events.iter() {
            let Some(pending) = all.get_mut(event.token().0) else {
                continue;
            };
            if pending.done {
                continue;
            }
            match advance(pending, &mut buf, now) {
                Ok(true) => {
                    pending.done = true;
                    held += 1;
                }
                Ok(false) => {}
                Err(kind) => {
                    pending.done = true;
                    fail(kind);
                }
            }
        }
        progress(held);
    }
    let failed: u64 = failures.values().sum();
    let unanswered =
        all.len().saturating_sub(held + failed as usize) + count.saturating_sub(all.len());
    if unanswered > 0 {
        *failures.entry("no response in time".into()).or_insert(0) += unanswered as u64;
    }
    IdleConnections {
        _sockets: all.into_iter().map(|p| p.socket).collect(),
        held,
        failures,
    }
}

fn open(addr: SocketAddr, config: &Arc<Config>, poll: &Poll, index: usize) -> io::Result<Pending> {
    let mut socket = TcpStream::connect(addr)?;
    poll.registry().register(
        &mut socket,
        Token(index),
        Interest::READABLE | Interest::WRITABLE,
    )?;
    let mut client = ClientConnection::new(config.clone(), Instant::now());
    let request = ClientRequest::new(http::Method::GET, "/").header(
        http::header::HOST,
        http::HeaderValue::from_static("localhost"),
    );
    // Cannot fail: a fresh connection with a valid request.
    let _ = client.send_request(request);
    Ok(Pending {
        socket,
        client,
        done: false,
    })
}

/// Writes the request and reads the response; true once it has ended.
fn advance(pending: &mut Pending, buf: &mut [u8], now: Instant) -> Result<bool, String> {
    while pending.client.wants_write() {
        let mut slices = [IoSlice::new(&[]); 4];
        let n = pending.client.transmit_slices(&mut slices);
        match pending.socket.write_vectored(&slices[..n]) {
            Ok(written) => pending.client.advance_transmit(written, now),
            // Still connecting: the next event tries again.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::NotConnected
                ) =>
            {
                return Ok(false)
            }
            Err(e) => return Err(format!("write: {}", e.kind())),
        }
    }
    loop {
        match pending.socket.read(buf) {
            Ok(0) => return Err("closed by the server".into()),
            Ok(n) => {
                pending.client.handle_read(&buf[..n], now);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read: {}", e.kind())),
        }
    }
    while let Some(event) = pending.client.poll_event() {
        match event {
            ClientEvent::ResponseEnd => return Ok(true),
            ClientEvent::Error(error) => return Err(format!("protocol: {error}")),
            _ => {}
        }
    }
    Ok(false)
}
