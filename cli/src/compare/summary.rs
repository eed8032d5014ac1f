//! Rounds folded into rows: the median of every figure with its spread,
//! and ratios between servers taken within each round, then the median.

use std::collections::BTreeMap;

use super::cell::{Memory, Sample};
use super::stats::Spread;
use super::workload::Workload;

/// The load generator counts as saturated from this share of its cores:
/// then the server was not at full load.
pub(crate) const SATURATED: f64 = 0.95;

/// One server under one workload, over all rounds.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) shell: String,
    pub(crate) threads: usize,
    pub(crate) workload: Workload,
    pub(crate) rounds: usize,
    pub(crate) rps: Spread,
    pub(crate) mib: Spread,
    /// Latency in µs.
    pub(crate) p50: Spread,
    pub(crate) p99: Spread,
    pub(crate) cpu_us: Option<Spread>,
    pub(crate) core_us: Option<Spread>,
    /// This server's cost per request over hyper's, per round.
    pub(crate) vs_hyper: Option<Spread>,
    /// This server's requests per busy server-core second over the floor's.
    pub(crate) vs_floor: Option<Spread>,
    pub(crate) server_core_share: Option<Spread>,
    pub(crate) load_share_max: Option<f64>,
    pub(crate) peak_threads: u64,
    pub(crate) peak_rss: Spread,
    pub(crate) errors: u64,
    pub(crate) error_kinds: BTreeMap<String, u64>,
}

impl Row {
    pub(crate) fn saturated(&self) -> bool {
        self.load_share_max.is_some_and(|s| s >= SATURATED)
    }

    /// The cost per request used for comparisons (see `Sample::cost_us`).
    pub(crate) fn cost(&self) -> Option<Spread> {
        self.core_us.or(self.cpu_us)
    }
}

/// One server holding idle connections, over all rounds.
#[derive(Debug, Clone)]
pub(crate) struct MemoryRow {
    pub(crate) shell: String,
    pub(crate) threads: usize,
    pub(crate) target: usize,
    pub(crate) held: Spread,
    pub(crate) per_connection: Option<Spread>,
    pub(crate) peak_rss: Spread,
    pub(crate) peak_threads: u64,
    pub(crate) failures: BTreeMap<String, u64>,
}

/// Requests per second of busy server core (or of process CPU, unpinned).
fn requests_per_core_second(sample: &Sample) -> Option<f64> {
    sample.cost_us().filter(|c| *c > 0.0).map(|c| 1e6 / c)
}

/// The rows, in the order first measured: workload by workload, and within
/// one the servers in the order asked for.
pub(crate) fn rows(samples: &[Sample], shells: &[String]) -> Vec<Row> {
    let mut keys: Vec<(Workload, usize)> = Vec::new();
    for s in samples {
        if !keys.contains(&(s.workload, s.threads)) {
            keys.push((s.workload, s.threads));
        }
    }
    let mut rows = Vec::new();
    for (workload, threads) in keys {
        for shell in shells {
            let mine: Vec<&Sample> = samples
                .iter()
                .filter(|s| s.workload == workload && s.threads == threads && s.shell == *shell)
                .collect();
            if mine.is_empty() {
                continue;
            }
            let within_round = |other: &str, ratio: fn(&Sample, &Sample) -> Option<f64>| {
                Spread::of(mine.iter().filter_map(|s| {
                    let theirs = samples.iter().find(|o| {
                        o.shell == other
                            && o.workload == workload
                            && o.threads == threads
                            && o.round == s.round
                    })?;
                    ratio(s, theirs)
                }))
            };
            let mut error_kinds = BTreeMap::new();
            for s in &mine {
                for (kind, n) in &s.load.errors {
                    *error_kinds.entry(kind.clone()).or_insert(0) += n;
                }
            }
            rows.push(Row {
                shell: shell.clone(),
                threads,
                workload,
                rounds: mine.len(),
                rps: Spread::of(mine.iter().map(|s| s.rps())).expect("one sample at least"),
                mib: Spread::of(mine.iter().map(|s| s.mib_per_second())).expect("one sample"),
                p50: Spread::of(mine.iter().map(|s| s.load.p50.as_secs_f64() * 1e6))
                    .expect("one sample"),
                p99: Spread::of(mine.iter().map(|s| s.load.p99.as_secs_f64() * 1e6))
                    .expect("one sample"),
                cpu_us: Spread::of(mine.iter().filter_map(|s| s.cpu_us())),
                core_us: Spread::of(mine.iter().filter_map(|s| s.core_us())),
                vs_hyper: within_round("hyper", |me, hyper| {
                    Some(me.cost_us()? / hyper.cost_us().filter(|c| *c > 0.0)?)
                }),
                vs_floor: within_round("floor", |me, floor| {
                    Some(requests_per_core_second(me)? / requests_per_core_second(floor)?)
                }),
                server_core_share: Spread::of(
                    mine.iter().filter_map(|s| s.server_cores.map(|c| c.1)),
                ),
                load_share_max: mine.iter().filter_map(|s| s.load_share).reduce(f64::max),
                peak_threads: mine.iter().map(|s| s.peak_threads).max().unwrap_or(0),
                peak_rss: Spread::of(mine.iter().map(|s| s.peak_rss as f64)).expect("one"),
                errors: mine.iter().map(|s| s.error_count()).sum(),
                error_kinds,
            });
        }
    }
    rows
}

/// The idle-connection rows, one per server and thread count.
pub(crate) fn memory_rows(memory: &[Memory], shells: &[String]) -> Vec<MemoryRow> {
    let mut out = Vec::new();
    let mut thread_counts: Vec<usize> = memory.iter().map(|m| m.threads).collect();
    thread_counts.dedup();
    for threads in thread_counts {
        for shell in shells {
            let mine: Vec<&Memory> = memory
                .iter()
                .filter(|m| m.shell == *shell && m.threads == threads)
                .collect();
            let Some(first) = mine.first() else {
                continue;
            };
            let mut failures = BTreeMap::new();
            for m in &mine {
                for (kind, n) in &m.failures {
                    *failures.entry(kind.clone()).or_insert(0) += n;
                }
            }
            out.push(MemoryRow {
                shell: shell.clone(),
                threads,
                target: first.target,
                held: Spread::of(mine.iter().map(|m| m.held as f64)).expect("one"),
                per_connection: Spread::of(mine.iter().filter_map(|m| m.per_connection())),
                peak_rss: Spread::of(mine.iter().map(|m| m.peak_rss as f64)).expect("one"),
                peak_threads: mine.iter().map(|m| m.peak_threads).max().unwrap_or(0),
                failures,
            });
        }
    }
    out
}
