use nutshell_core::testing::Harness;
use nutshell_core::Config;
#[allow(clippy::disallowed_methods)]
fn origin() -> std::time::Instant { std::time::Instant::now() }
#[test]
fn head_with_body() {
    let mut h = Harness::echo(Config::default(), origin());
    h.feed(b"HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi");
    println!("{:?} {}", h.records(), h.sent_text());
}
#[test]
fn post_backpressure() {
    let mut c = Config::default();
    c.limits.recv_buffer = 2048; c.limits.max_head_bytes = 1024; c.limits.max_transmit = 4096;
    let mut h = Harness::echo(c, origin());
    h.peer_reads = false;
    let mut s = Vec::new();
    for _ in 0..100 { s.extend_from_slice(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"); }
    h.feed(&s);
    println!("{:?} {} {}", h.records().len(), h.max_transmit, h.max_buffered);
}
