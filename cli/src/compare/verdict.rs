//! The verdict: plain sentences computed from this run's rows, each naming
//! the figures it rests on. Nothing here is canned but the wording: a
//! sentence whose figures are missing is left out.

use super::results::{mib, Results};
use super::stats::Spread;
use super::summary::{MemoryRow, Row};
use super::workload::{Workload, CPU_US, WAIT_MS};

/// The sentences, in reading order.
pub(crate) fn sentences(results: &Results, rows: &[Row], memory: &[MemoryRow]) -> Vec<String> {
    let threads = results.threads.first().copied().unwrap_or(1);
    let rows: Vec<&Row> = rows.iter().filter(|r| r.threads == threads).collect();
    let find = |shell: &str, workload: Workload| {
        rows.iter()
            .copied()
            .find(|r| r.shell == shell && r.workload == workload)
    };
    let mut out = Vec::new();
    out.extend(cheapest(&rows));
    for n in [1024, 64] {
        if let Some(sentence) = waiting(&rows, n) {
            out.push(sentence);
            break;
        }
    }
    out.extend(thread_per_connection(&find, memory));
    out.extend(runtime_cost(&find));
    out.extend(axum_servers(&find, memory));
    out.extend(computing(&rows));
    out.extend(floor(&rows));
    let saturated = rows.iter().filter(|r| r.saturated()).count();
    if saturated > 0 {
        out.push(format!(
            "The load generator was saturated (95% of its cores or more) in {saturated} of {} cells, marked !: there the server was not at full load, so compare core µs/req, not req/s.",
            rows.len()
        ));
    }
    if results.busy.busy() {
        out.push(format!(
            "The machine was busy ({}), so differences of a few percent say nothing.",
            results.busy.line()
        ));
    }
    out
}

/// Servers that are HTTP servers (the floor is not).
fn servers<'a>(rows: &[&'a Row], workload: Workload) -> Vec<&'a Row> {
    rows.iter()
        .copied()
        .filter(|r| r.workload == workload && r.shell != "floor")
        .collect()
}

fn fmt_cost(s: &Spread) -> String {
    format!("{:.1} µs ({:.1}-{:.1})", s.median, s.min, s.max)
}

fn fmt_rps(v: f64) -> String {
    let v = v.round() as u64;
    if v >= 10_000 {
        format!("{},{:03}", v / 1000, v % 1000)
    } else {
        v.to_string()
    }
}

fn fmt_ms(us: f64) -> String {
    if us >= 1e6 {
        format!("{:.2} s", us / 1e6)
    } else {
        format!("{:.1} ms", us / 1e3)
    }
}

/// Which server cost least per request with many connections.
fn cheapest(rows: &[&Row]) -> Option<String> {
    let workload = [Workload::Get(1024), Workload::Get(64)]
        .into_iter()
        .find(|w| rows.iter().any(|r| r.workload == *w))?;
    let mut ranked: Vec<(&Row, Spread)> = servers(rows, workload)
        .into_iter()
        .filter_map(|r| Some((r, r.cost()?)))
        .collect();
    ranked.sort_by(|a, b| a.1.median.total_cmp(&b.1.median));
    let (best, best_cost) = ranked.first()?;
    let mut sentence = format!(
        "With {} connections on GET /, {} cost least per request: {} of server core time",
        workload.connections(),
        best.shell,
        fmt_cost(best_cost)
    );
    if let Some((next, next_cost)) = ranked.get(1) {
        sentence += &format!(", against {} for {}", fmt_cost(next_cost), next.shell);
        if best_cost.overlaps(next_cost) {
            sentence += "; the ranges overlap, so this run does not separate the two";
        }
    }
    if let Some((worst, worst_cost)) = ranked.last().filter(|_| ranked.len() > 2) {
        sentence += &format!(
            "; the most was {} with {}",
            worst.shell,
            fmt_cost(worst_cost)
        );
    }
    Some(sentence + ".")
}

/// What a handler that waits did to each server.
fn waiting(rows: &[&Row], connections: usize) -> Option<String> {
    let workload = Workload::Wait(connections);
    let these = servers(rows, workload);
    if these.is_empty() {
        return None;
    }
    let bound = connections as f64 * 1000.0 / WAIT_MS as f64;
    let parts: Vec<String> = these
        .iter()
        .map(|r| {
            let mut part = format!(
                "{} {} req/s (p50 {})",
                r.shell,
                fmt_rps(r.rps.median),
                fmt_ms(r.p50.median)
            );
            if let Some(pool) = r
                .shell
                .strip_prefix("mio+pool")
                .and_then(|n| n.parse::<f64>().ok())
            {
                let allowed = pool * 1000.0 / WAIT_MS as f64;
                part += &format!(
                    ", {:.0}% of the {} a {pool:.0}-thread pool allows",
                    r.rps.median / allowed * 100.0,
                    fmt_rps(allowed)
                );
            } else if r.shell == "mio" {
                part += ": a handler that blocks stalls its whole event loop";
            } else if r.shell == "blocking" {
                part += &format!(" on {} threads", r.peak_threads);
            }
            part
        })
        .collect();
    Some(format!(
        "Handlers waiting {WAIT_MS} ms on {connections} connections (at most {} req/s possible): {}. A handler that blocks needs a thread per concurrent wait; one that awaits a runtime timer does not.",
        fmt_rps(bound),
        parts.join("; ")
    ))
}

/// Where the thread-per-connection shell held and where it fell.
fn thread_per_connection<'a>(
    find: &dyn Fn(&str, Workload) -> Option<&'a Row>,
    memory: &[MemoryRow],
) -> Option<String> {
    let mut parts = Vec::new();
    if let (Some(blocking), Some(tokio)) = (
        find("blocking", Workload::Wait(1024)),
        find("tokio", Workload::Wait(1024)),
    ) {
        parts.push(format!(
            "at 1024 waiting connections it ran {} threads and peaked at {} RSS ({} req/s), where tokio ran {} threads in {} ({} req/s)",
            blocking.peak_threads,
            mib(blocking.peak_rss.median),
            fmt_rps(blocking.rps.median),
            tokio.peak_threads,
            mib(tokio.peak_rss.median),
            fmt_rps(tokio.rps.median)
        ));
    }
    let idle = |shell: &str| memory.iter().find(|m| m.shell == shell);
    if let (Some(blocking), Some(mio)) = (idle("blocking"), idle("mio")) {
        if let (Some(b), Some(m)) = (blocking.per_connection, mio.per_connection) {
            if blocking.held.median >= 1000.0 {
                parts.push(format!(
                    "holding {:.0} of {} idle connections it used {:.1} KiB of RSS per connection against {:.1} KiB for mio ({} peak)",
                    blocking.held.median,
                    blocking.target,
                    b.median / 1024.0,
                    m.median / 1024.0,
                    mib(blocking.peak_rss.median)
                ));
            }
        }
    }
    (!parts.is_empty()).then(|| {
        format!(
            "The thread-per-connection shell (blocking): {}.",
            parts.join("; ")
        )
    })
}

/// What a runtime cost over the mio loop.
fn runtime_cost<'a>(find: &dyn Fn(&str, Workload) -> Option<&'a Row>) -> Option<String> {
    let mut parts = Vec::new();
    for workload in [Workload::Get(64), Workload::Pipelined] {
        let Some(mio) = find("mio", workload).and_then(|r| r.cost()) else {
            continue;
        };
        for shell in ["tokio", "smol"] {
            let Some(cost) = find(shell, workload).and_then(|r| r.cost()) else {
                continue;
            };
            let extra = (cost.median / mio.median - 1.0) * 100.0;
            let mut part = format!(
                "{shell} {:+.0}% on {} ({:.2} vs {:.2} µs)",
                extra,
                workload.label(),
                cost.median,
                mio.median
            );
            if cost.overlaps(&mio) {
                part += ", within the spread";
            }
            parts.push(part);
        }
    }
    (!parts.is_empty()).then(|| {
        format!(
            "A runtime's cost per request over the mio loop: {}.",
            parts.join("; ")
        )
    })
}

/// The same axum Router on nutshell's tokio shell and on hyper.
fn axum_servers<'a>(
    find: &dyn Fn(&str, Workload) -> Option<&'a Row>,
    memory: &[MemoryRow],
) -> Option<String> {
    let mut parts = Vec::new();
    for workload in [Workload::Get(64), Workload::Pipelined, Workload::Echo] {
        let (Some(nutshell), Some(hyper)) = (
            find("axum-nutshell", workload).and_then(|r| r.cost()),
            find("axum-hyper", workload).and_then(|r| r.cost()),
        ) else {
            continue;
        };
        let mut part = format!(
            "{:.0}% of axum-hyper's cost per request on {} ({:.2} vs {:.2} µs)",
            nutshell.median / hyper.median.max(1e-9) * 100.0,
            workload.label(),
            nutshell.median,
            hyper.median
        );
        if nutshell.overlaps(&hyper) {
            part += ", within the spread";
        }
        parts.push(part);
    }
    let idle = |shell: &str| {
        memory
            .iter()
            .find(|m| m.shell == shell)
            .and_then(|m| m.per_connection)
    };
    if let (Some(nutshell), Some(hyper)) = (idle("axum-nutshell"), idle("axum-hyper")) {
        parts.push(format!(
            "{:.1} KiB of RSS per idle connection against {:.1} KiB",
            nutshell.median / 1024.0,
            hyper.median / 1024.0
        ));
    }
    (!parts.is_empty()).then(|| {
        format!(
            "The same axum Router on nutshell's tokio shell (axum-nutshell) and on axum::serve (axum-hyper): {}.",
            parts.join("; ")
        )
    })
}

/// Computing handlers: async buys nothing.
fn computing(rows: &[&Row]) -> Option<String> {
    let these: Vec<(&Row, Spread)> = servers(rows, Workload::Cpu)
        .into_iter()
        .filter_map(|r| Some((r, r.cost()?)))
        .collect();
    let cheapest = these.iter().map(|(_, c)| c.median).reduce(f64::min)?;
    let dearest = these.iter().map(|(_, c)| c.median).reduce(f64::max)?;
    let list: Vec<String> = these
        .iter()
        .map(|(r, c)| {
            format!(
                "{} {:.0} µs ({} req/s)",
                r.shell,
                c.median,
                fmt_rps(r.rps.median)
            )
        })
        .collect();
    Some(format!(
        "Handlers computing {CPU_US} µs on 64 connections cost, per request: {}; the dearest is {:.0}% above the cheapest, so with the handler's own {CPU_US} µs of work in every figure, how a server waits makes little difference.",
        list.join(", "),
        (dearest / cheapest.max(1e-9) - 1.0) * 100.0,
    ))
}

/// How close each shell came to the floor.
fn floor(rows: &[&Row]) -> Option<String> {
    let mut parts = Vec::new();
    for workload in [Workload::Pipelined, Workload::Get(64)] {
        for r in servers(rows, workload) {
            if let Some(f) = r.vs_floor {
                parts.push(format!(
                    "{} {:.0}% ({})",
                    r.shell,
                    f.median * 100.0,
                    workload.label()
                ));
            }
        }
    }
    (!parts.is_empty()).then(|| {
        format!(
            "Requests per busy server-core second as a share of the I/O floor's (system calls alone): {}.",
            parts.join(", ")
        )
    })
}
