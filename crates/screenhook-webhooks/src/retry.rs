//! The retry schedule, as data and pure functions.
//!
//! This is the policy CodeSignal's Webhook API documents, not a house curve:
//! receivers written against CodeSignal expect its timing. After the
//! `failCount`-th failed attempt the next one waits
//!
//! ```text
//! secondsToWait = (failCount - 1)^4 + 15 + random(30) * failCount
//! ```
//!
//! CodeSignal does not say what `random(30)` is; we read it as a uniform
//! *real* number in `[0, 30]` (its documented table assumes a mean of 15,
//! which fits). Up to 25 attempts are made in total; 25 consecutive failures
//! disable the webhook; owners are emailed after the 5th and 14th failure
//! and after every failure from the 16th on.
//!
//! Delivery is at-least-once: a retry re-sends the same `webhook-id` with a
//! new timestamp and signature (see [`crate::signature`]).
//!
//! # `Retry-After`
//!
//! CodeSignal says nothing about it. We honour it only on 429 and 503, the
//! statuses where RFC 9110 gives it meaning for a retry, and clamp it:
//! never *earlier* than the formula's delay (a receiver cannot pull retries
//! forward or burn attempts faster than CodeSignal's schedule allows) and never
//! later than `max(2 × formula delay, 1 h)` (a receiver can ask for a
//! breather, but cannot stretch the schedule without bound). The 1 h term
//! lets a rate-limited receiver ask for minutes even when the formula delay
//! is only seconds; the 2× term mirrors Svix for the long, late delays.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Retry and notification policy; `Default` is CodeSignal's documented policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts per event, first try included.
    pub max_attempts: u32,
    /// Upper bound of the `random(30)` term, in seconds.
    pub random_max_secs: f64,
    /// Failure counts after which the owners are emailed once each.
    pub owner_email_after: Vec<u32>,
    /// From this failure count on, every failure emails the owners.
    pub owner_email_every_from: u32,
    /// Consecutive failed attempts (across events) that disable the webhook.
    pub disable_after_consecutive_failures: u32,
    /// Absolute ceiling for an honoured `Retry-After`, in seconds.
    pub retry_after_cap_secs: u64,
    /// Relative ceiling for an honoured `Retry-After`: this many formula delays.
    pub retry_after_cap_factor: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 25,
            random_max_secs: 30.0,
            owner_email_after: vec![5, 14],
            owner_email_every_from: 16,
            disable_after_consecutive_failures: 25,
            retry_after_cap_secs: 60 * 60,
            retry_after_cap_factor: 2,
        }
    }
}

impl RetryPolicy {
    /// Draws the `random(30)` term: uniform in `[0, random_max_secs]`.
    pub fn draw_random(&self, rng: &mut impl Rng) -> f64 {
        rng.random_range(0.0..=self.random_max_secs.max(0.0))
    }
}

/// CodeSignal's delay after the `fail_count`-th failure:
/// `(fail_count - 1)^4 + 15 + random * fail_count` seconds.
///
/// `random` is the already-drawn `random(30)` term; a negative or NaN value
/// counts as 0. `fail_count` starts at 1 (0 is treated like 1 for the power
/// term and contributes no random part).
pub fn delay_after_failure(fail_count: u32, random: f64) -> Duration {
    let power = u64::from(fail_count.saturating_sub(1)).pow(4);
    let random = if random.is_nan() { 0.0 } else { random.max(0.0) };
    let jitter = random * f64::from(fail_count);
    Duration::from_secs(power + 15) + Duration::from_secs_f64(jitter)
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NextStep {
    /// Try again after this delay.
    RetryAfter(Duration),
    /// The event has used all its attempts. Under the default policy this
    /// is also the 25th consecutive failure, which disables the webhook
    /// (the store's `HealthPolicy::after_failure` applies that rule).
    GiveUp,
}

/// Decides the next step after the `fail_count`-th failed attempt of an
/// event.
///
/// `status` is the HTTP status when the receiver answered (`None` for a
/// transport failure); `retry_after` is the parsed header, honoured only on
/// 429 and 503 and clamped as the module docs describe.
pub fn next_attempt(
    policy: &RetryPolicy,
    fail_count: u32,
    random: f64,
    retry_after: Option<RetryAfter>,
    status: Option<u16>,
) -> NextStep {
    if fail_count >= policy.max_attempts {
        return NextStep::GiveUp;
    }
    let formula = delay_after_failure(fail_count, random);
    let delay = match retry_after {
        Some(RetryAfter(asked)) if matches!(status, Some(429 | 503)) => {
            let cap = (formula * policy.retry_after_cap_factor)
                .max(Duration::from_secs(policy.retry_after_cap_secs))
                .max(formula);
            asked.clamp(formula, cap)
        }
        _ => formula,
    };
    NextStep::RetryAfter(delay)
}

/// A parsed `Retry-After` header: how long the receiver asked us to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Parses delta-seconds (`120`) or an IMF-fixdate
    /// (`Sun, 06 Nov 1994 08:49:37 GMT`) relative to `now_unix_secs`.
    ///
    /// A date in the past means "now" (zero). The obsolete RFC 850 and
    /// asctime date forms, and anything else unparseable, give `None`, and
    /// the formula delay applies as if the header were absent.
    pub fn parse(value: &str, now_unix_secs: i64) -> Option<Self> {
        let value = value.trim();
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            // Absurdly long digit strings saturate instead of failing: the
            // clamp bounds them anyway.
            let secs = value.parse::<u64>().unwrap_or(u64::MAX);
            return Some(Self(Duration::from_secs(secs)));
        }
        let at = parse_imf_fixdate(value)?;
        let wait = at.saturating_sub(now_unix_secs).max(0);
        Some(Self(Duration::from_secs(wait.unsigned_abs())))
    }
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` → Unix seconds.
fn parse_imf_fixdate(value: &str) -> Option<i64> {
    const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    let (day_name, rest) = value.split_once(", ")?;
    if !DAY_NAMES.contains(&day_name) {
        return None;
    }
    let mut parts = rest.split(' ');
    let (day, month, year, time, zone) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || zone != "GMT" || day.len() != 2 || year.len() != 4 {
        return None;
    }
    let day: u32 = fixed_digits(day)?;
    let month = u32::try_from(MONTHS.iter().position(|m| *m == month)? + 1).ok()?;
    let year: i64 = fixed_digits(year)?.into();

    let mut clock = time.split(':');
    let (hour, minute, second) = (clock.next()?, clock.next()?, clock.next()?);
    if clock.next().is_some() || [hour, minute, second].iter().any(|p| p.len() != 2) {
        return None;
    }
    let (hour, minute, second) = (fixed_digits(hour)?, fixed_digits(minute)?, fixed_digits(second)?);
    if !(1..=days_in_month(year, month)).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + i64::from(hour * 3600 + minute * 60 + second))
}

fn fixed_digits(text: &str) -> Option<u32> {
    text.bytes().all(|b| b.is_ascii_digit()).then(|| text.parse().ok())?
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    const DAY: f64 = 86_400.0;

    #[test]
    fn default_is_codesignals_policy() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.max_attempts, 25);
        assert_eq!(policy.random_max_secs, 30.0);
        assert_eq!(policy.owner_email_after, [5, 14]);
        assert_eq!(policy.owner_email_every_from, 16);
        assert_eq!(policy.disable_after_consecutive_failures, 25);
    }

    #[test]
    fn codesignals_table_with_random_fifteen() {
        let secs = |fail_count| delay_after_failure(fail_count, 15.0).as_secs_f64();
        assert_eq!(secs(1), 30.0);
        assert_eq!(secs(2), 46.0);
        assert_eq!(secs(3), 76.0);
        // Rows exactly as CodeSignal's documented table prints them: (failCount, wait, unit).
        let rows = [
            (4, "2.6", 60.0),
            (5, "5.8", 60.0),
            (6, "12.2", 60.0),
            (7, "23.6", 60.0),
            (8, "42.3", 60.0),
            (9, "70.8", 60.0),
            (10, "112", 60.0),
            (11, "2.8", 3600.0),
            (12, "4.1", 3600.0),
            (13, "5.8", 3600.0),
            (14, "8.0", 3600.0),
            (15, "10.7", 3600.0),
            (16, "14.1", 3600.0),
            (17, "18.3", 3600.0),
            (18, "23.3", 3600.0),
            (19, "29.2", 3600.0),
            (20, "36.3", 3600.0),
            (21, "44.5", 3600.0),
            (22, "2.25", DAY),
            (23, "2.72", DAY),
            (24, "3.24", DAY),
        ];
        for (fail_count, printed, unit) in rows {
            let decimals = printed.split_once('.').map_or(0, |(_, fraction)| fraction.len());
            let shown = format!("{:.*}", decimals, secs(fail_count) / unit);
            assert_eq!(shown, printed, "failCount {fail_count}");
        }
        let cumulative: f64 = (1..=24).map(secs).sum();
        assert!((cumulative / DAY - 16.62).abs() < 0.005, "cumulative {}", cumulative / DAY);
    }

    #[test]
    fn schedule_ends_after_twenty_five_attempts() {
        let policy = RetryPolicy::default();
        let steps: Vec<_> = (1..=25).map(|n| next_attempt(&policy, n, 15.0, None, Some(500))).collect();
        assert!(steps[..24].iter().all(|step| matches!(step, NextStep::RetryAfter(_))));
        assert_eq!(steps[24], NextStep::GiveUp);
    }

    #[test]
    fn random_term_is_clamped_below_and_nan_safe() {
        assert_eq!(delay_after_failure(1, -5.0), Duration::from_secs(15));
        assert_eq!(delay_after_failure(1, f64::NAN), Duration::from_secs(15));
        assert_eq!(delay_after_failure(0, 30.0), Duration::from_secs(15));
        assert_eq!(delay_after_failure(2, 30.0), Duration::from_secs(76));
    }

    #[test]
    fn drawn_random_stays_in_range() {
        let policy = RetryPolicy::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..1000 {
            let r = policy.draw_random(&mut rng);
            assert!((0.0..=30.0).contains(&r));
        }
    }

    fn retry(fail_count: u32, retry_after_secs: u64, status: u16) -> Duration {
        let asked = Some(RetryAfter(Duration::from_secs(retry_after_secs)));
        match next_attempt(&RetryPolicy::default(), fail_count, 15.0, asked, Some(status)) {
            NextStep::RetryAfter(delay) => delay,
            NextStep::GiveUp => panic!("gave up at {fail_count}"),
        }
    }

    #[test]
    fn retry_after_is_honoured_only_on_429_and_503() {
        assert_eq!(retry(1, 600, 429), Duration::from_secs(600));
        assert_eq!(retry(1, 600, 503), Duration::from_secs(600));
        assert_eq!(retry(1, 600, 500), Duration::from_secs(30));
        assert_eq!(retry(1, 600, 200), Duration::from_secs(30));
        let transport =
            next_attempt(&RetryPolicy::default(), 1, 15.0, Some(RetryAfter(Duration::from_secs(600))), None);
        assert_eq!(transport, NextStep::RetryAfter(Duration::from_secs(30)));
    }

    #[test]
    fn retry_after_is_clamped() {
        // Never earlier than the formula.
        assert_eq!(retry(3, 0, 429), Duration::from_secs(76));
        // Early on, at most an hour.
        assert_eq!(retry(1, 86_400, 429), Duration::from_secs(3600));
        // Late, at most twice the formula delay (failCount 10: 6726 s).
        assert_eq!(retry(10, 10 * 86_400, 503), Duration::from_secs(2 * 6726));
        assert_eq!(retry(10, 8000, 503), Duration::from_secs(8000));
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        let now = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT
        let parse = |v| RetryAfter::parse(v, now).map(|RetryAfter(d)| d.as_secs());
        assert_eq!(parse("120"), Some(120));
        assert_eq!(parse(" 0 "), Some(0));
        assert_eq!(parse("99999999999999999999999"), Some(u64::MAX));
        assert_eq!(parse("Sun, 06 Nov 1994 08:51:37 GMT"), Some(120));
        assert_eq!(parse("Sun, 06 Nov 1994 08:49:37 GMT"), Some(0));
        assert_eq!(parse("Sat, 05 Nov 1994 08:49:37 GMT"), Some(0));
        assert_eq!(parse("Thu, 29 Feb 1996 00:00:00 GMT"), Some(41_440_223));
        assert_eq!(parse("-5"), None);
        assert_eq!(parse("1.5"), None);
        assert_eq!(parse(""), None);
        assert_eq!(parse("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse("Sun Nov  6 08:49:37 1994"), None);
        assert_eq!(parse("Sun, 06 Nov 1994 08:49:37 PST"), None);
        assert_eq!(parse("Fri, 29 Feb 1995 00:00:00 GMT"), None);
        assert_eq!(parse("Sun, 06 Nov 1994 24:00:00 GMT"), None);
    }

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }

    proptest! {
        #[test]
        fn honoured_delay_stays_within_bounds(fail_count in 1u32..25, random in 0.0f64..=30.0, asked in any::<u32>()) {
            let policy = RetryPolicy::default();
            let formula = delay_after_failure(fail_count, random);
            let step = next_attempt(&policy, fail_count, random, Some(RetryAfter(Duration::from_secs(asked.into()))), Some(429));
            let NextStep::RetryAfter(delay) = step else { panic!("gave up early") };
            prop_assert!(delay >= formula);
            prop_assert!(delay <= (formula * 2).max(Duration::from_secs(3600)));
        }
    }
}
