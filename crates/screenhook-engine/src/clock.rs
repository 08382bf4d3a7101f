//! Where "now" comes from. The domain never reads a clock; the engine asks one of these. The
//! trait and the manual clock live in the domain (so crates that need only "now" need not
//! depend on the engine); the wall clock is here.

use std::time::{SystemTime, UNIX_EPOCH};

use screenhook_domain::Timestamp;
pub use screenhook_domain::{Clock, ManualClock};

/// Wall-clock time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        Timestamp::from_millis(ms)
    }
}
