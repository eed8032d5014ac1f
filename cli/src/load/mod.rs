//! `nutshell load`: a load generator on the client core and a mio loop,
//! in the manner of wrk. Connections are spread over `--threads` event
//! loops (one by default), each keeping `--pipeline` requests in flight per
//! connection; latency is measured per request, from the moment it is
//! queued to the end of its response, into an HDR histogram.

pub(crate) mod report;
mod worker;

use std::io::IsTerminal;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use http::{HeaderValue, Method};
use nutshell_core::client::ClientRequest;

pub(crate) use report::Report;

/// Options of `nutshell load`.
#[derive(Debug, Args)]
pub(crate) struct LoadArgs {
    /// The URL to load, e.g. http://127.0.0.1:8080/ (plain HTTP; loopback
    /// and other addresses on this machine only).
    pub(crate) url: String,
    /// Connections kept open.
    #[arg(short, long, default_value_t = 64)]
    pub(crate) connections: usize,
    /// How long to run, e.g. 10s, 500ms, 1m.
    #[arg(short, long, default_value = "10s", value_parser = parse_duration)]
    pub(crate) duration: Duration,
    /// Requests in flight per connection (1: no pipelining).
    #[arg(short, long, default_value_t = 1)]
    pub(crate) pipeline: usize,
    /// Request method.
    #[arg(short, long, default_value = "GET")]
    pub(crate) method: String,
    /// Request body size in bytes (sent with Content-Length).
    #[arg(short, long, default_value_t = 0)]
    pub(crate) body_size: usize,
    /// Event-loop threads of the load generator.
    #[arg(short, long, default_value_t = 1)]
    pub(crate) threads: usize,
    /// Pin the load generator's threads to these cores, e.g. `1` or `2,3`.
    #[arg(long, value_delimiter = ',')]
    pub(crate) cpus: Vec<usize>,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// What one load run does.
#[derive(Debug, Clone)]
pub(crate) struct LoadPlan {
    pub(crate) addr: SocketAddr,
    pub(crate) host: HeaderValue,
    pub(crate) path: String,
    pub(crate) method: Method,
    pub(crate) body: Bytes,
    pub(crate) connections: usize,
    pub(crate) pipeline: usize,
    pub(crate) duration: Duration,
    /// Run this long first on the same connections, counting nothing.
    pub(crate) warm_up: Duration,
    pub(crate) threads: usize,
    pub(crate) cpus: Vec<usize>,
}

impl LoadPlan {
    /// A plan for `url`: one connection, no pipelining, GET, 10 s.
    pub(crate) fn new(url: &str) -> Result<LoadPlan, String> {
        let (addr, authority, path) = parse_url(url)?;
        let host =
            HeaderValue::from_str(&authority).map_err(|_| format!("invalid host in {url}"))?;
        Ok(LoadPlan {
            addr,
            host,
            path,
            method: Method::GET,
            body: Bytes::new(),
            connections: 1,
            pipeline: 1,
            duration: Duration::from_secs(10),
            warm_up: Duration::ZERO,
            threads: 1,
            cpus: Vec::new(),
        })
    }

    /// Sets the method and a body of `size` bytes of `x`.
    pub(crate) fn method(mut self, method: Method, body_size: usize) -> LoadPlan {
        self.method = method;
        self.body = Bytes::from(vec![b'x'; body_size]);
        self
    }

    /// The request every connection sends, again and again.
    pub(crate) fn request(&self) -> ClientRequest {
        let request = ClientRequest::new(self.method.clone(), self.path.clone())
            .header(http::header::HOST, self.host.clone());
        if self.body.is_empty() {
            request
        } else {
            request.content_length(self.body.len() as u64)
        }
    }
}

/// Runs `nutshell load` and prints its report.
pub(crate) fn run(args: LoadArgs) -> Result<(), String> {
    let method = Method::from_bytes(args.method.as_bytes())
        .map_err(|_| format!("invalid method {:?}", args.method))?;
    let mut plan = LoadPlan::new(&args.url)?.method(method, args.body_size);
    plan.connections = args.connections.max(1);
    plan.pipeline = args.pipeline.max(1);
    plan.duration = args.duration;
    plan.threads = args.threads.clamp(1, plan.connections);
    plan.cpus = args.cpus;
    eprintln!(
        "loading {} for {:?}: {} connections, {} in flight each, {} thread(s)",
        args.url, plan.duration, plan.connections, plan.pipeline, plan.threads
    );
    let report = run_plan(&plan, true)?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.render());
    }
    Ok(())
}

/// Runs a plan and merges what every thread measured. With `progress`, a
/// line on stderr counts down the seconds (on a terminal only).
pub(crate) fn run_plan(plan: &LoadPlan, progress: bool) -> Result<Report, String> {
    run_plan_from(plan, Instant::now(), progress)
}

/// Like [`run_plan`], with the run starting at `start`: the warm-up ends,
/// and counting begins, at `start + plan.warm_up`.
pub(crate) fn run_plan_from(
    plan: &LoadPlan,
    start: Instant,
    progress: bool,
) -> Result<Report, String> {
    let measure_from = start + plan.warm_up;
    let deadline = measure_from + plan.duration;
    let per_thread = split(plan.connections, plan.threads);
    let handles: Vec<_> = per_thread
        .into_iter()
        .enumerate()
        .map(|(i, connections)| {
            let plan = plan.clone();
            let cpu = (!plan.cpus.is_empty()).then(|| plan.cpus[i % plan.cpus.len()]);
            std::thread::Builder::new()
                .name(format!("load-{i}"))
                .spawn(move || worker::run(&plan, connections, measure_from, deadline, cpu))
                .map_err(|e| format!("cannot start a load thread: {e}"))
        })
        .collect::<Result<_, _>>()?;
    if progress && std::io::stderr().is_terminal() {
        report::count_down(deadline);
    }
    let mut report = Report::empty(plan);
    for handle in handles {
        let part = handle
            .join()
            .map_err(|_| "a load thread panicked".to_string())??;
        report.merge(part);
    }
    report.elapsed = measure_from
        .elapsed()
        .min(plan.duration.max(Duration::from_millis(1)) + Duration::from_millis(50));
    Ok(report)
}

fn split(total: usize, parts: usize) -> Vec<usize> {
    (0..parts)
        .map(|i| total / parts + usize::from(i < total % parts))
        .collect()
}

/// `http://host:port/path` → address, authority, path.
fn parse_url(url: &str) -> Result<(SocketAddr, String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("only http:// URLs are supported, not {url:?}"))?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let with_port = if authority
        .rsplit(':')
        .next()
        .is_some_and(|p| p.parse::<u16>().is_ok())
        && !authority.ends_with(']')
    {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let addr = with_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("no address for {authority}"))?;
    if !addr.ip().is_loopback() {
        // Load tests stay on this machine.
        return Err(format!(
            "{addr} is not a loopback address; nutshell load only targets this machine"
        ));
    }
    Ok((addr, authority.to_string(), path.to_string()))
}

/// `10s`, `500ms`, `2m`, or plain seconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(text.len()),
    );
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        _ => {
            return Err(format!(
                "invalid duration unit in {text:?} (use ms, s or m)"
            ))
        }
    };
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_and_durations() {
        let (addr, authority, path) = parse_url("http://127.0.0.1:8080/bytes/10").unwrap();
        assert_eq!(addr.port(), 8080);
        assert_eq!(authority, "127.0.0.1:8080");
        assert_eq!(path, "/bytes/10");
        assert_eq!(parse_url("http://localhost:9").unwrap().2, "/");
        assert!(parse_url("https://127.0.0.1/").is_err());
        assert!(parse_url("http://192.0.2.1:80/").is_err());
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("3h").is_err());
        assert_eq!(split(10, 3), [4, 3, 3]);
    }
}
