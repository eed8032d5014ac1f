//! `nutshell compare`: the four shells and a hyper baseline, one after
//! another, each a child process serving the demo application, under
//! identical load from this process; one table at the end.
//!
//! On a machine with two or more cores the server and the load generator
//! are pinned to different cores, and the fair figure is the server's CPU
//! time per request (read from /proc), since one load-generator core can
//! saturate before a good server does.

mod child;
mod idle;
mod plot;
mod progress;
mod results;
mod workload;

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::load::{self, parse_duration};
use child::Server;
use results::{Measured, Memory, Results};
use workload::Workload;

/// Options of `nutshell compare`.
#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// A smoke run of a few seconds: short workloads and 200 idle
    /// connections. Proves the pipeline works; its numbers mean little.
    #[arg(long)]
    quick: bool,
    /// Shells to measure, comma separated (hyper is the baseline).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "mio,tokio,smol,blocking,hyper"
    )]
    shells: Vec<String>,
    /// Workloads, comma separated: get-1, get-64, get-1024, pipelined,
    /// echo, download, idle.
    #[arg(long, value_delimiter = ',')]
    workloads: Vec<String>,
    /// Time per workload (default 3s; 300ms with --quick).
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Server thread counts, comma separated, e.g. 1,2,4,8. With more than
    /// one, a scaling table compares requests per busy server core.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    threads: Vec<usize>,
    /// Idle keep-alive connections to hold (default 10000; 200 with --quick).
    #[arg(long)]
    idle: Option<usize>,
    /// Also write every figure as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also draw the main figures as an SVG chart in this file.
    #[arg(long)]
    plot: Option<PathBuf>,
}

/// Runs the comparison and prints the tables.
pub(crate) fn run(args: CompareArgs) -> Result<(), String> {
    let duration = args.duration.unwrap_or(if args.quick {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(3)
    });
    let idle_count = args.idle.unwrap_or(if args.quick { 200 } else { 10_000 });
    let workloads: Vec<Workload> = if args.workloads.is_empty() {
        workload::ALL.to_vec()
    } else {
        args.workloads
            .iter()
            .map(|key| Workload::parse(key))
            .collect::<Result<_, _>>()?
    };
    for shell in &args.shells {
        if !SHELLS.contains(&shell.as_str()) {
            return Err(format!(
                "unknown shell {shell:?}; known: {}",
                SHELLS.join(", ")
            ));
        }
    }
    let threads: Vec<usize> = args.threads.iter().map(|t| (*t).max(1)).collect();
    let files_limit = raise_open_files_limit();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Pinning needs taskset for the child; without it nothing is pinned.
    let pin_cores = if cores >= 2 && !child::can_pin() {
        eprintln!("note: taskset (util-linux) not found: server and load generator are not pinned");
        1
    } else {
        cores
    };

    let mut results = Results::new(cores, duration, &args.shells, &threads);
    results.pinning = threads
        .iter()
        .map(|t| (*t, pinning(pin_cores, *t)))
        .collect();
    eprintln!("{}", results.setup_line());
    if (idle_count as u64) * 2 + 64 > files_limit && workloads.contains(&Workload::Idle) {
        eprintln!("note: the open-files limit is {files_limit}; holding {idle_count} connections may fail");
    }
    let steps = args.shells.len() * threads.len() * workloads.len();
    let mut progress = progress::Bar::new(steps);
    for &server_threads in &threads {
        let (server_cpus, load_cpus) = pinning(pin_cores, server_threads);
        for shell in &args.shells {
            let server = match Server::start(
                shell,
                server_threads,
                &server_cpus,
                2 * idle_count.max(1024),
            ) {
                Ok(server) => server,
                Err(message) => {
                    progress.skip(workloads.len(), &format!("{shell}: {message}"));
                    results.failed_start(shell, server_threads, message);
                    continue;
                }
            };
            let base = format!("http://{}", server.addr);
            for &workload in &workloads {
                progress.start(shell, server_threads, workload);
                match workload.plan(&base, duration, &load_cpus, load_cpus.len().max(1)) {
                    None => {
                        let (before, _) = server.rss();
                        let held =
                            idle::hold(server.addr, idle_count, hold_timeout(idle_count), |held| {
                                progress.detail(&format!("{held}/{idle_count} held"));
                            });
                        // Give the server a moment to settle its buffers.
                        std::thread::sleep(Duration::from_millis(300));
                        let (during, _) = server.rss();
                        results.memory(Memory::new(
                            shell,
                            server_threads,
                            idle_count,
                            &held,
                            before,
                            during,
                        ));
                        drop(held);
                    }
                    Some(plan) => {
                        let plan = plan?;
                        let cpu_before = server.cpu_seconds();
                        let report = load::run_plan(&plan, false)?;
                        let cpu = server.cpu_seconds() - cpu_before;
                        results.measured(Measured::new(
                            shell,
                            server_threads,
                            workload,
                            &report,
                            cpu,
                        ));
                    }
                }
                progress.done();
                // Let closed connections drain before the next workload.
                std::thread::sleep(Duration::from_millis(150));
            }
            results.peak_rss(shell, server_threads, server.rss().1);
            server.stop();
        }
    }
    progress.finish();
    print!("{}", results.render());
    if let Some(path) = &args.json {
        std::fs::write(path, results.to_json())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &args.plot {
        std::fs::write(path, plot::svg(&results))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if args.quick {
        // The smoke run proves the pipeline: every server started and every
        // load got answers. Speed is never judged here.
        results.smoke_check()?;
    }
    Ok(())
}

const SHELLS: [&str; 5] = ["mio", "tokio", "smol", "blocking", "hyper"];

/// Server cores and load-generator cores for `threads` server threads: the
/// server takes the first cores, the load generator the rest (at most as
/// many as the server has, so the load scales with the server), and never
/// do the two share one.
fn pinning(cores: usize, threads: usize) -> (Vec<usize>, Vec<usize>) {
    if cores < 2 {
        return (Vec::new(), Vec::new());
    }
    let server_cores = threads.min(cores - 1);
    let load_cores = (cores - server_cores).min(server_cores.max(1));
    let server = (0..server_cores).collect();
    let load = (server_cores..server_cores + load_cores).collect();
    (server, load)
}

/// How long to wait for idle connections to be answered.
fn hold_timeout(count: usize) -> Duration {
    Duration::from_secs(5) + Duration::from_millis(count as u64 / 2)
}

/// Raises the soft open-files limit to the hard one; returns the new limit.
fn raise_open_files_limit() -> u64 {
    match rlimit::getrlimit(rlimit::Resource::NOFILE) {
        Ok((soft, hard)) => {
            if soft < hard && rlimit::setrlimit(rlimit::Resource::NOFILE, hard, hard).is_ok() {
                hard
            } else {
                soft
            }
        }
        Err(_) => 1024,
    }
}
