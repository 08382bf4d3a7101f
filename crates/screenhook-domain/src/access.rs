//! API keys and what they may do.
//!
//! A key is shown once as `sk_<public id>_<secret>`; stores keep only the public id (to find
//! the key) and a SHA-256 hash of the secret (computed by the caller). The secret is 256 random
//! bits, so a fast hash is enough and a slow KDF would only spend CPU on every request.

use serde::{Deserialize, Serialize};

use crate::{ids::CompanyId, time::Timestamp};

/// What a key may do. Names are stable: they appear in key listings and error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Permission {
    /// Read and change Pre-Screens (`CompanyTest`).
    Tests,
    /// Invite candidates and manage their sessions.
    Sessions,
    /// Read results (scores, report URLs) of sessions.
    Results,
    /// Manage webhooks, read the delivery log, replay.
    Webhooks,
    /// Schedule, start and finish live interviews, and record interviewers' feedback.
    Interviews,
    /// Manage API keys; implies every other customer permission.
    Admin,
    /// Act as the proctoring team: verify or reject proctored results.
    Proctor,
    /// Act as the assessment engine: record the results of ended attempts.
    Grader,
}

impl Permission {
    pub const ALL: [Permission; 8] = [
        Permission::Tests,
        Permission::Sessions,
        Permission::Results,
        Permission::Webhooks,
        Permission::Interviews,
        Permission::Admin,
        Permission::Proctor,
        Permission::Grader,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Tests => "tests",
            Permission::Sessions => "sessions",
            Permission::Results => "results",
            Permission::Webhooks => "webhooks",
            Permission::Interviews => "interviews",
            Permission::Admin => "admin",
            Permission::Proctor => "proctor",
            Permission::Grader => "grader",
        }
    }

    pub fn parse(raw: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == raw)
    }
}

/// A stored API key (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// The public part of the key, unique: `sk_<public_id>_…`.
    pub public_id: String,
    pub company_id: CompanyId,
    /// Lowercase hex SHA-256 of the secret part.
    pub secret_sha256: String,
    pub description: String,
    pub permissions: Vec<Permission>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl ApiKey {
    /// Whether the key grants `permission`. Admin implies every customer permission but not
    /// the proctor and grader roles, which belong to the proctoring team and the assessment
    /// engine: a company's own integration cannot verify or score its candidates.
    pub fn allows(&self, permission: Permission) -> bool {
        self.revoked_at.is_none()
            && (self.permissions.contains(&permission)
                || (!matches!(permission, Permission::Proctor | Permission::Grader)
                    && self.permissions.contains(&Permission::Admin)))
    }
}
