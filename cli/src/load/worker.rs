//! One load-generator thread: a mio loop over its share of the connections.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use nutshell_core::client::{ClientConnection, ClientEvent, ClientRequest};
use nutshell_core::Config;
use std::sync::Arc;

use super::{LoadPlan, Report};

/// How often every connection's own deadlines are checked.
const TIMER_TICK: Duration = Duration::from_millis(250);

struct LoadConn {
    socket: TcpStream,
    client: ClientConnection,
    /// When each request in flight was queued, oldest first.
    sent_at: VecDeque<Instant>,
    connected: bool,
    failed_status: bool,
}

/// Runs `connections` connections of `plan` until `deadline`, counting
/// from `measure_from` on (before it, the warm-up).
pub(super) fn run(
    plan: &LoadPlan,
    connections: usize,
    measure_from: Instant,
    deadline: Instant,
    cpu: Option<usize>,
) -> Result<Report, String> {
    if let Some(cpu) = cpu {
        core_affinity::set_for_current(core_affinity::CoreId { id: cpu });
    }
    let mut poll = Poll::new().map_err(|e| format!("cannot create a poll: {e}"))?;
    let mut events = Events::with_capacity(1024);
    let mut report = Report::empty(plan);
    let config = Arc::new(client_config());
    let template = plan.request();
    let mut conns: Vec<Option<LoadConn>> = Vec::with_capacity(connections);
    for i in 0..connections {
        conns.push(connect(plan, &config, &poll, i, &mut report));
    }
    let mut buf = vec![0u8; 64 * 1024];
    let mut next_tick = Instant::now() + TIMER_TICK;
    let mut warming_up = Instant::now() < measure_from;
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        if warming_up && now >= measure_from {
            // The warm-up is over: what it measured is dropped; requests in
            // flight count when they end, from when they were sent.
            warming_up = false;
            report = Report::empty(plan);
        }
        let mut until = deadline.min(next_tick);
        if warming_up {
            until = until.min(measure_from);
        }
        let wait = until.saturating_duration_since(now);
        if let Err(e) = poll.poll(&mut events, Some(wait)) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(format!("poll failed: {e}"));
            }
        }
        let now = Instant::now();
        for event in events.iter() {
            let i = event.token().0;
            let Some(conn) = conns[i].as_mut() else {
                continue;
            };
            let alive = drive(conn, plan, &template, &mut buf, now, &mut report);
            if !alive {
                conns[i] = None;
            }
        }
        if now >= next_tick {
            next_tick = now + TIMER_TICK;
            for conn in conns.iter_mut().flatten() {
                conn.client.handle_timeout(now);
            }
        }
        // Replace closed connections, as wrk does.
        if now < deadline {
            for (i, slot) in conns.iter_mut().enumerate() {
                if slot.as_ref().is_none_or(|c| c.client.is_closed()) {
                    if let Some(mut conn) = slot.take() {
                        let _ = poll.registry().deregister(&mut conn.socket);
                    }
                    *slot = connect(plan, &config, &poll, i, &mut report);
                }
            }
        }
    }
    report.elapsed = plan.duration;
    Ok(report)
}

fn client_config() -> Config {
    let mut config = Config::default();
    config.timeouts.head = Duration::from_secs(10);
    config.timeouts.body = Duration::from_secs(10);
    config.limits.max_body = 1 << 40;
    config.limits.max_transmit = 1 << 20;
    config
}

fn connect(
    plan: &LoadPlan,
    config: &Arc<Config>,
    poll: &Poll,
    i: usize,
    report: &mut Report,
) -> Option<LoadConn> {
    let mut socket = match TcpStream::connect(plan.addr) {
        Ok(socket) => socket,
        Err(e) => {
            report.error(&format!("connect: {}", e.kind()));
            return None;
        }
    };
    let interest = Interest::READABLE | Interest::WRITABLE;
    if poll
        .registry()
        .register(&mut socket, Token(i), interest)
        .is_err()
    {
        report.error("register");
        return None;
    }
    report.connections += 1;
    Some(LoadConn {
        socket,
        client: ClientConnection::new(config.clone(), Instant::now()),
        sent_at: VecDeque::new(),
        connected: false,
        failed_status: false,
    })
}

/// Moves one connection on after a readiness event; false once it is gone.
fn drive(
    conn: &mut LoadConn,
    plan: &LoadPlan,
    template: &ClientRequest,
    buf: &mut [u8],
    now: Instant,
    report: &mut Report,
) -> bool {
    if !conn.connected {
        match conn.socket.peer_addr() {
            Ok(_) => {
                conn.connected = true;
                let _ = conn.socket.set_nodelay(true);
            }
            Err(e) if e.kind() == io::ErrorKind::NotConnected => return true,
            Err(_) => {
                let error = conn.socket.take_error().ok().flatten();
                report.error(&format!(
                    "connect: {}",
                    error.map_or(io::ErrorKind::Other, |e| e.kind())
                ));
                return false;
            }
        }
    }
    // Read everything there is (mio is edge-triggered).
    loop {
        match conn.socket.read(buf) {
            Ok(0) => {
                conn.client.handle_eof(now);
                break;
            }
            Ok(n) => {
                report.bytes += n as u64;
                let mut at = 0;
                while at < n {
                    let taken = conn.client.handle_read(&buf[at..n], now);
                    collect(conn, now, report);
                    if taken == 0 {
                        break;
                    }
                    at += taken;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                report.error(&format!("read: {}", e.kind()));
                return false;
            }
        }
    }
    collect(conn, now, report);
    if conn.client.is_closed() {
        return false;
    }
    // Keep the pipeline full.
    while conn.client.can_send() && conn.client.in_flight() < plan.pipeline {
        if conn
            .client
            .request(template.clone(), plan.body.clone())
            .is_err()
        {
            break;
        }
        conn.sent_at.push_back(now);
    }
    // Write until done or the socket is full.
    while conn.client.wants_write() {
        let mut slices = [IoSlice::new(&[]); 32];
        let n = conn.client.transmit_slices(&mut slices);
        match conn.socket.write_vectored(&slices[..n]) {
            Ok(written) => conn.client.advance_transmit(written, now),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                report.error(&format!("write: {}", e.kind()));
                return false;
            }
        }
    }
    true
}

/// Drains the connection's events into the report.
fn collect(conn: &mut LoadConn, now: Instant, report: &mut Report) {
    while let Some(event) = conn.client.poll_event() {
        match event {
            ClientEvent::Response(head) => {
                conn.failed_status = !head.status().is_success();
                if conn.failed_status {
                    report.error(&format!("status {}", head.status().as_u16()));
                }
            }
            ClientEvent::ResponseEnd => {
                if let Some(sent) = conn.sent_at.pop_front() {
                    if !conn.failed_status {
                        report.record(now.saturating_duration_since(sent));
                    }
                }
            }
            ClientEvent::Error(error) => report.error(&format!("protocol: {error}")),
            ClientEvent::Closed(_) if !conn.sent_at.is_empty() => {
                report.error("closed with requests in flight");
            }
            _ => {}
        }
    }
}
