//! Cross-tenant attempts: company A's keys against company B's
//! objects. Every attempt is refused exactly like an id that does not exist, and B's data is
//! the same afterwards.

use reqwest::StatusCode;
use screenhook_domain::{Company, CompanyId, Millis, Permission, SessionId, Timestamp};
use screenhook_engine::keys;
use screenhook_testkit::TestReceiver;
use serde_json::{Value, json};

use crate::{App, code, message, spawn_app, token_of, webhooks::create_webhook};

struct CompanyB {
    key: String,
    public_id: String,
    test: String,
    session: String,
    token: String,
    webhook: String,
    /// The event B's invitation fired.
    event: String,
    receiver: TestReceiver,
}

/// The id of the first event `session` fired.
async fn first_event(app: &App, company: &str, session: &str) -> String {
    let events = app
        .store
        .events_of_session(&CompanyId::parse(company).unwrap(), &SessionId::parse(session).unwrap())
        .await
        .unwrap();
    events[0].id.to_string()
}

async fn company_b(app: &App) -> CompanyB {
    let id = CompanyId::parse("company-b").unwrap();
    let company = Company {
        id: id.clone(),
        name: "B Corp".into(),
        sandbox: false,
        clock_offset: Millis::from_millis(0),
        created_at: Timestamp::from_millis(crate::START),
        disabled_at: None,
    };
    app.store.insert_company(&company).await.expect("insert B");
    let issued =
        keys::issue(&*app.store, &id, "B admin", Permission::ALL.to_vec(), Timestamp::from_millis(crate::START))
            .await
            .expect("B key");
    let receiver = TestReceiver::start().await;
    let webhook = create_webhook(app, &issued.token, receiver.url("/b"), &["companyTestSessionCreated"]).await;
    let test = app.create_framework_test(&issued.token, true).await.expect("B's test");
    let invited = app.invite(&issued.token, &test, "bee@example.com", "gh-b").await;
    let session = invited["id"].as_str().unwrap().to_owned();
    CompanyB {
        key: issued.token,
        public_id: issued.key.public_id,
        test,
        event: first_event(app, "company-b", &session).await,
        session,
        token: token_of(&invited["invitationUrl"]),
        webhook: webhook["webhook"]["id"].as_str().unwrap().to_owned(),
        receiver,
    }
}

/// Everything B can see of its own data.
async fn snapshot(app: &App, b: &CompanyB) -> Value {
    let (_, body) = app
        .gql_as(
            &b.key,
            "query($t: ID!, $s: ID!) {
                companyTest(id: $t) { id title externalTitle labels internalDescription status }
                companyTestSession(id: $s) { id status expirationDate customDuration verificationStatus reactivatedSession { newSessionId } }
                companyTestSessions(companyTestId: $t) { id }
                apiKeys { publicId revokeDate }
                webhooks { id url events ownerEmails customHeaders { name value } state consecutiveFailures updateDate }
                webhookDeliveries(first: 100) { id eventId state attempts replay } }",
            json!({ "t": b.test, "s": b.session }),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let events = app
        .store
        .events_of_session(&CompanyId::parse("company-b").unwrap(), &SessionId::parse(b.session.as_str()).unwrap())
        .await
        .unwrap()
        .len();
    let secret = app
        .store
        .webhook(
            &CompanyId::parse("company-b").unwrap(),
            &screenhook_domain::WebhookId::parse(b.webhook.as_str()).unwrap(),
        )
        .await
        .unwrap()
        .map(|(webhook, _)| webhook.secret);
    json!({ "data": body["data"], "events": events, "secret": secret, "received": b.receiver.received().len() })
}

#[tokio::test]
async fn company_a_cannot_reach_company_b() {
    let app = spawn_app().await;
    let b = company_b(&app).await;
    let a_receiver = TestReceiver::start().await;
    let a_webhook = create_webhook(&app, &app.admin_key, a_receiver.url("/a"), &["companyTestSessionCreated"]).await;
    let a_webhook = a_webhook["webhook"]["id"].as_str().unwrap().to_owned();
    let a_test = app.create_framework_test(&app.admin_key, true).await.expect("A's test");
    let a_session =
        app.invite(&app.admin_key, &a_test, "ay@example.com", "gh-a").await["id"].as_str().unwrap().to_owned();
    let a_event = first_event(&app, app.company.as_str(), &a_session).await;
    assert_eq!(app.worker.run_pending().await.unwrap(), 2, "A's and B's invitations are delivered");
    let before = snapshot(&app, &b).await;
    let later = crate::START + Millis::days(30).as_millis();

    let (t, s) = (b.test.as_str(), b.session.as_str());
    let (wh, ev) = (b.webhook.as_str(), b.event.as_str());
    let webhook_nf = format!("webhook {wh} was not found");
    let test_nf = format!("test {t} was not found");
    let session_nf = format!("test session {s} was not found");
    let attempts: Vec<(&str, String, Value, String)> = vec![
        ("read B's test", "query($id: ID!) { companyTest(id: $id) { title } }".into(), json!({ "id": t }), test_nf.clone()),
        ("read B's session", "query($id: ID!) { companyTestSession(id: $id) { status } }".into(), json!({ "id": s }), session_nf.clone()),
        ("list B's test's sessions", "query($id: ID!) { companyTestSessions(companyTestId: $id) { id } }".into(), json!({ "id": t }), test_nf.clone()),
        ("companyTests of B", "{ companyTests(companyId: \"company-b\", first: 10) { totalCount } }".into(), json!({}), "company company-b was not found".into()),
        ("B's company", "{ company(id: \"company-b\") { name } }".into(), json!({}), "company company-b was not found".into()),
        ("B's certification tests", "{ certificationTests(companyId: \"company-b\", first: 1) { totalCount } }".into(), json!({}), "company company-b was not found".into()),
        ("edit B's test", "mutation($id: ID!) { editCompanyTest(id: $id, testFields: { title: \"pwned\" }) { id } }".into(), json!({ "id": t }), test_nf.clone()),
        ("archive B's test", "mutation($id: ID!) { archiveCompanyTest(id: $id) { id } }".into(), json!({ "id": t }), test_nf.clone()),
        ("unarchive B's test", "mutation($id: ID!) { unarchiveCompanyTest(id: $id) { id } }".into(), json!({ "id": t }), test_nf.clone()),
        ("delete B's test", "mutation($id: ID!) { deleteCompanyTest(id: $id) { id } }".into(), json!({ "id": t }), test_nf.clone()),
        ("create a test in B", "mutation { createCompanyTest(testFields: { companyId: \"company-b\", title: \"x\", externalTitle: \"x\", duration: 600000 }) { id } }".into(), json!({}), "company company-b was not found".into()),
        ("invite to B's test", "mutation($id: ID!) { createCompanyTestSession(sessionFields: { testId: $id, candidateEmail: \"e@example.com\" }) { id } }".into(), json!({ "id": t }), test_nf.clone()),
        ("delete B's session", "mutation($id: ID!) { deleteCompanyTestSession(id: $id) }".into(), json!({ "id": s }), session_nf.clone()),
        ("extend B's session", format!("mutation($id: ID!) {{ editCompanyTestSessionExpiration(id: $id, expirationDate: {later}) {{ id }} }}"), json!({ "id": s }), session_nf.clone()),
        ("retime B's session", "mutation($id: ID!) { editCompanyTestSessionDuration(id: $id, customDuration: 600000) { id } }".into(), json!({ "id": s }), session_nf.clone()),
        ("reactivate B's session", "mutation($id: ID!) { reactivateCompanyTestSession(id: $id) { id } }".into(), json!({ "id": s }), session_nf.clone()),
        ("resend B's session", "mutation($id: ID!) { resendCompanyTestSession(id: $id) { id } }".into(), json!({ "id": s }), session_nf.clone()),
        ("archive B's session", "mutation($id: ID!) { archiveCompanyTestSession(id: $id) { id } }".into(), json!({ "id": s }), session_nf.clone()),
        ("unarchive B's session", "mutation($id: ID!) { unarchiveCompanyTestSession(id: $id) { id } }".into(), json!({ "id": s }), session_nf.clone()),
        ("verify B's session as proctor", "mutation($id: ID!) { verifyCompanyTestSession(id: $id) { id } }".into(), json!({ "id": s }), session_nf.clone()),
        ("reject B's session as proctor", "mutation($id: ID!) { rejectCompanyTestSession(id: $id, reasons: [{ name: \"x\", description: \"y\" }]) { id } }".into(), json!({ "id": s }), session_nf.clone()),
        ("revoke B's API key", "mutation($id: String!) { revokeApiKey(publicId: $id) { publicId } }".into(), json!({ "id": b.public_id }), format!("API key {} was not found", b.public_id)),
        ("read B's webhook", "query($id: ID!) { webhook(id: $id) { url } }".into(), json!({ "id": wh }), webhook_nf.clone()),
        ("update B's webhook", "mutation($id: ID!, $u: String!) { updateWebhook(id: $id, webhookFields: { url: $u }) { id } }".into(), json!({ "id": wh, "u": a_receiver.url("/stolen") }), webhook_nf.clone()),
        ("rotate B's secret", "mutation($id: ID!) { updateWebhook(id: $id, webhookFields: { generateSecret: true }) { id } }".into(), json!({ "id": wh }), webhook_nf.clone()),
        ("delete B's webhook", "mutation($id: ID!) { deleteWebhook(id: $id) }".into(), json!({ "id": wh }), webhook_nf.clone()),
        ("test and save B's webhook", "mutation($id: ID!) { testAndSaveWebhook(id: $id) { id } }".into(), json!({ "id": wh }), webhook_nf.clone()),
        ("reveal B's webhook secret", "mutation($id: ID!) { revealWebhookSecret(id: $id) }".into(), json!({ "id": wh }), webhook_nf.clone()),
        ("B's delivery log", "query($id: ID!) { webhookDeliveries(webhookId: $id) { id } }".into(), json!({ "id": wh }), webhook_nf.clone()),
        ("B's session's deliveries", "query($s: ID!) { webhookDeliveries(sessionId: $s) { id } }".into(), json!({ "s": s }), session_nf.clone()),
        ("B's session events", "query($s: ID!) { sessionEvents(sessionId: $s) { id payload } }".into(), json!({ "s": s }), session_nf.clone()),
        ("replay B's event to A's webhook", "mutation($w: ID!, $e: ID!) { replayWebhookEvent(webhookId: $w, eventId: $e) { id } }".into(), json!({ "w": a_webhook, "e": ev }), format!("event {ev} was not found")),
        ("replay A's event to B's webhook", "mutation($w: ID!, $e: ID!) { replayWebhookEvent(webhookId: $w, eventId: $e) { id } }".into(), json!({ "w": wh, "e": a_event }), webhook_nf.clone()),
        ("recover B's webhook", "mutation($w: ID!) { recoverWebhook(webhookId: $w, since: 0) }".into(), json!({ "w": wh }), webhook_nf.clone()),
        ("traverse from A's test into B's session", "query($t: ID!, $s: ID!) { companyTest(id: $t) { testSession(id: $s) { id } } }".into(), json!({ "t": a_test, "s": s }), session_nf.clone()),
    ];
    assert!(attempts.len() >= 15);
    for (what, query, vars, expected) in &attempts {
        let (status, body) = app.gql_as(&app.admin_key, query, vars.clone()).await;
        assert_eq!(status, StatusCode::OK, "{what}: {body:#}");
        assert_eq!(code(&body), "NOT_FOUND", "{what}: {body:#}");
        assert_eq!(message(&body), expected, "{what}");
    }

    // The same answers as for ids that exist nowhere.
    let guessed = "Zz9Yy8Xx7Ww6Vv5Uu";
    let (_, body) = app
        .gql_as(&app.admin_key, "query($id: ID!) { companyTestSession(id: $id) { id } }", json!({ "id": guessed }))
        .await;
    assert_eq!(message(&body), format!("test session {guessed} was not found"));
    let (_, body) =
        app.gql_as(&app.admin_key, "query($id: ID!) { companyTest(id: $id) { id } }", json!({ "id": guessed })).await;
    assert_eq!(message(&body), format!("test {guessed} was not found"));
    let (_, body) =
        app.gql_as(&app.admin_key, "query($id: ID!) { webhook(id: $id) { id } }", json!({ "id": guessed })).await;
    assert_eq!(message(&body), format!("webhook {guessed} was not found"));

    // ATS lookups and listings of A never include B's sessions.
    let data = app
        .gql("{ atsCompanyTestSessions(id: \"gh-b\", idType: greenhouseApplicationId) { id } companyTests(first: 100) { totalCount } apiKeys { publicId } }", json!({}))
        .await;
    assert_eq!(data["atsCompanyTestSessions"], json!([]));
    assert_eq!(data["companyTests"]["totalCount"], 1);
    assert!(!data["apiKeys"].to_string().contains(&b.public_id));
    let data = app.gql("{ webhooks { id } webhookDeliveries(first: 100) { webhookId eventId } }", json!({})).await;
    assert_eq!(data["webhooks"], json!([{ "id": a_webhook }]));
    assert_eq!(data["webhookDeliveries"], json!([{ "webhookId": a_webhook, "eventId": a_event }]));

    // Nothing was queued by the refused replays: A's endpoint got its ping and its own event.
    assert_eq!(app.worker.run_pending().await.unwrap(), 0);
    let a_received = a_receiver.received();
    assert_eq!(a_received.len(), 2);
    assert_eq!(a_received[1].header("webhook-id"), Some(a_event.as_str()));

    // B's public id with a secret that is not B's is no key at all.
    let forged = format!("sk_{}_{}", b.public_id, "x".repeat(43));
    let (status, body) = app.gql_as(&forged, "{ company { id } }", json!({})).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"));

    // B's candidate link reaches B's session only, and carries no customer powers.
    let (status, body) = app.gql_as(&b.token, "{ company { id } }", json!({})).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"));

    assert_eq!(snapshot(&app, &b).await, before, "B's data changed");
}
