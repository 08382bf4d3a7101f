//! One realistic payload per event type, for `check-receiver`: built by the domain's payload
//! builders — the code every delivery's payload comes from — from a handful of example
//! invitations, results and an interview. A test checks they equal the domain's pinned payload
//! snapshots, so the samples cannot drift from what is really sent.

use screenhook_domain::{
    Candidate, CompanyId, CompanyTest, CompanyTestSession, Ctx, Decision, EventKind, Integrations, InterviewId,
    InterviewerId, LiveInterview, Millis, RejectionReason, SessionCommand, SessionId, TestId, TestResult, TestStatus,
    Timestamp, VerificationStatus,
    interview::{Feedback, FeedbackAttribute, FeedbackCategory},
    payload, session,
    session::Invite,
    test::{self, NewTest, TestCommand},
};
use serde_json::Value;

/// The deployment the samples' links point to.
const PUBLIC_URL: &str = "https://screenhook.test";

/// 2023-11-14T22:13:20Z, when the example invitations were sent.
const T0: i64 = 1_700_000_000_000;

fn at(offset_ms: i64) -> Timestamp {
    Timestamp::from_millis(T0 + offset_ms)
}

fn company() -> CompanyId {
    CompanyId::parse("acme").expect("a sample company id")
}

fn session_id(id: &str) -> SessionId {
    SessionId::parse(id).expect("a sample session id")
}

/// A Pre-Screen, as `createCompanyTest` makes it.
fn pre_screen(id: &str, title: &str) -> CompanyTest {
    let create = TestCommand::Create(NewTest {
        id: TestId::parse(id).expect("a sample test id"),
        company_id: company(),
        title: title.into(),
        external_title: "Coding test".into(),
        internal_description: None,
        proctored: false,
        duration: Millis::minutes(60),
        default_expiration: None,
        labels: vec![],
    });
    let change = test::decide(None, create, Timestamp::from_millis(T0)).expect("a valid sample test");
    change.tests[0].0.clone()
}

/// An invitation of Jane Doe, as `createCompanyTestSession` makes it: session `{name}-session`
/// to test `{name}-test`, with external id `{name}-ats`.
fn invitation(name: &str, title: &str) -> CompanyTestSession {
    let invite = Invite {
        session_id: session_id(&format!("{name}-session")),
        candidate_token: format!("{name}-token"),
        test: pre_screen(&format!("{name}-test"), title),
        candidate_first_name: "Jane".into(),
        candidate_last_name: "Doe".into(),
        candidate_email: "jane.doe@gmail.com".into(),
        external_id: Some(format!("{name}-ats")),
        expire_duration: None,
        custom_duration: None,
        integrations: Integrations::default(),
        prefer_existing: false,
        existing: None,
    };
    let ctx = Ctx { public_url: PUBLIC_URL };
    match session::decide(None, SessionCommand::Invite(Box::new(invite)), &ctx, Timestamp::from_millis(T0)) {
        Ok(Decision::Apply(change)) => change.sessions[0].0.clone(),
        other => panic!("a sample invitation is accepted, got {other:?}"),
    }
}

/// A graded attempt of `source`: 1100 of 1300, Assessment Score 538, 58 minutes.
fn result(source: &str, report_token: &str, duration: Millis) -> TestResult {
    TestResult {
        score: 1100,
        max_score: 1300,
        coding_score_2023: Some(538),
        legacy_coding_score: Some(765),
        skill_areas: vec![],
        duration,
        report_access_token: report_token.into(),
        source_session_id: session_id(source),
        started_at: at(Millis::DAY.as_millis()),
        finished_at: at(Millis::DAY.as_millis() + 3_480_000),
        plagiarism: None,
    }
}

/// A proctored attempt whose result was not verified.
fn rejected(mut session: CompanyTestSession) -> CompanyTestSession {
    session.verification_status = Some(VerificationStatus::NotVerified);
    session.verification_rejection_reasons =
        vec![RejectionReason { name: "Presence of others".into(), description: "Someone else was present.".into() }];
    session
}

fn interview() -> LiveInterview {
    let feedback = Feedback {
        general_notes: "Clear communicator; solid on data structures.".into(),
        categories: Some(vec![FeedbackCategory {
            name: "Coding".into(),
            attributes: vec![
                FeedbackAttribute {
                    name: "Correctness".into(),
                    score: Some(4),
                    notes: Some("Handled edge cases.".into()),
                },
                FeedbackAttribute { name: "Speed".into(), score: Some(3), notes: None },
            ],
        }]),
        recommended_level: Some("Senior".into()),
        overall_evaluation: Some("Strong Yes".into()),
    };
    LiveInterview {
        id: InterviewId::parse("li2TgbrRMkBiks").expect("a sample interview id"),
        company_id: company(),
        version: 4,
        candidate: Candidate { first_name: "Jane".into(), last_name: "Doe".into(), email: "jane.doe@gmail.com".into() },
        interviewer_id: interviewer(),
        start_date: Some(at(Millis::HOUR.as_millis())),
        end_date: Some(at(2 * Millis::HOUR.as_millis())),
        questions_solved: 2,
        questions_attempted: 3,
        feedback: Some(serde_json::to_value(feedback).expect("feedback is JSON")),
    }
}

fn interviewer() -> InterviewerId {
    InterviewerId::parse("ivr8hd72kd").expect("a sample interviewer id")
}

/// The payload of one `kind`.
fn payload_of(kind: EventKind) -> Value {
    const COMPLETED: &str = "lehu382hdleh0";
    const VERIFIED: &str = "lehu382hdleh1";
    const REJECTED: &str = "lehu382hdleh2";
    const RESHARED: &str = "lehu382hdleh4";
    const DECLINED: &str = "lehu382hdleh5";
    let completed = || invitation(COMPLETED, "not proctored, completed (simulated)");
    let completed_result = || result(&format!("{COMPLETED}-session"), &format!("{COMPLETED}-report-2"), took());
    let verified = || invitation(VERIFIED, "proctored, verified (simulated)");
    let verified_result = || result(&format!("{VERIFIED}-session"), &format!("{VERIFIED}-report-2"), took());
    let rejected = || rejected(invitation(REJECTED, "proctored, rejected (simulated)"));
    let certified = || pre_screen("dhey29hcl28hl28", "General Coding Assessment");
    use EventKind as K;
    match kind {
        K::AssessmentCreated => payload::assessment(&certified()),
        K::AssessmentUpdated => {
            let mut test = certified();
            test.status = TestStatus::Archived;
            payload::assessment(&test)
        }
        K::CompanyTestSessionCreated | K::CompanyTestSessionStarted => payload::session_only(&completed()),
        K::CompanyTestSessionFinished => payload::finished(&completed(), &completed_result(), PUBLIC_URL),
        K::PreScreenResultShared => {
            let shared = result(
                &format!("{RESHARED}-prior"),
                &format!("{RESHARED}-prior-report-1"),
                Millis::from_millis(3_720_000),
            );
            payload::result_shared(&invitation(RESHARED, "result re-shared (simulated)"), &shared, PUBLIC_URL)
        }
        K::PreScreenResultVerificationPending => payload::verification_pending(&verified(), &verified_result()),
        K::PreScreenResultVerified => payload::finished(&verified(), &verified_result(), PUBLIC_URL),
        K::PreScreenResultNotVerified => payload::not_verified(&rejected()),
        K::PreScreenIntegrityReviewUpdated => payload::integrity_review_updated(&completed(), false),
        K::PreScreenCandidateDeclined => payload::session_only(&invitation(DECLINED, "declined (simulated)")),
        K::PreScreenExpired => payload::expired(&rejected()),
        K::CertificationResultShared => {
            let entry = payload::SharedTestSession::from_result(
                &completed_result(),
                payload::report_url(PUBLIC_URL, &completed_result()),
            );
            payload::certification_result_shared(&format!("{COMPLETED}-session"), &completed(), &[entry])
        }
        K::CertificationResultPending => {
            payload::certification_result_pending(&format!("{VERIFIED}-session"), &verified(), &verified_result())
        }
        K::CertificationResultNotCertified => {
            payload::certification_result_not_certified(&format!("{REJECTED}-session"), &rejected())
        }
        K::CertificationRequestRejected => {
            let mut declined = invitation("lehjeh36dleh29", "General Coding Assessment");
            declined.test_id = certified().id;
            payload::certification_request_rejected("lehjeh36dleh29", &declined)
        }
        K::CertificationRequestExpired => {
            payload::certification_request_expired(&format!("{REJECTED}-session"), &rejected())
        }
        K::CertificationRequestsMerged => {
            payload::certification_requests_merged(&session_id("newerRequest01"), &session_id("olderRequest01"))
        }
        K::LiveInterviewFinished => payload::live_interview_finished(&interview(), PUBLIC_URL),
        K::LiveInterviewFeedbackUpdated => payload::live_interview_feedback_updated(&interview(), &interviewer()),
    }
}

/// 58 minutes.
fn took() -> Millis {
    Millis::from_millis(3_480_000)
}

/// `(event, payload)` for every event type, in [`EventKind::ALL`] order.
pub fn payloads() -> Vec<(EventKind, Value)> {
    EventKind::ALL.iter().map(|kind| (*kind, payload_of(*kind))).collect()
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

    /// The domain's snapshot of what is sent for `kind` (read at test time: the binary does not
    /// carry test files).
    fn snapshot_payload(kind: EventKind) -> Value {
        let path = format!(
            "{}/../screenhook-domain/tests/it/snapshots/it__snapshots__{}.snap",
            env!("CARGO_MANIFEST_DIR"),
            kind.name()
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        // insta's front matter ends at the second `---` line.
        let json = text.splitn(3, "---\n").nth(2).expect("an insta snapshot");
        let envelope: Value = serde_json::from_str(json).expect("snapshots hold JSON");
        assert_eq!(envelope["event"], kind.name());
        envelope["payload"].clone()
    }

    #[test]
    fn the_samples_are_the_payload_snapshots() {
        for (kind, payload) in payloads() {
            assert_eq!(payload, snapshot_payload(kind), "{kind}");
        }
    }
}
