//! The lifecycle table and `decide` agree both ways: exploring every state reachable from a
//! new invitation with a sample of every command, each accepted command follows a declared
//! edge, and each declared edge is taken at least once.

use std::collections::{BTreeSet, HashSet, VecDeque};

use screenhook_domain::{
    CommandName, CompanyTest, CompanyTestSession, Decision, EventKind, FrameworkId, Millis, RejectionReason,
    SessionCommand, State, TestResult, Timestamp,
    lifecycle::{self, EDGES},
    session::{self, NotVerify, Reactivate, Retake, ShareResult, Start, Submission},
};

use crate::fixtures::{ctx, invite, make_test, sid, submission, t0};

pub fn prior_result() -> TestResult {
    TestResult {
        score: 1000,
        max_score: 1300,
        coding_score_2023: Some(508),
        legacy_coding_score: Some(723),
        skill_areas: vec![],
        duration: Millis::minutes(65),
        report_access_token: "prior-token".into(),
        source_session_id: sid("272bu5Na997EdzmQ8"),
        started_at: t0().plus(Millis::from_millis(-Millis::days(20).as_millis())),
        finished_at: t0().plus(Millis::from_millis(-Millis::days(20).as_millis() + Millis::minutes(65).as_millis())),
        plagiarism: None,
    }
}

/// A sample of every command (with a plausible input and time) for a session in any state.
pub fn samples(s: &CompanyTestSession, n: &mut u32) -> Vec<(SessionCommand, Timestamp)> {
    let mut fresh = || {
        *n += 1;
        sid(&format!("spawned{n}"))
    };
    let now = s.start_date.or(s.finish_date).unwrap_or(s.create_date).max(s.create_date).plus(Millis::MINUTE);
    let due = s.next_deadline().map_or(now, |d| d.due);
    let certified = s.framework_id.is_some();
    vec![
        (SessionCommand::Delete, now),
        (SessionCommand::ExtendExpiration { expiration_date: s.expiration_date.max(now).plus(Millis::DAY) }, now),
        (SessionCommand::EditDuration { custom_duration: Millis::minutes(30) }, now),
        (
            SessionCommand::Reactivate(Reactivate {
                new_session_id: fresh(),
                candidate_token: "tok".into(),
                expire_duration: None,
            }),
            now,
        ),
        (SessionCommand::Resend, now),
        (SessionCommand::Archive, now),
        (SessionCommand::Unarchive, now),
        (SessionCommand::Open, now),
        (SessionCommand::Decline, now),
        (
            SessionCommand::ShareResult(Box::new(ShareResult {
                result: prior_result(),
                framework_id: FrameworkId::parse("general-coding").unwrap(),
                verified: true,
                result_date_limit: None,
            })),
            now,
        ),
        (SessionCommand::Start(Start::default()), now),
        (SessionCommand::Submit(submission(700, certified)), now),
        (SessionCommand::EndAttempt, now),
        (SessionCommand::RecordResult(submission(800, certified)), now),
        (SessionCommand::Verify, now),
        (
            SessionCommand::NotVerify(NotVerify {
                reasons: vec![RejectionReason { name: "Unauthorized resource".into(), description: "".into() }],
                retake: None,
            }),
            now,
        ),
        (
            SessionCommand::NotVerify(NotVerify {
                reasons: vec![],
                retake: Some(Retake { session_id: fresh(), candidate_token: "retake".into() }),
            }),
            now,
        ),
        (SessionCommand::Expire, due),
        (SessionCommand::TimeLimitReached(Some(Submission::empty("late", Millis::HOUR))), due),
        (SessionCommand::TimeLimitReached(None), due),
        (SessionCommand::IntegrityReviewDue, due),
    ]
}

type Tuple = (State, &'static str, State, Vec<EventKind>, bool, bool);

fn key(s: &CompanyTestSession) -> String {
    format!(
        "{:?}|{}|{}|{}|{}|{}|{:?}|{}|{}",
        State::of(Some(s)),
        s.proctored,
        s.framework_id.is_some(),
        s.opened,
        s.retake_of.is_some(),
        s.reactivated_session.is_some(),
        s.verification_status,
        s.retake_session.is_some(),
        s.integrity.finalized
    )
}

pub fn tests() -> Vec<CompanyTest> {
    vec![make_test(false, false), make_test(true, false), make_test(false, true), make_test(true, true)]
}

#[test]
fn decide_and_the_edge_table_agree() {
    let mut observed: BTreeSet<Tuple> = BTreeSet::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut queue: VecDeque<CompanyTestSession> = VecDeque::new();
    let mut n = 0;
    for test in tests() {
        let Decision::Apply(c) = session::decide(None, invite(&test, "orig"), &ctx(), t0()).unwrap() else { panic!() };
        observed.insert((
            State::Absent,
            "invite",
            State::Pending,
            vec![EventKind::CompanyTestSessionCreated],
            false,
            false,
        ));
        queue.push_back(c.sessions[0].0.clone());
    }
    while let Some(s) = queue.pop_front() {
        if !seen.insert(key(&s)) {
            continue;
        }
        for (cmd, now) in samples(&s, &mut n) {
            let name = cmd.name();
            let Ok(decision) = session::decide(Some(&s), cmd, &ctx(), now) else { continue };
            let (spawns, no_write) = lifecycle::shape(&decision);
            let change = decision.into_change();
            let to = change.sessions.first().map_or(State::of(Some(&s)), |(t, _)| State::of(Some(t)));
            let events: Vec<EventKind> = change.events.iter().map(|e| e.kind).collect();
            assert!(
                lifecycle::allows(State::of(Some(&s)), name, to, &events, spawns, no_write),
                "undeclared: {:?} --{}--> {:?} {:?} spawns={spawns} no_write={no_write}",
                State::of(Some(&s)),
                name.as_str(),
                to,
                events
            );
            observed.insert((State::of(Some(&s)), name.as_str(), to, events, spawns, no_write));
            for (next, _) in change.sessions {
                queue.push_back(next);
            }
        }
    }
    for edge in EDGES {
        let t = (edge.from, edge.command.as_str(), edge.to, edge.events.to_vec(), edge.spawns, edge.no_write);
        assert!(observed.contains(&t), "edge never taken: {edge:?}");
    }
    // Every command name appears in the table.
    for c in CommandName::ALL {
        assert!(EDGES.iter().any(|e| e.command == c), "{c:?}");
    }
}
