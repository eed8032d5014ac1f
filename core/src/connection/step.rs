//! Parsing progress: turning buffered bytes into events, one step at a time.
//! Runs inside `poll_event`, so the application has answered (or not) every
//! event before the next one is made. Every change of state goes through a
//! transition in `state.rs`.

use crate::decode::Decoded;
use crate::encode;
use crate::parse::{self, HeadEnd, HeadScan, LineCheck};
use crate::{ContinueMode, Event};

use super::state::{Reading, Writing};
use super::ServerConnection;

impl ServerConnection {
    /// Makes one step of progress; false when nothing more can happen until
    /// the next input or command.
    pub(super) fn step(&mut self) -> bool {
        if self.closed {
            return false;
        }
        match self.role.reading {
            Reading::Head { .. } => self.step_head(),
            Reading::Body { .. } => self.step_body(),
            Reading::Done | Reading::Stopped | Reading::Lingering { .. } | Reading::Upgraded => {
                false
            }
        }
    }

    fn step_head(&mut self) -> bool {
        // Strictly in order: the next request waits for the previous
        // response, and for room in the transmit queue.
        if self.role.writing != Writing::Idle || self.closing.is_some() || self.output_backlogged()
        {
            return false;
        }
        // The common case after each kept-alive response: nothing buffered,
        // so nothing to search (and the scan state is still fresh).
        if self.wire.recv.is_empty() {
            return self.starved();
        }
        let Reading::Head {
            scan,
            empty_lines,
            line,
        } = &mut self.role.reading
        else {
            return false;
        };
        let config = &*self.config;
        let found =
            parse::skip_empty_lines(&mut self.wire.recv, empty_lines, config).and_then(|skipped| {
                if skipped {
                    *scan = HeadScan::default();
                    *line = LineCheck::default();
                }
                parse::find_request_head(self.wire.recv.data(), scan, line, config)
            });
        match found {
            Ok(HeadEnd::Incomplete) => self.starved(),
            Ok(HeadEnd::At(end)) => {
                let head = &self.wire.recv.data()[..end];
                match parse::parse_scanned_request_head(head, scan, config) {
                    Ok(mut head) => {
                        head.bytes = self.wire.recv.split_to(end);
                        self.start_request(head);
                    }
                    Err(error) => self.protocol_error(error),
                }
                true
            }
            Err(error) => {
                self.protocol_error(error);
                true
            }
        }
    }

    fn step_body(&mut self) -> bool {
        self.auto_continue();
        let Reading::Body {
            decoder,
            discard,
            starved,
        } = &mut self.role.reading
        else {
            return false;
        };
        let decoded = match decoder.decode(&mut self.wire.recv, &self.config) {
            Ok(Some(decoded)) => decoded,
            Ok(None) => return self.starved(),
            Err(error) => {
                self.protocol_error(error);
                return true;
            }
        };
        *starved = false;
        match (decoded, discard) {
            (Decoded::Data(data), Some(left)) => {
                *left = left.saturating_sub(data.len() as u64);
                if *left == 0 {
                    // Too much unread body to drain: close instead.
                    self.discard_exhausted();
                }
            }
            (Decoded::Data(data), None) => self.events.push_back(Event::Body(data)),
            (Decoded::Trailers(trailers), None) => self.events.push_back(Event::Trailers(trailers)),
            (Decoded::Trailers(_), Some(_)) => {}
            (Decoded::End, _) => self.body_ended(),
        }
        true
    }

    /// `ContinueMode::Automatic`: the application asked for the next event
    /// after the head without answering, so it wants the body: send 100.
    fn auto_continue(&mut self) {
        if self.config.continue_mode != ContinueMode::Automatic {
            return;
        }
        if let Writing::Head(exchange) = &mut self.role.writing {
            if exchange.expects_continue && !exchange.continue_sent {
                exchange.continue_sent = true;
                self.wire.queue(encode::CONTINUE);
            }
        }
    }
}
