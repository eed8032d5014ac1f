//! The server under soak: started as a child process (with the heap probe
//! preloaded when there is one), its warm baseline, waiting for its
//! descriptors to settle, and the graceful shutdown at the end.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nutshell_tests::wire;

use crate::sample::{self, Sample};
use crate::traffic;

/// The server process and where to read it.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    /// The file the heap probe writes, when it is preloaded.
    pub(crate) heap_file: Option<PathBuf>,
}

impl Server {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// One reading of the server, `at` into the run; `None` once it is gone.
    pub(crate) fn sample(&self, at: Duration) -> Option<Sample> {
        sample::read(self.pid(), at, self.heap_file.as_deref())
    }
}

/// The glibc tunable that turns the per-thread cache off (see `start`).
const NO_TCACHE: &str = "glibc.malloc.tcache_count=0";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// Starts `SERVER serve --shell SHELL` on a free port of 127.0.0.1 and
/// waits until it listens (and, with a probe, until the probe reports).
pub(crate) fn start(
    server: &str,
    shell: &str,
    heap_probe: Option<&Path>,
) -> Result<Server, String> {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port())
        .parse()
        .expect("an address");
    let mut command = Command::new(server);
    command
        .args(["serve", "--shell", shell, "--addr", &addr.to_string()])
        .args([
            "--threads",
            "2",
            "--max-body",
            &traffic::MAX_BODY.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let heap_file = match heap_probe {
        Some(probe) => {
            let probe = probe
                .canonicalize()
                .map_err(|e| format!("heap probe {}: {e}", probe.display()))?;
            let file = std::env::temp_dir().join(format!("nutshell-soak-heap-{}", addr.port()));
            // Without the per-thread cache, freed chunks count as free in
            // `mallinfo2`: with it, up to 7 chunks of each small size per
            // thread count as in use, and that cache fills over minutes
            // (a 10-minute tokio soak showed 290 KiB of such "growth" while
            // heaptrack found nothing live that grew).
            let tunables = match std::env::var("GLIBC_TUNABLES") {
                Ok(set) if !set.is_empty() => format!("{set}:{NO_TCACHE}"),
                _ => NO_TCACHE.to_string(),
            };
            command
                .env("LD_PRELOAD", probe)
                .env("NUTSHELL_HEAP_PROBE", &file)
                .env("GLIBC_TUNABLES", tunables);
            Some(file)
        }
        None => None,
    };
    let child = command
        .spawn()
        .map_err(|e| format!("start {server}: {e}"))?;
    let started = Server {
        child,
        addr,
        heap_file,
    };
    let began = Instant::now();
    while TcpStream::connect(addr).is_err()
        || started
            .heap_file
            .as_deref()
            .is_some_and(|file| sample::read_heap(file).is_none())
    {
        if began.elapsed() > Duration::from_secs(20) {
            let mut started = started;
            let _ = started.child.kill();
            let _ = started.child.wait();
            return Err(if heap_probe.is_some() {
                "the server did not listen, or its heap probe did not report, within 20 s".into()
            } else {
                "the server did not start listening within 20 s".into()
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(started)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(file) = &self.heap_file {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// The footprint of a server that has served one request and is idle
/// again: its threads and pollers are all set up by then (some shells make
/// theirs lazily), and the count has held still for half a second.
pub(crate) fn warm_baseline(server: &Server) -> Result<Sample, String> {
    let mut stream = TcpStream::connect(server.addr).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(wire::IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(wire::GET_ROOT)
        .map_err(|e| e.to_string())?;
    wire::read_response(&mut stream, &mut Vec::new(), false)?;
    drop(stream);
    let began = Instant::now();
    let mut last = server.sample(Duration::ZERO).ok_or("the server is gone")?;
    let mut still = 0;
    while still < 5 {
        if began.elapsed() > Duration::from_secs(20) {
            return Err("the server's descriptors never held still".into());
        }
        std::thread::sleep(Duration::from_millis(100));
        let now = server.sample(Duration::ZERO).ok_or("the server is gone")?;
        still = if now.fds == last.fds { still + 1 } else { 0 };
        last = now;
    }
    Ok(last)
}

/// Waits up to `bound` for the server's descriptors to come back to
/// `baseline` (lingering closes take a moment); returns the last reading.
pub(crate) fn settle_fds(
    server: &Server,
    baseline: usize,
    began: Instant,
    bound: Duration,
) -> Option<Sample> {
    let until = Instant::now() + bound;
    loop {
        let now = server.sample(began.elapsed())?;
        if now.fds <= baseline || Instant::now() > until {
            return Some(now);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// SIGTERM with a request in flight: its head is in (the 100 Continue
/// says so), the listener closes, then the rest of the body goes out and
/// the answer must be a 200 that says `Connection: close`; the server must
/// then exit with status 0.
pub(crate) fn graceful_shutdown(server: &mut Server) -> Result<(), String> {
    let addr = server.addr;
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(wire::IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let head =
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n";
    stream.write_all(head).map_err(|e| e.to_string())?;
    let mut buffer = Vec::new();
    let interim = wire::read_response(&mut stream, &mut buffer, false)?;
    if interim.status != 100 {
        return Err(format!("expected 100 Continue, got {}", interim.status));
    }
    stream.write_all(b"hello").map_err(|e| e.to_string())?;
    let killed = Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .map_err(|e| format!("kill: {e}"))?;
    if !killed.success() {
        return Err("kill -TERM failed".into());
    }
    // The listener closing shows the shutdown has begun.
    let began = Instant::now();
    while TcpStream::connect(addr).is_ok() {
        if began.elapsed() > Duration::from_secs(10) {
            return Err("still accepting 10 s after SIGTERM".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    stream.write_all(b"world").map_err(|e| e.to_string())?;
    let response = wire::read_response(&mut stream, &mut buffer, false)?;
    if response.status != 200 || response.body != b"helloworld" || !response.closes() {
        return Err(format!("the request in flight got {response:?}"));
    }
    drop(stream);
    let began = Instant::now();
    loop {
        if let Some(status) = server.child.try_wait().map_err(|e| e.to_string())? {
            return if status.success() {
                Ok(())
            } else {
                Err(format!("the server exited with {status}"))
            };
        }
        if began.elapsed() > Duration::from_secs(30) {
            return Err("the server did not exit within 30 s of SIGTERM".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
