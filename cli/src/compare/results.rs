//! What `compare` measured, as tables and JSON.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use super::idle::IdleConnections;
use super::workload::Workload;
use crate::load::report::format_duration;
use crate::load::Report;

/// One shell under one load.
#[derive(Debug, Clone)]
pub(crate) struct Measured {
    pub(crate) shell: String,
    pub(crate) threads: usize,
    pub(crate) workload: Workload,
    pub(crate) requests: u64,
    pub(crate) rps: f64,
    pub(crate) mib_per_second: f64,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) server_cpu_seconds: f64,
    pub(crate) errors: BTreeMap<String, u64>,
}

impl Measured {
    pub(crate) fn new(
        shell: &str,
        threads: usize,
        workload: Workload,
        report: &Report,
        cpu: f64,
    ) -> Measured {
        Measured {
            shell: shell.to_string(),
            threads,
            workload,
            requests: report.requests,
            rps: report.requests_per_second(),
            mib_per_second: report.mib_per_second(),
            p50: report.latency_at(0.5),
            p99: report.latency_at(0.99),
            server_cpu_seconds: cpu.max(0.0),
            errors: report.errors.clone(),
        }
    }

    /// Server CPU microseconds per request.
    pub(crate) fn cpu_per_request_us(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.server_cpu_seconds * 1e6 / self.requests as f64)
    }

    /// Requests per second of server CPU time.
    fn requests_per_cpu_second(&self) -> Option<f64> {
        (self.server_cpu_seconds > 0.0).then(|| self.requests as f64 / self.server_cpu_seconds)
    }

    fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// One shell holding idle connections.
#[derive(Debug, Clone)]
pub(crate) struct Memory {
    pub(crate) shell: String,
    pub(crate) threads: usize,
    pub(crate) target: usize,
    pub(crate) held: usize,
    pub(crate) failures: BTreeMap<String, u64>,
    pub(crate) rss_before: u64,
    pub(crate) rss_holding: u64,
}

impl Memory {
    pub(crate) fn new(
        shell: &str,
        threads: usize,
        target: usize,
        idle: &IdleConnections,
        before: u64,
        during: u64,
    ) -> Memory {
        Memory {
            shell: shell.to_string(),
            threads,
            target,
            held: idle.held,
            failures: idle.failures.clone(),
            rss_before: before,
            rss_holding: during,
        }
    }

    /// RSS bytes per idle connection held.
    pub(crate) fn per_connection(&self) -> Option<f64> {
        (self.held > 0)
            .then(|| self.rss_holding.saturating_sub(self.rss_before) as f64 / self.held as f64)
    }
}

/// Server cores and load-generator cores.
pub(crate) type Cores = (Vec<usize>, Vec<usize>);

/// RSS per idle connection for the table. Below a thousand connections the
/// growth hides in pages the process had already touched, so it is not
/// shown as a number.
fn per_connection_cell(memory: &Memory) -> String {
    match memory.per_connection() {
        Some(_) if memory.held < 1000 => "too few conns".into(),
        Some(bytes) => format!("{:.1} KiB", bytes / 1024.0),
        None => "-".into(),
    }
}

/// Everything from one run.
#[derive(Debug)]
pub(crate) struct Results {
    cores: usize,
    duration: Duration,
    pub(crate) shells: Vec<String>,
    threads: Vec<usize>,
    pub(crate) measured: Vec<Measured>,
    pub(crate) memory: Vec<Memory>,
    peaks: Vec<(String, usize, u64)>,
    failed: Vec<(String, usize, String)>,
    /// Server and load-generator cores for each server thread count.
    pub(crate) pinning: Vec<(usize, Cores)>,
}

impl Results {
    pub(crate) fn new(
        cores: usize,
        duration: Duration,
        shells: &[String],
        threads: &[usize],
    ) -> Results {
        Results {
            cores,
            duration,
            shells: shells.to_vec(),
            threads: threads.to_vec(),
            measured: Vec::new(),
            memory: Vec::new(),
            peaks: Vec::new(),
            failed: Vec::new(),
            pinning: Vec::new(),
        }
    }

    pub(crate) fn setup_line(&self) -> String {
        let unpinned = self
            .pinning
            .iter()
            .all(|(_, (server, _))| server.is_empty());
        let pinning = if self.cores < 2 || unpinned {
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
        format!(
            "nutshell compare: {} cores; {pinning}; {:?} per workload",
            self.cores, self.duration
        )
    }

    pub(crate) fn measured(&mut self, measured: Measured) {
        self.measured.push(measured);
    }

    pub(crate) fn memory(&mut self, memory: Memory) {
        self.memory.push(memory);
    }

    pub(crate) fn peak_rss(&mut self, shell: &str, threads: usize, peak: u64) {
        self.peaks.push((shell.to_string(), threads, peak));
    }

    pub(crate) fn failed_start(&mut self, shell: &str, threads: usize, why: String) {
        self.failed.push((shell.to_string(), threads, why));
    }

    fn baseline(&self, workload: Workload, threads: usize) -> Option<&Measured> {
        self.measured
            .iter()
            .find(|m| m.shell == "hyper" && m.workload == workload && m.threads == threads)
    }

    /// The tables.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "\n{}", self.setup_line());
        let _ = writeln!(
            out,
            "server CPU µs/req: the server's user+system time per request; x hyper: hyper's CPU per request \
             divided by this shell's (above 1 = cheaper than hyper)\n"
        );
        let _ = writeln!(
            out,
            "{:<22} {:<9} {:>3} {:>10} {:>9} {:>9} {:>9} {:>11} {:>8} {:>7}",
            "workload",
            "shell",
            "thr",
            "req/s",
            "MiB/s",
            "p50",
            "p99",
            "server µs/req",
            "x hyper",
            "errors"
        );
        let mut workloads: Vec<Workload> = Vec::new();
        for m in &self.measured {
            if !workloads.contains(&m.workload) {
                workloads.push(m.workload);
            }
        }
        for workload in workloads {
            for m in self.measured.iter().filter(|m| m.workload == workload) {
                let cpu = m.cpu_per_request_us();
                let ratio = match (
                    self.baseline(workload, m.threads)
                        .and_then(Measured::cpu_per_request_us),
                    cpu,
                ) {
                    (Some(hyper), Some(this)) if this > 0.0 => format!("{:.2}", hyper / this),
                    _ => "-".into(),
                };
                let _ = writeln!(
                    out,
                    "{:<22} {:<9} {:>3} {:>10.0} {:>9.1} {:>9} {:>9} {:>13} {:>8} {:>7}",
                    workload.label(),
                    m.shell,
                    m.threads,
                    m.rps,
                    m.mib_per_second,
                    format_duration(m.p50),
                    format_duration(m.p99),
                    cpu.map_or("-".into(), |c| format!("{c:.2}")),
                    ratio,
                    m.error_count(),
                );
            }
        }
        if !self.memory.is_empty() {
            let _ = writeln!(
                out,
                "\n{:<9} {:>3} {:>13} {:>16} {:>11}  failures",
                "shell", "thr", "idle held", "RSS/idle conn", "peak RSS"
            );
            for m in &self.memory {
                let peak = self
                    .peaks
                    .iter()
                    .find(|(s, t, _)| *s == m.shell && *t == m.threads)
                    .map_or(0, |p| p.2);
                let failures: Vec<String> = m
                    .failures
                    .iter()
                    .map(|(k, n)| format!("{k}: {n}"))
                    .collect();
                let _ = writeln!(
                    out,
                    "{:<9} {:>3} {:>13} {:>16} {:>11}  {}",
                    m.shell,
                    m.threads,
                    format!("{}/{}", m.held, m.target),
                    per_connection_cell(m),
                    format!("{:.1} MiB", peak as f64 / (1024.0 * 1024.0)),
                    if failures.is_empty() {
                        "0".to_string()
                    } else {
                        failures.join(", ")
                    },
                );
            }
        }
        if self.threads.len() > 1 {
            out += &self.render_scaling();
        }
        for (shell, threads, why) in &self.failed {
            let _ = writeln!(out, "\n{shell} ({threads} threads) did not run: {why}");
        }
        out
    }

    /// Requests per busy server core at N threads over the same at the
    /// first thread count, for GET / at 64 connections (or the first
    /// workload measured).
    fn render_scaling(&self) -> String {
        let mut out = String::new();
        let Some(workload) = self
            .measured
            .iter()
            .map(|m| m.workload)
            .find(|w| *w == Workload::Get(64))
            .or_else(|| self.measured.first().map(|m| m.workload))
        else {
            return out;
        };
        let _ = writeln!(
            out,
            "\nscaling on {}: requests per busy server core (per CPU-second), and that over the same at {} thread(s)",
            workload.label(),
            self.threads[0]
        );
        let _ = writeln!(
            out,
            "{:<9} {}",
            "shell",
            self.threads
                .iter()
                .map(|t| format!("{:>18}", format!("{t} thr")))
                .collect::<String>()
        );
        for shell in &self.shells {
            let per_core = |threads: usize| {
                self.measured
                    .iter()
                    .find(|m| m.shell == *shell && m.threads == threads && m.workload == workload)
                    .and_then(Measured::requests_per_cpu_second)
            };
            let first = per_core(self.threads[0]);
            let cells: String = self
                .threads
                .iter()
                .map(|t| match (per_core(*t), first) {
                    (Some(rate), Some(first)) => {
                        format!("{:>18}", format!("{rate:.0} ({:.2})", rate / first))
                    }
                    _ => format!("{:>18}", "-"),
                })
                .collect();
            let _ = writeln!(out, "{shell:<9} {cells}");
        }
        out
    }

    /// Fails if a server did not start or a load got no answer at all.
    pub(crate) fn smoke_check(&self) -> Result<(), String> {
        if let Some((shell, threads, why)) = self.failed.first() {
            return Err(format!("{shell} ({threads} threads) did not start: {why}"));
        }
        if let Some(m) = self.measured.iter().find(|m| m.requests == 0) {
            return Err(format!(
                "{} got no answers on {}",
                m.shell,
                m.workload.label()
            ));
        }
        if let Some(m) = self.memory.iter().find(|m| m.held == 0) {
            return Err(format!("{} held no idle connection", m.shell));
        }
        Ok(())
    }

    pub(crate) fn to_json(&self) -> String {
        let measured: Vec<serde_json::Value> = self
            .measured
            .iter()
            .map(|m| {
                serde_json::json!({
                    "shell": m.shell,
                    "threads": m.threads,
                    "workload": m.workload.key(),
                    "requests": m.requests,
                    "requests_per_second": m.rps,
                    "mib_per_second": m.mib_per_second,
                    "p50_us": m.p50.as_secs_f64() * 1e6,
                    "p99_us": m.p99.as_secs_f64() * 1e6,
                    "server_cpu_seconds": m.server_cpu_seconds,
                    "server_cpu_us_per_request": m.cpu_per_request_us(),
                    "errors": m.errors,
                })
            })
            .collect();
        let memory: Vec<serde_json::Value> = self
            .memory
            .iter()
            .map(|m| {
                serde_json::json!({
                    "shell": m.shell,
                    "threads": m.threads,
                    "idle_target": m.target,
                    "idle_held": m.held,
                    "rss_before_bytes": m.rss_before,
                    "rss_holding_bytes": m.rss_holding,
                    "rss_per_idle_connection_bytes": m.per_connection(),
                    "failures": m.failures,
                    "peak_rss_bytes": self.peaks.iter().find(|(s, t, _)| *s == m.shell && *t == m.threads).map(|p| p.2),
                })
            })
            .collect();
        let value = serde_json::json!({
            "cores": self.cores,
            "seconds_per_workload": self.duration.as_secs_f64(),
            "measured": measured,
            "memory": memory,
            "failed_to_start": self.failed.iter().map(|(s, t, w)| serde_json::json!({"shell": s, "threads": t, "why": w})).collect::<Vec<_>>(),
        });
        serde_json::to_string_pretty(&value).unwrap_or_default()
    }
}
