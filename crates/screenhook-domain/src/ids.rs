//! Typed, validated identifiers.
//!
//! Ids are opaque strings in CodeSignal's style (`'2TgbrRMkBiksAXqEd'`). The domain never
//! invents them: callers generate ids (randomness is I/O) and pass them in, so every decision
//! stays a pure function of its inputs.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind} must not be empty")]
    Empty { kind: &'static str },
    #[error("{kind} is {len} characters long; at most 64 are allowed")]
    TooLong { kind: &'static str, len: usize },
    #[error("{kind} may contain only letters, digits, '-' and '_' (found {found:?})")]
    BadCharacter { kind: &'static str, found: char },
}

/// Checks the shared id alphabet: 1–64 characters of `[A-Za-z0-9_-]`.
pub fn validate_id(kind: &'static str, raw: &str) -> Result<(), IdError> {
    if raw.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if raw.len() > 64 {
        return Err(IdError::TooLong { kind, len: raw.len() });
    }
    if let Some(found) = raw.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
        return Err(IdError::BadCharacter { kind, found });
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses and validates an id received from outside.
            pub fn parse(raw: impl Into<String>) -> Result<Self, IdError> {
                let raw = raw.into();
                validate_id($kind, &raw)?;
                Ok(Self(raw))
            }

            /// The id as it appears on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A tenant.
    CompanyId, "company id"
);
id_type!(
    /// A Pre-Screen (`CompanyTest`).
    TestId, "test id"
);
id_type!(
    /// An invitation (`CompanyTestSession`).
    SessionId, "test session id"
);
id_type!(
    /// A Skills Evaluation Framework.
    FrameworkId, "framework id"
);
id_type!(
    /// One fired event (the outbox row, and the `webhook-id` of its deliveries).
    EventId, "event id"
);
id_type!(
    /// A live interview.
    InterviewId, "interview id"
);
id_type!(
    /// An interviewer of a live interview.
    InterviewerId, "interviewer id"
);
id_type!(
    /// A webhook (an endpoint subscription of a company).
    WebhookId, "webhook id"
);
id_type!(
    /// A Certify standardized test, as a Certify export names it (see [`crate::certify::export`]).
    StandardizedTestId, "standardized test id"
);
id_type!(
    /// A Certify certification request: the `certificationRequestId` of Certify webhooks.
    CertificationRequestId, "certification request id"
);
id_type!(
    /// A Certify test session (one attempt, or a result shared from one), as exported.
    CertifyTestSessionId, "Certify test session id"
);
