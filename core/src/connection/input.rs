//! The server's own input: the peer's EOF. Bytes, time and write failures
//! go through the shared skeleton (`conn.rs`), which asks the role what
//! they mean (`received`, `fire` in `state.rs`).

use std::time::Instant;

use super::ServerConnection;

impl ServerConnection {
    /// The peer closed its sending side (a read returned 0). A request
    /// already received is still answered; a partial one is an error.
    pub fn handle_eof(&mut self, now: Instant) {
        self.wire.on_input(now);
        self.peer_closed();
    }
}
