//! Importing a Certify export into a real SQLite file: what each line becomes, idempotence,
//! resuming, refusals, dry runs, and that imported history works as Pre-Screen data.

use std::sync::Arc;

use screenhook_domain::{
    CertificationRequestId, EventKind, SessionStatus, StandardizedTestId, VerificationStatus,
    certify::export::LineError,
};
use screenhook_engine::{
    ManualClock, SessionAction,
    certify_import::{ImportObserver, ImportOptions, ImportReport, MAX_LINE_BYTES, Tally},
};
use screenhook_store::AtsIdType;

use crate::{Harness, T0, open};

const DAY: i64 = 86_400_000;

/// Two days before the import, so the results are recent enough to re-share.
fn ago(days: i64) -> i64 {
    T0.as_millis() - days * DAY
}

fn export() -> String {
    let created = ago(10);
    let started = ago(9);
    let finished = started + 3_600_000;
    [
        r#"{"kind":"standardizedTest","id":"gca","title":"General Coding Assessment","type":"certification","frameworkId":"general-coding","proctored":true,"unknownField":1}"#.to_owned(),
        r#"{"kind":"standardizedTest","id":"warmup","title":"Warm-up","type":"practice","frameworkId":"general-coding","proctored":false}"#.to_owned(),
        format!(
            r#"{{"kind":"certificationRequest","id":"req-shared","testId":"gca","candidateName":"Ada Lovelace","candidateEmail":"Ada@Example.com","externalId":"ext-1","createDate":{created},"lastStatus":"shared","integrations":{{"greenhouseCandidateId":"gh-cand-1","greenhouseApplicationId":"gh-app-1"}},"results":[{{"testSessionId":"ts-1","startDate":{started},"finishDate":{finished},"codingScore":820,"score":600,"maxScore":600,"certificationStatus":"certified","proctored":true}}]}}"#
        ),
        format!(
            r#"{{"kind":"certificationRequest","id":"req-pending","testId":"gca","candidateName":"Grace Hopper","candidateEmail":"grace@example.com","createDate":{created},"expirationDate":{},"lastStatus":"pending","results":[]}}"#,
            T0.as_millis() + 5 * DAY
        ),
        String::new(),
        format!(
            r#"{{"kind":"certificationRequest","id":"req-bad","testId":"gca","candidateName":"Bad Score","candidateEmail":"bad@example.com","createDate":{created},"lastStatus":"testTaken","results":[{{"testSessionId":"ts-9","startDate":{started},"finishDate":{finished},"codingScore":900,"score":1,"maxScore":2,"certificationStatus":"pending","proctored":false}}]}}"#
        ),
        format!(
            r#"{{"kind":"certificationRequest","id":"req-orphan","testId":"nope","candidateName":"No Test","candidateEmail":"none@example.com","createDate":{created},"lastStatus":"pending","results":[]}}"#
        ),
        format!(
            r#"{{"kind":"certificationRequest","id":"req-practice","testId":"warmup","candidateName":"Practice","candidateEmail":"p@example.com","createDate":{created},"lastStatus":"pending","results":[]}}"#
        ),
        "not json".to_owned(),
    ]
    .join("\n")
}

/// Collects what an import reports as it goes.
#[derive(Default)]
struct Seen {
    refused: Vec<LineError>,
    last_bytes: u64,
}

impl ImportObserver for Seen {
    fn advanced(&mut self, bytes: u64, _lines: u64) {
        assert!(bytes >= self.last_bytes, "progress never goes back");
        self.last_bytes = bytes;
    }
    fn refused(&mut self, err: &LineError) {
        self.refused.push(err.clone());
    }
}

async fn import(h: &Harness, text: &str, dry_run: bool) -> (ImportReport, Seen) {
    let mut seen = Seen::default();
    let options = ImportOptions { company: h.company.clone(), dry_run };
    let report = h.engine.import_certify(text.as_bytes(), &options, &mut seen).await.expect("the import runs");
    (report, seen)
}

async fn harness(dir: &tempfile::TempDir) -> Harness {
    open(&dir.path().join("screenhook.db"), Arc::new(ManualClock::new(T0))).await
}

#[tokio::test]
async fn an_export_becomes_certified_evaluations_sessions_and_results_without_events() {
    let dir = tempfile::tempdir().unwrap();
    let h = harness(&dir).await;
    let outbox_before = h.engine.store.events_after(0, 1000).await.unwrap().len();
    let text = export();

    let (report, seen) = import(&h, &text, false).await;
    assert_eq!(report.lines, 9);
    assert_eq!(report.tests, Tally { imported: 1, skipped: 1, refused: 0 });
    assert_eq!(report.practice_tests, 1);
    assert_eq!(report.requests, Tally { imported: 2, skipped: 0, refused: 3 });
    assert_eq!(report.results, Tally { imported: 1, skipped: 0, refused: 1 });
    assert_eq!(report.unreadable, 1);
    assert_eq!(report.refused(), 4);
    assert_eq!(seen.last_bytes, text.len() as u64);

    // Each refusal names its line, its field and what is allowed.
    let refusal = |line: u64| seen.refused.iter().find(|e| e.line == line).unwrap_or_else(|| panic!("line {line}"));
    assert_eq!(refusal(6).field.as_deref(), Some("results[0].codingScore"), "{}", refusal(6));
    assert!(refusal(6).allowed.contains("300 to 850"), "{}", refusal(6));
    assert_eq!(refusal(7).field.as_deref(), Some("testId"));
    assert!(refusal(7).problem.contains("nope"), "{}", refusal(7));
    assert!(refusal(8).problem.contains("practice"), "{}", refusal(8));
    assert_eq!(refusal(9).field, None);
    assert_eq!(report.refusals, seen.refused);

    // The test: a Certified Evaluation of its framework, renamed, proctored as it was.
    let store = &h.engine.store;
    let test_id = store.certify_test(&h.company, &StandardizedTestId::parse("gca").unwrap()).await.unwrap().unwrap();
    let test = store.test(&h.company, &test_id).await.unwrap().unwrap();
    assert_eq!(test.title, "[Migrated] General Coding Assessment");
    assert_eq!(test.framework_id.as_ref().map(|f| f.as_str()), Some("general-coding"));
    assert!(test.proctored);
    assert_eq!(store.certify_test(&h.company, &StandardizedTestId::parse("warmup").unwrap()).await.unwrap(), None);

    // The shared request: one session with the converted score, the old one kept, verified.
    let shared_id = store
        .certify_request(&h.company, &CertificationRequestId::parse("req-shared").unwrap())
        .await
        .unwrap()
        .unwrap();
    let shared = store.session(&h.company, &shared_id).await.unwrap().unwrap();
    assert_eq!(shared.status, SessionStatus::Over);
    assert_eq!(shared.verification_status, Some(VerificationStatus::Verified));
    assert_eq!(shared.candidate.email, "ada@example.com");
    assert_eq!(shared.candidate.full_name(), "Ada Lovelace");
    assert_eq!(shared.external_id.as_deref(), Some("ext-1"));
    assert_eq!(shared.certify_request_id.as_ref().map(|r| r.as_str()), Some("req-shared"));
    let result = shared.result.as_ref().unwrap();
    assert_eq!((result.coding_score_2023, result.legacy_coding_score), (Some(575), Some(820)));
    assert_eq!((result.score, result.max_score), (600, 600));

    // The pending request waits for its candidate, with its timer.
    let pending_id = store
        .certify_request(&h.company, &CertificationRequestId::parse("req-pending").unwrap())
        .await
        .unwrap()
        .unwrap();
    let pending = store.session(&h.company, &pending_id).await.unwrap().unwrap();
    assert_eq!(pending.status, SessionStatus::Pending);
    assert_eq!(pending.expiration_date.as_millis(), T0.as_millis() + 5 * DAY);

    // Nothing of a refused line was written, and no event reached the outbox.
    for refused in ["req-bad", "req-orphan", "req-practice"] {
        let old = CertificationRequestId::parse(refused).unwrap();
        assert_eq!(store.certify_request(&h.company, &old).await.unwrap(), None, "{refused}");
    }
    assert_eq!(store.events_after(0, 1000).await.unwrap().len(), outbox_before, "an import fires nothing");

    // ATS workflows find imported sessions by their Greenhouse ids.
    let by_candidate =
        store.sessions_by_ats_id(&h.company, AtsIdType::GreenhouseCandidateId, "gh-cand-1").await.unwrap();
    assert_eq!(by_candidate.iter().map(|s| &s.id).collect::<Vec<_>>(), vec![&shared_id]);
    let by_application =
        store.sessions_by_ats_id(&h.company, AtsIdType::GreenhouseApplicationId, "gh-app-1").await.unwrap();
    assert_eq!(by_application.len(), 1);

    // The same file again changes nothing, and says so.
    let (again, _) = import(&h, &text, false).await;
    assert!(again.changed_nothing(), "{again:?}");
    assert_eq!(again.tests, Tally { imported: 0, skipped: 2, refused: 0 });
    assert_eq!(again.requests, Tally { imported: 0, skipped: 2, refused: 3 });
    assert_eq!(again.results, Tally { imported: 0, skipped: 1, refused: 1 });
    assert_eq!(
        store
            .sessions_of_test(&h.company, &test_id, screenhook_store::Page { first: 100, offset: 0 })
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn an_imported_verified_result_is_reshared_to_a_new_invitation_of_its_framework() {
    let dir = tempfile::tempdir().unwrap();
    let h = harness(&dir).await;
    import(&h, &export(), false).await;
    let store = &h.engine.store;
    let imported = store
        .certify_request(&h.company, &CertificationRequestId::parse("req-shared").unwrap())
        .await
        .unwrap()
        .unwrap();

    // A new, non-migrated Certified Evaluation of the same framework.
    let test = h.test(true, true).await;
    let invited = h.engine.invite(&h.company, h.invitation(&test, "ada@example.com")).await.unwrap().session;
    let outcome = h
        .engine
        .session_command(&h.company, &invited.id, SessionAction::ShareResult { source: None })
        .await
        .expect("the imported verified result can be shared");
    let result = outcome.session.result.as_ref().unwrap();
    assert_eq!(result.source_session_id, imported);
    assert_eq!(result.legacy_coding_score, Some(820));
    assert_eq!(outcome.session.verification_status, Some(VerificationStatus::Verified));
    let fired: Vec<EventKind> = outcome.applied.events.iter().map(|e| e.kind).collect();
    assert!(fired.contains(&EventKind::PreScreenResultShared), "{fired:?}");
}

#[tokio::test]
async fn an_interrupted_import_is_finished_by_running_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let h = harness(&dir).await;
    let text = export();
    // The first four lines only: the test, the practice test and two requests.
    let head: String = text.lines().take(4).collect::<Vec<_>>().join("\n");
    let (first, _) = import(&h, &head, false).await;
    assert_eq!(first.requests.imported, 2);

    let (rest, _) = import(&h, &text, false).await;
    assert_eq!(rest.tests, Tally { imported: 0, skipped: 2, refused: 0 });
    assert_eq!(rest.requests, Tally { imported: 0, skipped: 2, refused: 3 });
}

#[tokio::test]
async fn a_dry_run_reports_the_same_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let h = harness(&dir).await;
    let text = export();
    let (dry, _) = import(&h, &text, true).await;
    assert!(dry.dry_run);
    assert_eq!(dry.tests, Tally { imported: 1, skipped: 1, refused: 0 });
    assert_eq!(dry.requests, Tally { imported: 2, skipped: 0, refused: 3 });
    let store = &h.engine.store;
    assert_eq!(store.certify_test(&h.company, &StandardizedTestId::parse("gca").unwrap()).await.unwrap(), None);

    let (real, _) = import(&h, &text, false).await;
    assert_eq!((real.tests, real.requests, real.results), (dry.tests, dry.requests, dry.results));
    // After the import, a dry run finds everything imported.
    let (after, _) = import(&h, &text, true).await;
    assert!(after.changed_nothing());
    assert_eq!(after.requests.skipped, 2);
}

#[tokio::test]
async fn an_overlong_line_is_refused_and_the_next_one_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let h = harness(&dir).await;
    let test_line = export().lines().next().unwrap().to_owned();
    let text = format!("{}\n{test_line}\n", "x".repeat(MAX_LINE_BYTES + 10));
    let (report, seen) = import(&h, &text, false).await;
    assert_eq!(report.lines, 2);
    assert_eq!(report.unreadable, 1);
    assert_eq!(report.tests.imported, 1);
    assert_eq!(seen.refused[0].line, 1);
    assert!(seen.refused[0].problem.contains("longer than"), "{}", seen.refused[0]);
    assert_eq!(seen.last_bytes, text.len() as u64);
}

#[tokio::test]
async fn certify_listeners_hear_an_imported_request_under_its_certify_id() {
    let dir = tempfile::tempdir().unwrap();
    let h = harness(&dir).await;
    import(&h, &export(), false).await;
    let pending = h
        .engine
        .store
        .certify_request(&h.company, &CertificationRequestId::parse("req-pending").unwrap())
        .await
        .unwrap()
        .unwrap();
    // The candidate declines after the import: a live event, bridged for Certify listeners.
    let outcome = h.engine.session_command(&h.company, &pending, SessionAction::Decline).await.unwrap();
    let rejected = outcome
        .applied
        .events
        .iter()
        .find(|e| e.kind == EventKind::CertificationRequestRejected)
        .expect("the legacy event");
    assert_eq!(rejected.payload["certificationRequestId"], "req-pending");
}
