//! Webhook delivery: the worker that sends what the store's queue holds, and the owner-email
//! notifier.
//!
//! Delivery is **at-least-once**. Each delivery is leased to one worker while it is in flight
//! (no database transaction is held across the HTTP call), and its result is recorded only
//! under the claim's fencing token. A worker that dies loses nothing: its leases expire and
//! the deliveries are claimed again, with the same `webhook-id`, so receivers can de-duplicate.
//!
//! # Layout
//! - [`worker`]: claim → sign → send → record, with per-webhook concurrency caps.
//! - [`notify`]: owner emails after repeated failures, over SMTP or recorded in the log.
//! - [`manage`]: creating, changing and restoring webhooks behind the verification ping;
//!   replay and recovery; applying the Certify transition's webhook plan.

pub mod manage;
pub mod notify;
pub mod retention;
pub mod worker;

pub use manage::{ApplyError, ManageError, NewSecret, PlanApplied, WebhookInput, WebhookManager, WebhookPatch};
pub use notify::{Notifier, send_pending_notifications};
pub use retention::Retention;
pub use worker::{DeliveryConfig, Worker};
