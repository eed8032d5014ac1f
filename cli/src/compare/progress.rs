//! A one-line progress bar on stderr, drawn only on a terminal: a log that
//! stderr is redirected to gets no control codes (and no progress).

use std::io::{IsTerminal, Write};
use std::time::Instant;

pub(crate) struct Bar {
    total: usize,
    done: usize,
    current: String,
    started: Instant,
    last_detail: Instant,
    terminal: bool,
}

impl Bar {
    pub(crate) fn new(total: usize) -> Bar {
        Bar {
            total: total.max(1),
            done: 0,
            current: String::new(),
            started: Instant::now(),
            last_detail: Instant::now(),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    pub(crate) fn start(&mut self, what: String) {
        self.current = what;
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

    /// A message that stays: on its own line, on a terminal or not.
    pub(crate) fn note(&self, message: &str) {
        if self.terminal {
            eprintln!("\r\x1b[2K{message}");
        } else {
            eprintln!("{message}");
        }
    }

    fn draw(&self, detail: &str) {
        if !self.terminal {
            return;
        }
        const WIDTH: usize = 24;
        let filled = WIDTH * self.done.min(self.total) / self.total;
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
        self.note(&format!(
            "done in {:.0}s",
            self.started.elapsed().as_secs_f64()
        ));
    }
}
