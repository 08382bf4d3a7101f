//! The console as a person uses it: what `screenhook serve` runs (the `App`) on a fresh SQLite
//! file, driven through WebDriver in Debian's headless Chromium (`chromium` and
//! `chromium-driver`).
//!
//! These tests fail, not skip, when the browser or its driver is missing: `.ci/run` installs
//! both. Each test keeps a screenshot of every step in `target/browser-screenshots/`.

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use support::{free_port, spawn_app};
use tokio::sync::Semaphore;

/// Two Chromiums at a time: more only slows a 2-core machine down.
static BROWSERS: Semaphore = Semaphore::const_new(2);

/// How long a page may take to show what a step waits for.
const PATIENCE: Duration = Duration::from_secs(20);

/// A server, a browser on it, and the sandbox company's admin key.
struct Console {
    server: Server,
    browser: Client,
    _driver: Driver,
    _permit: tokio::sync::SemaphorePermit<'static>,
    name: &'static str,
    shots: usize,
}

impl Console {
    async fn start(name: &'static str) -> Console {
        let permit = BROWSERS.acquire().await.expect("the semaphore is never closed");
        let server = Server::start().await;
        let (driver, browser) = Driver::start().await;
        Console { server, browser, _driver: driver, _permit: permit, name, shots: 0 }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base())
    }

    async fn open(&self, path: &str) {
        self.browser.goto(&self.url(path)).await.expect("open a page");
    }

    /// Keeps a screenshot of what the browser shows, named after the test and the step.
    async fn shot(&mut self, step: &str) {
        self.shots += 1;
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../browser-screenshots");
        std::fs::create_dir_all(&dir).expect("the screenshot directory");
        let png = self.browser.screenshot().await.expect("a screenshot");
        std::fs::write(dir.join(format!("{}-{:02}-{step}.png", self.name, self.shots)), png).expect("keep it");
    }

    async fn find(&self, css: &str) -> Element {
        match self.browser.wait().at_most(PATIENCE).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(err) => panic!("no `{css}` on {}: {err}\n{}", self.here().await, self.text().await),
        }
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|err| panic!("click `{css}`: {err}"));
    }

    async fn type_into(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear the field");
        field.send_keys(text).await.expect("type");
    }

    async fn here(&self) -> String {
        self.browser.current_url().await.expect("the current URL").to_string()
    }

    /// The page's visible text.
    async fn text(&self) -> String {
        match self.browser.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits until the text of `css` satisfies `test`, and returns it.
    async fn wait_for_text(&self, css: &str, what: &str, test: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(element) = self.browser.find(Locator::Css(css)).await {
                last = element.text().await.unwrap_or_default();
                if test(&last) {
                    return last;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("`{css}` never showed {what} on {}; it shows {last:?}", self.here().await);
    }

    async fn sign_in(&mut self) {
        self.open("/").await;
        let key = self.server.api_key.clone();
        self.type_into("#key", &key).await;
        self.click("#signin").await;
        self.find("nav").await;
        assert!(!self.here().await.ends_with("/signin"), "signed in and sent on");
    }

    /// Creates a Pre-Screen through the console's form and returns its page's URL.
    async fn create_prescreen(&mut self, framework: &str, title: &str, proctored: bool) -> String {
        self.open("/prescreens/new").await;
        self.click(&format!("input[name=framework][value=\"{framework}\"]")).await;
        self.type_into("#title", title).await;
        let checkbox = self.find("#proctored").await;
        if checkbox.is_selected().await.expect("the checkbox's state") != proctored {
            checkbox.click().await.expect("tick Proctored");
        }
        self.click("#create").await;
        let heading = self.wait_for_text("#test-title", "the new Pre-Screen", |t| t == title).await;
        assert_eq!(heading, title);
        self.here().await
    }

    /// "Invite yourself" on a Pre-Screen's page; returns the invitation link it shows.
    async fn invite_yourself(&mut self) -> String {
        self.click("#invite-yourself").await;
        let link = self.find("#invitation-link").await;
        link.attr("href").await.expect("the link's href").expect("an href")
    }

    /// As the candidate: opens the link, starts, and submits `score`.
    async fn take_assessment(&mut self, link: &str, score: u32) {
        self.browser.goto(link).await.expect("open the invitation link");
        self.click("button[data-action=start]").await;
        self.type_into("#submit input[name=score]", &score.to_string()).await;
        self.shot("candidate-started").await;
        self.click("#submit button[type=submit]").await;
        let deadline = Instant::now() + PATIENCE;
        while self.find("#status").await.text().await.unwrap_or_default() == "active" {
            let refusal = self.find("#message").await.text().await.unwrap_or_default();
            assert!(refusal.is_empty(), "the submission was refused: {refusal}");
            assert!(Instant::now() < deadline, "the session never finished");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Adds a webhook for `events` at `url`; returns the page the console lands on.
    async fn add_webhook(&mut self, url: &str, events: &[&str]) {
        self.open("/integrations/webhooks/new").await;
        self.type_into("#url", url).await;
        for event in events {
            self.click(&format!("input[name=events][value={event}]")).await;
        }
        self.click("#save").await;
    }
}

/// Ends the browser session, which makes chromedriver quit its Chromium, before the driver is
/// killed (killing chromedriver alone leaves Chromium running). Runs on panics too.
impl Drop for Console {
    fn drop(&mut self) {
        let browser = self.browser.clone();
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async {
                let _ = browser.close().await;
            })
        });
    }
}

/// Step 4's lightweight path (a), the Coding Report behind a delivered payload's URL (f), and
/// replay from the delivery log (d).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_4_a_notification_arrives_signed_and_its_report_opens() {
    let mut console = Console::start("step4").await;
    console.sign_in().await;
    console.shot("signed-in").await;

    // A bin in its own window, left open: the notification must appear there live.
    console.open("/inspect/new").await;
    console.click("#create-bin").await;
    let bin_url = console.wait_for_text("#bin-url", "the bin's URL", |t| t.contains("/inspect/")).await;
    let bin_page_url = console.here().await;
    let bin_page = console.browser.window().await.expect("the bin's window");
    console.shot("bin").await;

    let candidate = console.browser.new_window(true).await.expect("a second tab").handle;
    console.browser.switch_to_window(candidate.clone()).await.expect("switch tabs");
    console.add_webhook(&bin_url, &["companyTestSessionStarted", "companyTestSessionFinished"]).await;
    let state = console.wait_for_text("#webhook-state", "the saved webhook", |t| !t.is_empty()).await;
    assert_eq!(state, "healthy", "the verification ping reached the bin");
    let webhook_page = console.here().await;
    console.shot("webhook-saved").await;

    console.create_prescreen("custom", "Backend Pre-Screen", false).await;
    let link = console.invite_yourself().await;
    console.shot("invited").await;
    console.take_assessment(&link, 80).await;

    // The bin page shows the start, then the finish, each with both signatures valid.
    console.browser.switch_to_window(bin_page).await.expect("back to the bin");
    let finished = console
        .wait_for_text("#list", "both notifications", |t| {
            t.contains("companyTestSessionStarted") && t.contains("companyTestSessionFinished")
        })
        .await;
    // Every notification names the webhook that sent it and verifies with its secret.
    let articles = console.browser.find_all(Locator::Css("#list article.request")).await.expect("requests");
    let mut notifications = 0;
    for article in articles {
        let text = article.text().await.expect("a request's text");
        if text.contains("companyTestSession") {
            notifications += 1;
            assert!(
                text.contains("✓ X-CodeSignal-Signature valid") && text.contains("✓ webhook-signature valid"),
                "{text}"
            );
        }
    }
    assert_eq!(notifications, 2, "{finished}");
    console.shot("notifications-arrived").await;

    // (f) The finished payload's `url` opens the Coding Report, read-only, in a signed-out browser.
    let mut report_url = None;
    for body in console.browser.find_all(Locator::Css("#list article.request > pre")).await.expect("bodies") {
        let payload: Value = serde_json::from_str(&body.text().await.expect("a body")).expect("a JSON payload");
        if payload["event"] == "companyTestSessionFinished" {
            report_url = payload["payload"]["url"].as_str().map(str::to_owned);
        }
    }
    let report_url = report_url.expect("the finished payload carries its result's url");
    assert!(report_url.starts_with(&console.url("/test-result/")), "{report_url}");
    console.browser.delete_all_cookies().await.expect("sign out by forgetting the cookie");
    console.browser.goto(&report_url).await.expect("open the report URL");
    let name = console.wait_for_text("#candidate-name", "the candidate", |t| !t.is_empty()).await;
    assert!(name.contains("You"), "{name}");
    assert_eq!(console.find("#proctored").await.text().await.unwrap(), "Proctored: No");
    assert!(console.browser.find(Locator::Css("nav")).await.is_err(), "read-only: no console navigation");
    console.shot("report-from-payload").await;
    // A wrong token is no report.
    console.browser.goto(&report_url.replace("accessToken=", "accessToken=x")).await.unwrap();
    assert!(console.text().await.contains("404"), "{}", console.text().await);

    // (d) Replay the start from the delivery log: a second request arrives under the same event id.
    console.sign_in().await;
    console.browser.goto(&webhook_page).await.unwrap();
    let rows = console.find("#deliveries").await.text().await.unwrap();
    assert!(rows.contains("companyTestSessionStarted") && rows.contains("delivered"), "{rows}");
    console.shot("delivery-log").await;
    let mut replay = None;
    for row in console.browser.find_all(Locator::Css("#deliveries > tbody > tr")).await.unwrap() {
        if row.text().await.unwrap().contains("companyTestSessionStarted") {
            replay = Some(row.find(Locator::Css("button.replay")).await.expect("a replay button"));
        }
    }
    replay.expect("the start's delivery").click().await.expect("replay it");
    let notice = console.wait_for_text(".notice", "the replay's notice", |t| !t.is_empty()).await;
    assert!(notice.contains("queued again, with the same webhook-id"), "{notice}");
    console.shot("replayed").await;
    // The ping, the start, the finish, and now the start again.
    console.browser.goto(&bin_page_url).await.unwrap();
    console.wait_for_text("#list", "the replayed notification", |t| t.contains("#4 POST")).await;
    let replayed = console.find("#r4").await.text().await.unwrap();
    assert!(
        replayed.contains("companyTestSessionStarted") && replayed.contains("✓ webhook-signature valid"),
        "{replayed}"
    );
    console.shot("replay-arrived").await;
}

/// Step 1 (b): Results → the most recent result of a proctored Certified Evaluation → its Coding
/// Report reads "Proctored: Yes".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_1_the_coding_report_says_proctored_yes() {
    let mut console = Console::start("step1").await;
    console.sign_in().await;
    console.create_prescreen("general-coding", "General Coding (proctored)", true).await;
    assert_eq!(console.find("#test-proctored").await.text().await.unwrap(), "Yes");
    let link = console.invite_yourself().await;
    console.take_assessment(&link, 300).await;

    console.open("/").await;
    console.click("nav a[href=\"/results\"]").await;
    console.shot("results").await;
    let newest = console.find("a.result-link").await;
    newest.click().await.expect("open the most recent result");
    let proctored = console.wait_for_text("#proctored", "the proctored line", |t| t.starts_with("Proctored")).await;
    assert_eq!(proctored, "Proctored: Yes");
    let score = console.find("#assessment-score").await.text().await.unwrap();
    let score: u32 = score.trim().parse().unwrap_or_else(|_| panic!("an Assessment Score, not {score:?}"));
    assert!((200..=600).contains(&score), "{score}");
    console.shot("coding-report").await;
}

/// (c) A webhook whose verification ping fails shows why, keeps what was typed, and is not saved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_whose_ping_fails_is_not_saved() {
    let mut console = Console::start("ping").await;
    console.sign_in().await;
    // A bin told, on its page, to answer 500 to everything, the verification ping included.
    console.open("/inspect/new").await;
    console.click("#create-bin").await;
    let bin_url = console.wait_for_text("#bin-url", "the bin's URL", |t| t.contains("/inspect/")).await;
    let bin_page = console.here().await;
    console.type_into("#status-input", "500").await;
    console.click("#status-form button[type=submit]").await;
    console.wait_for_text("#status-message", "the new status", |t| t == "Now answering 500.").await;
    assert_eq!(console.find("#respond-with").await.text().await.unwrap(), "500");
    console.shot("bin-answers-500").await;

    console.add_webhook(&bin_url, &["companyTestSessionStarted"]).await;
    let error = console.wait_for_text("#form-error", "why the save failed", |t| !t.is_empty()).await;
    assert!(error.contains("500"), "the answer is named: {error}");
    assert_eq!(console.find("#url").await.prop("value").await.unwrap().as_deref(), Some(bin_url.as_str()));
    let kept = console.find("input[name=events][value=companyTestSessionStarted]").await;
    assert!(kept.is_selected().await.unwrap(), "the picked events are kept");
    console.shot("ping-failed").await;

    console.open("/integrations/webhooks").await;
    assert!(console.browser.find(Locator::Css("#webhooks")).await.is_err(), "nothing was saved");
    assert!(!console.text().await.contains(&bin_url));
    console.shot("no-webhook").await;

    // The bin's page deletes the bin (after a confirmation) and goes back to the inspector.
    console.browser.goto(&bin_page).await.unwrap();
    console.click("#delete-bin").await;
    console.browser.accept_alert().await.expect("confirm the deletion");
    console.find("#create-bin").await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let gone = http.post(&bin_url).send().await.unwrap().status();
    assert_eq!(gone, reqwest::StatusCode::NOT_FOUND, "the deleted bin receives nothing");
}

/// A secret is rotated from the webhook's page: the new one is shown, the old one keeps
/// signing for the hour chosen, and the page says until when.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_secret_is_rotated_with_the_old_one_still_signing() {
    let mut console = Console::start("rotate").await;
    console.sign_in().await;
    console.open("/inspect/new").await;
    console.click("#create-bin").await;
    let bin_url = console.wait_for_text("#bin-url", "the bin's URL", |t| t.contains("/inspect/")).await;
    console.add_webhook(&bin_url, &["companyTestSessionStarted"]).await;
    console.wait_for_text("#webhook-state", "the saved webhook", |t| t == "healthy").await;
    assert!(console.browser.find(Locator::Css(".previous-secret")).await.is_err(), "one secret so far");
    console.click("#reveal-secret").await;
    let old = console.wait_for_text("#secret", "the secret", |t| t.starts_with("whsec_")).await;

    console.click("input[name=secretChange][value=generate]").await;
    console.find("#old-secret-valid-for").await.select_by_value("3600").await.expect("choose an hour");
    console.click("#save").await;
    let notice = console.wait_for_text(".notice", "the save's notice", |t| !t.is_empty()).await;
    assert!(notice.contains("saved"), "{notice}");
    let previous = console.find(".previous-secret").await.text().await.unwrap();
    assert!(previous.contains("An earlier secret still signs deliveries beside this one until"), "{previous}");
    console.click("#reveal-secret").await;
    let new = console.wait_for_text("#secret", "the new secret", |t| t.starts_with("whsec_")).await;
    assert_ne!(old, new, "a new secret was generated");
    console.shot("rotated").await;
    let overlap = "document.getElementById('old-secret-valid-for').scrollIntoView({block: 'center'})";
    console.browser.execute(overlap, vec![]).await.expect("scroll to the overlap choice");
    console.shot("overlap-choice").await;
}

/// (e) A wrong key cannot sign in, a signed-out browser is sent to sign in, and a form posted
/// without its CSRF token is refused and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_and_forms_are_guarded() {
    let mut console = Console::start("guard").await;
    console.open("/prescreens").await;
    let here = console.here().await;
    assert!(here.starts_with(&console.url("/?next=")), "signed out, sent to sign in: {here}");
    console.type_into("#key", "sk_not-a-key").await;
    console.click("#signin").await;
    let error = console.wait_for_text("#signin-error", "the refusal", |t| !t.is_empty()).await;
    assert!(error.to_lowercase().contains("key"), "{error}");
    assert!(console.browser.find(Locator::Css("nav")).await.is_err(), "not signed in");
    console.shot("wrong-key").await;

    // The right key, then back where the browser was going.
    let key = console.server.api_key.clone();
    console.type_into("#key", &key).await;
    console.click("#signin").await;
    console.wait_for_text("h1", "the Pre-Screens page", |t| t == "Pre-Screens").await;
    assert!(console.here().await.ends_with("/prescreens"), "{}", console.here().await);

    // Strip the token from the new Pre-Screen form, as a forged cross-site form would lack it.
    console.open("/prescreens/new").await;
    console.type_into("#title", "Forged").await;
    console
        .browser
        .execute("document.querySelector('form[action=\"/prescreens\"] input[name=_csrf]').remove()", vec![])
        .await
        .expect("remove the token");
    console.click("#create").await;
    let refused = console.wait_for_text(".error-page", "the refusal", |t| !t.is_empty()).await;
    assert!(refused.contains("403"), "{refused}");
    console.shot("csrf-refused").await;
    console.open("/prescreens").await;
    assert!(!console.text().await.contains("Forged"), "nothing was created");

    // Signing out ends the session.
    console.click("#signout").await;
    console.find("#key").await;
    console.open("/prescreens").await;
    assert!(console.here().await.starts_with(&console.url("/?next=")), "signed out");
}

/// The sandbox's simulator, live: each notification appears as it fires, then the report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulation_shows_each_notification_as_it_fires() {
    let mut console = Console::start("simulate").await;
    console.sign_in().await;
    console.open("/sandbox").await;
    console.shot("sandbox").await;
    console.click("#run-simulation").await;
    // The feed fills while the run goes on, before the verdict is there.
    console.wait_for_text("#sim-feed", "a first notification", |t| !t.is_empty()).await;
    let verdict = console.wait_for_text("#sim-verdict", "the verdict", |t| !t.is_empty()).await;
    assert!(verdict.starts_with("Every path passed."), "{verdict}");
    let items = console.browser.find_all(Locator::Css("#sim-feed li")).await.unwrap();
    assert!(items.len() >= 14, "every path's notifications are in the feed, not {}", items.len());
    let report = console.find("#sim-report table").await.text().await.unwrap();
    assert!(report.contains("companyTestSessionStarted"), "{report}");
    console.shot("simulated").await;
}

/// The Certify transition in the console: Step 1 with its evidence, Step 2's list, and the plan
/// applied to a webhook that still listens to Certify names only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certify_transition_step_1_step_2_and_apply() {
    let mut console = Console::start("certify").await;
    console.sign_in().await;
    console.create_prescreen("general-coding", "Certify GCF", true).await;
    let link = console.invite_yourself().await;
    console.take_assessment(&link, 700).await;
    console.open("/inspect/new").await;
    console.click("#create-bin").await;
    let bin_url = console.wait_for_text("#bin-url", "the bin's URL", |t| t.contains("/inspect/")).await;
    console.add_webhook(&bin_url, &["certificationResultShared", "certificationResultPending"]).await;
    console.wait_for_text("#webhook-state", "the saved webhook", |t| t == "healthy").await;

    console.open("/").await;
    console.click("nav a[href=\"/integrations/certify\"]").await;
    let answer = console.wait_for_text("#step1-answer", "Step 1's answer", |t| !t.is_empty()).await;
    assert_eq!(answer, "Yes: your Certify assessments are proctored");
    let recommended = console.find("#recommended").await.text().await.unwrap();
    assert!(recommended.contains("preScreenResultVerified") && recommended.contains("preScreenResultNotVerified"));
    let plan = console.find("#plan").await.text().await.unwrap();
    assert!(plan.contains("will change") && plan.contains("+ preScreenResultVerificationPending"), "{plan}");
    console.browser.execute("document.getElementById('plan').scrollIntoView()", vec![]).await.unwrap();
    console.shot("plan").await;

    // The evidence is the Coding Report the transition guide points to.
    console.click("#step1-tests a.evidence").await;
    assert_eq!(console.wait_for_text("#proctored", "the report", |t| !t.is_empty()).await, "Proctored: Yes");
    console.browser.back().await.unwrap();

    console.click("#apply-plan").await;
    let notice = console.wait_for_text("#notice", "the outcome", |t| !t.is_empty()).await;
    assert!(notice.starts_with("Plan applied"), "{notice}");
    console.find("#up-to-date").await;
    console.shot("applied").await;
    let after = console.find("#plan").await.text().await.unwrap();
    assert!(after.contains("up to date"), "{after}");
}

/// Integrations → Certify transition: a Certify export uploaded in the browser becomes a
/// Certified Evaluation with its result, and Step 1 reads that result as its evidence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certify_export_uploaded_and_imported() {
    let mut console = Console::start("certify-import").await;
    console.sign_in().await;
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("certify-export.jsonl");
    std::fs::write(
        &export,
        concat!(
            r#"{"kind":"standardizedTest","id":"gca","title":"General Coding","type":"certification","frameworkId":"general-coding","proctored":false}"#,
            "\n",
            r#"{"kind":"certificationRequest","id":"r1","testId":"gca","candidateName":"Ada Lovelace","candidateEmail":"ada@example.com","createDate":1700000000000,"lastStatus":"shared","results":[{"testSessionId":"s1","startDate":1700000100000,"finishDate":1700003700000,"codingScore":820,"score":600,"maxScore":600,"certificationStatus":"certified","proctored":false}]}"#,
            "\n",
            r#"{"kind":"certificationRequest","id":"r2","testId":"gca","candidateName":"","candidateEmail":"x@example.com","createDate":1700000000000,"lastStatus":"pending","results":[]}"#,
            "\n",
        ),
    )
    .unwrap();
    console.open("/integrations/certify").await;
    console.find("#import-file").await.send_keys(export.to_str().unwrap()).await.unwrap();
    console.click("#import-submit").await;
    let counts = console.wait_for_text("#import-counts", "the import report", |t| !t.is_empty()).await;
    assert!(counts.contains("Requests 1 0 1"), "{counts}");
    let refusals = console.find("#import-refusals").await.text().await.unwrap();
    assert!(refusals.contains("line 3: candidateName: must not be empty"), "{refusals}");
    console.browser.execute("document.getElementById('import').scrollIntoView()", vec![]).await.unwrap();
    console.shot("import-report").await;
    let answer = console.find("#step1-answer").await.text().await.unwrap();
    assert_eq!(answer, "No: your Certify assessments are not proctored");
    let evidence = console.find("#step1-tests").await.text().await.unwrap();
    assert!(evidence.contains("[Migrated] General Coding") && evidence.contains("Ada Lovelace"), "{evidence}");
}

/// Every page the navigation offers opens, in the shared layout, with a heading and no error,
/// including with something to show (a Pre-Screen, a result, a webhook, a key).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_of_the_navigation_opens() {
    let mut console = Console::start("pages").await;
    console.sign_in().await;
    console.create_prescreen("general-coding", "Proctored General Coding", true).await;
    let link = console.invite_yourself().await;
    console.take_assessment(&link, 900).await;
    console.open("/").await;
    let mut links = Vec::new();
    for a in console.browser.find_all(Locator::Css("nav a")).await.expect("the navigation") {
        links.push(a.attr("href").await.unwrap().expect("an href"));
    }
    for expected in
        ["/prescreens", "/results", "/integrations/webhooks", "/integrations/keys", "/proctoring", "/sandbox"]
    {
        assert!(links.iter().any(|l| l == expected), "the navigation offers {expected}: {links:?}");
    }
    for link in links {
        console.open(&link).await;
        if link == "/graphiql" {
            // GraphiQL draws itself from the binary's own copies of its scripts: no network here.
            console.find(".graphiql-container .graphiql-editors").await;
            console.shot("graphiql").await;
            continue;
        }
        let heading = console.find("h1").await.text().await.unwrap();
        assert!(console.browser.find(Locator::Css(".error-page")).await.is_err(), "{link} is an error page");
        assert!(!heading.is_empty(), "{link} has a heading");
        let step = link.trim_start_matches('/').replace('/', "-");
        console.shot(if step.is_empty() { "home" } else { &step }).await;
    }
}

/// `chromedriver` on a free port and a headless Chromium session through it.
struct Driver {
    child: Child,
    /// Removed when the driver (and the Chromium it started) is gone.
    profiles: Vec<tempfile::TempDir>,
}

impl Driver {
    async fn start() -> (Driver, Client) {
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!(
                    "chromedriver could not start ({err}): the browser tests need Debian's chromium and \
                     chromium-driver (`apt-get install -y chromium chromium-driver`; .ci/run installs them)"
                )
            });
        let mut driver = Driver { child, profiles: Vec::new() };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // A fresh profile per attempt: a Chromium that exited during a failed attempt may
            // leave its profile locked, and a later session on it would exit at once too.
            let profile = tempfile::tempdir().expect("a Chromium profile directory");
            let mut options = json!({
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            });
            if std::path::Path::new("/usr/bin/chromium").exists() {
                options["binary"] = json!("/usr/bin/chromium");
            }
            let capabilities = json!({ "goog:chromeOptions": options });
            driver.profiles.push(profile);
            let connected = ClientBuilder::rustls()
                .expect("a TLS configuration")
                .capabilities(capabilities.as_object().expect("an object").clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await;
            match connected {
                Ok(client) => return (driver, client),
                Err(err) if Instant::now() > deadline => panic!("no Chromium session through chromedriver: {err}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What `screenhook serve` runs, on a fresh SQLite file, as the README starts it: the same
/// [`screenhook::App`], in this process on a port of its own.
struct Server {
    app: screenhook::Running,
    api_key: String,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = dir.path().join("screenhook.db");
        // Links and bins point at this server (its address is its public URL), and its bins are
        // trusted receivers.
        let app = spawn_app(&[
            ("SCREENHOOK_DATABASE__PATH", db.to_str().expect("a UTF-8 path")),
            ("SCREENHOOK_DELIVERY__ALLOW_LOOPBACK", "true"),
        ])
        .await;
        let api_key = app.created_sandbox().expect("a fresh database gets the sandbox company").key.clone();
        Server { app, api_key, _dir: dir }
    }

    fn base(&self) -> String {
        self.app.url()
    }
}
