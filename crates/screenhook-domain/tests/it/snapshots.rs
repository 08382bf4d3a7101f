//! One envelope per event name, snapshotted as the sender's bytes (parsed back, so the
//! snapshot is readable), and each payload's field set checked against hand-written lists of
//! CodeSignal's documented fields.

use std::collections::{BTreeMap, BTreeSet};

use screenhook_domain::{
    Candidate, DomainEvent, EventKind, InterviewId, InterviewerId, Millis, SessionCommand, certify,
    interview::{self, Feedback, FeedbackAttribute, FeedbackCategory, InterviewCommand},
    lifecycle::{self, PATHS, WalkInput},
    payload, test,
    test::{TestCommand, TestEdit},
};

use crate::fixtures::*;

/// What a delivery of `event` carries: the body the worker builds with the sender's
/// `envelope_body`, parsed.
fn sent(event: &DomainEvent) -> serde_json::Value {
    let body = screenhook_webhooks::envelope_body(
        event.kind.name(),
        event.triggered_on.as_millis(),
        &event.payload.to_string(),
    );
    serde_json::from_slice(&body).expect("the envelope is JSON")
}

/// The first event of every kind, from a deterministic run of every path and the extras.
fn one_of_each() -> BTreeMap<EventKind, DomainEvent> {
    let mut out: BTreeMap<EventKind, DomainEvent> = BTreeMap::new();
    let mut keep = |e: DomainEvent| {
        out.entry(e.kind).or_insert(e);
    };
    let created = test::decide(None, new_test("dhey29hcl28hl28", false, true), t0()).unwrap();
    let edit =
        TestEdit { title: Some("General Coding Assessment".into()), labels: Some(vec![]), ..TestEdit::default() };
    let t = &created.tests[0].0;
    created.events.iter().cloned().for_each(&mut keep);
    let edited = test::decide(Some(t), TestCommand::Edit(edit), at(Millis::HOUR)).unwrap();
    let archived = test::decide(Some(&edited.tests[0].0), TestCommand::Archive, at(Millis::HOUR)).unwrap();
    archived.events.into_iter().for_each(&mut keep);

    let company = company();
    for (i, path) in PATHS.iter().enumerate() {
        let prefix = format!("lehu382hdleh{i}");
        let input = WalkInput {
            company_id: &company,
            id_prefix: &prefix,
            start: t0(),
            public_url: URL,
            candidate_email: "jane.doe@gmail.com",
        };
        let walk = lifecycle::walk(path, &input).unwrap();
        for change in &walk.changes[1..] {
            for e in &change.events {
                keep(e.clone());
                let session =
                    change.sessions.iter().map(|(s, _)| s).find(|s| Some(&s.id) == e.session_id.as_ref()).unwrap();
                if let Some(b) = certify::bridge(e, session) {
                    keep(b);
                }
            }
        }
    }
    // A declined Certified Evaluation, for certificationRequestRejected.
    let ct = make_test(false, true);
    let (s, _) = step(None, invite(&ct, "lehjeh36dleh29"), t0());
    let (d, events) = step(Some(&s), SessionCommand::Decline, at(Millis::DAY));
    keep(certify::bridge(&events[0], &d).unwrap());
    keep(DomainEvent {
        kind: EventKind::CertificationRequestsMerged,
        triggered_on: at(Millis::DAY),
        company_id: company.clone(),
        session_id: None,
        test_id: None,
        payload: payload::certification_requests_merged(&sid("newerRequest01"), &sid("olderRequest01")),
    });

    let c = ctx();
    let iv = InterviewerId::parse("ivr8hd72kd").unwrap();
    let candidate =
        Candidate { first_name: "Jane".into(), last_name: "Doe".into(), email: "jane.doe@gmail.com".into() };
    let li = interview::decide(
        None,
        InterviewCommand::Create {
            id: InterviewId::parse("li2TgbrRMkBiks").unwrap(),
            company_id: company,
            candidate,
            interviewer_id: iv.clone(),
        },
        &c,
        t0(),
    )
    .unwrap();
    let li = interview::decide(Some(&li.interviews[0].0), InterviewCommand::Start, &c, at(Millis::HOUR)).unwrap();
    let li = interview::decide(
        Some(&li.interviews[0].0),
        InterviewCommand::Finish { questions_solved: 2, questions_attempted: 3 },
        &c,
        at(Millis::from_millis(2 * Millis::HOUR.as_millis())),
    )
    .unwrap();
    li.events.iter().cloned().for_each(&mut keep);
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
    let fb = interview::decide(
        Some(&li.interviews[0].0),
        InterviewCommand::UpdateFeedback { interviewer_id: iv, feedback },
        &c,
        at(Millis::DAY),
    )
    .unwrap();
    fb.events.into_iter().for_each(&mut keep);
    out
}

#[test]
fn every_event_has_a_snapshot() {
    let all = one_of_each();
    assert_eq!(
        all.len(),
        20,
        "missing: {:?}",
        EventKind::ALL.iter().filter(|k| !all.contains_key(k)).collect::<Vec<_>>()
    );
    for (kind, event) in &all {
        insta::assert_json_snapshot!(kind.name(), sent(event));
    }
}

fn set(parts: &[&[&'static str]]) -> BTreeSet<&'static str> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

#[test]
fn payload_fields_match_codesignals() {
    const COMMON: &[&str] = &["testSessionId", "testId", "testTitle", "candidateEmail", "candidateName", "externalId"];
    const SCORE: &[&str] = &["duration", "score", "maxScore", "codingScore", "versionedCodingScore"];
    const PLAG_URL: &[&str] = &["plagiarismLevel", "plagiarismLabel", "url"];
    const CERTIFY: &[&str] = &["certificationRequestId", "testId", "testTitle", "candidateEmail", "candidateName"];
    let expected = |kind: EventKind| -> BTreeSet<&'static str> {
        use EventKind as K;
        match kind {
            K::AssessmentCreated | K::AssessmentUpdated => {
                set(&[&["assessmentId", "assessmentTitle", "assessmentStatus"]])
            }
            K::CompanyTestSessionCreated | K::CompanyTestSessionStarted | K::PreScreenCandidateDeclined => {
                set(&[COMMON])
            }
            K::PreScreenResultShared | K::CompanyTestSessionFinished | K::PreScreenResultVerified => {
                set(&[COMMON, SCORE, PLAG_URL])
            }
            K::PreScreenResultVerificationPending => set(&[COMMON, SCORE]),
            K::PreScreenExpired => set(&[COMMON, &["expiredReason"]]),
            K::PreScreenIntegrityReviewUpdated => set(&[COMMON, &["integrityReviewSuggested"]]),
            K::PreScreenResultNotVerified => set(&[COMMON, &["rejectedReasons"]]),
            K::LiveInterviewFinished => set(&[&[
                "interviewId",
                "candidateName",
                "candidateEmail",
                "startDate",
                "endDate",
                "questionsSolved",
                "questionsAttempted",
                "url",
            ]]),
            K::LiveInterviewFeedbackUpdated => set(&[&["interviewId", "interviewerId", "feedback"]]),
            K::CertificationResultPending => {
                set(&[CERTIFY, &["testSessionId", "duration", "score", "maxScore", "codingScore"]])
            }
            K::CertificationResultNotCertified => set(&[CERTIFY, &["rejectedReasons"]]),
            K::CertificationResultShared => set(&[CERTIFY, &["sharedTestSessions"]]),
            K::CertificationRequestExpired => set(&[CERTIFY, &["expiredReason", "rejectedReasons"]]),
            K::CertificationRequestRejected => set(&[CERTIFY]),
            K::CertificationRequestsMerged => set(&[&["deletedRequestId", "mergedRequestId"]]),
        }
    };
    for (kind, event) in one_of_each() {
        let env = sent(&event);
        assert_eq!(env["event"], kind.name());
        assert_eq!(env["triggeredOn"], event.triggered_on.as_millis());
        let keys: BTreeSet<&str> = env["payload"].as_object().unwrap().keys().map(String::as_str).collect();
        let mut want = expected(kind);
        // Optional fields: the first expiry in the run is testNotTaken (no reasons).
        if kind == EventKind::PreScreenExpired && env["payload"]["expiredReason"] == "notCertified" {
            want.insert("rejectedReasons");
        }
        if kind == EventKind::CertificationRequestExpired && env["payload"]["expiredReason"] == "testNotTaken" {
            want.remove("rejectedReasons");
        }
        assert_eq!(keys, want, "{kind}");
    }
}

#[test]
fn nullable_max_score_only_where_codesignal_allows() {
    use screenhook_domain::{SessionStatus, TestResult};
    let t = make_test(true, true);
    let (mut s, _) = step(None, invite(&t, "s1"), t0());
    s.status = SessionStatus::Over;
    let r = TestResult { max_score: 0, ..crate::edges::prior_result() };
    assert!(payload::result_shared(&s, &r, URL)["maxScore"].is_null());
    assert!(payload::verification_pending(&s, &r)["maxScore"].is_null());
    assert_eq!(payload::finished(&s, &r, URL)["maxScore"], 0);
}

#[test]
fn shared_sessions_are_sorted_by_coding_score() {
    let t = make_test(true, true);
    let (s, _) = step(None, invite(&t, "s1"), t0());
    let r = crate::edges::prior_result();
    let low = payload::SharedTestSession::from_result(&r, "u1".into());
    let high = payload::SharedTestSession { coding_score: 823, id: sid("best"), ..low.clone() };
    let p = payload::certification_result_shared(s.id.as_str(), &s, &[low, high]);
    assert_eq!(p["sharedTestSessions"][0]["id"], "best");
    assert_eq!(p["sharedTestSessions"][1]["codingScore"], 723);
}
