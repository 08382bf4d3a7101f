//! Time as the wire sees it: milliseconds since the Unix epoch.
//!
//! The domain never reads a clock; `now` is always an argument.

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch (CodeSignal's `Timestamp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// `self + duration`, saturating instead of overflowing.
    pub const fn plus(self, duration: Millis) -> Self {
        Self(self.0.saturating_add(duration.0))
    }

    /// `self - earlier`, never negative.
    pub fn since(self, earlier: Timestamp) -> Millis {
        Millis((self.0 - earlier.0).max(0))
    }
}

/// A duration in milliseconds (CodeSignal's `Float` durations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Millis(i64);

impl Millis {
    pub const SECOND: Millis = Millis(1_000);
    pub const MINUTE: Millis = Millis(60_000);
    pub const HOUR: Millis = Millis(3_600_000);
    pub const DAY: Millis = Millis(86_400_000);

    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    pub const fn days(n: i64) -> Self {
        Self(n * 86_400_000)
    }

    pub const fn minutes(n: i64) -> Self {
        Self(n * 60_000)
    }
}

/// Where the code that acts on the domain gets "now" (the domain itself takes it as an
/// argument). The wall clock lives in the engine; tests use [`ManualClock`].
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// A clock that moves only when told to: tests use it to reach expiries, time limits and
/// retry schedules without waiting.
#[derive(Debug)]
pub struct ManualClock(std::sync::atomic::AtomicI64);

impl ManualClock {
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock(std::sync::atomic::AtomicI64::new(start.as_millis()))
    }

    pub fn advance(&self, by: Millis) {
        self.0.fetch_add(by.as_millis(), std::sync::atomic::Ordering::SeqCst);
    }

    pub fn set(&self, to: Timestamp) {
        self.0.store(to.as_millis(), std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// `YYYY-MM-DD hh:mm:ss.mmm UTC`: how the product prints an instant to the millisecond (the
/// inspector's pages, `screenhook listen`).
pub fn utc(at: Timestamp) -> String {
    let ms = at.as_millis();
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        ms.rem_euclid(1000)
    )
}

/// Howard Hinnant's civil-date algorithms: days since 1970-01-01 to (year, month, day)…
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// …and back.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc() {
        assert_eq!(utc(Timestamp::from_millis(0)), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(utc(Timestamp::from_millis(1_750_000_000_123)), "2025-06-15 15:06:40.123 UTC");
    }
}
