//! Shared by the fuzz targets: a grammar of requests that knows which of
//! them the core must accept ([`grammar`]), and a reader of what the server
//! sent ([`responses`]).

pub mod grammar;
pub mod responses;
