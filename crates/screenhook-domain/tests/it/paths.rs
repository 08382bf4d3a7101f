//! Every lifecycle path (`lifecycle::PATHS`, the table in `docs/LIFECYCLE.md`), walked through
//! `decide`, fires exactly its declared events, and every step follows an edge of the lifecycle
//! table.

use std::collections::HashMap;

use screenhook_domain::{
    EventKind, SessionStatus, State, VerificationStatus,
    lifecycle::{self, PATHS, WalkInput},
};

use crate::fixtures::{URL, company, t0};

fn walk(name: &str) -> lifecycle::Walk {
    let path = PATHS.iter().find(|p| p.name == name).unwrap();
    let company = company();
    let input = WalkInput {
        company_id: &company,
        id_prefix: "sim",
        start: t0(),
        public_url: URL,
        candidate_email: "jane@example.com",
    };
    lifecycle::walk(path, &input).unwrap()
}

#[test]
fn there_are_seven_paths() {
    assert_eq!(PATHS.len(), 7);
}

#[test]
fn each_path_fires_exactly_its_events_along_declared_edges() {
    let company = company();
    for path in PATHS {
        let input = WalkInput {
            company_id: &company,
            id_prefix: "p",
            start: t0(),
            public_url: URL,
            candidate_email: "jane@example.com",
        };
        let walk = lifecycle::walk(path, &input).unwrap_or_else(|e| panic!("{}: {e}", path.name));
        let kinds: Vec<EventKind> = walk.session_events().iter().map(|e| e.kind).collect();
        assert_eq!(kinds, path.events, "{}", path.name);
        assert_eq!(walk.changes[0].events[0].kind, EventKind::AssessmentCreated);

        let mut seen = HashMap::new();
        for (change, (_, act)) in walk.changes[1..].iter().zip(path.steps) {
            let (after, _) = &change.sessions[0];
            let before = seen.get(&after.id);
            let events: Vec<EventKind> = change.events.iter().map(|e| e.kind).collect();
            assert!(
                lifecycle::allows(
                    State::of(before),
                    act.command(),
                    State::of(Some(after)),
                    &events,
                    change.sessions.len() > 1,
                    false
                ),
                "{}: {:?} from {:?} is not a declared edge",
                path.name,
                act,
                State::of(before)
            );
            for (s, _) in &change.sessions {
                seen.insert(s.id.clone(), s.clone());
            }
        }
    }
}

#[test]
fn rejected_path_expires_not_certified_with_reasons() {
    let w = walk("proctored, rejected");
    let last = w.session_events().last().unwrap().payload.clone();
    assert_eq!(last["expiredReason"], "notCertified");
    assert_eq!(last["rejectedReasons"], serde_json::json!(["Presence of others"]));
    assert_eq!(w.sessions[0].status, SessionStatus::Expired);
    assert_eq!(w.sessions[0].next_deadline(), None);
}

#[test]
fn never_started_expires_test_not_taken_without_reasons() {
    let w = walk("never started");
    let last = w.session_events().last().unwrap().payload.clone();
    assert_eq!(last["expiredReason"], "testNotTaken");
    assert!(last.get("rejectedReasons").is_none());
}

#[test]
fn technical_issue_retake_is_a_new_linked_session() {
    let w = walk("proctored, technical issue");
    let (orig, retake) = (&w.sessions[0], &w.sessions[1]);
    assert_ne!(orig.id, retake.id);
    assert_eq!(orig.retake_session.as_ref(), Some(&retake.id));
    assert_eq!(retake.retake_of.as_ref(), Some(&orig.id));
    assert_eq!(orig.verification_status, Some(VerificationStatus::NotVerified));
    assert_eq!(retake.verification_status, Some(VerificationStatus::Verified));
    assert_eq!(retake.external_id, orig.external_id);
    assert_eq!(retake.candidate, orig.candidate);
    let events = w.session_events();
    // The retake's events carry the retake's id; the notVerified one the original's.
    assert_eq!(events[3].session_id.as_ref(), Some(&orig.id));
    assert!(events[4..].iter().all(|e| e.session_id.as_ref() == Some(&retake.id)));
    // No timer is left on either.
    assert_eq!(orig.next_deadline(), None);
    assert_eq!(retake.next_deadline(), None);
}

#[test]
fn reshare_completes_with_the_shared_result() {
    let w = walk("result re-shared");
    let s = &w.sessions[0];
    assert_eq!(s.status, SessionStatus::Over);
    assert_eq!(s.verification_status, Some(VerificationStatus::Verified));
    let p = &w.session_events()[1].payload;
    assert_eq!(p["url"], format!("{URL}/test-result/sim-prior?accessToken=sim-prior-report-1"));
    assert_eq!(p["versionedCodingScore"]["version"], "codingScore2023");
}

#[test]
fn mermaid_lists_every_written_edge() {
    let m = lifecycle::to_mermaid();
    assert!(m.starts_with("stateDiagram-v2\n"));
    assert!(m.contains("[*] --> Pending : invite [customer] / companyTestSessionCreated"));
    assert!(m.contains("AwaitingVerification --> RetakeGranted : notVerify [proctor] / preScreenResultNotVerified (+ new pending session)"));
    let written = lifecycle::EDGES.iter().filter(|e| !e.no_write).count();
    assert_eq!(m.lines().count(), written + 1);
}
