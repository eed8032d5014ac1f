//! A soak of one shell: `nutshell serve` as a child process on 127.0.0.1,
//! mixed traffic from a few worker threads for a while (keep-alive and
//! pipelined requests, uploads, a 413, downloads, chunked responses,
//! resets mid-head and mid-body, slow readers, idle connections coming and
//! going), the server's RSS and open descriptors sampled throughout, and a
//! graceful shutdown (SIGTERM) with a request in flight at the end.
//!
//! It fails (exit status 1) on any unexpected answer or error, on RSS
//! growing more than 10% after the warm-up, on descriptors not back to
//! their baseline once the clients are gone, or on a shutdown that loses
//! the request in flight or does not end the server cleanly.
//!
//! ```text
//! soak --server target/release/nutshell --shell mio [--duration 10m]
//!      [--interval 10s] [--workers 8]
//! ```
//! `bench/soak.sh` builds and runs it.

mod sample;
mod traffic;

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nutshell_tests::wire;
use sample::Sample;
use traffic::{Kind, Rng};

#[derive(Debug)]
struct Args {
    server: String,
    shell: String,
    duration: Duration,
    interval: Duration,
    workers: usize,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| format!("bad duration {text:?}"))?;
    match unit {
        "" | "s" => Ok(Duration::from_secs(n)),
        "ms" => Ok(Duration::from_millis(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("bad duration unit in {text:?} (ms, s, m)")),
    }
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        server: "target/release/nutshell".into(),
        shell: String::new(),
        duration: Duration::from_secs(600),
        interval: Duration::ZERO,
        workers: 8,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--server" => args.server = value()?,
            "--shell" => args.shell = value()?,
            "--duration" => args.duration = parse_duration(&value()?)?,
            "--interval" => args.interval = parse_duration(&value()?)?,
            "--workers" => {
                args.workers = value()?.parse().map_err(|e| format!("--workers: {e}"))?
            }
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    if args.shell.is_empty() {
        return Err("--shell mio|tokio|smol|blocking is required".into());
    }
    if args.interval.is_zero() {
        // Every 10 s, or every few seconds for a short run.
        args.interval = Duration::from_secs(10)
            .min(args.duration / 10)
            .max(Duration::from_secs(1));
    }
    Ok(args)
}

/// Errors seen by the workers: counted, the first few kept.
#[derive(Debug, Default)]
struct Errors {
    count: AtomicU64,
    first: Mutex<Vec<String>>,
}

impl Errors {
    fn add(&self, message: String) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first.lock().unwrap_or_else(|p| p.into_inner());
        if first.len() < 20 {
            first.push(message);
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

fn start_server(args: &Args, addr: SocketAddr) -> Result<Child, String> {
    let child = Command::new(&args.server)
        .args(["serve", "--shell", &args.shell, "--addr", &addr.to_string()])
        .args([
            "--threads",
            "2",
            "--max-body",
            &traffic::MAX_BODY.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("start {}: {e}", args.server))?;
    let began = Instant::now();
    while TcpStream::connect(addr).is_err() {
        if began.elapsed() > Duration::from_secs(20) {
            return Err("the server did not start listening within 20 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(child)
}

/// The footprint of a server that has served one request and is idle
/// again: its threads and pollers are all set up by then (some shells make
/// theirs lazily), and the count has held still for half a second.
fn warm_baseline(pid: u32, addr: SocketAddr) -> Result<Sample, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(wire::IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(wire::GET_ROOT)
        .map_err(|e| e.to_string())?;
    wire::read_response(&mut stream, &mut Vec::new(), false)?;
    drop(stream);
    let began = Instant::now();
    let mut last = sample::read(pid, Duration::ZERO).ok_or("the server is gone")?;
    let mut still = 0;
    while still < 5 {
        if began.elapsed() > Duration::from_secs(20) {
            return Err("the server's descriptors never held still".into());
        }
        std::thread::sleep(Duration::from_millis(100));
        let now = sample::read(pid, Duration::ZERO).ok_or("the server is gone")?;
        still = if now.fds == last.fds { still + 1 } else { 0 };
        last = now;
    }
    Ok(last)
}

/// Waits up to `bound` for the server's descriptors to come back to
/// `baseline` (lingering closes take a moment); returns the last count.
fn settle_fds(pid: u32, baseline: usize, began: Instant, bound: Duration) -> Option<Sample> {
    let until = Instant::now() + bound;
    loop {
        let now = sample::read(pid, began.elapsed())?;
        if now.fds <= baseline || Instant::now() > until {
            return Some(now);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// SIGTERM with a request in flight: its head is in (the 100 Continue
/// says so), the listener closes, then the rest of the body goes out and
/// the answer must be a 200 that says `Connection: close`; the server must
/// then exit with status 0.
fn graceful_shutdown(child: &mut Child, addr: SocketAddr) -> Result<(), String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(wire::IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let head =
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n";
    stream.write_all(head).map_err(|e| e.to_string())?;
    let mut buffer = Vec::new();
    let interim = wire::read_response(&mut stream, &mut buffer, false)?;
    if interim.status != 100 {
        return Err(format!("expected 100 Continue, got {}", interim.status));
    }
    stream.write_all(b"hello").map_err(|e| e.to_string())?;
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .map_err(|e| format!("kill: {e}"))?;
    if !killed.success() {
        return Err("kill -TERM failed".into());
    }
    // The listener closing shows the shutdown has begun.
    let began = Instant::now();
    while TcpStream::connect(addr).is_ok() {
        if began.elapsed() > Duration::from_secs(10) {
            return Err("still accepting 10 s after SIGTERM".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    stream.write_all(b"world").map_err(|e| e.to_string())?;
    let response = wire::read_response(&mut stream, &mut buffer, false)?;
    if response.status != 200 || response.body != b"helloworld" || !response.closes() {
        return Err(format!("the request in flight got {response:?}"));
    }
    drop(stream);
    let began = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return if status.success() {
                Ok(())
            } else {
                Err(format!("the server exited with {status}"))
            };
        }
        if began.elapsed() > Duration::from_secs(30) {
            return Err("the server did not exit within 30 s of SIGTERM".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("soak: {e}");
            return ExitCode::from(2);
        }
    };
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port())
        .parse()
        .expect("an address");
    let mut child = match start_server(&args, addr) {
        Ok(child) => child,
        Err(e) => {
            eprintln!("soak: {e}");
            return ExitCode::FAILURE;
        }
    };
    let pid = child.id();
    let baseline = match warm_baseline(pid, addr) {
        Ok(baseline) => baseline,
        Err(e) => {
            eprintln!("soak: {e}");
            let _ = child.kill();
            let _ = child.wait();
            return ExitCode::FAILURE;
        }
    };
    let began = Instant::now();
    println!(
        "soak: {} shell on {addr}, {:?}, {} workers, sampling every {:?}; baseline {} KiB, {} fds",
        args.shell, args.duration, args.workers, args.interval, baseline.rss_kib, baseline.fds
    );

    let errors = Errors::default();
    let stop = AtomicBool::new(false);
    let counts: Vec<AtomicU64> = Kind::ALL.iter().map(|_| AtomicU64::new(0)).collect();
    let mut samples = vec![baseline];
    let mut failures = Vec::new();
    std::thread::scope(|scope| {
        for worker in 0..args.workers {
            let (errors, stop, counts) = (&errors, &stop, &counts);
            scope.spawn(move || {
                let mut rng = Rng::new(worker as u64 + 1);
                let mut turn = worker;
                while !stop.load(Ordering::Relaxed) {
                    let index = turn % Kind::ALL.len();
                    turn += 1;
                    let kind = Kind::ALL[index];
                    match traffic::run(kind, addr, &mut rng) {
                        Ok(()) => {
                            counts[index].fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => errors.add(format!("{}: {e}", kind.name())),
                    }
                }
            });
        }
        let deadline = began + args.duration;
        let mut next = began + args.interval;
        while Instant::now() < deadline {
            std::thread::sleep(next.min(deadline).saturating_duration_since(Instant::now()));
            if Instant::now() >= next {
                match sample::read(pid, began.elapsed()) {
                    Some(s) => {
                        println!(
                            "  {:>6.1}s  rss {:>8} KiB  fds {:>5}",
                            s.at.as_secs_f64(),
                            s.rss_kib,
                            s.fds
                        );
                        samples.push(s);
                    }
                    None => {
                        failures.push("the server process is gone".to_string());
                        break;
                    }
                }
                next += args.interval;
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
    // The last sample: the footprint at the end of the traffic.
    if let Some(last) = sample::read(pid, began.elapsed()) {
        println!(
            "  {:>6.1}s  rss {:>8} KiB  fds {:>5}  (end of traffic)",
            last.at.as_secs_f64(),
            last.rss_kib,
            last.fds
        );
        samples.push(last);
    }

    for (kind, count) in Kind::ALL.iter().zip(&counts) {
        println!("  {:<15} {:>8}", kind.name(), count.load(Ordering::Relaxed));
    }
    let error_count = errors.count.load(Ordering::Relaxed);
    if error_count > 0 {
        let first = errors.first.lock().unwrap_or_else(|p| p.into_inner());
        failures.push(format!(
            "{error_count} unexpected errors, first: {first:#?}"
        ));
    }
    match sample::check_growth(&samples, sample::warm_up(args.duration)) {
        Ok((mark, last)) => println!(
            "rss: {} KiB at {:.0}s (after warm-up) -> {} KiB at the end ({:+.1}%)",
            mark.rss_kib,
            mark.at.as_secs_f64(),
            last.rss_kib,
            (last.rss_kib as f64 / mark.rss_kib as f64 - 1.0) * 100.0
        ),
        Err(e) => failures.push(e),
    }
    match settle_fds(pid, baseline.fds, began, Duration::from_secs(15)) {
        Some(s) if s.fds <= baseline.fds => {
            println!(
                "fds: {} after the clients left (baseline {})",
                s.fds, baseline.fds
            )
        }
        Some(s) => failures.push(format!(
            "{} fds 15 s after the clients left, baseline {}",
            s.fds, baseline.fds
        )),
        None => failures.push("the server process is gone".into()),
    }
    match graceful_shutdown(&mut child, addr) {
        Ok(()) => println!("shutdown: the request in flight finished; the server exited with 0"),
        Err(e) => failures.push(format!("shutdown: {e}")),
    }
    let _ = child.kill();
    let _ = child.wait();

    if failures.is_empty() {
        println!("soak {}: PASS", args.shell);
        ExitCode::SUCCESS
    } else {
        for failure in &failures {
            eprintln!("soak {}: FAIL: {failure}", args.shell);
        }
        ExitCode::FAILURE
    }
}
