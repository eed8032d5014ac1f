//! How much of the demo app's hashing makes a microsecond on this machine,
//! for `GET /cpu/{us}`. The core reads no clock, so the cli measures.

use std::time::{Duration, Instant};

use nutshell_demo::compute;

/// Hash rounds per microsecond: the fastest of a few timed runs of about
/// 2 ms each (the fastest is the one least disturbed by other work).
pub(crate) fn cpu_rounds_per_us() -> u64 {
    const ROUNDS: u64 = 200_000;
    let mut best = Duration::MAX;
    for _ in 0..7 {
        let start = Instant::now();
        compute(ROUNDS);
        best = best.min(start.elapsed());
    }
    let micros = best.as_secs_f64() * 1e6;
    ((ROUNDS as f64 / micros.max(1e-3)).round() as u64).max(1)
}
