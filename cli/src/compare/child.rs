//! A server under test: `nutshell serve` in a child process, pinned to its
//! cores, with its CPU time, threads and memory read from /proc.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::procstat;
use super::shells::ShellSpec;

/// How a server is started.
#[derive(Debug, Clone)]
pub(crate) struct Launch<'a> {
    pub(crate) shell: &'a ShellSpec,
    pub(crate) threads: usize,
    /// Cores to pin it to (empty: anywhere).
    pub(crate) cpus: &'a [usize],
    pub(crate) max_connections: usize,
    /// `serve --cpu-rounds-per-us`: the same work on every server.
    pub(crate) cpu_rounds_per_us: u64,
}

/// A running server.
pub(crate) struct Server {
    child: Child,
    pid: String,
    pub(crate) addr: SocketAddr,
}

impl Server {
    /// Starts the server and waits until it accepts connections.
    pub(crate) fn start(launch: &Launch<'_>) -> Result<Server, String> {
        let shell = &launch.shell.name;
        let addr = free_port()?;
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
        let mut command = if launch.cpus.is_empty() {
            Command::new(&exe)
        } else {
            let list: Vec<String> = launch.cpus.iter().map(usize::to_string).collect();
            let mut taskset = Command::new("taskset");
            taskset.arg("-c").arg(list.join(",")).arg(&exe);
            taskset
        };
        command
            .args(["serve", "--shell", launch.shell.serve])
            .args(["--addr", &addr.to_string()])
            .args(["--threads", &launch.threads.to_string()])
            .args(["--max-connections", &launch.max_connections.to_string()])
            .args([
                "--handler-threads",
                &launch.shell.handler_threads.to_string(),
            ])
            .args(["--cpu-rounds-per-us", &launch.cpu_rounds_per_us.to_string()])
            // The floor warns that it is not a server; errors still show.
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start the {shell} server: {e}"))?;
        let pid = child.id().to_string();
        let mut server = Server { child, pid, addr };
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
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(format!(
            "the {shell} server did not start listening within 20 s"
        ))
    }

    /// User plus system CPU seconds so far, all threads (exited ones too).
    pub(crate) fn cpu_seconds(&self) -> f64 {
        procstat::process_seconds(&self.pid).unwrap_or(0.0)
    }

    /// Threads now.
    pub(crate) fn threads(&self) -> u64 {
        procstat::status_field(&self.pid, "Threads:").unwrap_or(0)
    }

    /// Resident memory now and at its peak, in bytes.
    pub(crate) fn rss(&self) -> (u64, u64) {
        let kib = |name| procstat::status_field(&self.pid, name).unwrap_or(0) * 1024;
        (kib("VmRSS:"), kib("VmHWM:"))
    }

    /// Asks for a graceful shutdown (SIGTERM), then kills after `patience`
    /// (a mio loop stuck in handlers that block may never get there).
    pub(crate) fn stop(mut self, patience: Duration) {
        let _ = Command::new("kill").args(["-TERM", &self.pid]).status();
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
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
