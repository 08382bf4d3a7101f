//! Whole lifecycles through the API: customer (GraphQL), candidate (link) and proctor.

use reqwest::StatusCode;
use screenhook_domain::{Millis, SessionId};
use serde_json::{Value, json};

use crate::{INTEGRITY_DELAY, spawn_app, token_of};

const SESSION: &str = "query($id: ID!) { companyTestSession(id: $id) {
    id status verificationStatus verificationRejectionReasons { name description }
    integrityReviewFinalized integrityReviewSuggested maxScore invitationUrl externalId
    createDate startDate finishDate expirationDate
    testTaker { email firstName lastName }
    integrations { greenhouseApplicationId }
    test { id title framework { id } scoringModel { type scoreRange { min max } } }
    result { score url codingScore versionedCodingScore { version value skillAreas { name label questions } } }
} }";

async fn event_kinds(app: &crate::App, session: &str) -> Vec<String> {
    let id = SessionId::parse(session).expect("a session id");
    let events = app.store.events_of_session(&app.company, &id).await.expect("events");
    events.iter().map(|e| e.kind.name().to_owned()).collect()
}

#[tokio::test]
async fn proctored_framework_test_verified() {
    let app = spawn_app().await;
    let test_id = app.create_framework_test(&app.admin_key, true).await.expect("test created");
    let invited = app.invite(&app.admin_key, &test_id, "Ada@Example.com", "gh-app-1").await;
    assert_eq!(invited["status"], "pending");
    let session = invited["id"].as_str().expect("session id").to_owned();
    let token = token_of(&invited["invitationUrl"]);
    assert!(invited["invitationUrl"].as_str().unwrap().starts_with(&format!("{}/c/", app.base)));

    // The candidate's page shows the Pre-Screen.
    let page = app.http.get(format!("{}/c/{token}", app.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Backend GCA"));

    for action in ["open", "start"] {
        let (status, body) = app.candidate(&token, action, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
    }
    app.clock.advance(Millis::minutes(40));
    let (status, body) =
        app.candidate(&token, "submit", json!({ "score": 1000, "areaPoints": [150, 200, 300, 350] })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "over");
    assert_eq!(body["verificationStatus"], "pending");
    assert!(body.get("score").is_none(), "the candidate does not see the score");

    let data = app
        .gql(
            "mutation($id: ID!) { verifyCompanyTestSession(id: $id) { id verificationStatus } }",
            json!({ "id": session }),
        )
        .await;
    assert_eq!(data["verifyCompanyTestSession"]["verificationStatus"], "verified");

    let s = app.gql(SESSION, json!({ "id": session })).await["companyTestSession"].clone();
    assert_eq!(s["status"], "over");
    assert_eq!(s["verificationStatus"], "verified");
    assert_eq!(s["verificationRejectionReasons"], Value::Null);
    assert_eq!(s["invitationUrl"], Value::Null, "the link is shown only while pending");
    assert_eq!(s["externalId"], "ext-1");
    assert_eq!(s["testTaker"]["email"], "ada@example.com");
    assert_eq!(s["integrations"]["greenhouseApplicationId"], "gh-app-1");
    assert_eq!(s["maxScore"], 1300);
    assert_eq!(s["startDate"], json!(crate::START));
    assert_eq!(s["finishDate"], json!(crate::START + Millis::minutes(40).as_millis()));
    assert_eq!(s["test"]["framework"]["id"], "general-coding");
    assert_eq!(
        s["test"]["scoringModel"],
        json!({ "type": "codingScore2023", "scoreRange": { "min": 200, "max": 600 } })
    );
    let result = &s["result"];
    assert_eq!(result["score"], 1000);
    assert!(result["url"].as_str().unwrap().starts_with(&format!("{}/test-result/{session}?accessToken=", app.base)));
    assert_eq!(result["versionedCodingScore"]["version"], "codingScore2023");
    let value = result["versionedCodingScore"]["value"].as_i64().unwrap();
    assert!((200..=600).contains(&value), "{value}");
    assert_eq!(result["versionedCodingScore"]["skillAreas"].as_array().unwrap().len(), 4);
    assert_eq!(
        result["versionedCodingScore"]["skillAreas"][0],
        json!({ "name": "Basic Coding", "label": "expert", "questions": 1 })
    );

    // Found by its Greenhouse id, and in its test's list.
    let data = app
        .gql(
            "{ atsCompanyTestSessions(id: \"gh-app-1\", idType: greenhouseApplicationId) { id }
               byTest: companyTestSessions(companyTestId: \"T\", first: 5) { id } }"
                .replace("\"T\"", &format!("\"{test_id}\""))
                .as_str(),
            json!({}),
        )
        .await;
    assert_eq!(data["atsCompanyTestSessions"], json!([{ "id": session }]));
    assert_eq!(data["byTest"], json!([{ "id": session }]));

    // Invited again to another Pre-Screen of the same framework, the candidate re-shares the
    // verified result instead of taking the evaluation again.
    let second = app.create_framework_test(&app.admin_key, true).await.expect("second test");
    let again = app.invite(&app.admin_key, &second, "ada@example.com", "gh-app-2").await;
    let again_id = again["id"].as_str().unwrap().to_owned();
    let (status, body) =
        app.candidate(&token_of(&again["invitationUrl"]), "share", json!({ "sourceSessionId": session })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "over");
    let shared = app.gql(SESSION, json!({ "id": again_id })).await["companyTestSession"].clone();
    assert_eq!(shared["result"]["score"], 1000);
    assert!(event_kinds(&app, &again_id).await.contains(&"preScreenResultShared".to_owned()));

    // A settled result can be archived and unarchived.
    let data = app
        .gql(
            "mutation($id: ID!) { a: archiveCompanyTestSession(id: $id) { status } u: unarchiveCompanyTestSession(id: $id) { status } }",
            json!({ "id": session }),
        )
        .await;
    assert_eq!(data, json!({ "a": { "status": "archived" }, "u": { "status": "over" } }));

    assert_eq!(
        event_kinds(&app, &session).await,
        [
            "companyTestSessionCreated",
            "companyTestSessionStarted",
            "preScreenResultVerificationPending",
            // Certified Evaluations also fire the legacy Certify events (the bridge).
            "certificationResultPending",
            "preScreenResultVerified",
            "certificationResultShared"
        ]
    );
}

#[tokio::test]
async fn proctored_rejection_with_technical_issue_grants_a_retake() {
    let app = spawn_app().await;
    let test_id = app.create_framework_test(&app.admin_key, true).await.expect("test created");
    let invited = app.invite(&app.admin_key, &test_id, "grace@example.com", "gh-2").await;
    let session = invited["id"].as_str().unwrap().to_owned();
    let token = token_of(&invited["invitationUrl"]);
    for (action, body) in [("start", json!({})), ("submit", json!({ "score": 500 }))] {
        let (status, body) = app.candidate(&token, action, body).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let data = app
        .gql(
            "mutation($id: ID!, $r: [RejectionReasonInput!]!) { rejectCompanyTestSession(id: $id, reasons: $r, technicalIssue: true) {
                verificationStatus verificationRejectionReasons { name description } retakeSession { id status invitationUrl } } }",
            json!({ "id": session, "r": [{ "name": "screenNotVisible", "description": "Screen share dropped" }] }),
        )
        .await;
    let rejected = &data["rejectCompanyTestSession"];
    assert_eq!(rejected["verificationStatus"], "notVerified");
    assert_eq!(rejected["verificationRejectionReasons"][0]["name"], "screenNotVisible");
    assert_eq!(rejected["retakeSession"]["status"], "pending");
    assert!(rejected["retakeSession"]["invitationUrl"].is_string());
    assert_eq!(
        event_kinds(&app, &session).await,
        [
            "companyTestSessionCreated",
            "companyTestSessionStarted",
            "preScreenResultVerificationPending",
            "certificationResultPending",
            "preScreenResultNotVerified",
            "certificationResultNotCertified"
        ]
    );
}

#[tokio::test]
async fn non_proctored_custom_test_through_integrity_review() {
    let app = spawn_app().await;
    let data = app
        .gql(
            "mutation($f: CreateCompanyTestInput!) { createCompanyTest(testFields: $f) { id duration proctored scoringModel { type scoreRange { min } } } }",
            json!({ "f": { "title": "Take-home", "externalTitle": "Take-home", "duration": 3_600_000.0 } }),
        )
        .await;
    let test = &data["createCompanyTest"];
    assert_eq!(test["duration"], 3_600_000.0);
    assert_eq!(test["proctored"], false);
    assert_eq!(test["scoringModel"], json!({ "type": "raw", "scoreRange": null }));
    let test_id = test["id"].as_str().unwrap().to_owned();

    let invited = app.invite(&app.admin_key, &test_id, "linus@example.com", "gh-3").await;
    let session = invited["id"].as_str().unwrap().to_owned();
    let token = token_of(&invited["invitationUrl"]);
    for (action, body) in [
        ("open", json!({})),
        ("start", json!({})),
        ("submit", json!({ "score": 80, "maxScore": 100, "integritySuggested": true })),
    ] {
        let (status, body) = app.candidate(&token, action, body).await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
    }
    let s = app.gql(SESSION, json!({ "id": session })).await["companyTestSession"].clone();
    assert_eq!(s["status"], "over");
    assert_eq!(s["verificationStatus"], Value::Null);
    assert_eq!(s["integrityReviewFinalized"], false);
    assert_eq!(s["integrityReviewSuggested"], Value::Null);
    assert_eq!(s["result"]["score"], 80);
    assert_eq!(s["result"]["versionedCodingScore"], Value::Null, "custom tests have no Assessment Score");
    assert_eq!(s["maxScore"], 100);

    app.clock.advance(Millis::from_millis(INTEGRITY_DELAY.as_millis() + 1_000));
    assert_eq!(app.engine.fire_due_timers().await.expect("timers"), 1);
    let s = app.gql(SESSION, json!({ "id": session })).await["companyTestSession"].clone();
    assert_eq!(s["integrityReviewFinalized"], true);
    assert_eq!(s["integrityReviewSuggested"], true);

    assert_eq!(
        event_kinds(&app, &session).await,
        [
            "companyTestSessionCreated",
            "companyTestSessionStarted",
            "companyTestSessionFinished",
            "preScreenIntegrityReviewUpdated"
        ]
    );
}

#[tokio::test]
async fn customer_session_commands_and_test_listing() {
    let app = spawn_app().await;
    let first = app.create_framework_test(&app.admin_key, true).await.expect("test created");
    let data = app
        .gql(
            "mutation($f: CreateCompanyTestInput!) { createCompanyTest(testFields: $f) { id } }",
            json!({ "f": { "title": "A custom one", "externalTitle": "Custom", "duration": 600_000, "labels": ["backend", "senior"] } }),
        )
        .await;
    let second = data["createCompanyTest"]["id"].as_str().unwrap().to_owned();

    let data = app
        .gql(
            "{ all: companyTests(first: 1) { totalCount companyTests { title } pageInfo { hasNextPage } }
               senior: companyTests(first: 10, labels: [\"backend\", \"senior\"]) { totalCount companyTests { id } }
               byDate: companyTests(first: 10, sortBy: createDate, sortDirection: desc, titleSearchText: \"\") { companyTests { id } }
               frameworks(first: 10) { totalCount frameworks { id duration scoringModel { type } } }
               certificationTests(first: 2) { totalCount certificationTests { id type } pageInfo { hasNextPage } }
               company { id sandbox } }",
            json!({}),
        )
        .await;
    assert_eq!(data["all"]["totalCount"], 2);
    assert_eq!(data["all"]["companyTests"], json!([{ "title": "A custom one" }]));
    assert_eq!(data["all"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(data["senior"], json!({ "totalCount": 1, "companyTests": [{ "id": second }] }));
    let by_date: Vec<&str> =
        data["byDate"]["companyTests"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(by_date.len(), 2);
    assert!(by_date.contains(&first.as_str()));
    assert_eq!(data["frameworks"]["totalCount"], 4);
    assert_eq!(data["certificationTests"]["certificationTests"][0]["type"], "certification");
    assert_eq!(data["certificationTests"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(data["company"], json!({ "id": "sandbox", "sandbox": true }));

    let data = app
        .gql(
            "mutation($id: ID!) { editCompanyTest(id: $id, testFields: { title: \"Renamed\", internalDescription: \"note\" }) { title internalDescription } }",
            json!({ "id": first }),
        )
        .await;
    assert_eq!(data["editCompanyTest"], json!({ "title": "Renamed", "internalDescription": "note" }));

    let invited = app.invite(&app.admin_key, &first, "sam@example.com", "gh-9").await;
    let session = invited["id"].as_str().unwrap().to_owned();
    let later = crate::START + Millis::days(20).as_millis();
    let data = app
        .gql(
            "mutation($id: ID!, $at: Timestamp!) {
                extended: editCompanyTestSessionExpiration(id: $id, expirationDate: $at) { expirationDate }
                timed: editCompanyTestSessionDuration(id: $id, customDuration: 5400000) { customDuration }
                resent: resendCompanyTestSession(id: $id) { status } }",
            json!({ "id": session, "at": later }),
        )
        .await;
    assert_eq!(data["extended"]["expirationDate"], json!(later));
    assert_eq!(data["timed"]["customDuration"], 5_400_000.0);

    // preferExisting returns the pending invitation instead of a new one.
    let (_, body) = app
        .gql_as(
            &app.admin_key,
            "mutation($s: TestSessionInput!) { createCompanyTestSession(sessionFields: $s) { id } }",
            json!({ "s": { "testId": first, "candidateFirstName": "Sam", "candidateEmail": "SAM@example.com", "preferExisting": true, "emailReminders": [{ "templateName": "x" }] } }),
        )
        .await;
    assert_eq!(body["data"]["createCompanyTestSession"]["id"], json!(session));

    let data = app
        .gql(
            "mutation($id: ID!) { deleteCompanyTestSession(id: $id, sendNotificationEmail: false) }",
            json!({ "id": session }),
        )
        .await;
    assert_eq!(data["deleteCompanyTestSession"], json!(session));
    let token = token_of(&invited["invitationUrl"]);
    let (status, _) = app.candidate(&token, "start", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a deleted invitation's link is dead");

    // Reactivation on an expired invitation.
    let invited = app.invite(&app.admin_key, &first, "kim@example.com", "gh-10").await;
    let expiring = invited["id"].as_str().unwrap().to_owned();
    app.clock.advance(Millis::days(15));
    app.engine.fire_due_timers().await.expect("timers");
    let data = app
        .gql(
            "mutation($id: ID!) { reactivateCompanyTestSession(id: $id) { status reactivatedSession { newSessionId reactivationDate } } }",
            json!({ "id": expiring }),
        )
        .await;
    let reactivated = &data["reactivateCompanyTestSession"];
    assert_eq!(reactivated["status"], "expired");
    assert!(reactivated["reactivatedSession"]["newSessionId"].is_string());

    // Only settled results may be archived.
    let (_, body) = app
        .gql_as(
            &app.admin_key,
            "mutation($id: ID!) { archiveCompanyTestSession(id: $id) { status } }",
            json!({ "id": expiring }),
        )
        .await;
    assert_eq!(crate::code(&body), "ILLEGAL_STATE", "{body:#}");
    assert_eq!(crate::message(&body), "cannot archive when the session is expired");
}

#[tokio::test]
async fn candidate_link_decline_and_errors() {
    let app = spawn_app().await;
    let test_id = app.create_framework_test(&app.admin_key, true).await.expect("test created");
    let invited = app.invite(&app.admin_key, &test_id, "dee@example.com", "gh-11").await;
    let token = token_of(&invited["invitationUrl"]);

    // Submitting before starting is an illegal state; a malformed body is bad input.
    let (status, body) = app.candidate(&token, "submit", json!({ "score": 10 })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "ILLEGAL_STATE");
    let (status, body) = app.candidate(&token, "submit", json!({ "score": "ten" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "BAD_USER_INPUT");
    assert_eq!(body["error"]["field"], "body");
    // No verified result to share yet.
    let (status, body) = app.candidate(&token, "share", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let (status, body) = app.candidate(&token, "decline", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "declined");
    let (status, body) = app.candidate(&token, "start", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // Unknown and malformed tokens answer alike, on the page and on the actions.
    let (s1, b1) = app.candidate("A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6", "open", json!({})).await;
    let (s2, b2) = app.candidate("not-a-token", "open", json!({})).await;
    assert_eq!((s1, &b1), (StatusCode::NOT_FOUND, &b2));
    assert_eq!(s2, StatusCode::NOT_FOUND);
    let page = app.http.get(format!("{}/c/nope", app.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);

    // Markup in names is escaped on the page.
    let invited = app
        .gql(
            "mutation($s: TestSessionInput!) { createCompanyTestSession(sessionFields: $s) { invitationUrl } }",
            json!({ "s": { "testId": test_id, "candidateFirstName": "<script>alert(1)</script>", "candidateEmail": "x@example.com" } }),
        )
        .await;
    let token = token_of(&invited["createCompanyTestSession"]["invitationUrl"]);
    let html = app.http.get(format!("{}/c/{token}", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)"));
}
