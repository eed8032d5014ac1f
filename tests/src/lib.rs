//! One conformance suite, run against every nutshell shell over real
//! sockets on 127.0.0.1.
//!
//! - [`cases`]: the framing, smuggling and limit cases as data (bytes in,
//!   responses out), each sent whole and one byte at a time.
//! - [`reference`](mod@reference): the oracle. The core driven in memory; every shell's
//!   bytes must equal its transcript after `Date` normalisation, so all
//!   shells answer byte for byte alike.
//! - [`scenarios`]: timeouts, large bodies, resets, half-close, many
//!   clients, graceful shutdown.
//! - [`overload`]: clients that send more than the server takes: a flood
//!   that never reads (closed by the write-stall timeout, not a read
//!   timer), an upload past the body limit that keeps writing.
//! - [`clients`]: ureq and hyper's client; [`curl`](mod@curl): curl, uploads
//!   past the limit included.
//! - [`server`], [`wire`]: starting a shell through the
//!   `nutshell_server::Shell` trait ([`server::start::<S>`](server::start),
//!   stopped by RAII) and the raw client side.
//!
//! `tests/conformance.rs` stamps every test out once per shell's server
//! type with `conformance_suite!`. Run with `cargo test -p nutshell-tests`.

pub mod cases;
pub mod clients;
pub mod curl;
pub mod overload;
pub mod reference;
pub mod scenarios;
pub mod server;
pub mod wire;

pub use server::{Running, Start};
