//! Rows of webhook delivery: claimed work, attempt results, the delivery log and owner emails.
//!
//! Delivery is at-least-once. A claim leases a delivery to one worker until `lease_until` and
//! bumps its fencing token (`claim`); a result is recorded only if the token still matches, so
//! a worker that stalled past its lease cannot overwrite the new owner's result. A crashed
//! worker's claims simply expire and are claimed again.

use screenhook_domain::{CompanyId, EventId, EventKind, Millis, SessionId, Timestamp, WebhookId};

use crate::StoredEvent;

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
