//! A client core and a server core wired together over a fake link with a
//! virtual clock: what one sends, the other receives, cut into pieces as
//! the test says. No sockets, no sleeps.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{App, Harness};
use crate::client::{ClientConnection, ClientEvent, ClientRequest};
use crate::{CloseReason, Config, ProtocolError, UsageError};

/// A client event, normalised for comparison (body pieces merged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientRecord {
    /// A 1xx head.
    Informational(u16),
    /// A final head: status and fields (names lowercased).
    Response(u16, Vec<(String, Vec<u8>)>),
    /// Body bytes, consecutive pieces merged.
    Body(Vec<u8>),
    /// A trailer section.
    Trailers(Vec<(String, Vec<u8>)>),
    /// The end of a response.
    ResponseEnd,
    /// An upgrade, with the leftover bytes.
    Upgrade(Vec<u8>),
    /// A protocol error.
    Error(ProtocolError),
    /// The close.
    Closed(CloseReason),
}

/// A client connection and a server [`Harness`] joined by a fake link.
#[derive(Debug)]
pub struct Pair {
    /// The client side.
    pub client: ClientConnection,
    /// The server side and its application.
    pub server: Harness,
    records: Vec<ClientRecord>,
    /// Piece sizes the link cuts its traffic into, in turn (empty: whole).
    pub cuts: Vec<usize>,
    next_cut: usize,
}

impl Pair {
    /// A pair with the same `config` on both sides, clocks starting at `origin`.
    pub fn new(config: Config, origin: Instant, app: impl App + 'static) -> Self {
        Pair {
            client: ClientConnection::new(Arc::new(config.clone()), origin),
            server: Harness::new(config, origin, app),
            records: Vec::new(),
            cuts: Vec::new(),
            next_cut: 0,
        }
    }

    /// Sends a whole request from the client and moves bytes until both
    /// sides settle.
    pub fn request(&mut self, request: ClientRequest, body: Bytes) -> Result<(), UsageError> {
        self.client.request(request, body)?;
        self.settle();
        Ok(())
    }

    /// Moves bytes both ways and drains both sides until nothing moves.
    /// Panics after 100,000 steps: a livelock fails the test.
    pub fn settle(&mut self) {
        for _ in 0..100_000 {
            let mut moved = self.drain_client();
            let now = self.server.now();
            if let Some(bytes) = self.client.poll_transmit(now) {
                let mut at = 0;
                while at < bytes.len() {
                    let piece = self.next_piece(bytes.len() - at);
                    self.server.feed(&bytes[at..at + piece]);
                    at += piece;
                }
                moved = true;
            }
            self.server.drain();
            let sent = self.server.take_sent();
            let mut at = 0;
            while at < sent.len() {
                let piece = self.next_piece(sent.len() - at);
                let taken = self.client.handle_read(&sent[at..at + piece], now);
                self.drain_client();
                if taken == 0 {
                    break;
                }
                at += taken;
                moved = true;
            }
            if !moved {
                return;
            }
        }
        panic!("the pair did not settle within 100,000 steps");
    }

    /// Moves both clocks forward by `by`, firing deadlines on both sides.
    pub fn advance(&mut self, by: Duration) {
        self.server.advance(by);
        self.client.handle_timeout(self.server.now());
        self.settle();
    }

    fn next_piece(&mut self, left: usize) -> usize {
        if self.cuts.is_empty() {
            return left;
        }
        let cut = self.cuts[self.next_cut % self.cuts.len()].max(1);
        self.next_cut += 1;
        cut.min(left)
    }

    fn drain_client(&mut self) -> bool {
        let mut moved = false;
        while let Some(event) = self.client.poll_event() {
            moved = true;
            let record = match event {
                ClientEvent::Informational(head) => {
                    ClientRecord::Informational(head.status().as_u16())
                }
                ClientEvent::Response(head) => ClientRecord::Response(
                    head.status().as_u16(),
                    head.headers()
                        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_vec()))
                        .collect(),
                ),
                ClientEvent::Body(data) => {
                    if let Some(ClientRecord::Body(body)) = self.records.last_mut() {
                        body.extend_from_slice(&data);
                        continue;
                    }
                    ClientRecord::Body(data.to_vec())
                }
                ClientEvent::Trailers(map) => ClientRecord::Trailers(
                    map.iter()
                        .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
                        .collect(),
                ),
                ClientEvent::ResponseEnd => ClientRecord::ResponseEnd,
                ClientEvent::Upgrade { leftover } => ClientRecord::Upgrade(leftover.to_vec()),
                ClientEvent::Error(error) => ClientRecord::Error(error),
                ClientEvent::Closed(reason) => ClientRecord::Closed(reason),
            };
            self.records.push(record);
        }
        moved
    }

    /// The client's events so far, normalised.
    pub fn client_records(&self) -> &[ClientRecord] {
        &self.records
    }
}
