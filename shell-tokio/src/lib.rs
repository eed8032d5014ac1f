//! The tokio shell for nutshell-core (being written).
