//! The workloads `compare` runs, each the same for every shell.

use std::time::Duration;

use http::Method;

use crate::load::LoadPlan;

/// One kind of load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Workload {
    /// GET / on this many connections, one request in flight each.
    Get(usize),
    /// GET / on 64 connections, 16 requests in flight each.
    Pipelined,
    /// POST /echo with a 1 KiB body on 64 connections.
    Echo,
    /// GET /bytes/1048576 on 4 connections: throughput.
    Download,
    /// GET /wait/20 on this many connections: a handler that waits 20 ms.
    Wait(usize),
    /// GET /cpu/50 on 64 connections: a handler that computes for 50 µs.
    Cpu,
    /// Hold idle keep-alive connections and measure memory.
    Idle,
}

pub(crate) const ALL: [Workload; 10] = [
    Workload::Get(1),
    Workload::Get(64),
    Workload::Get(1024),
    Workload::Pipelined,
    Workload::Echo,
    Workload::Download,
    Workload::Wait(64),
    Workload::Wait(1024),
    Workload::Cpu,
    Workload::Idle,
];

/// How long the waiting handler waits.
pub(crate) const WAIT_MS: u64 = 20;
/// How long the computing handler computes.
pub(crate) const CPU_US: u64 = 50;

impl Workload {
    /// The short name used on the command line and in JSON.
    pub(crate) fn key(self) -> String {
        match self {
            Workload::Get(n) => format!("get-{n}"),
            Workload::Pipelined => "pipelined".into(),
            Workload::Echo => "echo".into(),
            Workload::Download => "download".into(),
            Workload::Wait(n) => format!("wait-{n}"),
            Workload::Cpu => "cpu-64".into(),
            Workload::Idle => "idle".into(),
        }
    }

    /// The connections it keeps busy (0 for idle).
    pub(crate) fn connections(self) -> usize {
        match self {
            Workload::Get(n) | Workload::Wait(n) => n,
            Workload::Pipelined | Workload::Echo | Workload::Cpu => 64,
            Workload::Download => 4,
            Workload::Idle => 0,
        }
    }

    /// What it is, for tables.
    pub(crate) fn label(self) -> String {
        match self {
            Workload::Get(n) => format!("GET / x{n} conn"),
            Workload::Pipelined => "GET / x64, depth 16".into(),
            Workload::Echo => "POST /echo 1 KiB x64".into(),
            Workload::Download => "GET /bytes/1MiB x4".into(),
            Workload::Wait(n) => format!("wait {WAIT_MS} ms x{n}"),
            Workload::Cpu => format!("cpu {CPU_US} µs x64"),
            Workload::Idle => "idle keep-alive".into(),
        }
    }

    pub(crate) fn parse(key: &str) -> Result<Workload, String> {
        ALL.into_iter()
            .find(|w| w.key() == key)
            .ok_or_else(|| format!("unknown workload {key:?}; known: {}", keys().join(", ")))
    }

    /// The load plan against `base` (http://127.0.0.1:PORT), or `None` for
    /// the idle workload, which is not a load.
    pub(crate) fn plan(
        self,
        base: &str,
        (warm_up, duration): (Duration, Duration),
        cpus: &[usize],
        threads: usize,
    ) -> Option<Result<LoadPlan, String>> {
        let connections = self.connections();
        let (path, pipeline, method, body) = match self {
            Workload::Get(_) => ("/".to_string(), 1, Method::GET, 0),
            Workload::Pipelined => ("/".to_string(), 16, Method::GET, 0),
            Workload::Echo => ("/echo".to_string(), 1, Method::POST, 1024),
            Workload::Download => ("/bytes/1048576".to_string(), 1, Method::GET, 0),
            Workload::Wait(_) => (format!("/wait/{WAIT_MS}"), 1, Method::GET, 0),
            Workload::Cpu => (format!("/cpu/{CPU_US}"), 1, Method::GET, 0),
            Workload::Idle => return None,
        };
        Some(LoadPlan::new(&format!("{base}{path}")).map(|plan| {
            let mut plan = plan.method(method, body);
            plan.connections = connections;
            plan.pipeline = pipeline;
            plan.warm_up = warm_up;
            plan.duration = duration;
            plan.threads = threads.clamp(1, connections);
            plan.cpus = cpus.to_vec();
            plan
        }))
    }
}

pub(crate) fn keys() -> Vec<String> {
    ALL.iter().map(|w| w.key()).collect()
}
