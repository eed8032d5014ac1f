//! One conformance suite, run against every nutshell shell over real
//! sockets on 127.0.0.1.
//!
//! - [`cases`]: the framing, smuggling and limit cases as data (bytes in,
//!   responses out), each sent whole and one byte at a time.
//! - [`reference`](mod@reference): the oracle. The core driven in memory; every shell's
//!   bytes must equal its transcript after `Date` normalisation, so all
//!   shells answer byte for byte alike.
//! - [`scenarios`]: timeouts, large bodies, resets, half-close, many
//!   clients, a flood that never reads, graceful shutdown.
//! - [`clients`]: ureq, hyper's client and curl.
//! - [`server`], [`wire`]: starting a shell (stopped by RAII) and the raw
//!   client side.
//!
//! `tests/conformance.rs` stamps every test out once per shell with
//! `conformance_suite!`. Run with `cargo test -p nutshell-tests`.

pub mod cases;
pub mod clients;
pub mod reference;
pub mod scenarios;
pub mod server;
pub mod wire;

pub use server::{Running, Start};
