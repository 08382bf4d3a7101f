//! What a decision asks the store to commit, atomically.

use crate::{
    event::DomainEvent,
    model::{CompanyTest, CompanyTestSession, LiveInterview},
    time::Timestamp,
};

/// The version a write expects to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// The aggregate must not exist yet.
    New,
    /// The stored aggregate must be at this version.
    Version(u64),
}

/// The aggregates a transition writes (already at their new version) and the events it fires.
///
/// A store commits all of it in one transaction or none of it; a version mismatch on any
/// write rejects the whole change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Change {
    pub tests: Vec<(CompanyTest, Expected)>,
    pub sessions: Vec<(CompanyTestSession, Expected)>,
    pub interviews: Vec<(LiveInterview, Expected)>,
    /// In firing order.
    pub events: Vec<DomainEvent>,
    /// Aggregates the decision read but does not write: the change commits only if they are
    /// still at these versions (so a decision made on a cached or stale read cannot commit).
    pub guards: Vec<Guard>,
}

/// "This test was still at this version when the change commits."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    pub company_id: crate::ids::CompanyId,
    pub test_id: crate::ids::TestId,
    pub version: u64,
}

impl Change {
    pub fn is_empty(&self) -> bool {
        self.tests.is_empty() && self.sessions.is_empty() && self.interviews.is_empty() && self.events.is_empty()
    }
}

/// What the clock must do next to a session, derived from its state alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeadlineKind {
    /// The invitation window closes (`preScreenExpired`).
    Expiry,
    /// The time allowed for an active session runs out.
    TimeLimit,
    /// The integrity analysis of a finished non-proctored session completes.
    IntegrityReview,
}

impl DeadlineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineKind::Expiry => "expiry",
            DeadlineKind::TimeLimit => "timeLimit",
            DeadlineKind::IntegrityReview => "integrityReview",
        }
    }

    pub fn parse(raw: &str) -> Option<DeadlineKind> {
        match raw {
            "expiry" => Some(DeadlineKind::Expiry),
            "timeLimit" => Some(DeadlineKind::TimeLimit),
            "integrityReview" => Some(DeadlineKind::IntegrityReview),
            _ => None,
        }
    }
}

/// A durable timer: at `due`, the scheduler sends the session the clock command for `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    pub kind: DeadlineKind,
    pub due: Timestamp,
}
