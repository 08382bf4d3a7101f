//! Behaviour beyond the seven paths: assessment and live-interview events, preferExisting,
//! reactivation, cooldowns, stale timers, the time limit, archive.

use screenhook_domain::{
    Candidate, DeadlineKind, Decision, DomainError, EventKind, Expected, InterviewId, InterviewerId, Millis,
    SessionCommand, SessionStatus, SkillLabel, TestStatus, certify,
    interview::{self, Feedback, InterviewCommand},
    session::{self, Reactivate, Start, Submission},
    test::{self, TestCommand, TestEdit},
};
use serde_json::json;

use crate::fixtures::*;

#[test]
fn assessment_events_carry_the_status() {
    let created = test::decide(None, new_test("t1", false, true), t0()).unwrap();
    let t = &created.tests[0].0;
    assert_eq!(created.tests[0].1, Expected::New);
    assert_eq!(t.duration, Millis::minutes(70), "the framework fixes the duration");
    assert_eq!(created.events[0].kind, EventKind::AssessmentCreated);
    assert_eq!(
        created.events[0].payload,
        json!({"assessmentId": "t1", "assessmentTitle": "General Coding Assessment", "assessmentStatus": "active"})
    );

    let edit = TestEdit { title: Some("GCA, backend".into()), ..TestEdit::default() };
    let edited = test::decide(Some(t), TestCommand::Edit(edit), at(Millis::HOUR)).unwrap();
    let t2 = &edited.tests[0].0;
    assert_eq!((t2.version, edited.tests[0].1), (2, Expected::Version(1)));
    assert_eq!(edited.events[0].kind, EventKind::AssessmentUpdated);
    assert_eq!(edited.events[0].payload["assessmentTitle"], "GCA, backend");

    let archived = test::decide(Some(t2), TestCommand::Archive, at(Millis::DAY)).unwrap();
    assert_eq!(archived.events[0].payload["assessmentStatus"], "archived");
    let t3 = &archived.tests[0].0;
    assert!(matches!(
        test::decide(Some(t3), TestCommand::Archive, at(Millis::DAY)),
        Err(DomainError::IllegalTransition { .. })
    ));
    let unarchived = test::decide(Some(t3), TestCommand::Unarchive, at(Millis::DAY)).unwrap();
    assert_eq!(unarchived.events[0].payload["assessmentStatus"], "active");
    let deleted = test::decide(Some(&unarchived.tests[0].0), TestCommand::Delete, at(Millis::DAY)).unwrap();
    assert_eq!(deleted.events[0].payload["assessmentStatus"], "deleted");
    let gone = &deleted.tests[0].0;
    assert!(test::decide(Some(gone), TestCommand::Edit(TestEdit::default()), at(Millis::DAY)).is_err());

    // A no-op edit writes nothing.
    assert!(test::decide(Some(t2), TestCommand::Edit(TestEdit::default()), at(Millis::DAY)).unwrap().is_empty());
    // Several Pre-Screens may share a framework.
    assert!(test::decide(None, new_test("t2", true, true), t0()).is_ok());
}

#[test]
fn inviting_to_an_archived_test_is_refused() {
    let t = make_test(false, false);
    let archived = test::decide(Some(&t), TestCommand::Archive, t0()).unwrap().tests[0].0.clone();
    assert_eq!(archived.status, TestStatus::Archived);
    let err = session::decide(None, invite(&archived, "s1"), &ctx(), t0()).unwrap_err();
    assert_eq!(err, DomainError::IllegalTransition { aggregate: "test", from: "archived", command: "invite" });
}

#[test]
fn prefer_existing_returns_the_incomplete_session_unchanged() {
    let t = make_test(false, false);
    let (existing, _) = step(None, invite(&t, "s1"), t0());
    let mut again = invite_cmd(&t, "s2");
    again.prefer_existing = true;
    again.existing = Some(existing.clone());
    let d = session::decide(None, SessionCommand::Invite(Box::new(again.clone())), &ctx(), at(Millis::HOUR)).unwrap();
    assert!(d.events().is_empty());
    assert_eq!(d, Decision::Existing(Box::new(existing.clone())));
    // Without preferExisting, a second invitation is created.
    again.prefer_existing = false;
    let change =
        session::decide(None, SessionCommand::Invite(Box::new(again)), &ctx(), at(Millis::HOUR)).unwrap().into_change();
    assert_eq!(change.sessions[0].0.id.as_str(), "s2");
    assert_eq!(change.sessions[0].0.candidate.email, "jane.doe@gmail.com");
}

#[test]
fn reactivation_creates_a_linked_session_and_fires_created() {
    let t = make_test(false, false);
    let (s, _) = step(None, invite(&t, "s1"), t0());
    let (s, _) = step(Some(&s), SessionCommand::Expire, s.expiration_date);
    let change = ok(
        Some(&s),
        SessionCommand::Reactivate(Reactivate {
            new_session_id: sid("s2"),
            candidate_token: "tok2".into(),
            expire_duration: None,
        }),
        at(Millis::days(20)),
    );
    let (old, exp_old) = &change.sessions[0];
    let (new, exp_new) = &change.sessions[1];
    assert_eq!((*exp_old, *exp_new), (Expected::Version(s.version), Expected::New));
    assert_eq!(old.status, SessionStatus::Expired);
    assert_eq!(old.reactivated_session.as_ref().unwrap().new_session_id.as_str(), "s2");
    assert_eq!(new.status, SessionStatus::Pending);
    assert_eq!(new.expiration_date, at(Millis::days(20 + 14)));
    assert_eq!(change.events.len(), 1);
    assert_eq!(change.events[0].kind, EventKind::CompanyTestSessionCreated);
    assert_eq!(change.events[0].session_id.as_ref(), Some(&new.id));
    // Only once.
    let again = Reactivate { new_session_id: sid("s3"), candidate_token: "tok3".into(), expire_duration: None };
    assert!(session::decide(Some(old), SessionCommand::Reactivate(again), &ctx(), at(Millis::days(21))).is_err());
}

#[test]
fn cooldown_refuses_a_start_and_points_to_resharing() {
    let t = make_test(true, true);
    let (s, _) = step(None, invite(&t, "s1"), t0());
    let previous = vec![
        at(Millis::from_millis(-Millis::days(10).as_millis())),
        at(Millis::from_millis(-Millis::days(5).as_millis())),
    ];
    let err = session::decide(
        Some(&s),
        SessionCommand::Start(Start { previous_attempts: previous }),
        &ctx(),
        at(Millis::HOUR),
    )
    .unwrap_err();
    assert!(matches!(err, DomainError::Cooldown { attempts: 2, .. }), "{err:?}");
    assert!(err.to_string().contains("share your previous verified result"), "{err}");
    // Custom tests have no cooldown.
    let custom = make_test(true, false);
    let (c, _) = step(None, invite(&custom, "s2"), t0());
    let previous = vec![at(Millis::from_millis(-Millis::days(1).as_millis())); 5];
    assert!(
        session::decide(
            Some(&c),
            SessionCommand::Start(Start { previous_attempts: previous }),
            &ctx(),
            at(Millis::HOUR)
        )
        .is_ok()
    );
}

#[test]
fn stale_or_early_timers_are_refused() {
    let t = make_test(false, false);
    let (s, _) = step(None, invite(&t, "s1"), t0());
    // Early expiry.
    let err = session::decide(Some(&s), SessionCommand::Expire, &ctx(), at(Millis::DAY)).unwrap_err();
    assert!(matches!(err, DomainError::TimerNotDue { kind: "expiry", .. }));
    // Extended, then the old timer fires: refused.
    let (ext, _) =
        step(Some(&s), SessionCommand::ExtendExpiration { expiration_date: at(Millis::days(20)) }, at(Millis::DAY));
    assert!(session::decide(Some(&ext), SessionCommand::Expire, &ctx(), s.expiration_date).is_err());
    assert!(session::decide(Some(&ext), SessionCommand::Expire, &ctx(), at(Millis::days(20))).is_ok());
    // Wrong kind of timer.
    assert!(session::decide(Some(&ext), SessionCommand::IntegrityReviewDue, &ctx(), at(Millis::days(30))).is_err());
    // Expiry does not fire twice.
    let (expired, _) = step(Some(&ext), SessionCommand::Expire, at(Millis::days(20)));
    assert!(session::decide(Some(&expired), SessionCommand::Expire, &ctx(), at(Millis::days(21))).is_err());
}

#[test]
fn time_limit_finishes_with_what_was_submitted() {
    let t = make_test(false, true);
    let (s, _) = step(None, invite(&t, "s1"), t0());
    let (s, _) = step(Some(&s), SessionCommand::Start(Start::default()), at(Millis::HOUR));
    let deadline = s.next_deadline().unwrap();
    assert_eq!(deadline.kind, DeadlineKind::TimeLimit);
    assert_eq!(deadline.due, at(Millis::HOUR).plus(Millis::minutes(70)));
    // Submitting after the limit is refused; the clock finishes it instead.
    let late = at(Millis::days(1));
    assert!(matches!(
        session::decide(Some(&s), SessionCommand::Submit(submission(10, true)), &ctx(), late),
        Err(DomainError::TooLate { .. })
    ));
    let (done, events) =
        step(Some(&s), SessionCommand::TimeLimitReached(Some(Submission::empty("tok", Millis::HOUR))), late);
    assert_eq!(events[0].kind, EventKind::CompanyTestSessionFinished);
    assert_eq!(events[0].payload["score"], 0);
    assert_eq!(events[0].payload["versionedCodingScore"]["value"], 0);
    assert_eq!(events[0].payload["duration"], Millis::minutes(70).as_millis());
    assert_eq!(done.finish_date, Some(deadline.due));
    assert_eq!(done.next_deadline().unwrap().kind, DeadlineKind::IntegrityReview);
}

#[test]
fn submission_scores_and_labels_certified_results() {
    let t = make_test(false, true);
    let (s, _) = step(None, invite(&t, "s1"), t0());
    let (s, _) = step(Some(&s), SessionCommand::Start(Start::default()), at(Millis::HOUR));
    let mut sub = submission(1000, true);
    sub.area_points = vec![150, 200, 300, 300];
    let (done, events) = step(Some(&s), SessionCommand::Submit(sub), at(Millis::HOUR).plus(Millis::minutes(58)));
    let r = done.result.as_ref().unwrap();
    assert_eq!((r.score, r.max_score, r.coding_score_2023, r.legacy_coding_score), (1000, 1300, Some(508), Some(723)));
    let labels: Vec<SkillLabel> = r.skill_areas.iter().map(|a| a.label).collect();
    assert_eq!(labels, [SkillLabel::Expert, SkillLabel::Advanced, SkillLabel::Advanced, SkillLabel::Intermediate]);
    assert_eq!(events[0].payload["duration"], Millis::minutes(58).as_millis());
    assert_eq!(events[0].payload["url"], format!("{URL}/test-result/s1?accessToken=A7Hn"));
    // The integrity verdict is published at the review, not before.
    assert_eq!(done.integrity.suggested, None);
    let (reviewed, events) = step(Some(&done), SessionCommand::IntegrityReviewDue, done.integrity_review_due.unwrap());
    assert_eq!(reviewed.integrity.suggested, Some(true));
    assert!(reviewed.integrity.finalized);
    assert_eq!(events[0].payload["integrityReviewSuggested"], true);
    // Settled: it may be archived and unarchived.
    let (arch, ev) = step(Some(&reviewed), SessionCommand::Archive, at(Millis::days(2)));
    assert!(ev.is_empty());
    let (back, _) = step(Some(&arch), SessionCommand::Unarchive, at(Millis::days(2)));
    assert_eq!(back.status, SessionStatus::Over);
    assert_eq!(back.version, reviewed.version + 2);
}

#[test]
fn open_and_resend_fire_nothing() {
    let t = make_test(false, false);
    let (s, _) = step(None, invite(&t, "s1"), t0());
    let (opened, events) = step(Some(&s), SessionCommand::Open, at(Millis::HOUR));
    assert!(opened.opened && events.is_empty());
    assert!(ok(Some(&opened), SessionCommand::Open, at(Millis::HOUR)).is_empty());
    assert!(ok(Some(&opened), SessionCommand::Resend, at(Millis::HOUR)).is_empty());
}

#[test]
fn live_interview_events() {
    let c = ctx();
    let candidate = Candidate { first_name: "Jane".into(), last_name: "Doe".into(), email: "jane@example.com".into() };
    let iv = InterviewerId::parse("iv1").unwrap();
    let created = interview::decide(
        None,
        InterviewCommand::Create {
            id: InterviewId::parse("li1").unwrap(),
            company_id: company(),
            candidate,
            interviewer_id: iv.clone(),
        },
        &c,
        t0(),
    )
    .unwrap();
    assert!(created.events.is_empty());
    let i = &created.interviews[0].0;
    assert!(
        interview::decide(Some(i), InterviewCommand::Finish { questions_solved: 1, questions_attempted: 2 }, &c, t0())
            .is_err()
    );
    let started = interview::decide(Some(i), InterviewCommand::Start, &c, at(Millis::HOUR)).unwrap();
    let i = &started.interviews[0].0;
    let finished = interview::decide(
        Some(i),
        InterviewCommand::Finish { questions_solved: 2, questions_attempted: 3 },
        &c,
        at(Millis::from_millis(2 * Millis::HOUR.as_millis())),
    )
    .unwrap();
    assert_eq!(finished.events[0].kind, EventKind::LiveInterviewFinished);
    let p = &finished.events[0].payload;
    assert_eq!(p["url"], format!("{URL}/client-dashboard/interviews?status=over&liveInterviewId=li1"));
    assert_eq!((p["questionsSolved"].clone(), p["questionsAttempted"].clone()), (json!(2), json!(3)));
    let i = &finished.interviews[0].0;
    let fb = interview::decide(
        Some(i),
        InterviewCommand::UpdateFeedback {
            interviewer_id: iv,
            feedback: Feedback { general_notes: "Good".into(), ..Feedback::default() },
        },
        &c,
        at(Millis::DAY),
    )
    .unwrap();
    assert_eq!(fb.events[0].kind, EventKind::LiveInterviewFeedbackUpdated);
    assert_eq!(
        fb.events[0].payload,
        json!({"interviewId": "li1", "interviewerId": "iv1", "feedback": {"generalNotes": "Good"}})
    );
    assert_eq!(fb.interviews[0].0.version, 4);
}

#[test]
fn certify_bridge_only_for_certified_sessions() {
    let t = make_test(false, false);
    let (s, events) = step(None, invite(&t, "s1"), t0());
    let (d, events2) = step(Some(&s), SessionCommand::Decline, at(Millis::HOUR));
    assert!(certify::bridge(&events[0], &s).is_none());
    assert!(certify::bridge(&events2[0], &d).is_none(), "custom tests bridge nothing");
    let ct = make_test(false, true);
    let (s, _) = step(None, invite(&ct, "s2"), t0());
    let (d, events) = step(Some(&s), SessionCommand::Decline, at(Millis::HOUR));
    let bridged = certify::bridge(&events[0], &d).unwrap();
    assert_eq!(bridged.kind, EventKind::CertificationRequestRejected);
    assert_eq!(bridged.payload["certificationRequestId"], "s2");
    assert_eq!(bridged.session_id, events[0].session_id);
}
