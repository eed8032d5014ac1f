//! A one-line progress bar on stderr.

use std::io::Write;
use std::time::Instant;

use super::workload::Workload;

pub(crate) struct Bar {
    total: usize,
    done: usize,
    current: String,
    started: Instant,
    last_detail: Instant,
}

impl Bar {
    pub(crate) fn new(total: usize) -> Bar {
        Bar {
            total: total.max(1),
            done: 0,
            current: String::new(),
            started: Instant::now(),
            last_detail: Instant::now(),
        }
    }

    pub(crate) fn start(&mut self, shell: &str, threads: usize, workload: Workload) {
        self.current = format!("{shell} ({threads}t) {}", workload.label());
        self.draw("");
    }

    /// Redraws with a detail, at most ten times a second.
    pub(crate) fn detail(&mut self, detail: &str) {
        if self.last_detail.elapsed() >= std::time::Duration::from_millis(100) {
            self.last_detail = Instant::now();
            self.draw(detail);
        }
    }

    pub(crate) fn done(&mut self) {
        self.done += 1;
        self.draw("");
    }

    pub(crate) fn skip(&mut self, steps: usize, why: &str) {
        self.done += steps;
        eprintln!("\rskipped {why}");
    }

    fn draw(&self, detail: &str) {
        const WIDTH: usize = 24;
        let filled = WIDTH * self.done / self.total;
        let bar = format!("{}{}", "#".repeat(filled), "-".repeat(WIDTH - filled));
        let mut stderr = std::io::stderr();
        let _ = write!(
            stderr,
            "\r\x1b[2K[{bar}] {}/{} {:>4.0}s  {} {detail}",
            self.done,
            self.total,
            self.started.elapsed().as_secs_f64(),
            self.current
        );
        let _ = stderr.flush();
    }

    pub(crate) fn finish(&self) {
        eprintln!(
            "\r\x1b[2Kdone in {:.0}s",
            self.started.elapsed().as_secs_f64()
        );
    }
}
