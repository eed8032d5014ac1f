//! A shell under test: `nutshell serve` in a child process, pinned to its
//! cores, with its CPU time and memory read from /proc.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// /proc reports CPU time in USER_HZ ticks, which Linux fixes at 100.
const TICKS_PER_SECOND: f64 = 100.0;

/// A running server.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
}

impl Server {
    /// Starts `shell` with `threads` workers on `cpus` (empty: anywhere) and
    /// waits until it accepts connections.
    pub(crate) fn start(
        shell: &str,
        threads: usize,
        cpus: &[usize],
        max_connections: usize,
    ) -> Result<Server, String> {
        let addr = free_port()?;
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
        let mut command = if cpus.is_empty() {
            Command::new(&exe)
        } else {
            let list: Vec<String> = cpus.iter().map(usize::to_string).collect();
            let mut taskset = Command::new("taskset");
            taskset.arg("-c").arg(list.join(",")).arg(&exe);
            taskset
        };
        command
            .args(["serve", "--shell", shell, "--addr", &addr.to_string()])
            .args(["--threads", &threads.to_string()])
            .args(["--max-connections", &max_connections.to_string()])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start the {shell} server: {e}"))?;
        let mut server = Server { child, addr };
        server.wait_ready(shell)?;
        Ok(server)
    }

    fn wait_ready(&mut self, shell: &str) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("the {shell} server exited at start ({status})"));
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "the {shell} server did not start listening within 20 s"
        ))
    }

    /// User plus system CPU time so far, all threads (exited ones too).
    pub(crate) fn cpu_seconds(&self) -> f64 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())) else {
            return 0.0;
        };
        // Fields after the command name, which is in parentheses and may
        // contain spaces: state is the first, utime the 12th, stime the 13th.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (ticks(11) + ticks(12)) / TICKS_PER_SECOND
    }

    /// Resident memory now and at its peak, in bytes.
    pub(crate) fn rss(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
                .map_or(0, |kib| kib * 1024)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Asks for a graceful shutdown (SIGTERM), then kills after 5 s.
    pub(crate) fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Whether `taskset` (util-linux) is there to start a pinned child.
pub(crate) fn can_pin() -> bool {
    Command::new("taskset")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// A loopback port that was free a moment ago.
fn free_port() -> Result<SocketAddr, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port: {e}"))?;
    listener
        .local_addr()
        .map_err(|e| format!("cannot find a free port: {e}"))
}
