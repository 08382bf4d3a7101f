//! Rows of webhook delivery: claimed work, attempt results, the delivery log and owner emails.
//!
//! Delivery is at-least-once. A claim leases a delivery to one worker until `lease_until` and
//! bumps its fencing token (`claim`); a result is recorded only if the token still matches, so
//! a worker that stalled past its lease cannot overwrite the new owner's result. A crashed
//! worker's claims simply expire and are claimed again.

use screenhook_domain::{
    CompanyId, EventId, EventKind, Millis, SessionId, Timestamp, WebhookHealth, WebhookId, WebhookState,
};

use crate::{StoreError, StoredEvent};

/// A delivery leased to a worker, with everything needed to send it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedDelivery {
    pub delivery_id: i64,
    /// The fencing token of this claim.
    pub claim: i64,
    /// Attempts already made (0 for a first attempt).
    pub attempts: u32,
    pub webhook_id: WebhookId,
    pub event: StoredEvent,
    /// This attempt probes an unhealthy webhook.
    pub probe: bool,
}

/// What became of a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptResult {
    Delivered,
    /// Failed; try again at this time.
    RetryAt(Timestamp),
    /// Failed for the last time: the delivery is kept as failed (and can be replayed).
    GiveUp,
}

/// One attempt, to record.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    pub delivery_id: i64,
    pub claim: i64,
    pub webhook_id: WebhookId,
    pub at: Timestamp,
    pub status: Option<u16>,
    /// A stable error class name (`timeout`, `connect`, …) when there was no answer.
    pub error_class: Option<String>,
    pub latency_ms: u32,
    /// The start of the response body, capped.
    pub excerpt: String,
    pub result: AttemptResult,
}

/// What one failed attempt does to its webhook ([`HealthPolicy::after_failure`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureOutcome {
    /// The webhook's new health (the probe lease is released with it).
    pub health: WebhookHealth,
    /// The webhook just left `active`: its queued deliveries wait for the probe.
    pub pause_queue: bool,
    /// An email to the webhook's owners, when the policy sends one at this count.
    pub owner_email: Option<OwnerEmail>,
}

/// The owner email a failure queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerEmail {
    pub disabled: bool,
    pub last_error: String,
}

/// How failures change a webhook's health, decided by the delivery policy and applied by the
/// store in the same transaction as the attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthPolicy {
    /// `probe_delays[n - 1]`: how long after its n-th consecutive failure an unhealthy webhook
    /// is probed again (the last entry repeats).
    pub probe_delays: Vec<Millis>,
    /// Consecutive failures that disable a webhook.
    pub disable_after: u32,
    /// Owner emails after these consecutive failures…
    pub email_after: Vec<u32>,
    /// …and after every failure from this one on.
    pub email_every_from: u32,
}

impl HealthPolicy {
    pub fn probe_delay(&self, failures: u32) -> Millis {
        let index = (failures.max(1) as usize - 1).min(self.probe_delays.len().saturating_sub(1));
        self.probe_delays.get(index).copied().unwrap_or(Millis::SECOND)
    }

    pub fn emails_owner(&self, failures: u32) -> bool {
        self.email_after.contains(&failures) || failures >= self.email_every_from
    }

    /// What a failed attempt does to its webhook, from the health the store holds (`state`,
    /// `consecutive_failures`, and whether the attempt held the probe lease). Both stores apply
    /// the answer as it is, in the transaction recording the attempt; `None` changes nothing.
    ///
    /// Attempts already in flight when the endpoint turned unhealthy report the same outage
    /// again: only the first failure and each probe count as consecutive failures.
    pub fn after_failure(
        &self,
        state: WebhookState,
        consecutive_failures: u32,
        was_probe: bool,
        attempt: &AttemptRecord,
    ) -> Option<FailureOutcome> {
        if state != WebhookState::Active && !was_probe {
            return None;
        }
        let failures = consecutive_failures + 1;
        // A disabled webhook stays disabled until someone tests and saves it.
        let new_state = if failures >= self.disable_after || state == WebhookState::Disabled {
            WebhookState::Disabled
        } else {
            WebhookState::Unhealthy
        };
        let owner_email = self.emails_owner(failures).then(|| OwnerEmail {
            disabled: new_state == WebhookState::Disabled,
            last_error: match (&attempt.status, &attempt.error_class) {
                (Some(status), _) => format!("the endpoint answered HTTP {status}"),
                (None, Some(class)) => format!("the request failed ({class})"),
                (None, None) => "the request failed".to_owned(),
            },
        });
        Some(FailureOutcome {
            health: WebhookHealth {
                state: new_state,
                consecutive_failures: failures,
                probe_after: attempt.at.plus(self.probe_delay(failures)),
            },
            pause_queue: state == WebhookState::Active,
            owner_email,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Next in line for its session; sent when due (and the webhook is active).
    Ready,
    /// Behind an earlier delivery of the same session.
    Waiting,
    Delivered,
    /// Gave up after the last attempt; kept, and replayable.
    Failed,
    /// Its webhook was deleted before it was delivered.
    Cancelled,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Ready => "ready",
            DeliveryState::Waiting => "waiting",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
            DeliveryState::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Option<DeliveryState> {
        [Self::Ready, Self::Waiting, Self::Delivered, Self::Failed, Self::Cancelled]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// A delivery as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    pub id: i64,
    pub webhook_id: WebhookId,
    pub event_id: EventId,
    pub event_kind: EventKind,
    pub session_id: Option<SessionId>,
    pub state: DeliveryState,
    /// Queued while its webhook is unhealthy or disabled: kept, sent once it recovers.
    pub paused: bool,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    /// Created by a replay or a recovery rather than by the event itself.
    pub replay: bool,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// One attempt in the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    pub delivery_id: i64,
    pub attempt: u32,
    pub at: Timestamp,
    pub status: Option<u16>,
    pub error_class: Option<String>,
    pub latency_ms: u32,
    pub excerpt: String,
}

/// Which deliveries to list; all filters combine. Newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    pub webhook: Option<WebhookId>,
    pub event: Option<EventId>,
    pub session: Option<SessionId>,
    /// Only deliveries with an id below this (paging backwards).
    pub before: Option<i64>,
    pub limit: u32,
}

/// An owner email to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: i64,
    pub webhook_id: WebhookId,
    pub company_id: CompanyId,
    pub consecutive_failures: u32,
    pub disabled: bool,
    pub last_error: String,
    pub created_at: Timestamp,
}

/// The most buckets one [`crate::Store::delivery_series`] answers; a longer series is refused.
pub const MAX_SERIES_BUCKETS: usize = 500;

/// One bucket of a webhook's deliveries, by creation time: the delivery log page's chart.
///
/// Bucket `i` of a series asked for `since..until` in buckets of `bucket` covers
/// `[since + i·bucket, since + (i+1)·bucket)`, cut at `until` (so the last bucket may be
/// shorter); every bucket of the window is returned, empty ones with zeros and `None`.
///
/// The counts are of the deliveries *created* in the bucket, by their state now; cancelled
/// deliveries (their webhook was deleted) count nowhere. The latencies are of the attempts
/// *made* in the bucket (by attempt time), whichever delivery they belong to.
///
/// Percentiles use the **nearest-rank** definition: of the bucket's `n` latencies in
/// ascending order `v[1] ≤ … ≤ v[n]`, the p-th percentile is `v[⌈p·n / 100⌉]`, always one of
/// the measured values (no interpolation). With latencies 5, 10, …, 100 (20 attempts) p50 is
/// 50, p95 is 95 and p99 is 100.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryBucket {
    pub start: Timestamp,
    /// Created in the bucket and delivered.
    pub delivered: u32,
    /// Created in the bucket and failed for good (state [`DeliveryState::Failed`]).
    pub failed: u32,
    /// Created in the bucket and still queued: [`DeliveryState::Ready`] or
    /// [`DeliveryState::Waiting`], including paused ones.
    pub pending: u32,
    /// Latency percentiles (ms) of the attempts made in this bucket (by attempt time), `None`
    /// when no attempt was made in it.
    pub latency_p50_ms: Option<u32>,
    pub latency_p95_ms: Option<u32>,
    pub latency_p99_ms: Option<u32>,
}

/// Builds a [`DeliveryBucket`] series from what a store counted, so that every store computes
/// the buckets and the percentiles the same way. For store implementations: count deliveries
/// by (bucket index, state) and attempts by (bucket index, latency) in the window, feed the
/// counts in any order, and [`finish`](Self::finish).
#[derive(Debug)]
pub struct SeriesBuilder {
    buckets: Vec<DeliveryBucket>,
    /// Per bucket: (latency, how many attempts took it).
    latencies: Vec<Vec<(u32, u64)>>,
}

impl SeriesBuilder {
    /// Checks the request: `bucket` must be positive, `until` not before `since`, and the
    /// window at most [`MAX_SERIES_BUCKETS`] buckets long. A refused request is a caller's bug
    /// (the console bounds what it asks for) and answers [`StoreError::InvalidChange`].
    pub fn new(since: Timestamp, until: Timestamp, bucket: Millis) -> Result<SeriesBuilder, StoreError> {
        let width = bucket.as_millis();
        if width <= 0 {
            return Err(StoreError::InvalidChange(format!(
                "a delivery series needs buckets longer than 0 ms, not {width} ms"
            )));
        }
        let span = i128::from(until.as_millis()) - i128::from(since.as_millis());
        if span < 0 {
            return Err(StoreError::InvalidChange(format!(
                "a delivery series cannot end ({}) before it starts ({})",
                until.as_millis(),
                since.as_millis()
            )));
        }
        let count = (span + i128::from(width) - 1) / i128::from(width);
        if count > MAX_SERIES_BUCKETS as i128 {
            return Err(StoreError::InvalidChange(format!(
                "a delivery series has at most {MAX_SERIES_BUCKETS} buckets; {count} buckets of {width} ms were asked for"
            )));
        }
        let count = count as usize;
        let buckets = (0..count)
            .map(|i| DeliveryBucket {
                // Within `since..until`, so it fits, whatever the product on its own would.
                start: Timestamp::from_millis((i128::from(since.as_millis()) + i128::from(width) * i as i128) as i64),
                delivered: 0,
                failed: 0,
                pending: 0,
                latency_p50_ms: None,
                latency_p95_ms: None,
                latency_p99_ms: None,
            })
            .collect();
        Ok(SeriesBuilder { buckets, latencies: vec![Vec::new(); count] })
    }

    /// How many buckets the series has.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// `count` deliveries created in bucket `index` are in `state` now. Out-of-range indexes
    /// (outside the window) are ignored.
    pub fn deliveries(&mut self, index: i64, state: DeliveryState, count: u64) {
        let Some(bucket) = usize::try_from(index).ok().and_then(|i| self.buckets.get_mut(i)) else { return };
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        let slot = match state {
            DeliveryState::Delivered => &mut bucket.delivered,
            DeliveryState::Failed => &mut bucket.failed,
            DeliveryState::Ready | DeliveryState::Waiting => &mut bucket.pending,
            DeliveryState::Cancelled => return,
        };
        *slot = slot.saturating_add(count);
    }

    /// `count` attempts made in bucket `index` took `latency_ms`. Out-of-range indexes are
    /// ignored.
    pub fn latencies(&mut self, index: i64, latency_ms: u32, count: u64) {
        if let Some(latencies) = usize::try_from(index).ok().and_then(|i| self.latencies.get_mut(i))
            && count > 0
        {
            latencies.push((latency_ms, count));
        }
    }

    /// The series, with each bucket's percentiles.
    pub fn finish(mut self) -> Vec<DeliveryBucket> {
        for (bucket, mut latencies) in self.buckets.iter_mut().zip(self.latencies) {
            latencies.sort_unstable();
            bucket.latency_p50_ms = nearest_rank(&latencies, 50);
            bucket.latency_p95_ms = nearest_rank(&latencies, 95);
            bucket.latency_p99_ms = nearest_rank(&latencies, 99);
        }
        self.buckets
    }
}

/// The `percent`-th percentile (nearest rank) of a histogram of (value, count) sorted by value:
/// the value at rank `⌈percent·n / 100⌉` of the `n` values, or `None` when there are none.
pub fn nearest_rank(histogram: &[(u32, u64)], percent: u32) -> Option<u32> {
    let n: u128 = histogram.iter().map(|(_, count)| u128::from(*count)).sum();
    if n == 0 {
        return None;
    }
    let rank = (u128::from(percent) * n).div_ceil(100).max(1);
    let mut seen = 0u128;
    for (value, count) in histogram {
        seen += u128::from(*count);
        if seen >= rank {
            return Some(*value);
        }
    }
    histogram.last().map(|(value, _)| *value)
}

#[cfg(test)]
mod tests {
    use screenhook_domain::{Millis, Timestamp, WebhookId, WebhookState};

    use super::{
        AttemptRecord, AttemptResult, DeliveryState, HealthPolicy, MAX_SERIES_BUCKETS, SeriesBuilder, nearest_rank,
    };
    use crate::StoreError;

    fn policy() -> HealthPolicy {
        HealthPolicy {
            probe_delays: vec![Millis::SECOND, Millis::MINUTE],
            disable_after: 3,
            email_after: vec![1],
            email_every_from: 3,
        }
    }

    fn failed(status: Option<u16>, error_class: Option<&str>) -> AttemptRecord {
        AttemptRecord {
            delivery_id: 1,
            claim: 1,
            webhook_id: WebhookId::parse("wh_1").unwrap(),
            at: Timestamp::from_millis(10_000),
            status,
            error_class: error_class.map(str::to_owned),
            latency_ms: 5,
            excerpt: String::new(),
            result: AttemptResult::GiveUp,
        }
    }

    #[test]
    fn a_first_failure_makes_an_active_webhook_unhealthy_and_pauses_its_queue() {
        let out = policy().after_failure(WebhookState::Active, 0, false, &failed(Some(500), None)).unwrap();
        assert_eq!(out.health.state, WebhookState::Unhealthy);
        assert_eq!(out.health.consecutive_failures, 1);
        assert_eq!(out.health.probe_after, Timestamp::from_millis(11_000));
        assert!(out.pause_queue);
        let email = out.owner_email.expect("the first failure emails");
        assert_eq!((email.disabled, email.last_error.as_str()), (false, "the endpoint answered HTTP 500"));
    }

    #[test]
    fn only_probes_count_once_unhealthy_and_the_limit_disables() {
        let p = policy();
        let attempt = failed(None, Some("timeout"));
        assert_eq!(p.after_failure(WebhookState::Unhealthy, 1, false, &attempt), None, "an in-flight straggler");
        let second = p.after_failure(WebhookState::Unhealthy, 1, true, &attempt).unwrap();
        assert_eq!(second.health.state, WebhookState::Unhealthy);
        assert_eq!(second.health.probe_after, Timestamp::from_millis(70_000), "the last delay repeats");
        assert!(!second.pause_queue, "already paused");
        assert_eq!(second.owner_email, None);
        let third = p.after_failure(WebhookState::Unhealthy, 2, true, &attempt).unwrap();
        assert_eq!(third.health.state, WebhookState::Disabled);
        let email = third.owner_email.unwrap();
        assert_eq!((email.disabled, email.last_error.as_str()), (true, "the request failed (timeout)"));
        // A disabled webhook's probe failing keeps it disabled, and from here on every failure emails.
        let again = p.after_failure(WebhookState::Disabled, 3, true, &failed(None, None)).unwrap();
        assert_eq!(again.health.state, WebhookState::Disabled);
        assert!(!again.pause_queue);
        assert_eq!(again.owner_email.map(|e| e.last_error), Some("the request failed".to_owned()));
    }

    #[test]
    fn nearest_rank_picks_a_measured_value() {
        let twenty: Vec<(u32, u64)> = (1..=20).map(|n| (n * 5, 1)).collect();
        assert_eq!(nearest_rank(&twenty, 50), Some(50));
        assert_eq!(nearest_rank(&twenty, 95), Some(95));
        assert_eq!(nearest_rank(&twenty, 99), Some(100));
        assert_eq!(nearest_rank(&[(7, 1)], 50), Some(7));
        assert_eq!(nearest_rank(&[(7, 1)], 99), Some(7));
        // Counts weigh: 1 (×98), 1000 (×2): p95 is 1, p99 is 1000.
        assert_eq!(nearest_rank(&[(1, 98), (1000, 2)], 95), Some(1));
        assert_eq!(nearest_rank(&[(1, 98), (1000, 2)], 99), Some(1000));
        assert_eq!(nearest_rank(&[], 50), None);
    }

    #[test]
    fn series_requests_are_bounded() {
        let since = Timestamp::from_millis(1_000);
        let minute = Millis::MINUTE;
        let at = |minutes: i64| since.plus(Millis::minutes(minutes));
        assert_eq!(SeriesBuilder::new(since, since, minute).unwrap().len(), 0);
        assert_eq!(SeriesBuilder::new(since, at(1), minute).unwrap().len(), 1);
        assert_eq!(SeriesBuilder::new(since, at(1).plus(Millis::from_millis(1)), minute).unwrap().len(), 2);
        assert_eq!(SeriesBuilder::new(since, at(MAX_SERIES_BUCKETS as i64), minute).unwrap().len(), MAX_SERIES_BUCKETS);
        for (until, bucket) in [
            (at(MAX_SERIES_BUCKETS as i64).plus(Millis::from_millis(1)), minute),
            (at(1), Millis::from_millis(0)),
            (at(1), Millis::from_millis(-5)),
            (Timestamp::from_millis(999), minute),
            (Timestamp::from_millis(i64::MAX), Millis::from_millis(1)),
        ] {
            let err = SeriesBuilder::new(since, until, bucket).unwrap_err();
            assert!(matches!(err, StoreError::InvalidChange(_)), "{err:?}");
        }
    }

    #[test]
    fn counts_land_in_their_buckets() {
        let since = Timestamp::from_millis(0);
        let mut series = SeriesBuilder::new(since, Timestamp::from_millis(250), Millis::from_millis(100)).unwrap();
        series.deliveries(0, DeliveryState::Delivered, 2);
        series.deliveries(0, DeliveryState::Waiting, 1);
        series.deliveries(0, DeliveryState::Ready, 1);
        series.deliveries(2, DeliveryState::Failed, 3);
        series.deliveries(2, DeliveryState::Cancelled, 9);
        series.deliveries(3, DeliveryState::Delivered, 9);
        series.deliveries(-1, DeliveryState::Delivered, 9);
        series.latencies(2, 30, 1);
        series.latencies(2, 10, 1);
        series.latencies(7, 10, 1);
        let buckets = series.finish();
        assert_eq!(buckets.iter().map(|b| b.start.as_millis()).collect::<Vec<_>>(), vec![0, 100, 200]);
        assert_eq!((buckets[0].delivered, buckets[0].failed, buckets[0].pending), (2, 0, 2));
        assert_eq!(buckets[0].latency_p50_ms, None);
        assert_eq!((buckets[1].delivered, buckets[1].failed, buckets[1].pending), (0, 0, 0));
        assert_eq!((buckets[2].delivered, buckets[2].failed, buckets[2].pending), (0, 3, 0));
        assert_eq!((buckets[2].latency_p50_ms, buckets[2].latency_p99_ms), (Some(10), Some(30)));
    }
}

/// Where an unfinished delivery stands, as the operator's queue gauges count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueueBucket {
    /// Next in its session, due now and not leased: waiting for a free worker.
    Due,
    /// Next in its session, its retry not yet due.
    Scheduled,
    /// Leased to a worker: being sent, or handed to one.
    InFlight,
    /// Behind an earlier delivery of the same session.
    Waiting,
    /// Its webhook is unhealthy or disabled: waits for a probe or a repair.
    Paused,
}

impl QueueBucket {
    pub const ALL: [QueueBucket; 5] =
        [QueueBucket::Due, QueueBucket::Scheduled, QueueBucket::InFlight, QueueBucket::Waiting, QueueBucket::Paused];

    pub fn as_str(self) -> &'static str {
        match self {
            QueueBucket::Due => "due",
            QueueBucket::Scheduled => "scheduled",
            QueueBucket::InFlight => "in_flight",
            QueueBucket::Waiting => "waiting",
            QueueBucket::Paused => "paused",
        }
    }

    pub fn parse(raw: &str) -> Option<QueueBucket> {
        QueueBucket::ALL.into_iter().find(|b| b.as_str() == raw)
    }
}

/// One bucket of the queue: how many deliveries, created when, due when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueGauge {
    pub bucket: QueueBucket,
    pub count: u64,
    pub oldest_created: Timestamp,
    /// The earliest time one of them may be sent (for `due`, how overdue the queue is).
    pub earliest_due: Timestamp,
}

/// What an operator watches, read at scrape time ([`crate::Store::queue_stats`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// The non-empty buckets of unfinished deliveries, in [`QueueBucket`] order.
    pub queue: Vec<QueueGauge>,
    /// Webhooks not deleted, by health, non-zero counts only, in state order.
    pub webhooks: Vec<(WebhookState, u64)>,
}

impl QueueStats {
    /// From the stores' grouped rows: (bucket, count, oldest created_at, earliest due_at) and
    /// (webhook state, count). An unknown name is a corrupt row.
    pub fn from_rows(
        queue: Vec<(String, i64, i64, i64)>,
        webhooks: Vec<(String, i64)>,
    ) -> Result<QueueStats, StoreError> {
        let corrupt = |what: &str, raw: &str| StoreError::Corrupt(format!("unknown {what} '{raw}' in queue stats"));
        let mut stats = QueueStats::default();
        for (raw, count, oldest_created, earliest_due) in queue {
            let bucket = QueueBucket::parse(&raw).ok_or_else(|| corrupt("queue bucket", &raw))?;
            stats.queue.push(QueueGauge {
                bucket,
                count: count.max(0) as u64,
                oldest_created: Timestamp::from_millis(oldest_created),
                earliest_due: Timestamp::from_millis(earliest_due),
            });
        }
        for (raw, count) in webhooks {
            let state = WebhookState::parse(&raw).ok_or_else(|| corrupt("webhook state", &raw))?;
            stats.webhooks.push((state, count.max(0) as u64));
        }
        stats.queue.sort_by_key(|gauge| gauge.bucket);
        stats.webhooks.sort_by_key(|(state, _)| WEBHOOK_STATES.iter().position(|s| s == state));
        Ok(stats)
    }
}

const WEBHOOK_STATES: [WebhookState; 3] = [WebhookState::Active, WebhookState::Unhealthy, WebhookState::Disabled];

/// What one [`crate::Store::purge_history`] call removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub deliveries: u64,
    pub attempts: u64,
    pub events: u64,
}

impl Purged {
    /// Whether a batch of `limit` came back full, so more may be waiting.
    pub fn more_than(&self, limit: u32) -> bool {
        self.deliveries >= u64::from(limit) || self.events >= u64::from(limit)
    }
}
