//! Sign-in, sessions, CSRF, permissions and headers.

use reqwest::StatusCode;
use screenhook_domain::{Company, CompanyId, Millis, Permission};
use screenhook_engine::{Clock, keys};

use crate::{Browser, spawn_app};

#[tokio::test]
async fn a_signed_out_browser_is_sent_to_sign_in_and_back() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    let (status, _, headers) = browser.get("/results?status=over").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/?next=%2Fresults%3Fstatus%3Dover");
    let (status, page, _) = browser.get("/?next=%2Fresults").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"name="next" value="/results""#), "the form carries where to go back to");
}

#[tokio::test]
async fn a_wrong_or_revoked_key_cannot_sign_in() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let (status, page) = browser.sign_in("sk_nope_definitely-not-a-key").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("That API key is not valid"));
    assert!(browser.session.is_none());

    let key = app.key(&[Permission::Admin]).await;
    let public_id = key.split('_').nth(1).unwrap().to_owned();
    app.engine.revoke_api_key(&app.company, &public_id, app.clock.now()).await.unwrap();
    let (status, _) = browser.sign_in(&key).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn signing_in_sets_a_strict_http_only_cookie_and_signing_out_clears_it() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let res = browser.http.get(format!("{}/", app.base)).send().await.unwrap();
    let set = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    let (status, _) = browser.sign_in(&app.admin_key).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let session = browser.session.clone().expect("a session cookie");
    assert!(!session.contains(app.admin_key.split('_').nth(2).unwrap()), "the key's secret never reaches the cookie");
    let (status, page, _) = browser.get("/prescreens").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Pre-Screens"));

    let csrf = browser.csrf().await;
    let (status, _, headers) = browser.post("/signout", &[("_csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
}

#[tokio::test]
async fn sign_in_without_its_own_token_is_refused() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    let (status, page, headers) =
        browser.post("/signin", &[("_csrf", "forged"), ("key", &app.admin_key), ("next", "/prescreens")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("This form has expired"));
    assert!(headers.get("set-cookie").is_none());
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&app.admin_key).await;
    let form = [("title", "Backend"), ("framework", "custom"), ("durationMinutes", "60")];
    let (status, page, _) = browser.post("/prescreens", &form).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("This form has expired"));
    // Another session's token is no better.
    let mut other = Browser::new(&app);
    other.sign_in(&app.admin_key).await;
    let foreign = other.csrf().await;
    let (status, _, _) = browser.post("/prescreens", &[("_csrf", &foreign), ("title", "Backend")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(app.store.tests(&app.company).await.unwrap().is_empty());

    let csrf = browser.csrf().await;
    let mut with_token = vec![("_csrf", csrf.as_str())];
    with_token.extend(form);
    let (status, _, headers) = browser.post("/prescreens", &with_token).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the same form with its token is accepted");
    assert!(headers["location"].to_str().unwrap().starts_with("/prescreens/"));
    assert_eq!(app.store.tests(&app.company).await.unwrap().len(), 1);
}

#[tokio::test]
async fn revoking_the_key_ends_its_sessions() {
    let app = spawn_app().await;
    let key = app.key(&[Permission::Admin]).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&key).await;
    assert_eq!(browser.get("/integrations/keys").await.0, StatusCode::OK);
    let public_id = key.split('_').nth(1).unwrap().to_owned();
    app.engine.revoke_api_key(&app.company, &public_id, app.clock.now()).await.unwrap();
    assert_eq!(browser.get("/integrations/keys").await.0, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn what_a_key_may_not_do_is_neither_offered_nor_allowed() {
    let app = spawn_app().await;
    let key = app.key(&[Permission::Webhooks]).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&key).await;
    let (status, page, _) = browser.get("/integrations/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(r#"href="/prescreens""#), "no Pre-Screens link for a webhooks-only key");
    assert!(!page.contains(r#"href="/integrations/keys""#));
    assert!(!page.contains(r#"href="/proctoring""#));
    for path in ["/prescreens", "/results", "/integrations/keys", "/proctoring"] {
        let (status, page, _) = browser.get(path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.contains("does not have the"), "{path}");
    }
    let csrf = browser.csrf().await;
    let (status, _, _) = browser.post("/prescreens", &[("_csrf", &csrf), ("title", "x")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // An admin key without `proctor` cannot mint a proctor key from the console either.
    let admin = app.key(&[Permission::Admin]).await;
    let mut admin_browser = Browser::new(&app);
    admin_browser.sign_in(&admin).await;
    let csrf = admin_browser.csrf().await;
    let (_, page, _) = admin_browser
        .post("/integrations/keys", &[("_csrf", &csrf), ("description", "p"), ("permissions", "proctor")])
        .await;
    assert!(page.contains("cannot grant"), "{page}");
    assert_eq!(app.store.api_keys(&app.company).await.unwrap().len(), 3);
}

#[tokio::test]
async fn the_simulator_needs_a_signed_in_sandbox_admin_and_its_token() {
    let app = spawn_app().await;
    let anonymous = Browser::new(&app);
    let (status, _, _) = anonymous.post("/simulate/run", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "no session: sent to sign in, nothing runs");

    let mut browser = Browser::new(&app);
    browser.sign_in(&app.admin_key).await;
    let (status, _, _) = browser.post("/simulate/run", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token");

    let company = Company {
        id: CompanyId::parse("acme").unwrap(),
        name: "Acme".into(),
        sandbox: false,
        clock_offset: Millis::from_millis(0),
        created_at: app.clock.now(),
        disabled_at: None,
    };
    app.store.insert_company(&company).await.unwrap();
    let key = keys::issue(&*app.store, &company.id, "acme admin", vec![Permission::Admin], app.clock.now())
        .await
        .unwrap()
        .token;
    let mut acme = Browser::new(&app);
    acme.sign_in(&key).await;
    let csrf = acme.csrf().await;
    let (status, page, _) = acme.post("/simulate/run", &[("_csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("not a sandbox company"));
    let (status, _, _) = acme.post("/sandbox/clock", &[("_csrf", &csrf), ("amount", "1"), ("unit", "days")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.store.company(&company.id).await.unwrap().unwrap().clock_offset, Millis::from_millis(0));
    // Only the keys made here exist: no temporary simulation key was issued.
    assert_eq!(app.store.api_keys(&company.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_loads_nothing_from_elsewhere() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&app.admin_key).await;
    for path in [
        "/",
        "/prescreens",
        "/prescreens/new",
        "/results",
        "/integrations/webhooks/new",
        "/sandbox",
        "/lifecycle",
        "/nowhere",
    ] {
        let (_, page, headers) = browser.get(path).await;
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert!(!page.contains("<script>"), "{path}: no inline script");
        assert!(!page.contains(" style=\""), "{path}: no inline style");
        assert!(!page.contains("src=\"http") && !page.contains("href=\"https://"), "{path}: nothing from elsewhere");
    }
    let (status, _, headers) = browser.get("/assets/app.css").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/css; charset=utf-8");
    assert_eq!(browser.get("/assets/nope.js").await.0, StatusCode::NOT_FOUND);
}
