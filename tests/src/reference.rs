//! The oracle: the core itself, driven in memory with a virtual clock and
//! the demo app, exactly as a shell would drive it. What a shell sends over
//! a real socket must equal what this sends (after `Date` normalisation):
//! a shell only moves bytes, so any difference is the shell's.

use std::io::IoSlice;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use nutshell_core::service::Session;
use nutshell_core::{Config, ServerConnection};
use nutshell_demo::DemoApp;

/// One input to the reference connection.
#[derive(Debug, Clone)]
pub enum Step<'a> {
    /// Bytes from the peer.
    Feed(&'a [u8]),
    /// The peer shut down its write side.
    Eof,
    /// Time passes (timers fire).
    Advance(Duration),
    /// A graceful shutdown of the server.
    Shutdown,
}

/// What the reference connection did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// Everything sent after each step, `Date` normalised.
    pub sent: Vec<Vec<u8>>,
    /// Whether the connection is closing (write side shut down) or closed
    /// at the end.
    pub closes: bool,
}

impl Transcript {
    /// Everything sent, all steps together.
    pub fn all(&self) -> Vec<u8> {
        self.sent.concat()
    }
}

/// Runs `steps` through a fresh connection serving the demo app, with an
/// output sink that takes everything at once.
pub fn run(config: &Config, steps: &[Step<'_>]) -> Transcript {
    let origin = Instant::now();
    let mut now = origin;
    let conn = ServerConnection::new(Arc::new(config.clone()), now, SystemTime::now());
    let mut session = Session::new(conn);
    let mut sent = Vec::new();
    for step in steps {
        let mut out = Vec::new();
        match step {
            Step::Feed(bytes) => {
                let mut rest: &[u8] = bytes;
                loop {
                    settle(&mut session, now, &mut out);
                    if rest.is_empty() || !session.conn().wants_read() {
                        break;
                    }
                    let n = session.conn().handle_read(rest, now);
                    rest = &rest[n..];
                }
            }
            Step::Eof => session.conn().handle_eof(now),
            Step::Advance(by) => {
                let until = now + *by;
                while let Some(deadline) = session.conn().poll_timeout().filter(|d| *d <= until) {
                    now = now.max(deadline);
                    session.conn().handle_timeout(now);
                    settle(&mut session, now, &mut out);
                }
                now = until;
            }
            Step::Shutdown => session.conn().shutdown(now),
        }
        settle(&mut session, now, &mut out);
        sent.push(crate::wire::normalise_date(&out));
    }
    let conn = session.connection();
    Transcript {
        sent,
        closes: conn.wants_write_shutdown() || conn.is_closed(),
    }
}

/// Drives the session and drains its output until nothing changes.
fn settle(session: &mut Session, now: Instant, out: &mut Vec<u8>) {
    loop {
        session.drive(&DemoApp);
        if !session.conn().wants_write() {
            return;
        }
        let conn = session.conn();
        let mut slices = [IoSlice::new(&[]); 16];
        let n = conn.transmit_slices(&mut slices);
        let written: usize = slices[..n].iter().map(|s| s.len()).sum();
        for slice in &slices[..n] {
            out.extend_from_slice(slice);
        }
        conn.advance_transmit(written, now);
    }
}
