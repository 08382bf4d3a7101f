//! The screenhook domain: Pre-Screens, invitations, their lifecycle and the events it fires.
//!
//! No I/O lives here (no tokio, sqlx, rusqlite, axum or reqwest; `tests/it/tidy.rs` enforces it). Time, ids
//! and tokens are inputs, so every decision is a pure function of (state, command, now).
//!
//! # Layout
//! - [`access`]: API keys and permissions.
//! - [`advisor`]: the Certify transition's Steps 1 and 2 and the webhook plan.
//! - [`ids`], [`time`]: typed ids and millisecond time (and how an instant is printed in UTC).
//! - [`model`]: the aggregates (company, test, session, live interview).
//! - [`event`]: the 20 event names and [`event::DomainEvent`].
//! - [`change`]: what a decision asks a store to commit in one transaction, and timers.
//! - [`error`]: [`DomainError`], why a command was refused.
//! - [`framework`](mod@framework): the Skills Evaluation Framework catalogue, cooldowns and scoring.
//! - [`test`](mod@test): Pre-Screen commands and `test::decide`.
//! - [`session`]: invitation commands of every actor and `session::decide`.
//! - [`interview`]: live-interview commands and `interview::decide`.
//! - [`payload`]: the webhook payloads, field by field, and the envelope.
//! - [`certify`]: the Certify → Pre-Screen conversion table, the legacy bridge, and the import
//!   of a Certify export (its format, the score mapping, what each line becomes).
//! - [`lifecycle`]: states, edges and the seven paths as data; `walk` and `to_mermaid`.
//! - [`markup`]: the one escape for HTML and SVG built in code.
//! - [`validate`]: input checks and their limits.
//! - [`webhook`]: webhooks and their health (plain data).

pub mod access;
pub mod advisor;
pub mod certify;
pub mod change;
pub mod error;
pub mod event;
pub mod framework;
pub mod ids;
pub mod interview;
pub mod lifecycle;
pub mod markup;
pub mod model;
pub mod payload;
pub mod session;
pub mod test;
pub mod time;
pub mod validate;
pub mod webhook;

pub use access::{ApiKey, Permission};
pub use change::{Change, Deadline, DeadlineKind, Expected, Guard};
pub use error::DomainError;
pub use event::{DomainEvent, EventKind};
pub use framework::{CooldownClass, Framework, ScoringModel, catalogue, framework};
pub use ids::{
    CertificationRequestId, CertifyTestSessionId, CompanyId, EventId, FrameworkId, IdError, InterviewId, InterviewerId,
    SessionId, StandardizedTestId, TestId, WebhookId,
};
pub use interview::{Feedback, InterviewCommand};
pub use lifecycle::{Actor, CommandName, State};
pub use model::*;
pub use session::{Ctx, Decision, SessionCommand};
pub use test::TestCommand;
pub use time::{Clock, ManualClock, Millis, Timestamp};
pub use webhook::{MAX_RETIRED_SECRETS, RetiredSecret, Webhook, WebhookHealth, WebhookState};
