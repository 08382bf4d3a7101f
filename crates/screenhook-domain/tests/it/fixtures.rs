//! Shared builders: fixed ids and times so snapshots are stable.

use screenhook_domain::{
    Change, CompanyId, CompanyTest, CompanyTestSession, Ctx, Decision, DomainEvent, FrameworkId, Integrations, Millis,
    SessionCommand, SessionId, TestId, Timestamp, session,
    session::{Invite, Submission},
    test::{self, NewFrameworkTest, NewTest, TestCommand},
};

pub const URL: &str = "https://screenhook.test";

pub fn ctx() -> Ctx<'static> {
    Ctx { public_url: URL }
}

/// 2023-11-14T22:13:20Z.
pub fn t0() -> Timestamp {
    Timestamp::from_millis(1_700_000_000_000)
}

pub fn at(offset: Millis) -> Timestamp {
    t0().plus(offset)
}

pub fn company() -> CompanyId {
    CompanyId::parse("acme").unwrap()
}

pub fn sid(s: &str) -> SessionId {
    SessionId::parse(s).unwrap()
}

pub fn new_test(id: &str, proctored: bool, certified: bool) -> TestCommand {
    if certified {
        TestCommand::CreateFromFramework(NewFrameworkTest {
            id: TestId::parse(id).unwrap(),
            company_id: company(),
            framework_id: FrameworkId::parse("general-coding").unwrap(),
            title: "General Coding Assessment".into(),
            external_title: "Coding assessment".into(),
            internal_description: None,
            proctored,
            default_expiration: None,
            result_date_limit: Some(Millis::days(180)),
            labels: vec!["backend".into()],
        })
    } else {
        TestCommand::Create(NewTest {
            id: TestId::parse(id).unwrap(),
            company_id: company(),
            title: "Software Engineer intern".into(),
            external_title: "Coding test".into(),
            internal_description: None,
            proctored,
            duration: Millis::minutes(60),
            default_expiration: None,
            labels: vec![],
        })
    }
}

pub fn make_test(proctored: bool, certified: bool) -> CompanyTest {
    let change = test::decide(None, new_test("dhey29hcl28hl28", proctored, certified), t0()).unwrap();
    change.tests[0].0.clone()
}

pub fn invite_cmd(test: &CompanyTest, id: &str) -> Invite {
    Invite {
        session_id: sid(id),
        candidate_token: format!("{id}-token"),
        test: test.clone(),
        candidate_first_name: "Jane".into(),
        candidate_last_name: "Doe".into(),
        candidate_email: "Jane.Doe@Gmail.com".into(),
        external_id: Some("ats-123".into()),
        expire_duration: None,
        custom_duration: None,
        integrations: Integrations::default(),
        prefer_existing: false,
        existing: None,
    }
}

pub fn invite(test: &CompanyTest, id: &str) -> SessionCommand {
    SessionCommand::Invite(Box::new(invite_cmd(test, id)))
}

pub fn submission(score: u32, certified: bool) -> Submission {
    Submission {
        score,
        max_score: (!certified).then_some(1000),
        area_points: vec![],
        report_token: "A7Hn".into(),
        integrity_suggested: true,
        integrity_review_delay: Millis::HOUR,
        plagiarism: None,
    }
}

/// Applies a command that must be accepted; returns the change.
pub fn ok(state: Option<&CompanyTestSession>, cmd: SessionCommand, now: Timestamp) -> Change {
    match session::decide(state, cmd, &ctx(), now) {
        Ok(Decision::Apply(change)) => change,
        other => panic!("expected a change, got {other:?}"),
    }
}

/// Applies a command that must be accepted; returns the target session after it and the events.
pub fn step(
    state: Option<&CompanyTestSession>,
    cmd: SessionCommand,
    now: Timestamp,
) -> (CompanyTestSession, Vec<DomainEvent>) {
    let change = ok(state, cmd, now);
    (change.sessions[0].0.clone(), change.events)
}
