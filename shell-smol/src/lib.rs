//! The smol shell for nutshell-core (being written).
