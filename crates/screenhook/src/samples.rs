//! One realistic envelope per event type, for `check-receiver`: the domain crate's
//! snapshot envelopes (`screenhook-domain/tests/it/snapshots`), which the payload builders
//! produced and review pinned, so the samples cannot drift from what is really sent.

use screenhook_domain::EventKind;
use serde_json::Value;

macro_rules! snapshots {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!(
            "../../screenhook-domain/tests/it/snapshots/it__snapshots__", $name, ".snap"
        )))),*]
    };
}

const SNAPSHOTS: [(&str, &str); 20] = snapshots![
    "assessmentCreated",
    "assessmentUpdated",
    "companyTestSessionCreated",
    "companyTestSessionStarted",
    "companyTestSessionFinished",
    "preScreenResultShared",
    "preScreenResultVerificationPending",
    "preScreenResultVerified",
    "preScreenResultNotVerified",
    "preScreenIntegrityReviewUpdated",
    "preScreenCandidateDeclined",
    "preScreenExpired",
    "certificationResultShared",
    "certificationResultPending",
    "certificationResultNotCertified",
    "certificationRequestRejected",
    "certificationRequestExpired",
    "certificationRequestsMerged",
    "liveInterviewFinished",
    "liveInterviewFeedbackUpdated",
];

/// `(event, payload)` for every event type, in [`EventKind::ALL`] order.
pub fn payloads() -> Vec<(EventKind, Value)> {
    EventKind::ALL
        .iter()
        .map(|kind| {
            let (_, text) = SNAPSHOTS
                .iter()
                .find(|(name, _)| *name == kind.name())
                .unwrap_or_else(|| panic!("a sample for {}", kind.name()));
            // insta's front matter ends at the second `---` line.
            let json = text.splitn(3, "---\n").nth(2).expect("an insta snapshot");
            let envelope: Value = serde_json::from_str(json).expect("snapshots hold JSON");
            (*kind, envelope["payload"].clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_has_a_sample_payload() {
        let payloads = payloads();
        assert_eq!(payloads.len(), EventKind::ALL.len());
        assert!(payloads.iter().all(|(_, payload)| payload.is_object()));
    }
}
