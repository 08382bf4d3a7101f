//! The aggregates: companies, Pre-Screens (`CompanyTest`), invitations (`CompanyTestSession`)
//! and live interviews.
//!
//! These types derive serde so that a store can keep each aggregate as one document next to
//! the few columns it indexes. They are not wire formats: webhook payloads are built field by
//! field in [`crate::payload`], and the GraphQL layer has its own types.

use serde::{Deserialize, Serialize};

use crate::{
    ids::{CertificationRequestId, CompanyId, FrameworkId, InterviewId, InterviewerId, SessionId, TestId},
    time::{Millis, Timestamp},
};

/// The tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Company {
    pub id: CompanyId,
    pub name: String,
    /// Sandbox companies run on a clock the simulator may advance.
    pub sandbox: bool,
    /// How far a sandbox company's clock runs ahead of real time.
    pub clock_offset: Millis,
    pub created_at: Timestamp,
    /// Set by the operator: the company's API keys, console sessions and candidate links are
    /// refused until it is enabled again (accepted work is still delivered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<Timestamp>,
}

impl Company {
    /// The company's view of `real_now`: real time for production companies, real time plus
    /// the advanced offset for sandbox companies.
    pub fn now(&self, real_now: Timestamp) -> Timestamp {
        real_now.plus(self.clock_offset)
    }
}

/// `CompanyTest.status` (`assessmentStatus` in webhooks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TestStatus {
    Active,
    Archived,
    Deleted,
}

impl TestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TestStatus::Active => "active",
            TestStatus::Archived => "archived",
            TestStatus::Deleted => "deleted",
        }
    }
}

/// A Pre-Screen: custom, or backed by a framework (a Certified Evaluation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompanyTest {
    pub id: TestId,
    pub company_id: CompanyId,
    /// Optimistic-concurrency version; 1 after creation, +1 per applied change.
    pub version: u64,
    pub title: String,
    pub external_title: String,
    pub internal_description: Option<String>,
    /// Set for Certified Evaluations; never changes after creation.
    pub framework_id: Option<FrameworkId>,
    pub proctored: bool,
    /// Time a candidate has once started.
    pub duration: Millis,
    /// Default invitation window (14 days unless set; 1 day – 6 months).
    pub default_expiration: Millis,
    /// Maximum age of a result that may be re-shared (Certified Evaluations only; None = no limit).
    pub result_date_limit: Option<Millis>,
    pub labels: Vec<String>,
    pub status: TestStatus,
    pub create_date: Timestamp,
    pub update_date: Timestamp,
}

impl CompanyTest {
    pub fn is_certified_evaluation(&self) -> bool {
        self.framework_id.is_some()
    }
}

/// `TestSessionStatus` (the subset this product reaches).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SessionStatus {
    /// Created, not started.
    Pending,
    /// Started, time running.
    Active,
    /// The attempt ended; the assessment engine is scoring it (companies that are not
    /// sandboxes, whose results come from the grader, never from the candidate).
    Finalizing,
    /// Completed (or answered with a shared result).
    Over,
    /// Not fulfilled within the invitation window.
    Expired,
    Declined,
    Deleted,
    Archived,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Pending => "pending",
            SessionStatus::Active => "active",
            SessionStatus::Finalizing => "finalizing",
            SessionStatus::Over => "over",
            SessionStatus::Expired => "expired",
            SessionStatus::Declined => "declined",
            SessionStatus::Deleted => "deleted",
            SessionStatus::Archived => "archived",
        }
    }
}

/// `VerificationStatus` of a proctored session once submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum VerificationStatus {
    Pending,
    Verified,
    NotVerified,
}

impl VerificationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VerificationStatus::Pending => "pending",
            VerificationStatus::Verified => "verified",
            VerificationStatus::NotVerified => "notVerified",
        }
    }
}

/// `VerificationRejectionReason {name, description}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectionReason {
    pub name: String,
    pub description: String,
}

/// The candidate as invited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub first_name: String,
    pub last_name: String,
    /// Lower-cased, validated address.
    pub email: String,
}

impl Candidate {
    /// `candidateName` in webhooks: first and last name joined by a space.
    pub fn full_name(&self) -> String {
        match (self.first_name.is_empty(), self.last_name.is_empty()) {
            (false, false) => format!("{} {}", self.first_name, self.last_name),
            (false, true) => self.first_name.clone(),
            (true, false) => self.last_name.clone(),
            (true, true) => String::new(),
        }
    }
}

/// ATS identifiers (`Integrations`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integrations {
    pub greenhouse_candidate_id: Option<String>,
    pub greenhouse_application_id: Option<String>,
    pub lever_opportunity_id: Option<String>,
    pub smart_recruiters_order_id: Option<String>,
}

/// Skill-area proficiency label (directional only; does not affect the score).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SkillLabel {
    Expert,
    Advanced,
    Intermediate,
    Beginner,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillArea {
    pub name: String,
    pub label: SkillLabel,
    pub questions: u32,
}

/// A finished attempt's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// Raw score (sum of task scores).
    pub score: u32,
    pub max_score: u32,
    /// Assessment Score (`codingScore2023`): 200–600, or 0 when nothing was submitted.
    /// None for custom tests with a raw scoring model.
    pub coding_score_2023: Option<u32>,
    /// Deprecated original-scale score (300–850), kept for the deprecated `codingScore` field.
    pub legacy_coding_score: Option<u32>,
    pub skill_areas: Vec<SkillArea>,
    /// Time spent.
    pub duration: Millis,
    /// Access token of the report URL `…/test-result/<id>?accessToken=<token>`.
    pub report_access_token: String,
    /// The session whose attempt produced this result (differs from the owner for shares).
    pub source_session_id: SessionId,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    /// The grader's plagiarism verdict; None when no check ran (the payloads then send the
    /// deprecated `plagiarismLevel: 0, plagiarismLabel: "-"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plagiarism: Option<PlagiarismLabel>,
}

/// `PlagiarismLabel`: how much of a solution matches other sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PlagiarismLabel {
    None,
    Low,
    Medium,
    High,
}

impl PlagiarismLabel {
    pub const ALL: [PlagiarismLabel; 4] =
        [PlagiarismLabel::None, PlagiarismLabel::Low, PlagiarismLabel::Medium, PlagiarismLabel::High];

    pub fn as_str(self) -> &'static str {
        match self {
            PlagiarismLabel::None => "none",
            PlagiarismLabel::Low => "low",
            PlagiarismLabel::Medium => "medium",
            PlagiarismLabel::High => "high",
        }
    }

    /// The deprecated numeric `plagiarismLevel`: the label's rank, 0 (none) to 3 (high).
    pub fn level(self) -> u8 {
        self as u8
    }
}

/// Integrity review of a non-proctored session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrityReview {
    /// The system finished its analysis.
    pub finalized: bool,
    /// Present once the analysis succeeded.
    pub suggested: Option<bool>,
    /// The analysis' verdict, known at submission and published (as `suggested`) only when the
    /// review is finalized at `integrity_review_due`.
    #[serde(default)]
    pub verdict: Option<bool>,
}

/// `reactivatedSession {newSessionId, reactivationDate}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reactivation {
    pub new_session_id: SessionId,
    pub reactivation_date: Timestamp,
}

/// An invitation to a Pre-Screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompanyTestSession {
    pub id: SessionId,
    pub company_id: CompanyId,
    pub test_id: TestId,
    /// Optimistic-concurrency version; 1 after creation, +1 per applied change.
    pub version: u64,
    /// Copied from the test at invitation time, as the payloads need them.
    pub test_title: String,
    pub framework_id: Option<FrameworkId>,
    pub proctored: bool,
    pub candidate: Candidate,
    pub external_id: Option<String>,
    pub integrations: Integrations,
    pub status: SessionStatus,
    /// The candidate opened the invitation link.
    pub opened: bool,
    pub verification_status: Option<VerificationStatus>,
    pub verification_rejection_reasons: Vec<RejectionReason>,
    pub integrity: IntegrityReview,
    /// When the integrity analysis of a finished non-proctored session completes.
    pub integrity_review_due: Option<Timestamp>,
    pub result: Option<TestResult>,
    /// Time allowed once started (the test's duration unless customised).
    pub duration: Millis,
    pub custom_duration: Option<Millis>,
    pub create_date: Timestamp,
    pub start_date: Option<Timestamp>,
    pub finish_date: Option<Timestamp>,
    pub expiration_date: Timestamp,
    /// For a retake: the session it replaces.
    pub retake_of: Option<SessionId>,
    /// The new session after a retake was issued.
    pub retake_session: Option<SessionId>,
    pub reactivated_session: Option<Reactivation>,
    /// Secret of the candidate's link; only its holder acts as this candidate.
    pub candidate_token: String,
    /// For a session imported from Certify (and its technical retakes): the certification
    /// request it came from, the `certificationRequestId` of its Certify-shaped events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certify_request_id: Option<CertificationRequestId>,
}

/// A live interview: just enough to fire its two events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveInterview {
    pub id: InterviewId,
    pub company_id: CompanyId,
    pub version: u64,
    pub candidate: Candidate,
    pub interviewer_id: InterviewerId,
    pub start_date: Option<Timestamp>,
    pub end_date: Option<Timestamp>,
    pub questions_solved: u32,
    pub questions_attempted: u32,
    pub feedback: Option<serde_json::Value>,
}

impl CompanyTestSession {
    /// The one timer this session needs next, if any. Stores keep it as a durable row,
    /// rewritten in the same transaction as every change of the session.
    pub fn next_deadline(&self) -> Option<crate::change::Deadline> {
        use crate::change::{Deadline, DeadlineKind};
        match self.status {
            SessionStatus::Pending => Some(Deadline { kind: DeadlineKind::Expiry, due: self.expiration_date }),
            SessionStatus::Active => {
                let started = self.start_date.unwrap_or(self.create_date);
                Some(Deadline { kind: DeadlineKind::TimeLimit, due: started.plus(self.duration) })
            }
            // The grader's result ends it; no clock does.
            SessionStatus::Finalizing => None,
            SessionStatus::Over => {
                if self.verification_status == Some(VerificationStatus::NotVerified) && self.retake_session.is_none() {
                    // A rejected result stays pending until the invitation window closes.
                    Some(Deadline { kind: DeadlineKind::Expiry, due: self.expiration_date })
                } else if !self.proctored && !self.integrity.finalized {
                    self.integrity_review_due.map(|due| Deadline { kind: DeadlineKind::IntegrityReview, due })
                } else {
                    None
                }
            }
            SessionStatus::Expired | SessionStatus::Declined | SessionStatus::Deleted | SessionStatus::Archived => None,
        }
    }
}
