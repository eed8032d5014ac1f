//! The whole request cycle on one kept-alive connection, per request: feed
//! the request bytes (`handle_read`, fixed `now`), drain `poll_event`,
//! answer (`respond`), drain the output (`transmit_slices` +
//! `advance_transmit`). Beside it, the reference: `httparse` parsing the
//! same heads and doing nothing else.
//!
//! ```text
//! cargo bench -p nutshell-core --bench cycle
//! ```
//!
//! Divan prints its statistics first; then a summary table with the median
//! ns per request of both, their ratio, and the heap allocations per request
//! counted in steady state, and how `GET /` stands against the targets: the
//! whole cycle within 2x the bare parse, at most 2 allocations per request. Under `cargo test --benches` every benchmark runs
//! once and the table is a quick check that the cycle works (its timings
//! then mean nothing).
//!
//! Heap calls are counted by a global allocator that wraps `System` and
//! counts only while asked to (one relaxed load per call otherwise).
//!
//! To profile one workload without the harness, name it (`get`, `post_1k`,
//! `browser_get`, `pipelined_16`, or `httparse_get` and so on for the bare
//! parse) in `CYCLE_PROFILE`; the binary then runs 1000 warm-up iterations
//! and `CYCLE_ITERATIONS` (default 100000) more:
//!
//! ```text
//! cargo bench -p nutshell-core --bench cycle --no-run   # prints the binary's path
//! CYCLE_PROFILE=get CYCLE_ITERATIONS=20000 valgrind --tool=callgrind target/release/deps/cycle-<hash>
//! CYCLE_PROFILE=get perf record -e cpu-clock -g target/release/deps/cycle-<hash>
//! ```

#![allow(
    unsafe_code,
    reason = "a counting allocator must implement GlobalAlloc"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::io::IoSlice;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use divan::counter::ItemsCount;
use divan::Bencher;
use nutshell_core::http::header::CONTENT_TYPE;
use nutshell_core::http::{HeaderValue, Method, StatusCode};
use nutshell_core::{Bytes, Config, Event, ResponseHead, ServerConnection};

/// The system allocator, counting calls while `COUNTING` is set. Off, it
/// costs one relaxed load per call, so it does not skew the timings.
struct CountingAllocator;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static REALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

impl CountingAllocator {
    fn record(counter: &AtomicU64, bytes: usize) {
        if COUNTING.load(Ordering::Relaxed) {
            counter.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
        }
    }
}

// SAFETY: every call is passed unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counters are plain atomics.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::record(&ALLOCATIONS, layout.size());
        // SAFETY: the caller keeps `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::record(&ALLOCATIONS, layout.size());
        // SAFETY: the caller keeps `GlobalAlloc::alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller keeps `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::record(&REALLOCATIONS, new_size.saturating_sub(layout.size()));
        // SAFETY: the caller keeps `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Heap calls made while `f` runs: (allocations, reallocations, bytes).
fn count_allocations(f: impl FnOnce()) -> (u64, u64, u64) {
    let counters = [&ALLOCATIONS, &REALLOCATIONS, &BYTES];
    for counter in counters {
        counter.store(0, Ordering::Relaxed);
    }
    COUNTING.store(true, Ordering::SeqCst);
    f();
    COUNTING.store(false, Ordering::SeqCst);
    let [allocs, reallocs, bytes] = counters.map(|counter| counter.load(Ordering::Relaxed));
    (allocs, reallocs, bytes)
}

/// The request heads and bodies under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    /// `GET /` with only `Host`.
    Get,
    /// `GET /` with the `Host`, `Accept` and `Connection: keep-alive` fields
    /// that TechEmpower's wrk pipeline script sends.
    TechEmpower,
    /// A POST with a 1 KiB `Content-Length` body, echoed back.
    Post1k,
    /// A GET with the 20 header fields a desktop Chrome sends.
    BrowserGet,
    /// 16 `GET /` requests in one buffer.
    Pipelined16,
}

const WORKLOADS: [Workload; 5] = [
    Workload::Get,
    Workload::TechEmpower,
    Workload::Post1k,
    Workload::BrowserGet,
    Workload::Pipelined16,
];

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

const TECHEMPOWER_GET: &[u8] = b"GET / HTTP/1.1\r\n\
Host: localhost\r\n\
Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n\
Connection: keep-alive\r\n\r\n";

const POST_HEAD: &[u8] = b"POST /echo HTTP/1.1\r\n\
Host: localhost\r\n\
Content-Type: application/octet-stream\r\n\
Content-Length: 1024\r\n\r\n";

const BROWSER_GET: &[u8] = b"GET / HTTP/1.1\r\n\
Host: localhost:8080\r\n\
Connection: keep-alive\r\n\
Cache-Control: max-age=0\r\n\
sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
sec-ch-ua-platform: \"Linux\"\r\n\
Upgrade-Insecure-Requests: 1\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
Chrome/124.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,\
image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n\
Sec-Fetch-Site: none\r\n\
Sec-Fetch-Mode: navigate\r\n\
Sec-Fetch-User: ?1\r\n\
Sec-Fetch-Dest: document\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Cookie: _ga=GA1.1.1234567890.1700000000; session=3f2a9c0e7b1d4e6f8a5b2c9d0e1f2a3b\r\n\
If-None-Match: \"5f3c-61a4e2b8c7d00\"\r\n\
If-Modified-Since: Tue, 14 May 2024 08:00:00 GMT\r\n\
Priority: u=0, i\r\n\
DNT: 1\r\n\r\n";

const PIPELINED: usize = 16;

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Get => "GET /",
            Workload::TechEmpower => "TechEmpower GET /",
            Workload::Post1k => "POST 1 KiB",
            Workload::BrowserGet => "browser GET (20 fields)",
            Workload::Pipelined16 => "16 pipelined GET /",
        }
    }

    /// The bytes one iteration feeds the connection.
    fn input(self) -> Vec<u8> {
        match self {
            Workload::Get => GET.to_vec(),
            Workload::TechEmpower => TECHEMPOWER_GET.to_vec(),
            Workload::Post1k => {
                let mut input = POST_HEAD.to_vec();
                input.extend((0..1024).map(|i| b'a' + (i % 26) as u8));
                input
            }
            Workload::BrowserGet => BROWSER_GET.to_vec(),
            Workload::Pipelined16 => GET.repeat(PIPELINED),
        }
    }

    /// Requests in one iteration.
    fn requests(self) -> usize {
        match self {
            Workload::Pipelined16 => PIPELINED,
            _ => 1,
        }
    }

    /// The heads `httparse` parses for the reference, back to back.
    fn heads(self) -> Vec<u8> {
        match self {
            Workload::Get => GET.to_vec(),
            Workload::TechEmpower => TECHEMPOWER_GET.to_vec(),
            Workload::Post1k => POST_HEAD.to_vec(),
            Workload::BrowserGet => BROWSER_GET.to_vec(),
            Workload::Pipelined16 => GET.repeat(PIPELINED),
        }
    }
}

impl std::fmt::Display for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Workload::Get => "get",
            Workload::TechEmpower => "techempower",
            Workload::Post1k => "post_1k",
            Workload::BrowserGet => "browser_get",
            Workload::Pipelined16 => "pipelined_16",
        })
    }
}

/// The benchmark's own clock: the core never reads one, it is given `now`.
#[allow(clippy::disallowed_methods, reason = "a benchmark times itself")]
fn clock() -> Instant {
    Instant::now()
}

/// A minimal application and shell around one connection, without a socket.
struct Server {
    conn: ServerConnection,
    /// The one `now` every input is given: no timer ever fires.
    now: Instant,
    /// The request being read is a POST, answered at its end with its body.
    echo: bool,
    body: Option<Bytes>,
    responses: usize,
    /// Everything written, when checking (not while timing).
    capture: Option<Vec<u8>>,
}

impl Server {
    fn new() -> Self {
        let now = clock();
        let conn = ServerConnection::new(Arc::new(Config::default()), now, SystemTime::UNIX_EPOCH);
        Server {
            conn,
            now,
            echo: false,
            body: None,
            responses: 0,
            capture: None,
        }
    }

    /// One iteration: feeds `input`, answers every request in it and writes
    /// every response. Returns how many responses were written.
    fn exchange(&mut self, mut input: &[u8]) -> usize {
        let before = self.responses;
        while !input.is_empty() {
            let taken = self.conn.handle_read(input, self.now);
            assert!(
                taken > 0,
                "the connection took no input: {:?}",
                self.conn.state()
            );
            input = &input[taken..];
            self.drain();
        }
        self.responses - before
    }

    /// Drains events and output until the connection has nothing to do.
    fn drain(&mut self) {
        loop {
            while let Some(event) = self.conn.poll_event() {
                self.on_event(event);
            }
            if !self.conn.wants_write() {
                return;
            }
            self.write();
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Request(head) => {
                if head.method() == Method::GET {
                    let text_plain = const { HeaderValue::from_static("text/plain") };
                    self.respond(text_plain, Bytes::from_static(b"Hello, World!"));
                } else {
                    self.echo = true;
                }
            }
            Event::Body(data) => {
                self.body = Some(match self.body.take() {
                    None => data,
                    // Pieces arrive one per read; a single read here gives one.
                    Some(before) => [before, data].concat().into(),
                });
            }
            Event::RequestEnd if self.echo => {
                self.echo = false;
                let body = self.body.take().unwrap_or_default();
                let octets = const { HeaderValue::from_static("application/octet-stream") };
                self.respond(octets, body);
            }
            Event::RequestEnd => {}
            other => panic!("unexpected event {other:?}"),
        }
    }

    fn respond(&mut self, content_type: HeaderValue, body: Bytes) {
        let head = ResponseHead::new(StatusCode::OK).header(CONTENT_TYPE, content_type);
        self.conn.respond(head, body).expect("a waiting request");
        self.responses += 1;
    }

    /// What a vectored write of everything queued would do.
    fn write(&mut self) {
        let mut slices = [IoSlice::new(&[]); 16];
        let n = self.conn.transmit_slices(&mut slices);
        let slices = black_box(&slices[..n]);
        let written = slices.iter().map(|slice| slice.len()).sum();
        if let Some(out) = &mut self.capture {
            for slice in slices {
                out.extend_from_slice(slice);
            }
        }
        self.conn.advance_transmit(written, self.now);
    }
}

/// Runs one iteration with the output captured and checks what was sent.
fn check(workload: Workload) {
    let mut server = Server::new();
    server.capture = Some(Vec::new());
    let input = workload.input();
    for _ in 0..3 {
        assert_eq!(
            server.exchange(&input),
            workload.requests(),
            "{}",
            workload.name()
        );
    }
    let out = server.capture.take().unwrap_or_default();
    let text = String::from_utf8_lossy(&out);
    let expected_body = match workload {
        Workload::Post1k => std::str::from_utf8(&input[POST_HEAD.len()..]).expect("ASCII"),
        _ => "Hello, World!",
    };
    let response_count = text.matches("HTTP/1.1 200 OK\r\n").count();
    assert_eq!(response_count, 3 * workload.requests(), "{text}");
    assert_eq!(
        text.matches(expected_body).count(),
        response_count,
        "{text}"
    );
    assert!(!text.contains("Connection: close"), "{text}");
    assert!(!server.conn.is_closed());
}

/// `httparse` alone: the least any server must do for these heads.
fn bare_parse(mut heads: &[u8]) -> usize {
    let mut parsed = 0;
    while !heads.is_empty() {
        let mut fields = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut fields);
        match request.parse(heads) {
            Ok(httparse::Status::Complete(len)) => heads = &heads[len..],
            other => panic!("httparse: {other:?}"),
        }
        parsed += 1;
    }
    parsed
}

#[divan::bench(args = WORKLOADS)]
fn cycle(bencher: Bencher, workload: Workload) {
    let input = workload.input();
    let mut server = Server::new();
    for _ in 0..100 {
        server.exchange(&input);
    }
    bencher
        .counter(ItemsCount::new(workload.requests()))
        .bench_local(|| server.exchange(black_box(&input)));
}

#[divan::bench(args = WORKLOADS)]
fn httparse_only(bencher: Bencher, workload: Workload) {
    let heads = workload.heads();
    bencher
        .counter(ItemsCount::new(workload.requests()))
        .bench_local(|| bare_parse(black_box(&heads)));
}

/// How many short samples of each side the table takes.
const SAMPLES: usize = 2000;
/// The length of one sample: short, so that a preempted one is an outlier
/// the median ignores (the machines this runs on are small and shared).
const SAMPLE_TIME: Duration = Duration::from_micros(25);

/// A timed loop: how many iterations make a sample, and the samples taken.
struct Timed<F> {
    iteration: F,
    per_sample: usize,
    ns_per_request: Vec<f64>,
}

impl<F: FnMut() -> usize> Timed<F> {
    /// Warms up, and finds how many iterations fill a sample.
    fn new(mut iteration: F) -> Self {
        let mut per_sample = 1;
        loop {
            let start = clock();
            for _ in 0..per_sample {
                black_box(iteration());
            }
            if start.elapsed() >= SAMPLE_TIME || per_sample >= 1 << 20 {
                break;
            }
            per_sample *= 2;
        }
        Timed {
            iteration,
            per_sample,
            ns_per_request: Vec::with_capacity(SAMPLES),
        }
    }

    fn sample(&mut self) {
        let mut requests = 0;
        let start = clock();
        for _ in 0..self.per_sample {
            requests += black_box((self.iteration)());
        }
        let elapsed = start.elapsed();
        self.ns_per_request
            .push(elapsed.as_nanos() as f64 / requests as f64);
    }

    fn median(mut self) -> f64 {
        self.ns_per_request.sort_by(f64::total_cmp);
        self.ns_per_request[self.ns_per_request.len() / 2]
    }
}

/// Median ns per request of two loops, sampled in turn so that both see the
/// same machine. Each iteration returns how many requests it handled.
fn time_pair(quick: bool, a: impl FnMut() -> usize, b: impl FnMut() -> usize) -> (f64, f64) {
    let (mut a, mut b) = (Timed::new(a), Timed::new(b));
    for _ in 0..if quick { 1 } else { SAMPLES } {
        a.sample();
        b.sample();
    }
    (a.median(), b.median())
}

/// The targets for `GET /` on a kept-alive connection.
const TARGET_RATIO: f64 = 2.0;
const TARGET_ALLOCS: f64 = 0.0;
/// Through `Session` and a `Handler`.
const TARGET_SESSION_ALLOCS: f64 = 1.0;

/// Heap operations per request once the connection is warm.
struct AllocCount {
    allocs: f64,
    reallocs: f64,
    bytes: f64,
}

fn allocations_per_request(workload: Workload, requests: usize) -> AllocCount {
    let input = workload.input();
    let mut server = Server::new();
    for _ in 0..1000 {
        server.exchange(&input);
    }
    let iterations = requests.div_ceil(workload.requests());
    let mut served = 0;
    let (allocs, reallocs, bytes) = count_allocations(|| {
        for _ in 0..iterations {
            served += server.exchange(black_box(&input));
        }
    });
    let served = served as f64;
    AllocCount {
        allocs: allocs as f64 / served,
        reallocs: reallocs as f64 / served,
        bytes: bytes as f64 / served,
    }
}

/// Heap operations per request through `Session` and a `Handler` (the demo
/// app's `GET /`), the path every shell takes.
fn session_allocations_per_request(requests: usize) -> AllocCount {
    use nutshell_core::service::Session;
    use nutshell_demo::DemoApp;
    let conn = ServerConnection::new(Arc::new(Config::default()), clock(), SystemTime::UNIX_EPOCH);
    let now = clock();
    let mut session = Session::new(conn);
    let app = DemoApp;
    let one = |session: &mut Session| {
        session.conn().handle_read(GET, now);
        session.drive(&app);
        let mut slices = [IoSlice::new(&[]); 16];
        let n = session.connection().transmit_slices(&mut slices);
        let written = black_box(&slices[..n]).iter().map(|s| s.len()).sum();
        session.conn().advance_transmit(written, now);
    };
    for _ in 0..1000 {
        one(&mut session);
    }
    let (allocs, reallocs, bytes) = count_allocations(|| {
        for _ in 0..requests {
            one(&mut session);
        }
    });
    assert!(!session.connection().is_closed());
    assert_eq!(session.connection().requests(), 1000 + requests as u64);
    let served = requests as f64;
    AllocCount {
        allocs: allocs as f64 / served,
        reallocs: reallocs as f64 / served,
        bytes: bytes as f64 / served,
    }
}

fn summary(quick: bool) {
    let counted = if quick { 100 } else { 10_000 };
    println!();
    println!(
        "ns per request: median of {SAMPLES} samples of ~{} µs each, cycle and httparse in turn; \
         heap calls counted over {counted} requests after 1000 warm-up iterations",
        SAMPLE_TIME.as_micros()
    );
    println!(
        "{:<24} {:>12} {:>14} {:>7} {:>11} {:>13} {:>13}",
        "workload",
        "cycle ns/req",
        "httparse ns",
        "ratio",
        "allocs/req",
        "reallocs/req",
        "alloc B/req"
    );
    let mut verdict = String::new();
    for workload in WORKLOADS {
        check(workload);
        let input = workload.input();
        let heads = workload.heads();
        let mut server = Server::new();
        let (cycle, parse) = time_pair(
            quick,
            || server.exchange(black_box(&input)),
            || bare_parse(black_box(&heads)),
        );
        let allocs = allocations_per_request(workload, counted);
        println!(
            "{:<24} {:>12.1} {:>14.1} {:>6.2}x {:>11.3} {:>13.3} {:>13.1}",
            workload.name(),
            cycle,
            parse,
            cycle / parse,
            allocs.allocs,
            allocs.reallocs,
            allocs.bytes
        );
        if workload == Workload::Get {
            let met = |ok: bool| if ok { "met" } else { "missed" };
            verdict = format!(
                "targets for GET /: cycle <= {TARGET_RATIO}x httparse: {} ({:.2}x); \
                 allocations <= {TARGET_ALLOCS}: {} ({:.3})",
                met(cycle / parse <= TARGET_RATIO),
                cycle / parse,
                met(allocs.allocs + allocs.reallocs <= TARGET_ALLOCS),
                allocs.allocs + allocs.reallocs,
            );
        }
    }
    println!("{verdict}");
    let session = session_allocations_per_request(counted);
    println!(
        "through Session and a Handler (GET /, kept alive): {:.3} allocations + {:.3} reallocations \
         per request ({:.1} B); target <= {TARGET_SESSION_ALLOCS}: {}",
        session.allocs,
        session.reallocs,
        session.bytes,
        if session.allocs + session.reallocs <= TARGET_SESSION_ALLOCS {
            "met"
        } else {
            "missed"
        }
    );
    if quick {
        println!("(test mode: each step ran briefly; the timings mean nothing)");
    }
}

/// Runs one workload alone, for a profiler: the cycle, or with the prefix
/// `httparse_`, the bare parse.
fn profile(name: &str) {
    let (bare, name) = match name.strip_prefix("httparse_") {
        Some(name) => (true, name),
        None => (false, name),
    };
    let workload = WORKLOADS
        .into_iter()
        .find(|workload| workload.to_string() == name)
        .unwrap_or_else(|| panic!("CYCLE_PROFILE: no workload {name:?}"));
    let iterations = std::env::var("CYCLE_ITERATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000usize);
    let input = workload.input();
    let heads = workload.heads();
    let mut server = Server::new();
    let mut iteration = || {
        if bare {
            bare_parse(black_box(&heads))
        } else {
            server.exchange(black_box(&input))
        }
    };
    for _ in 0..1000 {
        iteration();
    }
    let start = clock();
    let served: usize = (0..iterations).map(|_| iteration()).sum();
    let ns = start.elapsed().as_nanos() as f64 / served as f64;
    println!(
        "{}{workload}: {served} requests, {ns:.1} ns/request",
        if bare { "httparse_" } else { "" }
    );
}

fn main() {
    if let Ok(name) = std::env::var("CYCLE_PROFILE") {
        profile(&name);
        return;
    }
    let has = |flag: &str| std::env::args().any(|arg| arg == flag);
    divan::main();
    if !has("--list") {
        // As divan decides: `--bench` without `--test` is a real run.
        summary(!has("--bench") || has("--test"));
    }
}
