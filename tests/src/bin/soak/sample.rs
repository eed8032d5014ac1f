//! The server's footprint from /proc: resident memory and open file
//! descriptors, sampled over the run, and the verdict on them.

use std::time::Duration;

/// One reading of the server process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    /// Since the traffic started.
    pub(crate) at: Duration,
    /// `VmRSS` in KiB.
    pub(crate) rss_kib: u64,
    /// Entries in /proc/PID/fd.
    pub(crate) fds: usize,
}

/// Reads the server's RSS and descriptor count; `None` once it is gone.
pub(crate) fn read(pid: u32, at: Duration) -> Option<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    Some(Sample { at, rss_kib, fds })
}

/// How much the final RSS may exceed the one at the end of the warm-up.
pub(crate) const RSS_GROWTH_LIMIT: f64 = 1.10;

/// The warm-up: one minute, or half of a shorter run (in a 30-second run
/// the allocator is still settling at 10 s: mio's RSS grew 4-8% from
/// there in two runs, and flattened after a minute in the 10-minute run).
pub(crate) fn warm_up(duration: Duration) -> Duration {
    Duration::from_secs(60).min(duration / 2)
}

/// Checks the samples for growth after the warm-up: the final RSS must
/// stay within [`RSS_GROWTH_LIMIT`] of the first sample taken at or after
/// the warm-up. Returns the two samples compared, or why it failed.
pub(crate) fn check_growth(
    samples: &[Sample],
    warm_up: Duration,
) -> Result<(Sample, Sample), String> {
    let mark = samples
        .iter()
        .find(|s| s.at >= warm_up)
        .copied()
        .ok_or("no sample after the warm-up")?;
    let last = *samples.last().ok_or("no samples")?;
    let limit = mark.rss_kib as f64 * RSS_GROWTH_LIMIT;
    if (last.rss_kib as f64) > limit {
        return Err(format!(
            "RSS grew from {} KiB at {:?} to {} KiB at {:?} (more than {:.0}%)",
            mark.rss_kib,
            mark.at,
            last.rss_kib,
            last.at,
            (RSS_GROWTH_LIMIT - 1.0) * 100.0
        ));
    }
    Ok((mark, last))
}
