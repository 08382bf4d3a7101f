//! The transition guide's journey through the console's forms, and what each page shows.

use reqwest::StatusCode;
use screenhook_domain::{EventKind, Millis, SessionId};
use screenhook_engine::SessionAction;
use screenhook_testkit::TestReceiver;

use crate::{App, Browser, spawn_app};

/// Creates a Pre-Screen through the form; returns its id.
pub async fn create_prescreen(browser: &Browser, fields: &[(&str, &str)]) -> String {
    let csrf = browser.csrf().await;
    let mut form = vec![("_csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let (status, page, headers) = browser.post("/prescreens", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let location = headers["location"].to_str().unwrap();
    location.trim_start_matches("/prescreens/").split('?').next().unwrap().to_owned()
}

/// "Invite yourself"; returns the new session id and the invitation link shown.
pub async fn invite_yourself(browser: &Browser, test: &str) -> (SessionId, String) {
    let csrf = browser.csrf().await;
    let (status, _, headers) = browser.post(&format!("/prescreens/{test}/invite-yourself"), &[("_csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers["location"].to_str().unwrap().to_owned();
    let session = location.split("invited=").nth(1).unwrap().to_owned();
    let (_, page, _) = browser.get(&location).await;
    let at = page.find(r#"id="invitation-link" href=""#).expect("the invitation link")
        + r#"id="invitation-link" href=""#.len();
    let link = page[at..].split('"').next().unwrap().to_owned();
    (SessionId::parse(session).unwrap(), link)
}

pub async fn take(app: &App, session: &SessionId, score: u32, max_score: Option<u32>) {
    app.engine.session_command(&app.company, session, SessionAction::Start).await.unwrap();
    app.clock.advance(Millis::minutes(20));
    let submit = SessionAction::Submit { score, max_score, area_points: vec![], integrity_suggested: false };
    app.engine.session_command(&app.company, session, submit).await.unwrap();
}

#[tokio::test]
async fn step_1_a_proctored_certified_evaluation_reads_proctored_yes_in_its_coding_report() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&app.admin_key).await;
    let test =
        create_prescreen(&browser, &[("title", "Backend GCF"), ("framework", "general-coding"), ("proctored", "1")])
            .await;
    let (session, link) = invite_yourself(&browser, &test).await;
    assert!(link.starts_with(&format!("{}/c/{}.", app.base, session)), "{link}");
    take(&app, &session, 900, None).await;

    let (_, list, _) = browser.get("/results").await;
    assert!(list.contains(&format!("/results/{session}")));
    assert!(list.contains("Pending verification"));
    let (_, report, _) = browser.get(&format!("/results/{session}")).await;
    assert!(report.contains(r#"<p class="proctored" id="proctored">Proctored: Yes</p>"#));
    assert!(report.contains("Assessment Score (200–600)"));
    assert!(report.contains("companyTestSessionStarted") && report.contains("preScreenResultVerificationPending"));
    assert!(report.contains("certificationResultPending") && report.contains("legacy Certify"));

    // Filters: only finished sessions, then only pending ones (none).
    let (_, over, _) = browser.get("/results?status=over").await;
    assert!(over.contains(&format!("/results/{session}")));
    let (_, pending, _) = browser.get("/results?status=pending").await;
    assert!(pending.contains("No results here"));
    let (status, bad, _) = browser.get("/results?status=finished").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad.contains("allowed: pending, active, finalizing, over"));

    // The proctoring queue holds it; verifying empties the queue.
    let proctor = app.key(&[screenhook_domain::Permission::Proctor, screenhook_domain::Permission::Results]).await;
    let mut proctor_browser = Browser::new(&app);
    proctor_browser.sign_in(&proctor).await;
    let (_, queue, _) = proctor_browser.get("/proctoring").await;
    assert!(queue.contains(&format!("/proctoring/{session}")));
    let csrf = proctor_browser.csrf().await;
    let (_, after, _) =
        proctor_browser.post(&format!("/proctoring/{session}"), &[("_csrf", &csrf), ("decision", "verify")]).await;
    assert!(after.contains("was verified"), "{after}");
    assert!(after.contains("Nothing to verify"));
    let (_, report, _) = browser.get(&format!("/results/{session}")).await;
    assert!(report.contains("preScreenResultVerified"));
}

#[tokio::test]
async fn an_attempt_waiting_for_the_grader_reads_finalizing_until_its_result_is_recorded() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&app.admin_key).await;
    let test = create_prescreen(&browser, &[("title", "Backend GCF"), ("framework", "general-coding")]).await;
    let (session, _) = invite_yourself(&browser, &test).await;
    app.engine.session_command(&app.company, &session, SessionAction::Start).await.unwrap();
    app.engine.session_command(&app.company, &session, SessionAction::EndAttempt).await.unwrap();

    let (_, list, _) = browser.get("/results?status=finalizing").await;
    assert!(list.contains(&format!("/results/{session}")), "{list}");
    let (_, report, _) = browser.get(&format!("/results/{session}")).await;
    assert!(report.contains("Being scored") && !report.contains("has not finished"), "{report}");

    let grade = SessionAction::RecordResult {
        score: 1000,
        max_score: None,
        area_points: vec![],
        integrity_suggested: false,
        plagiarism: None,
    };
    app.engine.session_command(&app.company, &session, grade).await.unwrap();
    let (_, report, _) = browser.get(&format!("/results/{session}")).await;
    assert!(!report.contains("Being scored") && report.contains(">over<"), "{report}");
}

#[tokio::test]
async fn the_report_link_of_a_result_opens_the_coding_report_without_sign_in() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&app.admin_key).await;
    let test = create_prescreen(
        &browser,
        &[("title", "Data <b>Analytics</b>"), ("framework", "custom"), ("durationMinutes", "45")],
    )
    .await;
    let (session, _) = invite_yourself(&browser, &test).await;
    take(&app, &session, 70, Some(100)).await;
    let stored = app.store.session(&app.company, &session).await.unwrap().unwrap();
    let url = screenhook_domain::payload::report_url(&app.base, stored.result.as_ref().unwrap());

    let stranger = Browser::new(&app);
    let (status, page, _) = stranger.get(url.trim_start_matches(&app.base)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"id="coding-report""#) && page.contains("You (console)"));
    assert!(page.contains("Proctored: No"));
    assert!(page.contains("Analytics") && !page.contains("<b>Analytics"), "what a user typed is escaped");
    assert!(!page.contains("/c/"), "no candidate link on a shared report");
    assert!(!page.contains("you+"), "no email on a shared report");
    let wrong = format!("/test-result/{session}?accessToken=wrong");
    assert_eq!(stranger.get(&wrong).await.0, StatusCode::NOT_FOUND);
    assert_eq!(stranger.get(&format!("/test-result/{session}")).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn archive_unarchive_and_delete_fire_assessment_updated() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&app.admin_key).await;
    let test = create_prescreen(&browser, &[("title", "Frontend"), ("framework", "custom")]).await;
    for action in ["archive", "unarchive", "delete"] {
        let csrf = browser.csrf().await;
        let (status, _, _) = browser.post(&format!("/prescreens/{test}/{action}"), &[("_csrf", &csrf)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{action}");
    }
    let events = app.store.events_after(0, 100).await.unwrap();
    let statuses: Vec<(EventKind, String)> = events
        .iter()
        .map(|e| (e.kind, e.payload["assessmentStatus"].as_str().unwrap_or_default().to_owned()))
        .collect();
    assert_eq!(
        statuses,
        [
            (EventKind::AssessmentCreated, "active".into()),
            (EventKind::AssessmentUpdated, "archived".into()),
            (EventKind::AssessmentUpdated, "active".into()),
            (EventKind::AssessmentUpdated, "deleted".into()),
        ]
    );
    assert_eq!(browser.get(&format!("/prescreens/{test}")).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_refused_form_says_which_field_and_keeps_what_was_typed() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&app.admin_key).await;
    let csrf = browser.csrf().await;
    let (status, page, _) = browser
        .post(
            "/prescreens",
            &[("_csrf", &csrf), ("title", "Kept title"), ("framework", "custom"), ("durationMinutes", "0")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("duration"), "{page}");
    assert!(page.contains(r#"value="Kept title""#));
    assert!(app.store.tests(&app.company).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_webhook_whose_ping_fails_shows_why_and_is_not_saved_then_delivers_and_replays() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&app.admin_key).await;
    let receiver = TestReceiver::start().await;
    receiver.answer(reqwest::StatusCode::INTERNAL_SERVER_ERROR);
    let url = receiver.url("/hooks");
    let csrf = browser.csrf().await;
    let form = [("_csrf", csrf.as_str()), ("url", url.as_str()), ("events", "companyTestSessionStarted")];
    let (status, page, _) = browser.post("/integrations/webhooks", &form).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"id="form-error""#) && page.contains("verification ping failed"), "{page}");
    assert!(page.contains("500"));
    assert!(page.contains(&format!(r#"value="{url}""#)), "the typed URL is kept");
    assert!(app.store.webhooks(&app.company).await.unwrap().is_empty());

    receiver.answer(reqwest::StatusCode::OK);
    let (status, _, headers) = browser.post("/integrations/webhooks", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let webhook_page = headers["location"].to_str().unwrap().split('?').next().unwrap().to_owned();
    let test = create_prescreen(&browser, &[("title", "Ops"), ("framework", "custom")]).await;
    let (session, _) = invite_yourself(&browser, &test).await;
    app.engine.session_command(&app.company, &session, SessionAction::Start).await.unwrap();
    app.worker.run_pending().await.unwrap();

    let (_, page, _) = browser.get(&webhook_page).await;
    assert!(page.contains("companyTestSessionStarted") && page.contains("delivered"));
    assert!(page.contains("<svg class=\"chart\""), "the chart is drawn");
    assert!(page.contains("1 attempt(s)"));
    let event = app.store.events_of_session(&app.company, &session).await.unwrap();
    let started = event.iter().find(|e| e.kind == EventKind::CompanyTestSessionStarted).unwrap();
    let csrf = browser.csrf().await;
    let (_, page, _) =
        browser.post(&format!("{webhook_page}/replay"), &[("_csrf", &csrf), ("event", started.id.as_str())]).await;
    assert!(page.contains("was queued again"), "{page}");
    assert!(page.contains(r#"<span class="badge">replay</span>"#));
    app.worker.run_pending().await.unwrap();
    let started_deliveries = receiver
        .received()
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("companyTestSessionStarted"))
        .count();
    assert_eq!(started_deliveries, 2, "delivered, then replayed");

    let (_, list, _) = browser.get("/integrations/webhooks").await;
    assert!(list.contains("healthy") && list.contains(&url));
}

#[tokio::test]
async fn the_sandbox_clock_moves_forward_and_fires_what_fell_due() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&app.admin_key).await;
    let test =
        create_prescreen(&browser, &[("title", "Expiring"), ("framework", "custom"), ("expirationDays", "1")]).await;
    let (session, _) = invite_yourself(&browser, &test).await;
    let csrf = browser.csrf().await;
    let (_, page, _) = browser.post("/sandbox/clock", &[("_csrf", &csrf), ("amount", "2"), ("unit", "days")]).await;
    assert!(page.contains("The clock moved 2 d forward; 1 timer(s) fired."), "{page}");
    let stored = app.store.session(&app.company, &session).await.unwrap().unwrap();
    assert_eq!(stored.status, screenhook_domain::SessionStatus::Expired);
    let (_, page, _) = browser.post("/sandbox/clock", &[("_csrf", &csrf), ("amount", "-1"), ("unit", "days")]).await;
    assert!(page.contains("amount: “-1” is not a usable advance"));
}
