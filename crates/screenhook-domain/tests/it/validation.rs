//! Refusals name the field, say what is wrong and what is allowed, and change nothing.

use screenhook_domain::{
    DomainError, FrameworkId, Millis, RejectionReason, SessionCommand,
    session::{self, NotVerify, ShareResult, Start},
    test::{self, TestCommand, TestEdit},
};

use crate::fixtures::*;

fn field_of(e: &DomainError) -> &'static str {
    match e {
        DomainError::Invalid { field, .. } => field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn refused_invite(edit: impl FnOnce(&mut session::Invite)) -> DomainError {
    let t = make_test(false, false);
    let mut inv = invite_cmd(&t, "s1");
    edit(&mut inv);
    session::decide(None, SessionCommand::Invite(Box::new(inv)), &ctx(), t0()).unwrap_err()
}

#[test]
fn bad_emails_are_refused() {
    for bad in ["", "jane", "jane@", "jane@localhost", "ja ne@x.com", "jane@@x.com"] {
        let e = refused_invite(|i| i.candidate_email = bad.into());
        assert_eq!(field_of(&e), "candidateEmail", "{bad:?}");
        assert!(e.to_string().contains("name@example.com"), "{e}");
    }
}

#[test]
fn expiration_out_of_range_is_refused_with_the_range() {
    for bad in [Millis::HOUR, Millis::days(184)] {
        let e = refused_invite(|i| i.expire_duration = Some(bad));
        assert_eq!(field_of(&e), "expireDuration");
        let msg = e.to_string();
        assert!(msg.contains("1 day to 6 months") && msg.contains("86400000") && msg.contains("15811200000"), "{msg}");
    }
    let t = make_test(false, false);
    let mut inv = invite_cmd(&t, "s1");
    inv.expire_duration = Some(Millis::days(183));
    assert!(session::decide(None, SessionCommand::Invite(Box::new(inv)), &ctx(), t0()).is_ok());
}

#[test]
fn other_invite_fields() {
    assert_eq!(field_of(&refused_invite(|i| i.external_id = Some("x".repeat(257)))), "externalId");
    assert_eq!(field_of(&refused_invite(|i| i.candidate_first_name = "  ".into())), "candidateFirstName");
    assert_eq!(field_of(&refused_invite(|i| i.custom_duration = Some(Millis::SECOND))), "customDuration");
    assert_eq!(field_of(&refused_invite(|i| i.candidate_token = String::new())), "candidateToken");
    let e = refused_invite(|i| i.external_id = Some("x".repeat(257)));
    assert!(e.to_string().contains("at most 256 characters"));
}

#[test]
fn shortening_an_expiration_is_refused() {
    let t = make_test(false, false);
    let (s, _) = step(None, invite(&t, "s1"), t0());
    let earlier = s.expiration_date.plus(Millis::from_millis(-Millis::DAY.as_millis()));
    let e = session::decide(
        Some(&s),
        SessionCommand::ExtendExpiration { expiration_date: earlier },
        &ctx(),
        at(Millis::HOUR),
    )
    .unwrap_err();
    assert_eq!(field_of(&e), "expirationDate");
    assert!(e.to_string().contains("never shortened"), "{e}");
    // Too far out.
    let far = at(Millis::days(400));
    assert_eq!(
        field_of(
            &session::decide(
                Some(&s),
                SessionCommand::ExtendExpiration { expiration_date: far },
                &ctx(),
                at(Millis::HOUR)
            )
            .unwrap_err()
        ),
        "expirationDate"
    );
    // Not on an active session.
    let (a, _) = step(Some(&s), SessionCommand::Start(Start::default()), at(Millis::HOUR));
    let e = session::decide(
        Some(&a),
        SessionCommand::ExtendExpiration { expiration_date: at(Millis::days(20)) },
        &ctx(),
        at(Millis::HOUR),
    )
    .unwrap_err();
    assert_eq!(e, DomainError::IllegalTransition { aggregate: "session", from: "active", command: "extendExpiration" });
    assert_eq!(e.to_string(), "cannot extendExpiration when the session is active");
}

#[test]
fn test_fields() {
    let bad_title = match fixtures_test_with(|c| c.title = " ".into()) {
        Err(e) => e,
        Ok(_) => panic!(),
    };
    assert_eq!(field_of(&bad_title), "title");
    assert!(bad_title.to_string().contains("must not be empty"));
    let bad_exp = fixtures_test_with(|c| c.default_expiration = Some(Millis::days(200))).unwrap_err();
    assert_eq!(field_of(&bad_exp), "defaultExpiration");
    let t = make_test(false, true);
    let edit = TestEdit { framework_id: Some(FrameworkId::parse("system-design").unwrap()), ..TestEdit::default() };
    let e = test::decide(Some(&t), TestCommand::Edit(edit), t0()).unwrap_err();
    assert_eq!(field_of(&e), "frameworkId");
    let custom = make_test(false, false);
    let edit = TestEdit { result_date_limit: Some(Some(Millis::days(30))), ..TestEdit::default() };
    assert_eq!(field_of(&test::decide(Some(&custom), TestCommand::Edit(edit), t0()).unwrap_err()), "resultDateLimit");
    let unknown = match crate::fixtures::new_test("t9", false, true) {
        TestCommand::CreateFromFramework(mut f) => {
            f.framework_id = FrameworkId::parse("cobol").unwrap();
            test::decide(None, TestCommand::CreateFromFramework(f), t0()).unwrap_err()
        }
        _ => unreachable!(),
    };
    assert!(unknown.to_string().contains("general-coding"), "{unknown}");
}

fn fixtures_test_with(edit: impl FnOnce(&mut test::NewTest)) -> Result<screenhook_domain::Change, DomainError> {
    match new_test("t1", false, false) {
        TestCommand::Create(mut c) => {
            edit(&mut c);
            test::decide(None, TestCommand::Create(c), t0())
        }
        _ => unreachable!(),
    }
}

#[test]
fn sharing_rules() {
    let share = |fw: &str, verified: bool, limit: Option<Millis>| {
        SessionCommand::ShareResult(Box::new(ShareResult {
            result: crate::edges::prior_result(),
            framework_id: FrameworkId::parse(fw).unwrap(),
            verified,
            result_date_limit: limit,
        }))
    };
    let custom = make_test(true, false);
    let (s, _) = step(None, invite(&custom, "s1"), t0());
    assert_eq!(
        field_of(&session::decide(Some(&s), share("general-coding", true, None), &ctx(), t0()).unwrap_err()),
        "result"
    );
    let t = make_test(true, true);
    let (s, _) = step(None, invite(&t, "s2"), t0());
    for cmd in [
        share("system-design", true, None),
        share("general-coding", false, None),
        share("general-coding", true, Some(Millis::days(10))),
    ] {
        let e = session::decide(Some(&s), cmd, &ctx(), t0()).unwrap_err();
        assert_eq!(field_of(&e), "result", "{e}");
    }
    assert!(session::decide(Some(&s), share("general-coding", true, Some(Millis::days(30))), &ctx(), t0()).is_ok());
}

#[test]
fn rejection_needs_a_reason_unless_technical() {
    let t = make_test(true, true);
    let (s, _) = step(None, invite(&t, "s1"), t0());
    let (s, _) = step(Some(&s), SessionCommand::Start(Start::default()), at(Millis::HOUR));
    let (s, _) = step(Some(&s), SessionCommand::Submit(submission(900, true)), at(Millis::HOUR).plus(Millis::MINUTE));
    let e = session::decide(
        Some(&s),
        SessionCommand::NotVerify(NotVerify { reasons: vec![], retake: None }),
        &ctx(),
        at(Millis::DAY),
    )
    .unwrap_err();
    assert_eq!(field_of(&e), "reasons");
    let nv = NotVerify {
        reasons: vec![RejectionReason { name: "Screen not visible".into(), description: String::new() }],
        retake: None,
    };
    assert!(session::decide(Some(&s), SessionCommand::NotVerify(nv), &ctx(), at(Millis::DAY)).is_ok());
}

#[test]
fn custom_submissions_need_a_max_score() {
    let t = make_test(false, false);
    let (s, _) = step(None, invite(&t, "s1"), t0());
    let (s, _) = step(Some(&s), SessionCommand::Start(Start::default()), at(Millis::HOUR));
    let mut sub = submission(10, false);
    sub.max_score = None;
    assert_eq!(
        field_of(&session::decide(Some(&s), SessionCommand::Submit(sub), &ctx(), at(Millis::HOUR)).unwrap_err()),
        "maxScore"
    );
    assert_eq!(
        field_of(
            &session::decide(Some(&s), SessionCommand::Submit(submission(1001, false)), &ctx(), at(Millis::HOUR))
                .unwrap_err()
        ),
        "score"
    );
}
