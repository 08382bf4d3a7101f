//! Time as the wire sees it: milliseconds since the Unix epoch.
//!
//! The domain never reads a clock; `now` is always an argument.

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch (the reference's `Timestamp`).
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

/// A duration in milliseconds (the reference's `Float` durations).
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
