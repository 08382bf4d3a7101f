//! The event catalogue and the events a transition fires.

use serde::{Deserialize, Serialize};

use crate::{
    ids::{CompanyId, SessionId, TestId},
    time::Timestamp,
};

/// Every event name of the Webhook API: the 14 current ones and the 6 legacy Certify ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "assessmentCreated")]
    AssessmentCreated,
    #[serde(rename = "assessmentUpdated")]
    AssessmentUpdated,
    #[serde(rename = "companyTestSessionCreated")]
    CompanyTestSessionCreated,
    #[serde(rename = "preScreenCandidateDeclined")]
    PreScreenCandidateDeclined,
    #[serde(rename = "preScreenResultShared")]
    PreScreenResultShared,
    #[serde(rename = "preScreenExpired")]
    PreScreenExpired,
    #[serde(rename = "companyTestSessionStarted")]
    CompanyTestSessionStarted,
    #[serde(rename = "preScreenResultVerificationPending")]
    PreScreenResultVerificationPending,
    #[serde(rename = "companyTestSessionFinished")]
    CompanyTestSessionFinished,
    #[serde(rename = "preScreenIntegrityReviewUpdated")]
    PreScreenIntegrityReviewUpdated,
    #[serde(rename = "preScreenResultNotVerified")]
    PreScreenResultNotVerified,
    #[serde(rename = "preScreenResultVerified")]
    PreScreenResultVerified,
    #[serde(rename = "liveInterviewFinished")]
    LiveInterviewFinished,
    #[serde(rename = "liveInterviewFeedbackUpdated")]
    LiveInterviewFeedbackUpdated,
    #[serde(rename = "certificationResultPending")]
    CertificationResultPending,
    #[serde(rename = "certificationResultNotCertified")]
    CertificationResultNotCertified,
    #[serde(rename = "certificationResultShared")]
    CertificationResultShared,
    #[serde(rename = "certificationRequestExpired")]
    CertificationRequestExpired,
    #[serde(rename = "certificationRequestRejected")]
    CertificationRequestRejected,
    #[serde(rename = "certificationRequestsMerged")]
    CertificationRequestsMerged,
}

impl EventKind {
    /// All 20 names, current first, in the order CodeSignal's docs list them.
    pub const ALL: [EventKind; 20] = [
        EventKind::AssessmentCreated,
        EventKind::AssessmentUpdated,
        EventKind::CompanyTestSessionCreated,
        EventKind::PreScreenCandidateDeclined,
        EventKind::PreScreenResultShared,
        EventKind::PreScreenExpired,
        EventKind::CompanyTestSessionStarted,
        EventKind::PreScreenResultVerificationPending,
        EventKind::CompanyTestSessionFinished,
        EventKind::PreScreenIntegrityReviewUpdated,
        EventKind::PreScreenResultNotVerified,
        EventKind::PreScreenResultVerified,
        EventKind::LiveInterviewFinished,
        EventKind::LiveInterviewFeedbackUpdated,
        EventKind::CertificationResultPending,
        EventKind::CertificationResultNotCertified,
        EventKind::CertificationResultShared,
        EventKind::CertificationRequestExpired,
        EventKind::CertificationRequestRejected,
        EventKind::CertificationRequestsMerged,
    ];

    /// The wire name (`event` in the envelope).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::AssessmentCreated => "assessmentCreated",
            EventKind::AssessmentUpdated => "assessmentUpdated",
            EventKind::CompanyTestSessionCreated => "companyTestSessionCreated",
            EventKind::PreScreenCandidateDeclined => "preScreenCandidateDeclined",
            EventKind::PreScreenResultShared => "preScreenResultShared",
            EventKind::PreScreenExpired => "preScreenExpired",
            EventKind::CompanyTestSessionStarted => "companyTestSessionStarted",
            EventKind::PreScreenResultVerificationPending => "preScreenResultVerificationPending",
            EventKind::CompanyTestSessionFinished => "companyTestSessionFinished",
            EventKind::PreScreenIntegrityReviewUpdated => "preScreenIntegrityReviewUpdated",
            EventKind::PreScreenResultNotVerified => "preScreenResultNotVerified",
            EventKind::PreScreenResultVerified => "preScreenResultVerified",
            EventKind::LiveInterviewFinished => "liveInterviewFinished",
            EventKind::LiveInterviewFeedbackUpdated => "liveInterviewFeedbackUpdated",
            EventKind::CertificationResultPending => "certificationResultPending",
            EventKind::CertificationResultNotCertified => "certificationResultNotCertified",
            EventKind::CertificationResultShared => "certificationResultShared",
            EventKind::CertificationRequestExpired => "certificationRequestExpired",
            EventKind::CertificationRequestRejected => "certificationRequestRejected",
            EventKind::CertificationRequestsMerged => "certificationRequestsMerged",
        }
    }

    /// Parses a wire name; names are case-sensitive, as at CodeSignal.
    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The six legacy Certify events (removed from CodeSignal's docs in 2025).
    pub fn is_legacy_certify(self) -> bool {
        matches!(
            self,
            EventKind::CertificationResultPending
                | EventKind::CertificationResultNotCertified
                | EventKind::CertificationResultShared
                | EventKind::CertificationRequestExpired
                | EventKind::CertificationRequestRejected
                | EventKind::CertificationRequestsMerged
        )
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One event fired by a transition: what goes into the outbox, in firing order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    pub kind: EventKind,
    /// `triggeredOn` (ms).
    pub triggered_on: Timestamp,
    pub company_id: CompanyId,
    /// The session the event is about (the per-session delivery order key), if any.
    pub session_id: Option<SessionId>,
    pub test_id: Option<TestId>,
    /// The `payload` object exactly as it goes on the wire.
    pub payload: serde_json::Value,
}
