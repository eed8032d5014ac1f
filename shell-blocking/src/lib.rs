//! The blocking shell for nutshell-core (being written).
