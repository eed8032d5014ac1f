//! Shared helpers for the conformance suite (being written).
