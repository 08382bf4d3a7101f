//! The screenhook domain: Pre-Screens, invitations, their lifecycle and the events it fires.
//!
//! No I/O lives here (no tokio, sqlx, axum or reqwest; `tests/tidy.rs` enforces it). Time, ids
//! and tokens are inputs, so every decision is a pure function of (state, command, now).
//!
//! # Layout
//! - [`access`]: API keys and permissions.
//! - [`ids`], [`time`]: typed ids and millisecond time.
//! - [`model`]: the aggregates (company, test, session, live interview).
//! - [`event`]: the 20 event names and [`event::DomainEvent`].
//! - [`change`]: what a decision asks a store to commit in one transaction, and timers.

pub mod access;
pub mod change;
pub mod event;
pub mod ids;
pub mod model;
pub mod time;

pub use access::{ApiKey, Permission};
pub use change::{Change, Deadline, DeadlineKind, Expected};
pub use event::{DomainEvent, EventKind};
pub use ids::{CompanyId, EventId, FrameworkId, IdError, InterviewId, InterviewerId, SessionId, TestId};
pub use model::*;
pub use time::{Millis, Timestamp};
