//! Why a command was refused.
//!
//! A refused command changes nothing and fires nothing. Every message says what was wrong and,
//! for validation errors, which field and what is allowed, so API layers can pass it through.

use crate::{change::DeadlineKind, time::Timestamp};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The command is not allowed in the aggregate's current state.
    #[error("cannot {command} when the {aggregate} is {from}")]
    IllegalTransition { aggregate: &'static str, from: &'static str, command: &'static str },

    /// A command other than a creation was sent to an aggregate that does not exist.
    #[error("cannot {command}: the {aggregate} does not exist")]
    NotFound { aggregate: &'static str, command: &'static str },

    /// A creation command was sent to an aggregate that already exists.
    #[error("cannot {command}: the {aggregate} already exists")]
    AlreadyExists { aggregate: &'static str, command: &'static str },

    /// An input field is invalid.
    #[error("{field}: {problem} (allowed: {allowed})")]
    Invalid { field: &'static str, problem: String, allowed: String },

    /// The candidate is inside the framework's cooldown period.
    #[error(
        "{framework}: you have already taken this evaluation {attempts} time(s) recently ({rule}); \
         share your previous verified result instead, or start a new attempt after {retry_after_ms} (ms since epoch)"
    )]
    Cooldown { framework: String, attempts: usize, rule: &'static str, retry_after_ms: i64 },

    /// The command came after the deadline that governs it (e.g. starting an expired invitation).
    #[error("cannot {command}: the {deadline} passed at {due_ms} (ms since epoch)")]
    TooLate { command: &'static str, deadline: &'static str, due_ms: i64 },

    /// A clock command that does not match the session's current deadline (a stale or early timer).
    #[error("timer {kind} is not due for this session (its next deadline is {next})")]
    TimerNotDue { kind: &'static str, next: String },
}

impl DomainError {
    pub(crate) fn invalid(field: &'static str, problem: impl Into<String>, allowed: impl Into<String>) -> Self {
        DomainError::Invalid { field, problem: problem.into(), allowed: allowed.into() }
    }

    pub(crate) fn timer_not_due(kind: DeadlineKind, next: Option<crate::change::Deadline>) -> Self {
        let next = match next {
            Some(d) => format!("{} at {}", d.kind.as_str(), d.due.as_millis()),
            None => "none".to_owned(),
        };
        DomainError::TimerNotDue { kind: kind.as_str(), next }
    }

    pub(crate) fn too_late(command: &'static str, deadline: &'static str, due: Timestamp) -> Self {
        DomainError::TooLate { command, deadline, due_ms: due.as_millis() }
    }
}
