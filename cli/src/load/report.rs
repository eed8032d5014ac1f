//! What a load run measured, and how it is shown.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::LoadPlan;

/// Requests, bytes, latencies and errors of one run.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub(crate) requests: u64,
    pub(crate) bytes: u64,
    pub(crate) connections: u64,
    pub(crate) errors: BTreeMap<String, u64>,
    /// Latency in nanoseconds.
    pub(crate) latency: Histogram<u64>,
    pub(crate) elapsed: Duration,
}

impl Report {
    pub(crate) fn empty(plan: &LoadPlan) -> Report {
        Report {
            requests: 0,
            bytes: 0,
            connections: 0,
            errors: BTreeMap::new(),
            // 1 ns to 100 s, three significant figures.
            latency: Histogram::new_with_bounds(1, 100_000_000_000, 3)
                .expect("valid histogram bounds"),
            elapsed: plan.duration,
        }
    }

    pub(crate) fn record(&mut self, latency: Duration) {
        self.requests += 1;
        let _ = self.latency.record((latency.as_nanos() as u64).max(1));
    }

    pub(crate) fn error(&mut self, kind: &str) {
        *self.errors.entry(kind.to_string()).or_default() += 1;
    }

    pub(crate) fn merge(&mut self, other: Report) {
        self.requests += other.requests;
        self.bytes += other.bytes;
        self.connections += other.connections;
        for (kind, count) in other.errors {
            *self.errors.entry(kind).or_default() += count;
        }
        let _ = self.latency.add(&other.latency);
    }

    pub(crate) fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    pub(crate) fn requests_per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub(crate) fn mib_per_second(&self) -> f64 {
        self.bytes as f64 / (1024.0 * 1024.0) / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Latency at `quantile` (0..=1).
    pub(crate) fn latency_at(&self, quantile: f64) -> Duration {
        Duration::from_nanos(self.latency.value_at_quantile(quantile))
    }

    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        out += &format!(
            "{} requests in {:.2?}, {:.1} MiB read\n",
            self.requests,
            self.elapsed,
            self.bytes as f64 / (1024.0 * 1024.0)
        );
        out += &format!("requests/s: {:.0}\n", self.requests_per_second());
        out += &format!("throughput: {:.1} MiB/s\n", self.mib_per_second());
        out += "latency:";
        for (label, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999)] {
            out += &format!(" {label} {}", format_duration(self.latency_at(q)));
        }
        out += &format!(
            " max {}\n",
            format_duration(Duration::from_nanos(self.latency.max()))
        );
        if self.errors.is_empty() {
            out += "errors: 0\n";
        } else {
            out += &format!("errors: {}\n", self.error_count());
            for (kind, count) in &self.errors {
                out += &format!("  {kind}: {count}\n");
            }
        }
        out
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        let quantiles: serde_json::Map<String, serde_json::Value> =
            [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99_9", 0.999)]
                .into_iter()
                .map(|(label, q)| {
                    (
                        format!("{label}_us"),
                        serde_json::json!(self.latency_at(q).as_secs_f64() * 1e6),
                    )
                })
                .collect();
        serde_json::json!({
            "requests": self.requests,
            "seconds": self.elapsed.as_secs_f64(),
            "requests_per_second": self.requests_per_second(),
            "bytes": self.bytes,
            "mib_per_second": self.mib_per_second(),
            "connections_opened": self.connections,
            "latency": quantiles,
            "errors": self.errors,
        })
    }
}

/// `850µs`, `12.3ms`, `1.20s`.
pub(crate) fn format_duration(d: Duration) -> String {
    let micros = d.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.0}µs")
    } else if micros < 1e6 {
        format!("{:.2}ms", micros / 1000.0)
    } else {
        format!("{:.2}s", micros / 1e6)
    }
}

/// A countdown on stderr until `deadline`, redrawn in place.
pub(crate) fn count_down(deadline: Instant) {
    let mut stderr = std::io::stderr();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let _ = write!(stderr, "\r{:>5.1}s left ", left.as_secs_f64());
        let _ = stderr.flush();
        if left.is_zero() {
            let _ = writeln!(stderr);
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(200)));
    }
}
