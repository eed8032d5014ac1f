//! The mio shell for nutshell-core (being written).
