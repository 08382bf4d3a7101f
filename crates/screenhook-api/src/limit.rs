//! A token bucket per API key (429 with `Retry-After` when empty): `per_second` tokens flow in, at
//! most `burst` are kept, each operation takes one. In memory, so with several processes the
//! limit applies per process.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

struct Bucket {
    tokens: f64,
    refilled: Instant,
}

pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    pub fn new(per_second: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_second: f64::from(per_second.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `cost` tokens from `key`'s bucket, or says how long until they would be there.
    /// Keys are only ever authenticated API keys, so the map stays as small as the key table.
    pub fn take(&self, key: &str, cost: u32) -> Result<(), Duration> {
        let now = Instant::now();
        let cost = f64::from(cost);
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket { tokens: self.burst, refilled: now });
        let elapsed = now.duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.refilled = now;
        if bucket.tokens >= cost {
            bucket.tokens -= cost;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((cost - bucket.tokens) / self.per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refuses() {
        let limiter = RateLimiter::new(1, 3);
        assert!(limiter.take("a", 2).is_ok());
        assert!(limiter.take("a", 1).is_ok());
        let wait = limiter.take("a", 1).unwrap_err();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        // Buckets are per key.
        assert!(limiter.take("b", 3).is_ok());
    }
}
