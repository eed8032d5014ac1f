//! `nutshell compare`: the shells, the mio shell with a handler pool, a
//! hyper baseline and the I/O floor, each a child process serving the demo
//! application, under identical load from this process (or wrk), in
//! rounds; tables of medians and spreads, and a verdict computed from them.
//!
//! On a machine with two or more cores the server and the load generator
//! are pinned to different cores, and the fair figure is the busy time of
//! the server's cores per request (from /proc/stat, softirq included),
//! since one load-generator core can saturate before a good server does.
//!
//! - `cell.rs`: one server, one workload, one round, with its figures.
//! - `summary.rs`, `stats.rs`: rounds folded into medians and spreads.
//! - `results.rs`, `verdict.rs`, `plot.rs`: what is shown.
//! - `child.rs`, `procstat.rs`, `machine.rs`: the server process, /proc,
//!   and what the run was measured on.

mod cell;
mod child;
mod idle;
mod machine;
mod plot;
mod procstat;
mod progress;
mod results;
mod shells;
mod stats;
mod summary;
mod verdict;
mod workload;
mod wrk;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};

use crate::load::parse_duration;
use cell::{Cell, LoadKind, Setup};
use results::{BusyCheck, Results};
use shells::ShellSpec;
use workload::Workload;

/// Options of `nutshell compare`.
#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// A smoke run: one round of short cells and 200 idle connections.
    /// Proves the pipeline works (fails if a server does not start or gets
    /// no answers); its numbers mean little.
    #[arg(long)]
    quick: bool,
    /// Servers to measure, comma separated: mio, mio+poolN (the mio shell
    /// with N handler threads), tokio, smol, blocking, hyper (the
    /// baseline), floor (the I/O floor: not a server; GET / only), and,
    /// not in the default run, axum-nutshell and axum-hyper (one axum
    /// Router on the tokio shell and on axum::serve).
    #[arg(long, value_delimiter = ',', default_value = shells::DEFAULT)]
    shells: Vec<String>,
    /// Workloads, comma separated: get-1, get-64, get-1024, pipelined,
    /// echo, download, wait-64, wait-1024, cpu-64, idle.
    #[arg(long, value_delimiter = ',')]
    workloads: Vec<String>,
    /// Measured time per cell (default 1s; 200ms with --quick).
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Warm-up per cell on the same connections, not counted (default
    /// 200ms; 100ms with --quick).
    #[arg(long, value_parser = parse_duration)]
    warm_up: Option<Duration>,
    /// Rounds: every workload runs every server once per round, the server
    /// order rotated each round (default 3; 1 with --quick).
    #[arg(long)]
    rounds: Option<usize>,
    /// Server thread counts, comma separated, e.g. 1,2,4,8. With more than
    /// one, a scaling table compares requests per busy server core.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    threads: Vec<usize>,
    /// Idle keep-alive connections to hold (default 10000; 200 with --quick).
    #[arg(long)]
    idle: Option<usize>,
    /// The load generator: the built-in one, or wrk where installed (the
    /// same workloads; wrk has no warm-up and runs whole seconds).
    #[arg(long, value_enum, default_value_t = Load::Builtin)]
    load: Load,
    /// Also write every figure (each round's and the medians) as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also draw the main figures as an SVG chart in this file.
    #[arg(long)]
    plot: Option<PathBuf>,
}

/// `--load`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Load {
    /// `nutshell load`, in this process.
    Builtin,
    /// wrk (https://github.com/wg/wrk), as a child process.
    Wrk,
}

/// Runs the comparison and prints the tables.
pub(crate) fn run(args: CompareArgs) -> Result<(), String> {
    let started = Instant::now();
    let duration = args.duration.unwrap_or(if args.quick {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(1)
    });
    let warm_up = args.warm_up.unwrap_or(if args.quick {
        Duration::from_millis(100)
    } else {
        Duration::from_millis(200)
    });
    let rounds = args.rounds.unwrap_or(if args.quick { 1 } else { 3 }).max(1);
    let idle_count = args.idle.unwrap_or(if args.quick { 200 } else { 10_000 });
    let workloads: Vec<Workload> = if args.workloads.is_empty() {
        workload::ALL.to_vec()
    } else {
        args.workloads
            .iter()
            .map(|key| Workload::parse(key))
            .collect::<Result<_, _>>()?
    };
    let shells: Vec<ShellSpec> = args
        .shells
        .iter()
        .map(|name| ShellSpec::parse(name))
        .collect::<Result<_, _>>()?;
    let load = match args.load {
        Load::Builtin => LoadKind::Builtin,
        Load::Wrk if wrk::available() => LoadKind::Wrk,
        Load::Wrk => {
            return Err(
                "--load wrk: wrk is not installed (on Debian or Ubuntu: apt-get install wrk); \
                 without --load the built-in load generator runs the same workloads"
                    .into(),
            )
        }
    };
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
    if (idle_count as u64) * 2 + 64 > files_limit && workloads.contains(&Workload::Idle) {
        eprintln!("note: the open-files limit is {files_limit}; holding {idle_count} connections may fail");
    }

    let machine = machine::Machine::describe(cores);
    // One rate for every server, measured here while nothing else of ours
    // runs, so that GET /cpu/50 is the same work on every shell.
    let cpu_rounds_per_us = crate::calibrate::cpu_rounds_per_us();
    let busy_before = machine_busy_share(if args.quick {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(1)
    });
    let mut results = Results {
        machine,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        rounds,
        warm_up,
        duration,
        load,
        cpu_rounds_per_us,
        shells: shells.iter().map(|s| s.name.clone()).collect(),
        threads: threads.clone(),
        samples: Vec::new(),
        memory: Vec::new(),
        failed: Vec::new(),
        busy: BusyCheck {
            before: busy_before,
            during: Vec::new(),
        },
        pinning: threads
            .iter()
            .map(|t| (*t, pinning(pin_cores, *t)))
            .collect(),
        seconds_taken: 0.0,
    };
    eprintln!("{}", results.setup_line());
    eprintln!("{}", results.busy.line());

    let cells_per_round: usize = workloads
        .iter()
        .map(|w| shells.iter().filter(|s| s.runs(*w)).count())
        .sum();
    let mut progress = progress::Bar::new(rounds * threads.len() * cells_per_round);
    for round in 0..rounds {
        for &server_threads in &threads {
            let (server_cpus, load_cpus) = pinning(pin_cores, server_threads);
            let setup = Setup {
                threads: server_threads,
                server_cpus,
                load_cpus,
                warm_up,
                duration,
                load,
                idle_count,
                cpu_rounds_per_us,
                max_connections: 2 * idle_count.max(1024),
            };
            for &workload in &workloads {
                // Rotated each round, so no server always runs first or
                // right after the same neighbour.
                let mut order: Vec<&ShellSpec> =
                    shells.iter().filter(|s| s.runs(workload)).collect();
                if !order.is_empty() {
                    let by = round % order.len();
                    order.rotate_left(by);
                }
                for shell in order {
                    progress.start(format!(
                        "round {}/{rounds}: {} ({server_threads}t) {}",
                        round + 1,
                        shell.name,
                        workload.label()
                    ));
                    let outcome = cell::run(&setup, shell, workload, round, &mut |detail| {
                        progress.detail(detail)
                    });
                    match outcome {
                        Ok(Cell::Load(sample)) => {
                            if let Some(other) = sample.other_seconds {
                                let had = sample.load.seconds.max(1e-3) * cores as f64;
                                results.busy.during.push((other / had).min(1.0));
                            }
                            results.samples.push(sample);
                        }
                        Ok(Cell::Idle(memory)) => results.memory.push(memory),
                        Err(why) => {
                            progress.note(&format!(
                                "{} ({server_threads}t) {} did not run: {why}",
                                shell.name,
                                workload.label()
                            ));
                            results
                                .failed
                                .push((shell.name.clone(), server_threads, round, why));
                        }
                    }
                    progress.done();
                    // Let closed connections drain before the next cell.
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
    progress.finish();
    results.seconds_taken = started.elapsed().as_secs_f64();
    print!("{}", results.render());
    println!("\n(run took {:.0} s)", results.seconds_taken);
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

/// The share of all cores busy over `span`, before the run starts: all of
/// it is other processes' work.
fn machine_busy_share(span: Duration) -> Option<f64> {
    let before = procstat::read()?;
    std::thread::sleep(span);
    let after = procstat::read()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Tick rounding can read a little over the whole machine.
    Some((after.task_seconds_since(&before) / (span.as_secs_f64() * cores as f64)).min(1.0))
}

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
