//! The `Date` header value (RFC 9110 §5.6.7, IMF-fixdate).
//!
//! The core never reads a clock. A connection is given one wall-clock reading
//! when it is created, together with the `Instant` of that moment; the date of
//! any later `now` is that reading plus the monotonic time since. The
//! formatted value is cached per second, so a busy connection formats it once
//! a second at most.

use std::time::{Duration, Instant, SystemTime};

/// Length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) const DATE_LEN: usize = 29;

/// Turns a monotonic `now` into the `Date` header value, cached per second.
#[derive(Debug, Clone)]
pub(crate) struct DateClock {
    anchor: Instant,
    anchor_unix: Duration,
    cached_second: Option<u64>,
    /// The instants between which `cached` is right.
    valid: Option<(Instant, Instant)>,
    cached: [u8; DATE_LEN],
}

impl DateClock {
    pub(crate) fn new(now: Instant, wall_clock: SystemTime) -> Self {
        let anchor_unix = wall_clock
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        DateClock {
            anchor: now,
            anchor_unix,
            cached_second: None,
            valid: None,
            cached: [b' '; DATE_LEN],
        }
    }

    /// The `Date` value for `now`.
    pub(crate) fn date(&mut self, now: Instant) -> &[u8; DATE_LEN] {
        if self
            .valid
            .is_some_and(|(from, until)| from <= now && now < until)
        {
            return &self.cached;
        }
        let since_anchor = now.saturating_duration_since(self.anchor);
        let unix = self.anchor_unix + since_anchor;
        let second = unix.as_secs();
        if self.cached_second != Some(second) {
            self.cached = format_imf_fixdate(second);
            self.cached_second = Some(second);
        }
        let into_second = Duration::from_nanos(u64::from(unix.subsec_nanos()));
        let from = now.checked_sub(into_second).unwrap_or(now);
        self.valid = Some((from, from + Duration::from_secs(1)));
        &self.cached
    }
}

const WEEKDAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Formats seconds since the Unix epoch as an IMF-fixdate.
pub(crate) fn format_imf_fixdate(unix_seconds: u64) -> [u8; DATE_LEN] {
    let days = unix_seconds / 86_400;
    let second_of_day = unix_seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    let weekday = WEEKDAYS[(days % 7) as usize]; // 1970-01-01 was a Thursday

    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[0..3].copy_from_slice(weekday);
    two_digits(&mut out[5..7], day);
    out[8..11].copy_from_slice(MONTHS[(month - 1) as usize]);
    let year = year.min(9999);
    for (i, place) in [1000, 100, 10, 1].into_iter().enumerate() {
        out[12 + i] = b'0' + ((year / place) % 10) as u8;
    }
    two_digits(&mut out[17..19], second_of_day / 3600);
    two_digits(&mut out[20..22], (second_of_day / 60) % 60);
    two_digits(&mut out[23..25], second_of_day % 60);
    out
}

fn two_digits(out: &mut [u8], value: u64) {
    out[0] = b'0' + (value / 10) as u8;
    out[1] = b'0' + (value % 10) as u8;
}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31), proleptic
/// Gregorian calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(secs: u64) -> String {
        String::from_utf8(format_imf_fixdate(secs).to_vec()).unwrap()
    }

    #[test]
    fn formats_known_dates() {
        assert_eq!(fmt(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        // The example in RFC 9110 §5.6.7.
        assert_eq!(fmt(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(fmt(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(fmt(1_798_761_599), "Thu, 31 Dec 2026 23:59:59 GMT");
    }

    #[test]
    fn clock_advances_with_monotonic_time_and_caches_per_second() {
        let start = crate::tests::origin();
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let mut clock = DateClock::new(start, wall);
        assert_eq!(clock.date(start), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            clock.date(start + Duration::from_millis(999)),
            b"Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(
            clock.date(start + Duration::from_secs(23)),
            b"Sun, 06 Nov 1994 08:50:00 GMT"
        );
    }
}
