//! The transition guide's "lightweight" test (Step 4), end to end: a webhook for
//! `companyTestSessionStarted` pointing at a bin, an invitation to oneself, the candidate
//! begins, and the notification is in the bin with both signatures valid — while the
//! strict egress policy still refuses other loopback URLs.

use reqwest::StatusCode;
use screenhook_domain::EventKind;
use serde_json::{Value, json};

use crate::spawn_app;

async fn gql(app: &crate::App, query: &str, variables: Value) -> Value {
    let res = app
        .http
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&app.admin_key)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert!(body.get("errors").is_none(), "{body:#}");
    body["data"].clone()
}

#[tokio::test]
async fn a_started_notification_reaches_a_bin_with_valid_signatures() {
    let app = spawn_app(|_| {}).await;
    let bin = app.create_bin("").await;
    let url = bin["url"].as_str().unwrap();
    // Integrations → Webhooks: the bin's URL is accepted under the strict egress policy, and
    // the verification ping reaches the bin.
    let created = gql(
        &app,
        "mutation($w: WebhookInput!) { createWebhook(webhookFields: $w) { webhook { id } secret } }",
        json!({ "w": { "url": url, "events": ["companyTestSessionStarted"], "secret": "seed-step-4" } }),
    )
    .await;
    let webhook_id = created["createWebhook"]["webhook"]["id"].as_str().unwrap().to_owned();
    // A second webhook at another loopback URL: the strict guard must still refuse it.
    let blocked =
        app.webhook(&format!("{}/healthz", app.base), vec![EventKind::CompanyTestSessionStarted], Some("x")).await;

    let test = gql(
        &app,
        "mutation($f: CreateCompanyTestFromFrameworkInput!) { createCompanyTestFromFramework(testFields: $f) { id } }",
        json!({ "f": { "frameworkId": "general-coding", "title": "Backend GCA", "externalTitle": "Coding assessment", "proctored": false } }),
    )
    .await;
    let test_id = test["createCompanyTestFromFramework"]["id"].as_str().unwrap();
    let invited = gql(
        &app,
        "mutation($s: TestSessionInput!) { createCompanyTestSession(sessionFields: $s) { id invitationUrl } }",
        json!({ "s": { "testId": test_id, "candidateFirstName": "Me", "candidateLastName": "Myself", "candidateEmail": "me@example.com" } }),
    )
    .await;
    let session = invited["createCompanyTestSession"]["id"].as_str().unwrap();
    let link = invited["createCompanyTestSession"]["invitationUrl"].as_str().unwrap();
    for action in ["open", "start"] {
        let res = app.http.post(format!("{link}/{action}")).json(&json!({})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{action}");
    }
    assert!(app.worker.run_pending().await.unwrap() >= 2);

    let (_, listed) = app.requests(bin["id"].as_str().unwrap()).await;
    let requests = listed["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 2, "the ping, then the notification: {listed:#}");
    let ping = &requests[1];
    assert_eq!(ping["bodyBytes"], 0);
    // The ping comes before the webhook is saved, so no webhook claims it yet; the typed
    // secret shows it signs the URL alone.
    assert_eq!(ping["sender"], Value::Null);
    let typed: Value = app
        .http
        .post(format!("{}/inspect/{}/verify", app.base, bin["id"].as_str().unwrap()))
        .json(&json!({ "secret": "seed-step-4" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(typed["results"][1]["signatures"]["codesignal"], json!({ "valid": true }));
    let request = &requests[0];
    assert_eq!(request["json"]["event"], "companyTestSessionStarted");
    assert_eq!(request["json"]["payload"]["testSessionId"], session);
    assert_eq!(request["sender"]["webhookId"], webhook_id);
    assert_eq!(request["sender"]["signatures"]["codesignal"], json!({ "valid": true }));
    assert_eq!(request["sender"]["signatures"]["standardWebhooks"], json!({ "valid": true }));

    let attempts = app.store.webhook(&app.company, &blocked.id).await.unwrap().unwrap().1;
    assert!(attempts.consecutive_failures >= 1, "the other loopback URL was refused: {attempts:?}");
}
