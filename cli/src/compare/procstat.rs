//! CPU time from /proc: per core from /proc/stat (softirq work included,
//! which the loopback TCP stack does and no process is charged for), and
//! per process from /proc/PID/stat.

/// /proc reports CPU time in USER_HZ ticks, which Linux fixes at 100.
const TICKS_PER_SECOND: f64 = 100.0;

/// Ticks of one core.
#[derive(Debug, Clone, Copy, Default)]
struct Ticks {
    /// Everything but idle and iowait: user, nice, system, irq, softirq, steal.
    busy: u64,
    /// Everything.
    total: u64,
    /// Time charged to tasks: user, nice, system.
    tasks: u64,
    /// Interrupt work: irq and softirq, charged to no process.
    interrupts: u64,
}

/// One reading of every core's counters.
#[derive(Debug, Clone, Default)]
pub(crate) struct CpuTimes {
    cores: Vec<Ticks>,
}

/// The counters now, or `None` without /proc/stat.
pub(crate) fn read() -> Option<CpuTimes> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let mut cores = Vec::new();
    for line in stat.lines() {
        // "cpu0 ...", "cpu1 ..."; not "cpu  ...", all cores together.
        let Some(rest) = line
            .strip_prefix("cpu")
            .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let Some(index) = fields.next().and_then(|i| i.parse::<usize>().ok()) else {
            continue;
        };
        let v: Vec<u64> = fields.take(8).filter_map(|f| f.parse().ok()).collect();
        if v.len() < 8 {
            continue;
        }
        // user nice system idle iowait irq softirq steal
        let ticks = Ticks {
            busy: v[0] + v[1] + v[2] + v[5] + v[6] + v[7],
            total: v.iter().sum(),
            tasks: v[0] + v[1] + v[2],
            interrupts: v[5] + v[6],
        };
        if cores.len() <= index {
            cores.resize(index + 1, Ticks::default());
        }
        cores[index] = ticks;
    }
    Some(CpuTimes { cores })
}

impl CpuTimes {
    /// Busy seconds on `cores` since `before`, and that as a share of the
    /// time those cores had (0..=1). `None` for no cores.
    pub(crate) fn busy_since(&self, before: &CpuTimes, cores: &[usize]) -> Option<(f64, f64)> {
        if cores.is_empty() {
            return None;
        }
        let (mut busy, mut total) = (0u64, 0u64);
        for &core in cores {
            let (now, then) = (self.cores.get(core)?, before.cores.get(core)?);
            busy += now.busy.saturating_sub(then.busy);
            total += now.total.saturating_sub(then.total);
        }
        let share = if total == 0 {
            0.0
        } else {
            busy as f64 / total as f64
        };
        Some((busy as f64 / TICKS_PER_SECOND, share))
    }

    /// Seconds of interrupt work (irq, softirq) on `cores` since `before`:
    /// for loopback TCP, mostly the network stack working for whoever runs
    /// there, which process counters miss.
    pub(crate) fn interrupt_seconds_since(
        &self,
        before: &CpuTimes,
        cores: &[usize],
    ) -> Option<f64> {
        if cores.is_empty() {
            return None;
        }
        let mut ticks = 0;
        for &core in cores {
            let (now, then) = (self.cores.get(core)?, before.cores.get(core)?);
            ticks += now.interrupts.saturating_sub(then.interrupts);
        }
        Some(ticks as f64 / TICKS_PER_SECOND)
    }

    /// Seconds charged to tasks on all cores since `before`.
    pub(crate) fn task_seconds_since(&self, before: &CpuTimes) -> f64 {
        let ticks: u64 = self
            .cores
            .iter()
            .zip(&before.cores)
            .map(|(now, then)| now.tasks.saturating_sub(then.tasks))
            .sum();
        ticks as f64 / TICKS_PER_SECOND
    }
}

/// User plus system CPU seconds of process `pid` ("self" for this one),
/// all threads, exited ones too.
pub(crate) fn process_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may
    // contain spaces: state is the first, utime the 12th, stime the 13th.
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    Some((ticks(11)? + ticks(12)?) / TICKS_PER_SECOND)
}

/// A field of /proc/PID/status as a number (`Threads:`, `VmHWM:` in KiB).
pub(crate) fn status_field(pid: &str, name: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}
