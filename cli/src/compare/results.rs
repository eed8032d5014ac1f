//! What `compare` measured, as tables and JSON.

use std::fmt::Write;
use std::time::Duration;

use super::cell::{LoadKind, Memory, Sample};
use super::machine::Machine;
use super::stats::Spread;
use super::summary::{self, MemoryRow, Row};
use super::verdict;
use super::workload::Workload;
use crate::load::report::format_duration;

/// Server cores and load-generator cores.
pub(crate) type Cores = (Vec<usize>, Vec<usize>);

/// CPU used by other processes: measured before the run (all of the
/// machine's busy time then is theirs) and during each cell.
#[derive(Debug, Clone, Default)]
pub(crate) struct BusyCheck {
    /// Share of all cores busy in a quiet second before the run.
    pub(crate) before: Option<f64>,
    /// Per cell: other processes' CPU seconds over the cell's core-seconds.
    pub(crate) during: Vec<f64>,
}

impl BusyCheck {
    /// From this share of the machine on, the run says it was busy.
    pub(crate) const BUSY: f64 = 0.05;

    pub(crate) fn during_median(&self) -> Option<f64> {
        Spread::of(self.during.iter().copied()).map(|s| s.median)
    }

    pub(crate) fn during_max(&self) -> Option<f64> {
        self.during.iter().copied().reduce(f64::max)
    }

    pub(crate) fn busy(&self) -> bool {
        self.before.is_some_and(|b| b >= Self::BUSY)
            || self.during_median().is_some_and(|d| d >= Self::BUSY)
    }

    pub(crate) fn line(&self) -> String {
        let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.0}%", v * 100.0));
        let verdict = if self.busy() {
            "BUSY: other work competed with the run; treat small differences as noise"
        } else {
            "quiet"
        };
        format!(
            "other processes: {} of the machine before the run, {} during (median of cells; max {}): {verdict}",
            pct(self.before),
            pct(self.during_median()),
            pct(self.during_max())
        )
    }
}

/// Everything from one run.
#[derive(Debug)]
pub(crate) struct Results {
    pub(crate) machine: Machine,
    pub(crate) command: String,
    pub(crate) rounds: usize,
    pub(crate) warm_up: Duration,
    pub(crate) duration: Duration,
    pub(crate) load: LoadKind,
    pub(crate) cpu_rounds_per_us: u64,
    pub(crate) shells: Vec<String>,
    pub(crate) threads: Vec<usize>,
    pub(crate) samples: Vec<Sample>,
    pub(crate) memory: Vec<Memory>,
    pub(crate) failed: Vec<(String, usize, usize, String)>,
    pub(crate) busy: BusyCheck,
    /// Server and load-generator cores for each server thread count.
    pub(crate) pinning: Vec<(usize, Cores)>,
    pub(crate) seconds_taken: f64,
}

impl Results {
    pub(crate) fn setup_line(&self) -> String {
        let unpinned = self
            .pinning
            .iter()
            .all(|(_, (server, _))| server.is_empty());
        let pinning = if unpinned {
            "server and load generator not pinned (one core, or no taskset)".to_string()
        } else {
            self.pinning
                .iter()
                .map(|(threads, (server, load))| {
                    format!(
                        "{threads} server thread(s) on cores {server:?}, load on cores {load:?}"
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        let load = match self.load {
            LoadKind::Builtin => format!(
                "load: nutshell load, {:?} warm-up + {:?} per cell",
                self.warm_up, self.duration
            ),
            LoadKind::Wrk => format!(
                "load: wrk, {}s per cell, no warm-up",
                self.duration.as_secs_f64().ceil().max(1.0)
            ),
        };
        format!(
            "nutshell compare: {pinning}; {load}; {} round(s), server order rotated each round",
            self.rounds
        )
    }

    pub(crate) fn rows(&self) -> Vec<Row> {
        summary::rows(&self.samples, &self.shells)
    }

    pub(crate) fn memory_rows(&self) -> Vec<MemoryRow> {
        summary::memory_rows(&self.memory, &self.shells)
    }

    /// The tables and the verdict.
    pub(crate) fn render(&self) -> String {
        let rows = self.rows();
        let memory = self.memory_rows();
        let mut out = String::new();
        let _ = writeln!(out, "\n{}", self.setup_line());
        let _ = writeln!(out, "machine: {}", self.machine.line());
        let _ = writeln!(out, "{}", self.busy.line());
        let _ = writeln!(
            out,
            "\nreq/s: median (min-max) over rounds. core µs/req: the server process's user+system time plus \
             the irq/softirq time on its pinned cores (the loopback network stack), per request, median (min-max); \
             proc µs: the process's time alone.\nvs hyper: core µs/req as a share of hyper's in the same round, \
             median over rounds (below 100% = cheaper than hyper). vs floor: requests per core-second (the same \
             cost) as a share of the I/O floor's (system calls alone), likewise.\nsrv: busy share of the server's \
             pinned cores (whatever ran there). load: the load generator's CPU time plus the interrupt work on its cores, as a share of them; ! = saturated (>= 95%): the \
             server was not at full load there. thr: the server's peak threads.\n"
        );
        let _ = writeln!(
            out,
            "{:<20} {:<11} {:>24} {:>8} {:>8} {:>20} {:>7} {:>8} {:>8} {:>4} {:>5} {:>5} {:>9} {:>6}",
            "workload",
            "shell",
            "req/s (min-max)",
            "p50",
            "p99",
            "core µs/req",
            "proc µs",
            "vs hyper",
            "vs floor",
            "srv",
            "load",
            "thr",
            "peak RSS",
            "errors"
        );
        let mut last = None;
        for row in &rows {
            if last.is_some() && last != Some((row.workload, row.threads)) {
                out.push('\n');
            }
            last = Some((row.workload, row.threads));
            let label = if self.threads.len() > 1 {
                format!("{} ({}t)", row.workload.label(), row.threads)
            } else {
                row.workload.label()
            };
            let _ = writeln!(
                out,
                "{:<20} {:<11} {:>24} {:>8} {:>8} {:>20} {:>7} {:>8} {:>8} {:>4} {:>5} {:>5} {:>9} {:>6}",
                label,
                row.shell,
                range(&row.rps, 0),
                micros(row.p50.median),
                micros(row.p99.median),
                row.cost().map_or("-".into(), |c| range(&c, precision(c.median))),
                row.cpu_us.map_or("-".into(), |c| format!("{:.*}", precision(c.median), c.median)),
                percent(row.vs_hyper),
                percent(row.vs_floor),
                percent(row.server_core_share),
                row.load_share_max.map_or("-".into(), |s| format!(
                    "{:.0}%{}",
                    s * 100.0,
                    if row.saturated() { "!" } else { "" }
                )),
                row.peak_threads,
                mib(row.peak_rss.median),
                row.errors,
            );
        }
        if !memory.is_empty() {
            let _ = writeln!(
                out,
                "\n{:<11} {:>3} {:>13} {:>22} {:>11} {:>6}  failures",
                "shell", "thr", "idle held", "RSS/idle conn", "peak RSS", "thr"
            );
            for m in &memory {
                let failures: Vec<String> = m
                    .failures
                    .iter()
                    .map(|(k, n)| format!("{k}: {n}"))
                    .collect();
                let _ = writeln!(
                    out,
                    "{:<11} {:>3} {:>13} {:>22} {:>11} {:>6}  {}",
                    m.shell,
                    m.threads,
                    format!("{:.0}/{}", m.held.median, m.target),
                    per_connection_cell(m),
                    mib(m.peak_rss.median),
                    m.peak_threads,
                    if failures.is_empty() {
                        "0".to_string()
                    } else {
                        failures.join(", ")
                    },
                );
            }
        }
        if self.threads.len() > 1 {
            out += &render_scaling(&rows, &self.shells, &self.threads);
        }
        for (shell, threads, round, why) in &self.failed {
            let _ = writeln!(
                out,
                "\n{shell} ({threads} threads, round {}) did not run: {why}",
                round + 1
            );
        }
        let _ = writeln!(out, "\nverdict:");
        for sentence in verdict::sentences(self, &rows, &memory) {
            let _ = writeln!(out, "- {sentence}");
        }
        out
    }

    /// Fails if a server did not start or a load got no answer at all.
    pub(crate) fn smoke_check(&self) -> Result<(), String> {
        if let Some((shell, threads, _, why)) = self.failed.first() {
            return Err(format!("{shell} ({threads} threads) did not run: {why}"));
        }
        if let Some(s) = self.samples.iter().find(|s| s.load.requests == 0) {
            return Err(format!(
                "{} got no answers on {}",
                s.shell,
                s.workload.label()
            ));
        }
        if let Some(m) = self.memory.iter().find(|m| m.held == 0) {
            return Err(format!("{} held no idle connection", m.shell));
        }
        Ok(())
    }

    pub(crate) fn to_json(&self) -> String {
        let spread = |s: Option<Spread>| s.map(Spread::to_json);
        let samples: Vec<serde_json::Value> = self
            .samples
            .iter()
            .map(|s| {
                serde_json::json!({
                    "round": s.round + 1,
                    "shell": s.shell,
                    "threads": s.threads,
                    "workload": s.workload.key(),
                    "requests": s.load.requests,
                    "seconds": s.load.seconds,
                    "requests_per_second": s.rps(),
                    "mib_per_second": s.mib_per_second(),
                    "p50_us": s.load.p50.as_secs_f64() * 1e6,
                    "p99_us": s.load.p99.as_secs_f64() * 1e6,
                    "server_cpu_seconds": s.server_cpu_seconds,
                    "server_cpu_us_per_request": s.cpu_us(),
                    "server_cores_busy_seconds": s.server_cores.map(|c| c.0),
                    "server_cores_busy_share": s.server_cores.map(|c| c.1),
                    "server_cores_interrupt_seconds": s.server_interrupt_seconds,
                    "server_core_us_per_request": s.core_us(),
                    "load_generator_busy_share": s.load_share,
                    "other_processes_cpu_seconds": s.other_seconds,
                    "peak_threads": s.peak_threads,
                    "peak_rss_bytes": s.peak_rss,
                    "errors": s.load.errors,
                })
            })
            .collect();
        let medians: Vec<serde_json::Value> = self
            .rows()
            .iter()
            .map(|r| {
                serde_json::json!({
                    "shell": r.shell,
                    "threads": r.threads,
                    "workload": r.workload.key(),
                    "rounds": r.rounds,
                    "requests_per_second": r.rps.to_json(),
                    "mib_per_second": r.mib.to_json(),
                    "p50_us": r.p50.to_json(),
                    "p99_us": r.p99.to_json(),
                    "server_cpu_us_per_request": spread(r.cpu_us),
                    "server_core_us_per_request": spread(r.core_us),
                    "cost_over_hyper": spread(r.vs_hyper),
                    "fraction_of_floor": spread(r.vs_floor),
                    "server_cores_busy_share": spread(r.server_core_share),
                    "load_generator_busy_share_max": r.load_share_max,
                    "load_generator_saturated": r.saturated(),
                    "peak_threads": r.peak_threads,
                    "peak_rss_bytes": r.peak_rss.to_json(),
                    "errors": r.error_kinds,
                })
            })
            .collect();
        let memory: Vec<serde_json::Value> = self
            .memory
            .iter()
            .map(|m| {
                serde_json::json!({
                    "round": m.round + 1,
                    "shell": m.shell,
                    "threads": m.threads,
                    "idle_target": m.target,
                    "idle_held": m.held,
                    "rss_before_bytes": m.rss_before,
                    "rss_holding_bytes": m.rss_holding,
                    "rss_per_idle_connection_bytes": m.per_connection(),
                    "peak_rss_bytes": m.peak_rss,
                    "threads_holding": m.peak_threads,
                    "failures": m.failures,
                })
            })
            .collect();
        let memory_medians: Vec<serde_json::Value> = self
            .memory_rows()
            .iter()
            .map(|m| {
                serde_json::json!({
                    "shell": m.shell,
                    "threads": m.threads,
                    "idle_target": m.target,
                    "idle_held": m.held.to_json(),
                    "rss_per_idle_connection_bytes": spread(m.per_connection),
                    "peak_rss_bytes": m.peak_rss.to_json(),
                })
            })
            .collect();
        let value = serde_json::json!({
            "machine": self.machine.to_json(),
            "command": self.command,
            "rounds": self.rounds,
            "warm_up_seconds": self.warm_up.as_secs_f64(),
            "seconds_per_cell": self.duration.as_secs_f64(),
            "load_generator": match self.load { LoadKind::Builtin => "nutshell load", LoadKind::Wrk => "wrk" },
            "cpu_rounds_per_us": self.cpu_rounds_per_us,
            "pinning": self.pinning.iter().map(|(t, (s, l))| serde_json::json!({"threads": t, "server_cores": s, "load_cores": l})).collect::<Vec<_>>(),
            "other_processes": {
                "share_before": self.busy.before,
                "share_during_per_cell": self.busy.during,
                "busy": self.busy.busy(),
            },
            "seconds_taken": self.seconds_taken,
            "samples": samples,
            "medians": medians,
            "memory": memory,
            "memory_medians": memory_medians,
            "failed": self.failed.iter().map(|(s, t, r, w)| serde_json::json!({"shell": s, "threads": t, "round": r + 1, "why": w})).collect::<Vec<_>>(),
            "verdict": verdict::sentences(self, &self.rows(), &self.memory_rows()),
        });
        serde_json::to_string_pretty(&value).unwrap_or_default()
    }
}

/// `12345 (12001-12876)`.
fn range(s: &Spread, digits: usize) -> String {
    format!(
        "{:.*} ({:.*}-{:.*})",
        digits, s.median, digits, s.min, digits, s.max
    )
}

/// Two significant-ish digits for small costs, fewer for large ones.
fn precision(value: f64) -> usize {
    if value < 10.0 {
        2
    } else if value < 100.0 {
        1
    } else {
        0
    }
}

fn micros(us: f64) -> String {
    format_duration(Duration::from_secs_f64(us.max(0.0) / 1e6))
}

fn percent(s: Option<Spread>) -> String {
    s.map_or("-".into(), |s| format!("{:.0}%", s.median * 100.0))
}

pub(crate) fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
}

/// RSS per idle connection. Below a thousand connections the growth hides
/// in pages the process had already touched, so it is not shown.
fn per_connection_cell(m: &MemoryRow) -> String {
    match m.per_connection {
        Some(_) if m.held.median < 1000.0 => "too few conns".into(),
        Some(s) => format!(
            "{:.1} KiB ({:.1}-{:.1})",
            s.median / 1024.0,
            s.min / 1024.0,
            s.max / 1024.0
        ),
        None => "-".into(),
    }
}

/// Requests per busy server core at N threads over the same at the first
/// thread count, for GET / at 64 connections (or the first workload).
fn render_scaling(rows: &[Row], shells: &[String], threads: &[usize]) -> String {
    let mut out = String::new();
    let Some(workload) = rows
        .iter()
        .map(|r| r.workload)
        .find(|w| *w == Workload::Get(64))
        .or_else(|| rows.first().map(|r| r.workload))
    else {
        return out;
    };
    let _ = writeln!(
        out,
        "\nscaling on {}: requests per busy server core-second (median), and that over the same at {} thread(s)",
        workload.label(),
        threads[0]
    );
    let _ = writeln!(
        out,
        "{:<11} {}",
        "shell",
        threads
            .iter()
            .map(|t| format!("{:>18}", format!("{t} thr")))
            .collect::<String>()
    );
    for shell in shells {
        let per_core = |t: usize| {
            rows.iter()
                .find(|r| r.shell == *shell && r.threads == t && r.workload == workload)
                .and_then(|r| r.cost())
                .filter(|c| c.median > 0.0)
                .map(|c| 1e6 / c.median)
        };
        let first = per_core(threads[0]);
        let cells: String = threads
            .iter()
            .map(|t| match (per_core(*t), first) {
                (Some(rate), Some(first)) => {
                    format!("{:>18}", format!("{rate:.0} ({:.2})", rate / first))
                }
                _ => format!("{:>18}", "-"),
            })
            .collect();
        let _ = writeln!(out, "{shell:<11} {cells}");
    }
    out
}
