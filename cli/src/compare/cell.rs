//! One cell of the table: one server, freshly started, under one workload
//! in one round. The server is started for each cell, so its peak RSS and
//! threads are that cell's, and nothing one workload leaves behind (a mio
//! loop still working through requests that block) reaches the next.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::child::{Launch, Server};
use super::idle;
use super::procstat::{self, CpuTimes};
use super::shells::ShellSpec;
use super::workload::Workload;
use super::wrk::WrkRun;
use crate::load::{self, Report};

/// What drives the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoadKind {
    /// `nutshell load`, in this process.
    Builtin,
    /// wrk, as a child process.
    Wrk,
}

/// What every cell of a run shares.
#[derive(Debug, Clone)]
pub(crate) struct Setup {
    pub(crate) threads: usize,
    pub(crate) server_cpus: Vec<usize>,
    pub(crate) load_cpus: Vec<usize>,
    pub(crate) warm_up: Duration,
    pub(crate) duration: Duration,
    pub(crate) load: LoadKind,
    pub(crate) idle_count: usize,
    pub(crate) cpu_rounds_per_us: u64,
    pub(crate) max_connections: usize,
}

/// What a load generator reports.
#[derive(Debug, Clone, Default)]
pub(crate) struct LoadOutcome {
    pub(crate) requests: u64,
    pub(crate) seconds: f64,
    pub(crate) bytes: u64,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) errors: BTreeMap<String, u64>,
}

impl LoadOutcome {
    fn from_report(report: &Report) -> LoadOutcome {
        LoadOutcome {
            requests: report.requests,
            seconds: report.elapsed.as_secs_f64(),
            bytes: report.bytes,
            p50: report.latency_at(0.5),
            p99: report.latency_at(0.99),
            errors: report.errors.clone(),
        }
    }
}

/// One server under one load in one round.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub(crate) round: usize,
    pub(crate) shell: String,
    pub(crate) threads: usize,
    pub(crate) workload: Workload,
    pub(crate) load: LoadOutcome,
    /// The server process's user + system time.
    pub(crate) server_cpu_seconds: f64,
    /// Busy time of the server's pinned cores (softirq included, and
    /// whatever else ran there), and that as a share of their time; `None`
    /// when unpinned.
    pub(crate) server_cores: Option<(f64, f64)>,
    /// Interrupt work (irq, softirq) on the server's pinned cores.
    pub(crate) server_interrupt_seconds: Option<f64>,
    /// The load generator's share of its cores: its CPU time and the
    /// interrupt work there, over the time they had.
    pub(crate) load_share: Option<f64>,
    /// CPU seconds other processes used meanwhile, on all cores.
    pub(crate) other_seconds: Option<f64>,
    pub(crate) peak_threads: u64,
    pub(crate) peak_rss: u64,
}

impl Sample {
    pub(crate) fn rps(&self) -> f64 {
        self.load.requests as f64 / self.load.seconds.max(1e-9)
    }

    pub(crate) fn mib_per_second(&self) -> f64 {
        self.load.bytes as f64 / (1024.0 * 1024.0) / self.load.seconds.max(1e-9)
    }

    /// The server process's CPU µs per request.
    pub(crate) fn cpu_us(&self) -> Option<f64> {
        (self.load.requests > 0).then(|| self.server_cpu_seconds * 1e6 / self.load.requests as f64)
    }

    /// The server's CPU µs per request with the interrupt work on its
    /// cores (the loopback network stack's share, which no process is
    /// charged for) added. Other processes' work on those cores is not in
    /// it, so a busy machine inflates it less than the cores' busy time.
    pub(crate) fn core_us(&self) -> Option<f64> {
        let interrupts = self.server_interrupt_seconds?;
        (self.load.requests > 0)
            .then(|| (self.server_cpu_seconds + interrupts) * 1e6 / self.load.requests as f64)
    }

    /// The fairest cost per request this run has: with the interrupt work
    /// on the server's cores where pinned, else the process's CPU time.
    pub(crate) fn cost_us(&self) -> Option<f64> {
        self.core_us().or_else(|| self.cpu_us())
    }

    pub(crate) fn error_count(&self) -> u64 {
        self.load.errors.values().sum()
    }
}

/// One server holding idle connections in one round.
#[derive(Debug, Clone)]
pub(crate) struct Memory {
    pub(crate) round: usize,
    pub(crate) shell: String,
    pub(crate) threads: usize,
    pub(crate) target: usize,
    pub(crate) held: usize,
    pub(crate) failures: BTreeMap<String, u64>,
    pub(crate) rss_before: u64,
    pub(crate) rss_holding: u64,
    pub(crate) peak_rss: u64,
    pub(crate) peak_threads: u64,
}

impl Memory {
    /// RSS bytes per idle connection held.
    pub(crate) fn per_connection(&self) -> Option<f64> {
        (self.held > 0)
            .then(|| self.rss_holding.saturating_sub(self.rss_before) as f64 / self.held as f64)
    }
}

/// What one cell measured.
pub(crate) enum Cell {
    Load(Sample),
    Idle(Memory),
}

/// Counters at one moment.
struct Snapshot {
    stat: Option<CpuTimes>,
    server: f64,
    me: f64,
    wrk: f64,
}

impl Snapshot {
    fn take(server: &Server, wrk: Option<u32>) -> Snapshot {
        Snapshot {
            stat: procstat::read(),
            server: server.cpu_seconds(),
            me: procstat::process_seconds("self").unwrap_or(0.0),
            wrk: wrk
                .and_then(|pid| procstat::process_seconds(&pid.to_string()))
                .unwrap_or(0.0),
        }
    }
}

/// Runs `workload` against a fresh `shell` server. `Err` when the server
/// did not start or the load could not run.
pub(crate) fn run(
    setup: &Setup,
    shell: &ShellSpec,
    workload: Workload,
    round: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<Cell, String> {
    let server = Server::start(&Launch {
        shell,
        threads: setup.threads,
        cpus: &setup.server_cpus,
        max_connections: setup.max_connections,
        cpu_rounds_per_us: setup.cpu_rounds_per_us,
    })?;
    let cell = if workload == Workload::Idle {
        Ok(Cell::Idle(hold_idle(
            setup, shell, &server, round, progress,
        )))
    } else {
        measure(setup, shell, workload, &server, round).map(Cell::Load)
    };
    // Long enough for any shell that is not stuck to finish gracefully; a
    // mio loop stuck in handlers that block is killed.
    server.stop(Duration::from_secs(1));
    cell
}

fn measure(
    setup: &Setup,
    shell: &ShellSpec,
    workload: Workload,
    server: &Server,
    round: usize,
) -> Result<Sample, String> {
    let base = format!("http://{}", server.addr);
    let load_threads = setup.load_cpus.len().max(1);
    let start = Instant::now();
    let (before, after, peak_threads, outcome) = match setup.load {
        LoadKind::Builtin => {
            let plan = workload
                .plan(
                    &base,
                    (setup.warm_up, setup.duration),
                    &setup.load_cpus,
                    load_threads,
                )
                .ok_or("the idle workload is not a load")??;
            let running = std::thread::spawn(move || load::run_plan_from(&plan, start, false));
            sleep_until(start + setup.warm_up);
            let before = Snapshot::take(server, None);
            let peak = watch(server, start + setup.warm_up + setup.duration);
            let after = Snapshot::take(server, None);
            let report = running
                .join()
                .map_err(|_| "the load generator panicked".to_string())??;
            (before, after, peak, LoadOutcome::from_report(&report))
        }
        LoadKind::Wrk => {
            let wrk = WrkRun::start(
                workload,
                &base,
                setup.duration,
                load_threads,
                &setup.load_cpus,
            )?;
            let before = Snapshot::take(server, Some(wrk.pid()));
            let seconds = setup.duration.as_secs_f64().ceil().max(1.0);
            // Read wrk's own counters just before it ends.
            let peak = watch(
                server,
                start + Duration::from_secs_f64(seconds) - Duration::from_millis(30),
            );
            let after = Snapshot::take(server, Some(wrk.pid()));
            let outcome = wrk.finish()?;
            (before, after, peak, outcome)
        }
    };
    let elapsed = outcome.seconds.max(1e-3);
    let server_cpu = (after.server - before.server).max(0.0);
    let me = (after.me - before.me).max(0.0);
    let wrk_cpu = (after.wrk - before.wrk).max(0.0);
    let since = |cores: &[usize]| match (&before.stat, &after.stat) {
        (Some(b), Some(a)) => a.interrupt_seconds_since(b, cores),
        _ => None,
    };
    let interrupts = since(&setup.server_cpus);
    // The load generator's own time (this process, or wrk) and the
    // interrupt work on its cores, over the time its cores had: other
    // processes on those cores do not count as its load.
    let load_share =
        (me + wrk_cpu + since(&setup.load_cpus).unwrap_or(0.0)) / (elapsed * load_threads as f64);
    let (server_cores, other) = match (&before.stat, &after.stat) {
        (Some(b), Some(a)) => {
            let other = a.task_seconds_since(b) - server_cpu - me - wrk_cpu;
            (a.busy_since(b, &setup.server_cpus), Some(other.max(0.0)))
        }
        _ => (None, None),
    };
    Ok(Sample {
        round,
        shell: shell.name.clone(),
        threads: setup.threads,
        workload,
        load: outcome,
        server_cpu_seconds: server_cpu,
        server_cores,
        server_interrupt_seconds: interrupts,
        load_share: Some(load_share),
        other_seconds: other,
        peak_threads,
        peak_rss: server.rss().1,
    })
}

fn hold_idle(
    setup: &Setup,
    shell: &ShellSpec,
    server: &Server,
    round: usize,
    progress: &mut dyn FnMut(&str),
) -> Memory {
    let count = setup.idle_count;
    let (before, _) = server.rss();
    let held = idle::hold(server.addr, count, hold_timeout(count), |held| {
        progress(&format!("{held}/{count} held"));
    });
    // Give the server a moment to settle its buffers.
    std::thread::sleep(Duration::from_millis(300));
    let (during, peak) = server.rss();
    Memory {
        round,
        shell: shell.name.clone(),
        threads: setup.threads,
        target: count,
        held: held.held,
        failures: held.failures.clone(),
        rss_before: before,
        rss_holding: during,
        peak_rss: peak,
        peak_threads: server.threads(),
    }
}

/// The most threads the server had, sampled every 50 ms until `until`.
fn watch(server: &Server, until: Instant) -> u64 {
    let mut peak = server.threads();
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return peak;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
        peak = peak.max(server.threads());
    }
}

fn sleep_until(at: Instant) {
    std::thread::sleep(at.saturating_duration_since(Instant::now()));
}

/// How long to wait for idle connections to be answered.
fn hold_timeout(count: usize) -> Duration {
    Duration::from_secs(5) + Duration::from_millis(count as u64 / 2)
}
