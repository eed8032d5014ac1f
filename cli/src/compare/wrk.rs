//! `--load wrk`: the same request workloads driven by wrk, as a check on
//! the built-in load generator. wrk counts from its first request (it has
//! no warm-up to discard) and runs whole seconds.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::cell::LoadOutcome;
use super::workload::{Workload, CPU_US, WAIT_MS};

/// Whether wrk is installed.
pub(crate) fn available() -> bool {
    Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A wrk process running one workload.
pub(crate) struct WrkRun {
    child: Child,
    script: Option<PathBuf>,
}

impl WrkRun {
    /// Starts wrk against `base` (http://127.0.0.1:PORT) on `cpus`.
    pub(crate) fn start(
        workload: Workload,
        base: &str,
        duration: Duration,
        threads: usize,
        cpus: &[usize],
    ) -> Result<WrkRun, String> {
        let connections = workload.connections();
        let (path, script) = match workload {
            Workload::Get(_) => ("/".to_string(), None),
            Workload::Pipelined => ("/".to_string(), Some(PIPELINE)),
            Workload::Echo => ("/echo".to_string(), Some(ECHO)),
            Workload::Download => ("/bytes/1048576".to_string(), None),
            Workload::Wait(_) => (format!("/wait/{WAIT_MS}"), None),
            Workload::Cpu => (format!("/cpu/{CPU_US}"), None),
            Workload::Idle => return Err("the idle workload is not a load".into()),
        };
        let script = match script {
            Some(text) => {
                let path = std::env::temp_dir().join(format!(
                    "nutshell-compare-{}-{}.lua",
                    std::process::id(),
                    workload.key()
                ));
                std::fs::write(&path, text)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                Some(path)
            }
            None => None,
        };
        let seconds = duration.as_secs_f64().ceil().max(1.0) as u64;
        let mut command = if cpus.is_empty() {
            Command::new("wrk")
        } else {
            let list: Vec<String> = cpus.iter().map(usize::to_string).collect();
            let mut taskset = Command::new("taskset");
            taskset.arg("-c").arg(list.join(",")).arg("wrk");
            taskset
        };
        command
            .args(["-t", &threads.clamp(1, connections).to_string()])
            .args(["-c", &connections.to_string()])
            .args(["-d", &format!("{seconds}s")])
            .arg("--latency");
        if let Some(script) = &script {
            command.arg("-s").arg(script);
        }
        command
            .arg(format!("{base}{path}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start wrk: {e}"))?;
        Ok(WrkRun { child, script })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for wrk and reads its report.
    pub(crate) fn finish(self) -> Result<LoadOutcome, String> {
        let out = self
            .child
            .wait_with_output()
            .map_err(|e| format!("wrk failed: {e}"))?;
        if let Some(script) = &self.script {
            let _ = std::fs::remove_file(script);
        }
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "wrk failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        parse(&text).ok_or_else(|| format!("cannot read wrk's report:\n{text}"))
    }
}

/// 16 requests in flight per connection, as the built-in `--pipeline 16`.
const PIPELINE: &str = "init = function(args)\n  local r = {}\n  for i = 1, 16 do r[i] = wrk.format() end\n  req = table.concat(r)\nend\nrequest = function() return req end\n";
const ECHO: &str = "wrk.method = \"POST\"\nwrk.body = string.rep(\"x\", 1024)\n";

/// Requests, seconds, bytes, p50, p99 and errors from wrk's `--latency`
/// report.
fn parse(text: &str) -> Option<LoadOutcome> {
    let mut outcome = LoadOutcome::default();
    let mut found = false;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("50%") {
            outcome.p50 = duration(rest.trim())?;
        } else if let Some(rest) = line.strip_prefix("99%") {
            outcome.p99 = duration(rest.trim())?;
        } else if line.contains(" requests in ") {
            // "12345 requests in 1.00s, 1.50MB read"
            let mut words = line.split_whitespace();
            outcome.requests = words.next()?.parse().ok()?;
            let seconds = words.nth(2)?.trim_end_matches(',');
            outcome.seconds = duration(seconds)?.as_secs_f64();
            outcome.bytes = bytes(words.next()?)?;
            found = true;
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            for part in rest.split(',') {
                let mut words = part.split_whitespace();
                if let (Some(kind), Some(n)) = (words.next(), words.next()) {
                    let n: u64 = n.parse().ok()?;
                    if n > 0 {
                        outcome.errors.insert(format!("wrk {kind}"), n);
                    }
                }
            }
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            outcome
                .errors
                .insert("status not 2xx/3xx".into(), rest.trim().parse().ok()?);
        }
    }
    found.then_some(outcome)
}

/// `812.00us`, `1.23ms`, `2.00s`, `1.00m`.
fn duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let seconds = match unit {
        "us" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" => value * 60.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(seconds))
}

/// `1.50MB` (wrk's units are powers of 1024).
fn bytes(text: &str) -> Option<u64> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let scale = match unit {
        "" | "B" => 1.0,
        "KB" => 1024.0,
        "MB" => 1024.0 * 1024.0,
        "GB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((value * scale) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_wrk_report() {
        let report = "Running 1s test @ http://127.0.0.1:1/\n  1 threads and 64 connections\n  \
            Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency   420.00us  1.00ms  9.00ms   90.00%\n  \
            Latency Distribution\n     50%  400.00us\n     75%  500.00us\n     90%  600.00us\n     99%    1.20ms\n  \
            150000 requests in 1.00s, 20.50MB read\n  Socket errors: connect 0, read 2, write 0, timeout 0\n\
            Requests/sec: 150000.00\nTransfer/sec:     20.50MB\n";
        let outcome = parse(report).unwrap();
        assert_eq!(outcome.requests, 150_000);
        assert_eq!(outcome.p50, Duration::from_micros(400));
        assert_eq!(outcome.p99, Duration::from_micros(1200));
        assert_eq!(outcome.bytes, (20.5 * 1024.0 * 1024.0) as u64);
        assert_eq!(outcome.errors.get("wrk read"), Some(&2));
        assert!(parse("wrk: command not found").is_none());
    }
}
