//! Integrations → Certify transition: Step 1's evidence, Step 2's events, the plan against the
//! company's webhooks, and applying it through the verification ping.

use reqwest::StatusCode;
use screenhook_domain::{EventKind, Permission, certify::STEP2_PROCTORED};
use screenhook_testkit::TestReceiver;

use crate::{
    Browser,
    pages::{create_prescreen, invite_yourself, take},
    spawn_app,
};

fn fingerprint(page: &str) -> String {
    let at = page.find(r#"name="plan" value=""#).expect("the plan's fingerprint") + r#"name="plan" value=""#.len();
    page[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn step_1_step_2_and_the_plan_applied_to_a_legacy_webhook() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&app.admin_key).await;
    let test =
        create_prescreen(&browser, &[("title", "GCF proctored"), ("framework", "general-coding"), ("proctored", "1")])
            .await;
    let (session, _) = invite_yourself(&browser, &test).await;
    take(&app, &session, 900, None).await;
    // A webhook from Certify days, listening to Certify names only.
    let receiver = TestReceiver::start().await;
    let url = receiver.url("/certify");
    let csrf = browser.csrf().await;
    let form = [
        ("_csrf", csrf.as_str()),
        ("url", url.as_str()),
        ("events", "certificationResultShared"),
        ("events", "certificationResultPending"),
    ];
    let (status, _, _) = browser.post("/integrations/webhooks", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    let (status, page, _) = browser.get("/integrations/certify").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Yes: your Certify assessments are proctored"), "{page}");
    assert!(page.contains(&format!(r#"href="/results/{session}" class="evidence""#)), "the evidence links its report");
    assert!(page.contains("Proctored: Yes"));
    for event in STEP2_PROCTORED {
        assert!(page.contains(&format!("<li><code>{}</code></li>", event.name())), "{}", event.name());
    }
    assert!(
        page.contains("will change")
            && page.contains("<code>certificationResultPending</code> <span class=\"badge legacy\">legacy</span>")
    );
    assert!(page.contains("+ preScreenResultVerificationPending"));

    // A form without the page's fingerprint is refused with the current plan; nothing changes.
    receiver.answer(StatusCode::INTERNAL_SERVER_ERROR);
    let csrf = browser.csrf().await;
    let (_, stale, _) = browser.post("/integrations/certify/apply", &[("_csrf", &csrf), ("plan", "old")]).await;
    assert!(stale.contains("The plan changed since the page was shown"), "{stale}");
    // The endpoint fails its ping: nothing applied, and the page says why.
    let plan = fingerprint(&page);
    let (_, failed, _) = browser.post("/integrations/certify/apply", &[("_csrf", &csrf), ("plan", &plan)]).await;
    assert!(failed.contains("the verification ping of") && failed.contains("nothing was applied"), "{failed}");
    let (webhook, _) = app.store.webhooks(&app.company).await.unwrap().pop().unwrap();
    assert_eq!(webhook.events, [EventKind::CertificationResultShared, EventKind::CertificationResultPending]);

    receiver.answer(StatusCode::OK);
    let (_, applied, _) = browser.post("/integrations/certify/apply", &[("_csrf", &csrf), ("plan", &plan)]).await;
    assert!(applied.contains("Plan applied") && applied.contains(&url), "{applied}");
    assert!(applied.contains(r#"id="up-to-date""#), "{applied}");
    let (webhook, _) = app.store.webhooks(&app.company).await.unwrap().pop().unwrap();
    assert!(STEP2_PROCTORED.iter().all(|e| webhook.events.contains(e)), "{:?}", webhook.events);
    assert!(webhook.events.contains(&EventKind::CertificationResultShared), "legacy kept");

    // Dropping the Certify names is a plan of its own.
    let (_, page, _) = browser.get("/integrations/certify?dropLegacy=1").await;
    assert!(page.contains(r#"<span class="badge bad">dropped</span>"#), "{page}");
    let plan = fingerprint(&page);
    let form = [("_csrf", csrf.as_str()), ("plan", plan.as_str()), ("dropLegacy", "1")];
    let (_, applied, _) = browser.post("/integrations/certify/apply", &form).await;
    assert!(applied.contains("Plan applied"), "{applied}");
    let (webhook, _) = app.store.webhooks(&app.company).await.unwrap().pop().unwrap();
    assert!(!webhook.events.iter().any(|e| e.is_legacy_certify()), "{:?}", webhook.events);
}

#[tokio::test]
async fn a_company_without_a_results_webhook_creates_one_and_keys_see_what_they_may() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&app.admin_key).await;
    let (_, page, _) = browser.get("/integrations/certify").await;
    assert!(page.contains("No Certified Evaluations yet") && page.contains(r#"id="new-webhook-url""#), "{page}");
    let plan = fingerprint(&page);
    let csrf = browser.csrf().await;
    let (_, refused, _) = browser.post("/integrations/certify/apply", &[("_csrf", &csrf), ("plan", &plan)]).await;
    assert!(refused.contains("newWebhookUrl: is required"), "{refused}");
    let receiver = TestReceiver::start().await;
    let url = receiver.url("/results");
    let form = [("_csrf", csrf.as_str()), ("plan", plan.as_str()), ("newWebhookUrl", url.as_str())];
    let (_, created, _) = browser.post("/integrations/certify/apply", &form).await;
    assert!(created.contains("created webhook wh_"), "{created}");
    assert_eq!(receiver.received().len(), 1, "pinged once");
    assert_eq!(app.store.webhooks(&app.company).await.unwrap().len(), 1);

    // A key without `webhooks` reads Steps 1 and 2 but is offered no plan, and cannot apply one.
    let mut reader = Browser::new(&app);
    reader.sign_in(&app.key(&[Permission::Results]).await).await;
    let (_, page, _) = reader.get("/integrations/certify").await;
    assert!(page.contains(r#"id="step1""#) && !page.contains(r#"id="apply-form""#), "{page}");
    let csrf = reader.csrf().await;
    let (status, _, _) = reader.post("/integrations/certify/apply", &[("_csrf", &csrf), ("plan", &plan)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Without the CSRF token, nothing is applied either.
    let (status, _, _) = browser.post("/integrations/certify/apply", &[("plan", &plan)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

const EXPORT: &str = r#"{"kind":"standardizedTest","id":"gca","title":"GCA","type":"certification","frameworkId":"general-coding","proctored":false}
{"kind":"certificationRequest","id":"r1","testId":"gca","candidateName":"Ada Lovelace","candidateEmail":"ada@example.com","createDate":1700000000000,"lastStatus":"shared","results":[{"testSessionId":"s1","startDate":1700000100000,"finishDate":1700003700000,"codingScore":820,"score":600,"maxScore":600,"certificationStatus":"certified","proctored":false}]}
"#;

/// The counts row of `kind` in the import report: imported, skipped, refused.
fn counts(page: &str, kind: &str) -> String {
    let at = page.find(&format!("<tr><td>{kind}</td>")).unwrap_or_else(|| panic!("no {kind} row: {page}"));
    let row = &page[at..at + page[at..].find("</tr>").unwrap()];
    row.split("<td>").skip(2).map(|c| c.trim_end_matches("</td>")).collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn an_admin_uploads_a_certify_export_and_reads_the_report() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&app.admin_key).await;
    let (_, page, _) = browser.get("/integrations/certify").await;
    assert!(page.contains(r#"id="import-form""#), "{page}");
    let csrf = browser.csrf().await;

    let (status, page) = browser
        .post_multipart(
            "/integrations/certify/import",
            &[("_csrf", None, &csrf), ("dryRun", None, "1"), ("export", Some("certify.jsonl"), EXPORT)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Checked 2 lines") && page.contains("dry run: nothing was written"), "{page}");
    assert_eq!(counts(&page, "Requests"), "1 0 0");
    assert!(!page.contains("[Migrated] GCA"), "a dry run writes nothing");

    let (_, page) = browser
        .post_multipart(
            "/integrations/certify/import",
            &[("_csrf", None, &csrf), ("export", Some("certify.jsonl"), EXPORT)],
        )
        .await;
    assert!(page.contains("Imported 2 lines"), "{page}");
    assert_eq!(counts(&page, "Tests"), "1 0 0");
    assert_eq!(counts(&page, "Results"), "1 0 0");
    assert!(page.contains("No webhooks were sent for imported history."));
    // Step 1 now reads the imported result as its evidence.
    assert!(page.contains("[Migrated] GCA") && page.contains("Proctored: No"), "{page}");

    let bad = format!("{EXPORT}{{\"kind\":\"certificationRequest\",\"id\":\"r2\"}}\n");
    let (_, page) = browser
        .post_multipart(
            "/integrations/certify/import",
            &[("_csrf", None, &csrf), ("export", Some("certify.jsonl"), &bad)],
        )
        .await;
    assert_eq!(counts(&page, "Requests"), "0 1 1");
    assert!(page.contains(r#"id="import-refusals""#) && page.contains("line 3: testId:"), "{page}");
    assert!(page.contains("1 line was refused"), "{page}");

    // No file chosen, no CSRF token: nothing is imported.
    let (_, page) = browser
        .post_multipart("/integrations/certify/import", &[("_csrf", None, &csrf), ("export", Some(""), "")])
        .await;
    assert!(page.contains("Choose a Certify export file"), "{page}");
    let (status, _) =
        browser.post_multipart("/integrations/certify/import", &[("export", Some("certify.jsonl"), EXPORT)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn importing_needs_the_admin_permission() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&app.key(&[Permission::Webhooks, Permission::Results]).await).await;
    let (_, page, _) = browser.get("/integrations/certify").await;
    assert!(!page.contains(r#"id="import-form""#), "not offered");
    let csrf = browser.csrf().await;
    let (status, _) = browser
        .post_multipart(
            "/integrations/certify/import",
            &[("_csrf", None, &csrf), ("export", Some("certify.jsonl"), EXPORT)],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
