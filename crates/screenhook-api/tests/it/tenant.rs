//! Cross-tenant attempts (reliability-security §5.5): company A's keys against company B's
//! objects. Every attempt is refused exactly like an id that does not exist, and B's data is
//! the same afterwards.

use reqwest::StatusCode;
use screenhook_domain::{Company, CompanyId, Millis, Permission, SessionId, Timestamp};
use screenhook_engine::keys;
use serde_json::{Value, json};

use crate::{App, code, message, spawn_app, token_of};

struct CompanyB {
    key: String,
    public_id: String,
    test: String,
    session: String,
    token: String,
}

async fn company_b(app: &App) -> CompanyB {
    let id = CompanyId::parse("company-b").unwrap();
    let company = Company {
        id: id.clone(),
        name: "B Corp".into(),
        sandbox: false,
        clock_offset: Millis::from_millis(0),
        created_at: Timestamp::from_millis(crate::START),
    };
    app.store.insert_company(&company).await.expect("insert B");
    let issued =
        keys::issue(&*app.store, &id, "B admin", Permission::ALL.to_vec(), Timestamp::from_millis(crate::START))
            .await
            .expect("B key");
    let test = app.create_framework_test(&issued.token, true).await.expect("B's test");
    let invited = app.invite(&issued.token, &test, "bee@example.com", "gh-b").await;
    CompanyB {
        key: issued.token,
        public_id: issued.key.public_id,
        test,
        session: invited["id"].as_str().unwrap().to_owned(),
        token: token_of(&invited["invitationUrl"]),
    }
}

/// Everything B can see of its own data.
async fn snapshot(app: &App, b: &CompanyB) -> Value {
    let (_, body) = app
        .gql_as(
            &b.key,
            "query($t: ID!, $s: ID!) {
                companyTest(id: $t) { id title externalTitle labels internalDescription }
                companyTestSession(id: $s) { id status expirationDate customDuration verificationStatus reactivatedSession { newSessionId } }
                companyTestSessions(companyTestId: $t) { id }
                apiKeys { publicId revokeDate } }",
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
    json!({ "data": body["data"], "events": events })
}

#[tokio::test]
async fn company_a_cannot_reach_company_b() {
    let app = spawn_app().await;
    let b = company_b(&app).await;
    let a_test = app.create_framework_test(&app.admin_key, true).await.expect("A's test");
    let before = snapshot(&app, &b).await;
    let later = crate::START + Millis::days(30).as_millis();

    let (t, s) = (b.test.as_str(), b.session.as_str());
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

    // ATS lookups and listings of A never include B's sessions.
    let data = app
        .gql("{ atsCompanyTestSessions(id: \"gh-b\", idType: greenhouseApplicationId) { id } companyTests(first: 100) { totalCount } apiKeys { publicId } }", json!({}))
        .await;
    assert_eq!(data["atsCompanyTestSessions"], json!([]));
    assert_eq!(data["companyTests"]["totalCount"], 1);
    assert!(!data["apiKeys"].to_string().contains(&b.public_id));

    // B's public id with a secret that is not B's is no key at all.
    let forged = format!("sk_{}_{}", b.public_id, "x".repeat(43));
    let (status, body) = app.gql_as(&forged, "{ company { id } }", json!({})).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"));

    // B's candidate link reaches B's session only, and carries no customer powers.
    let (status, body) = app.gql_as(&b.token, "{ company { id } }", json!({})).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"));

    assert_eq!(snapshot(&app, &b).await, before, "B's data changed");
}
