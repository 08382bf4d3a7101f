//! The Certify → Pre-Screen transition: the conversion table of CodeSignal's transition guide
//! ("Transitioning from Certify Webhook API to Pre-Screen Webhook API") as data, its Step 2
//! subscription advice, the **legacy bridge** deriving Certify-shaped events from
//! Pre-Screen events so a webhook still subscribed to Certify names keeps working, and the
//! import of Certify data.
//!
//! # Layout
//! - this file: the conversion table, Step 2's lists and [`bridge`].
//! - [`export`]: the Certify export's JSON Lines, parsed and checked line by line.
//! - [`score`]: the old coding score (300–850) → Assessment Score (200–600) mapping.
//! - [`import`]: what an export line becomes (Certified Evaluations, sessions, results).
//!
//! # Bridge mapping (sessions of Certified Evaluations only; custom tests bridge nothing)
//! | Pre-Screen event | Certify event | note |
//! |---|---|---|
//! | `companyTestSessionCreated`, `companyTestSessionStarted` | none | "Does not exist" in the guide |
//! | `preScreenResultVerificationPending` | `certificationResultPending` | guide row, proctored only |
//! | `companyTestSessionFinished` (not proctored) | `certificationResultShared` | **\[inferred\]** no verification follows a non-proctored finish, so this is the final result; a Certify listener waiting for `certificationResultShared` would otherwise never get the score |
//! | `preScreenResultVerified` | `certificationResultShared` | guide row |
//! | `preScreenResultShared` | `certificationResultShared` | guide row |
//! | `preScreenResultNotVerified` | `certificationResultNotCertified` | guide row, proctored only |
//! | `preScreenExpired` | `certificationRequestExpired` | guide row, same `expiredReason` / `rejectedReasons` |
//! | `preScreenCandidateDeclined` | `certificationRequestRejected` | guide row |
//! | `preScreenIntegrityReviewUpdated`, assessment and live-interview events | none | no Certify counterpart |
//! | — | `certificationRequestsMerged` | never derived: Pre-Screen has no merge |
//!
//! **\[inferred\]** `certificationRequestId` is the invitation's session id — the original
//! invitation's for a retake (`retake_of`), so a technical retake keeps reporting to the same
//! request. A retake of a retake reports to its immediate predecessor, the only id a session
//! knows. A session imported from Certify (and its retakes) reports under the id of the
//! request it came from ([`CompanyTestSession::certify_request_id`]), so Certify listeners
//! keep the ids they stored.
//!
//! `sharedTestSessions` holds the one result the Pre-Screen event carries; its `url` is
//! the Pre-Screen report link from that event (Certify's `/coding-report/…` links no longer
//! exist), and its `codingScore` the original-scale score.

pub mod export;
pub mod import;
pub mod score;

use crate::{
    event::{DomainEvent, EventKind},
    model::CompanyTestSession,
    payload::{self, SharedTestSession},
};

/// A row of the guide's "Conversion" table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conversion {
    /// The Certify event; `None` = "Does not exist".
    pub certify: Option<EventKind>,
    pub prescreen: EventKind,
    /// The guide marks the row "(proctored only)".
    pub proctored_only: bool,
}

/// The guide's conversion table, row by row.
pub const CONVERSION_TABLE: &[Conversion] = &[
    Conversion { certify: None, prescreen: EventKind::CompanyTestSessionCreated, proctored_only: false },
    Conversion { certify: None, prescreen: EventKind::CompanyTestSessionStarted, proctored_only: false },
    Conversion { certify: None, prescreen: EventKind::CompanyTestSessionFinished, proctored_only: false },
    Conversion {
        certify: Some(EventKind::CertificationResultShared),
        prescreen: EventKind::PreScreenResultShared,
        proctored_only: false,
    },
    Conversion {
        certify: Some(EventKind::CertificationResultPending),
        prescreen: EventKind::PreScreenResultVerificationPending,
        proctored_only: true,
    },
    Conversion {
        certify: Some(EventKind::CertificationRequestRejected),
        prescreen: EventKind::PreScreenCandidateDeclined,
        proctored_only: false,
    },
    Conversion {
        certify: Some(EventKind::CertificationRequestExpired),
        prescreen: EventKind::PreScreenExpired,
        proctored_only: false,
    },
    Conversion {
        certify: Some(EventKind::CertificationResultNotCertified),
        prescreen: EventKind::PreScreenResultNotVerified,
        proctored_only: true,
    },
    Conversion {
        certify: Some(EventKind::CertificationResultShared),
        prescreen: EventKind::PreScreenResultVerified,
        proctored_only: true,
    },
];

/// Step 2 of the guide, proctored Certify assessments: the Pre-Screen events to listen to.
pub const STEP2_PROCTORED: &[EventKind] = &[
    EventKind::CompanyTestSessionCreated,
    EventKind::CompanyTestSessionStarted,
    EventKind::PreScreenResultShared,
    EventKind::PreScreenResultVerificationPending,
    EventKind::PreScreenCandidateDeclined,
    EventKind::PreScreenExpired,
    EventKind::PreScreenResultNotVerified,
    EventKind::PreScreenResultVerified,
];

/// Step 2 of the guide, non-proctored Certify assessments.
pub const STEP2_NOT_PROCTORED: &[EventKind] = &[
    EventKind::CompanyTestSessionCreated,
    EventKind::CompanyTestSessionStarted,
    EventKind::PreScreenResultShared,
    EventKind::PreScreenCandidateDeclined,
    EventKind::PreScreenExpired,
    EventKind::CompanyTestSessionFinished,
];

/// The Pre-Screen events to subscribe to, per the guide's Step 2.
pub fn recommended_events(proctored: bool) -> &'static [EventKind] {
    if proctored { STEP2_PROCTORED } else { STEP2_NOT_PROCTORED }
}

/// The Pre-Screen events that replace a Certify event (the table read right to left).
pub fn replacements(certify: EventKind) -> Vec<EventKind> {
    CONVERSION_TABLE.iter().filter(|c| c.certify == Some(certify)).map(|c| c.prescreen).collect()
}

/// The Certify event derived from a Pre-Screen event of `session` (its state after the
/// event), if any. See the module docs for the mapping.
pub fn bridge(event: &DomainEvent, session: &CompanyTestSession) -> Option<DomainEvent> {
    session.framework_id.as_ref()?;
    if event.session_id.as_ref() != Some(&session.id) {
        return None;
    }
    let request_id = match &session.certify_request_id {
        Some(imported) => imported.as_str(),
        None => session.retake_of.as_ref().unwrap_or(&session.id).as_str(),
    };
    let shared = |session: &CompanyTestSession| {
        let result = session.result.as_ref()?;
        let url = event.payload.get("url").and_then(|u| u.as_str()).unwrap_or_default().to_owned();
        Some(payload::certification_result_shared(request_id, session, &[SharedTestSession::from_result(result, url)]))
    };
    let (kind, body) = match event.kind {
        EventKind::PreScreenResultVerificationPending => (
            EventKind::CertificationResultPending,
            payload::certification_result_pending(request_id, session, session.result.as_ref()?),
        ),
        EventKind::CompanyTestSessionFinished if !session.proctored => {
            (EventKind::CertificationResultShared, shared(session)?)
        }
        EventKind::PreScreenResultVerified | EventKind::PreScreenResultShared => {
            (EventKind::CertificationResultShared, shared(session)?)
        }
        EventKind::PreScreenResultNotVerified => (
            EventKind::CertificationResultNotCertified,
            payload::certification_result_not_certified(request_id, session),
        ),
        EventKind::PreScreenExpired => {
            (EventKind::CertificationRequestExpired, payload::certification_request_expired(request_id, session))
        }
        EventKind::PreScreenCandidateDeclined => {
            (EventKind::CertificationRequestRejected, payload::certification_request_rejected(request_id, session))
        }
        _ => return None,
    };
    Some(DomainEvent { kind, payload: body, ..event.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_the_guide() {
        assert_eq!(CONVERSION_TABLE.len(), 9);
        assert_eq!(
            replacements(EventKind::CertificationResultShared),
            vec![EventKind::PreScreenResultShared, EventKind::PreScreenResultVerified]
        );
        assert!(replacements(EventKind::CertificationRequestsMerged).is_empty());
        for row in CONVERSION_TABLE {
            assert!(!row.prescreen.is_legacy_certify());
            assert!(row.certify.is_none_or(EventKind::is_legacy_certify));
            // Proctored-only rows are exactly the ones missing from the non-proctored advice.
            assert_eq!(row.proctored_only, !STEP2_NOT_PROCTORED.contains(&row.prescreen), "{:?}", row.prescreen);
            assert!(STEP2_PROCTORED.contains(&row.prescreen) || row.prescreen == EventKind::CompanyTestSessionFinished);
        }
    }
}
