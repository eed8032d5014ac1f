//! The main figures as an SVG chart: server CPU per request for each
//! workload (requests per second for the waiting ones, where that is what
//! a handler that waits decides), and memory per idle connection, one
//! colour per server; medians over the rounds.

use std::fmt::Write;

use super::results::Results;
use super::summary::Row;
use super::workload::Workload;

/// What a row's bar shows, and its unit.
fn value(row: &Row) -> Option<f64> {
    match row.workload {
        Workload::Wait(_) => Some(row.rps.median),
        _ => row.cost().map(|c| c.median),
    }
}

fn unit(workload: Workload) -> &'static str {
    match workload {
        Workload::Wait(_) => "req/s, higher is better",
        _ => "µs/req",
    }
}

const COLOURS: [&str; 8] = [
    "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#666666", "#66a61e", "#e6ab02", "#a6761d",
];
const WIDTH: f64 = 900.0;
const LEFT: f64 = 190.0;
const BAR: f64 = 14.0;

/// The chart for the first thread count measured.
pub(crate) fn svg(results: &Results) -> String {
    let rows = results.rows();
    let memory = results.memory_rows();
    let threads = rows.first().map_or(1, |r| r.threads);
    let mut workloads: Vec<Workload> = Vec::new();
    for r in rows.iter().filter(|r| r.threads == threads) {
        if !workloads.contains(&r.workload) {
            workloads.push(r.workload);
        }
    }
    let shells = &results.shells;
    let group = BAR * shells.len() as f64 + 12.0;
    let cpu_height = 40.0 + group * workloads.len() as f64;
    let memory_height = 40.0 + (BAR + 4.0) * shells.len() as f64;
    let height = 60.0 + cpu_height + memory_height + 30.0 + 20.0 * shells.len() as f64;

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="10" y="24" font-size="16">nutshell compare: server core time per request (µs, lower is better), {threads} server thread(s)</text><text x="10" y="40" font-size="11">medians over rounds; each workload drawn to its own scale; waiting workloads show req/s</text>"#
    );

    let mut y = 56.0;
    for workload in &workloads {
        // Each workload on its own scale: a 1 MiB download costs a hundred
        // times a GET, and one scale would flatten every other group.
        let max_cpu = rows
            .iter()
            .filter(|r| r.threads == threads && r.workload == *workload)
            .filter_map(value)
            .fold(0.0, f64::max)
            .max(1e-9);
        let scale = (WIDTH - LEFT - 80.0) / max_cpu;
        let _ = writeln!(
            out,
            r#"<text x="10" y="{}">{}</text>"#,
            y + group / 2.0,
            escape(&workload.label())
        );
        let _ = writeln!(
            out,
            r#"<text x="10" y="{}" font-size="10">{}</text>"#,
            y + group / 2.0 + 12.0,
            unit(*workload)
        );
        for (i, shell) in shells.iter().enumerate() {
            let value = rows
                .iter()
                .find(|r| r.shell == *shell && r.threads == threads && r.workload == *workload)
                .and_then(value);
            if let Some(value) = value {
                let top = y + i as f64 * BAR;
                let _ = writeln!(
                    out,
                    r#"<rect x="{LEFT}" y="{top}" width="{:.1}" height="{}" fill="{}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
                    value * scale,
                    BAR - 2.0,
                    COLOURS[i % COLOURS.len()],
                    LEFT + value * scale + 4.0,
                    top + BAR - 4.0,
                    if value >= 100.0 {
                        format!("{value:.0}")
                    } else {
                        format!("{value:.2}")
                    }
                );
            }
        }
        y += group;
    }

    y += 30.0;
    let _ = writeln!(
        out,
        r#"<text x="10" y="{y}" font-size="16">RSS per idle keep-alive connection (KiB, lower is better)</text>"#
    );
    y += 16.0;
    let per_conn: Vec<(usize, f64)> = shells
        .iter()
        .enumerate()
        .filter_map(|(i, shell)| {
            memory
                .iter()
                .find(|m| m.shell == *shell && m.threads == threads)
                .and_then(|m| m.per_connection)
                .map(|bytes| (i, bytes.median / 1024.0))
        })
        .collect();
    let max_kib = per_conn
        .iter()
        .map(|(_, k)| *k)
        .fold(0.0, f64::max)
        .max(1e-9);
    let scale = (WIDTH - LEFT - 80.0) / max_kib;
    for (i, kib) in per_conn {
        let _ = writeln!(
            out,
            r#"<text x="10" y="{:.1}">{}</text><rect x="{LEFT}" y="{y:.1}" width="{:.1}" height="{}" fill="{}"/><text x="{:.1}" y="{:.1}">{kib:.1}</text>"#,
            y + BAR - 4.0,
            escape(&shells[i]),
            kib * scale,
            BAR,
            COLOURS[i % COLOURS.len()],
            LEFT + kib * scale + 4.0,
            y + BAR - 4.0
        );
        y += BAR + 4.0;
    }

    y += 20.0;
    for (i, shell) in shells.iter().enumerate() {
        let _ = writeln!(
            out,
            r#"<rect x="10" y="{y:.1}" width="12" height="12" fill="{}"/><text x="28" y="{:.1}">{}</text>"#,
            COLOURS[i % COLOURS.len()],
            y + 10.0,
            escape(shell)
        );
        y += 18.0;
    }
    out += "</svg>\n";
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
