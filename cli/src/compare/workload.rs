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
    /// Hold idle keep-alive connections and measure memory.
    Idle,
}

pub(crate) const ALL: [Workload; 7] = [
    Workload::Get(1),
    Workload::Get(64),
    Workload::Get(1024),
    Workload::Pipelined,
    Workload::Echo,
    Workload::Download,
    Workload::Idle,
];

impl Workload {
    /// The short name used on the command line and in JSON.
    pub(crate) fn key(self) -> String {
        match self {
            Workload::Get(n) => format!("get-{n}"),
            Workload::Pipelined => "pipelined".into(),
            Workload::Echo => "echo".into(),
            Workload::Download => "download".into(),
            Workload::Idle => "idle".into(),
        }
    }

    /// What it is, for tables.
    pub(crate) fn label(self) -> String {
        match self {
            Workload::Get(n) => format!("GET / x{n} conn"),
            Workload::Pipelined => "GET / x64, depth 16".into(),
            Workload::Echo => "POST /echo 1 KiB x64".into(),
            Workload::Download => "GET /bytes/1MiB x4".into(),
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
        duration: Duration,
        cpus: &[usize],
        threads: usize,
    ) -> Option<Result<LoadPlan, String>> {
        let (path, connections, pipeline, method, body) = match self {
            Workload::Get(n) => ("/", n, 1, Method::GET, 0),
            Workload::Pipelined => ("/", 64, 16, Method::GET, 0),
            Workload::Echo => ("/echo", 64, 1, Method::POST, 1024),
            Workload::Download => ("/bytes/1048576", 4, 1, Method::GET, 0),
            Workload::Idle => return None,
        };
        Some(LoadPlan::new(&format!("{base}{path}")).map(|plan| {
            let mut plan = plan.method(method, body);
            plan.connections = connections;
            plan.pipeline = pipeline;
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
