//! A soak of one shell: `nutshell serve` as a child process on 127.0.0.1,
//! mixed traffic from a few worker threads for a while (keep-alive and
//! pipelined requests, uploads, a 413, downloads, chunked responses,
//! resets mid-head and mid-body, slow readers, idle connections coming and
//! going), the server's RSS and open descriptors sampled throughout, and a
//! graceful shutdown (SIGTERM) with a request in flight at the end.
//!
//! The traffic runs in two parts: the warm-up (a minute, or half of a
//! shorter run) and the rest. After each part the clients stop, every
//! connection is let close, and the idle server is read: the memory
//! verdict compares those two readings, so what is in flight at one
//! instant (a 1 MiB upload being echoed, say) does not count as growth.
//! With `--heap-probe` (`heap_probe.c`, preloaded into the server) the
//! readings include the live heap, and the 10% rule applies to it; RSS
//! growth beyond 10% is then reported as allocator retention (see
//! `sample::check_growth`). Without the probe the rule applies to RSS.
//!
//! It fails (exit status 1) on any unexpected answer or error, on memory
//! growing more than 10% after the warm-up, on descriptors not back to
//! their baseline once the clients are gone, or on a shutdown that loses
//! the request in flight or does not end the server cleanly.
//!
//! ```text
//! soak --server target/release/nutshell --shell mio [--duration 10m]
//!      [--interval 10s] [--workers 8] [--heap-probe heap_probe.so]
//! ```
//! `bench/soak.sh` builds and runs it.

mod sample;
mod server;
mod traffic;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sample::Sample;
use server::Server;
use traffic::{Kind, Rng};

#[derive(Debug)]
struct Args {
    server: String,
    shell: String,
    duration: Duration,
    interval: Duration,
    workers: usize,
    heap_probe: Option<PathBuf>,
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
        heap_probe: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--server" => args.server = value()?,
            "--shell" => args.shell = value()?,
            "--duration" => args.duration = parse_duration(&value()?)?,
            "--interval" => args.interval = parse_duration(&value()?)?,
            "--heap-probe" => args.heap_probe = Some(value()?.into()),
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

/// What every worker carries from one part of the traffic to the next.
struct Worker {
    rng: Rng,
    turn: usize,
}

/// The workers' tallies: pieces of traffic done per kind, and errors.
struct Tally {
    counts: Vec<AtomicU64>,
    errors: Errors,
}

/// The samples taken under traffic, and when the next one is due (the
/// schedule runs on across the parts of the traffic).
struct Sampling {
    began: Instant,
    next: Duration,
    samples: Vec<Sample>,
}

/// Runs the mixed traffic until `until` into the run, sampling the server
/// every interval; returns once every worker has finished its last piece.
fn run_traffic(
    args: &Args,
    server: &Server,
    until: Duration,
    workers: &mut [Worker],
    tally: &Tally,
    sampling: &mut Sampling,
) -> Result<(), String> {
    let began = sampling.began;
    let stop = AtomicBool::new(false);
    let addr = server.addr;
    let mut gone = false;
    std::thread::scope(|scope| {
        for worker in workers.iter_mut() {
            let stop = &stop;
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let index = worker.turn % Kind::ALL.len();
                    worker.turn += 1;
                    let kind = Kind::ALL[index];
                    match traffic::run(kind, addr, &mut worker.rng) {
                        Ok(()) => {
                            tally.counts[index].fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => tally.errors.add(format!("{}: {e}", kind.name())),
                    }
                }
            });
        }
        let deadline = began + until;
        while Instant::now() < deadline {
            let next = began + sampling.next;
            std::thread::sleep(next.min(deadline).saturating_duration_since(Instant::now()));
            if Instant::now() >= next {
                match server.sample(began.elapsed()) {
                    Some(s) => {
                        println!("  {}", s.line());
                        sampling.samples.push(s);
                    }
                    None => {
                        gone = true;
                        break;
                    }
                }
                sampling.next += args.interval;
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
    if gone {
        return Err("the server process is gone".into());
    }
    Ok(())
}

/// Reads the server once the clients are gone: its descriptors back to
/// the baseline (a failure if they are not within 15 s), then a moment
/// for the probe to report the heap after the last closes.
fn idle_reading(
    server: &Server,
    baseline: &Sample,
    began: Instant,
    label: &str,
    failures: &mut Vec<String>,
) -> Option<Sample> {
    let Some(settled) = server::settle_fds(server, baseline.fds, began, Duration::from_secs(15))
    else {
        failures.push("the server process is gone".into());
        return None;
    };
    if settled.fds > baseline.fds {
        failures.push(format!(
            "{} fds 15 s after the clients left ({label}), baseline {}",
            settled.fds, baseline.fds
        ));
    }
    std::thread::sleep(Duration::from_millis(500));
    let idle = server.sample(began.elapsed());
    match idle {
        Some(s) => println!("  {}  (idle, {label})", s.line()),
        None => failures.push("the server process is gone".into()),
    }
    idle
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("soak: {e}");
            return ExitCode::from(2);
        }
    };
    let mut server = match server::start(&args.server, &args.shell, args.heap_probe.as_deref()) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("soak: {e}");
            return ExitCode::FAILURE;
        }
    };
    let baseline = match server::warm_baseline(&server) {
        Ok(baseline) => baseline,
        Err(e) => {
            eprintln!("soak: {e}");
            return ExitCode::FAILURE;
        }
    };
    let began = Instant::now();
    println!(
        "soak: {} shell on {}, {:?}, {} workers, sampling every {:?}, heap probe {}",
        args.shell,
        server.addr,
        args.duration,
        args.workers,
        args.interval,
        match &args.heap_probe {
            Some(probe) => probe.display().to_string(),
            None => "none (memory judged on RSS)".into(),
        }
    );
    println!("  {}  (baseline)", baseline.line());

    let tally = Tally {
        counts: Kind::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
        errors: Errors::default(),
    };
    let mut workers: Vec<Worker> = (0..args.workers)
        .map(|n| Worker {
            rng: Rng::new(n as u64 + 1),
            turn: n,
        })
        .collect();
    let mut sampling = Sampling {
        began,
        next: args.interval,
        samples: Vec::new(),
    };
    let mut failures = Vec::new();
    let warm_up = sample::warm_up(args.duration);

    let mut mark = None;
    let mut end = None;
    let parts = [
        (warm_up, "after warm-up"),
        (args.duration, "end of traffic"),
    ];
    for (index, (until, label)) in parts.into_iter().enumerate() {
        if let Err(e) = run_traffic(&args, &server, until, &mut workers, &tally, &mut sampling) {
            failures.push(e);
            break;
        }
        let reading = idle_reading(&server, &baseline, began, label, &mut failures);
        if index == 0 {
            mark = reading;
        } else {
            end = reading;
        }
    }

    for (kind, count) in Kind::ALL.iter().zip(&tally.counts) {
        println!("  {:<15} {:>8}", kind.name(), count.load(Ordering::Relaxed));
    }
    let error_count = tally.errors.count.load(Ordering::Relaxed);
    if error_count > 0 {
        let first = tally.errors.first.lock().unwrap_or_else(|p| p.into_inner());
        failures.push(format!(
            "{error_count} unexpected errors, first: {first:#?}"
        ));
    }
    if let Some(peak) = sampling.samples.iter().max_by_key(|s| s.rss_kib) {
        println!("peak under traffic: {}", peak.line());
    }
    if let (Some(mark), Some(end)) = (&mark, &end) {
        match sample::check_growth(mark, end) {
            Ok(lines) => lines.iter().for_each(|line| println!("{line}")),
            Err(e) => failures.push(e),
        }
        println!(
            "fds: {} after the clients left (baseline {})",
            end.fds, baseline.fds
        );
    }
    match server::graceful_shutdown(&mut server) {
        Ok(()) => println!("shutdown: the request in flight finished; the server exited with 0"),
        Err(e) => failures.push(format!("shutdown: {e}")),
    }
    drop(server);

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
