//! Results come from a trusted source: outside a sandbox the candidate link only ends the
//! attempt, and the assessment engine records the result with a `grader` key.

use reqwest::StatusCode;
use screenhook_domain::{CompanyId, Millis, Permission, Timestamp};
use screenhook_engine::{companies, keys};
use serde_json::{Value, json};

use crate::{App, START, code, message, spawn_app, token_of};

const RECORD: &str = "mutation($id: ID!, $r: CompanyTestSessionResultInput!) {
    recordCompanyTestSessionResult(id: $id, result: $r) { id status finishDate } }";

/// A live (non-sandbox) company with an admin key (every permission: grader and proctor
/// included), a customer key (`admin` alone) and a grader key.
struct Live {
    all: String,
    admin: String,
    grader: String,
}

async fn live_company(app: &App) -> Live {
    let id = CompanyId::parse("acme").unwrap();
    let now = Timestamp::from_millis(START);
    let (_, first) = companies::create(&*app.store, &id, "Acme", false, now).await.expect("create the company");
    let admin = keys::issue(&*app.store, &id, "ATS", vec![Permission::Admin], now).await.unwrap();
    let grader = keys::issue(&*app.store, &id, "assessment engine", vec![Permission::Grader], now).await.unwrap();
    Live { all: first.token, admin: admin.token, grader: grader.token }
}

/// A started invitation to a non-proctored Certified Evaluation: (session id, candidate token).
async fn started(app: &App, key: &str, email: &str) -> (String, String) {
    let (_, body) = app
        .gql_as(
            key,
            "mutation($f: CreateCompanyTestFromFrameworkInput!) { createCompanyTestFromFramework(testFields: $f) { id } }",
            json!({ "f": { "frameworkId": "general-coding", "title": "GCA", "externalTitle": "Coding", "proctored": false } }),
        )
        .await;
    let test = body["data"]["createCompanyTestFromFramework"]["id"].as_str().expect("a test").to_owned();
    let session = app.invite(key, &test, email, "gh-1").await;
    let token = token_of(&session["invitationUrl"]);
    let (status, body) = app.candidate(&token, "start", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    (session["id"].as_str().unwrap().to_owned(), token)
}

/// The Pre-Screen events the session fired (Certified Evaluations also fire the legacy Certify
/// ones, left out here).
async fn events(app: &App, key: &str, session: &str) -> Vec<(String, Value)> {
    let (_, body) = app
        .gql_as(key, "query($s: ID!) { sessionEvents(sessionId: $s) { event payload } }", json!({ "s": session }))
        .await;
    body["data"]["sessionEvents"]
        .as_array()
        .unwrap_or_else(|| panic!("{body:#}"))
        .iter()
        .map(|e| {
            // The payload is sent as its JSON text.
            let payload = match &e["payload"] {
                Value::String(text) => serde_json::from_str(text).expect("a JSON payload"),
                other => other.clone(),
            };
            (e["event"].as_str().unwrap().to_owned(), payload)
        })
        .filter(|(event, _)| !event.starts_with("certification"))
        .collect()
}

async fn status_of(app: &App, key: &str, session: &str) -> Value {
    let (_, body) = app
        .gql_as(key, "query($id: ID!) { companyTestSession(id: $id) { status finishDate } }", json!({ "id": session }))
        .await;
    body["data"]["companyTestSession"].clone()
}

#[tokio::test]
async fn outside_a_sandbox_a_candidate_cannot_set_a_score() {
    let app = spawn_app().await;
    let live = live_company(&app).await;
    let (session, token) = started(&app, &live.all, "ada@example.com").await;

    for body in [json!({ "score": 1300 }), json!({ "score": 0, "integritySuggested": false })] {
        let (status, answer) = app.candidate(&token, "submit", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer:#}");
        assert_eq!(answer["error"]["code"], "BAD_USER_INPUT");
        assert_eq!(answer["error"]["field"], "score");
        assert!(answer["error"]["message"].as_str().unwrap().contains("cannot set a score"), "{answer:#}");
    }
    // Nothing changed and nothing fired.
    assert_eq!(status_of(&app, &live.all, &session).await["status"], "active");
    let fired: Vec<String> = events(&app, &live.all, &session).await.into_iter().map(|(e, _)| e).collect();
    assert_eq!(fired, ["companyTestSessionCreated", "companyTestSessionStarted"]);

    // The page offers no score field, only the button ending the attempt.
    let page = app.http.get(format!("{}/c/{token}", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Submit my answers") && !page.contains("name=\"score\""), "{page}");
}

#[tokio::test]
async fn the_grader_records_the_result_of_an_ended_attempt_and_the_events_fire_then() {
    let app = spawn_app().await;
    let live = live_company(&app).await;
    let (session, token) = started(&app, &live.all, "ada@example.com").await;
    app.clock.advance(Millis::minutes(40));

    let (status, answer) = app.candidate(&token, "submit", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{answer:#}");
    assert_eq!(answer["status"], "finalizing");
    let ended = START + Millis::minutes(40).as_millis();
    assert_eq!(answer["finishDate"], json!(ended));
    let fired: Vec<String> = events(&app, &live.all, &session).await.into_iter().map(|(e, _)| e).collect();
    assert_eq!(fired, ["companyTestSessionCreated", "companyTestSessionStarted"], "nothing fires at the end");
    let page = app.http.get(format!("{}/c/{token}", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("being finalized"), "{page}");

    // The company's own admin key cannot score its candidate.
    let result = json!({ "score": 1100, "plagiarismLabel": "low", "integrityReviewSuggested": true });
    let (_, body) = app.gql_as(&live.admin, RECORD, json!({ "id": session, "r": result })).await;
    assert_eq!(code(&body), "ACCESS_DENIED", "{body:#}");
    assert!(message(&body).contains("grader"), "{body:#}");

    // Bad values name the field and change nothing.
    let (_, body) = app.gql_as(&live.grader, RECORD, json!({ "id": session, "r": { "score": -1 } })).await;
    assert_eq!(
        (code(&body), body["errors"][0]["extensions"]["field"].as_str()),
        ("BAD_USER_INPUT", Some("result.score"))
    );
    let (_, body) = app.gql_as(&live.grader, RECORD, json!({ "id": session, "r": { "score": 5000 } })).await;
    assert_eq!((code(&body), body["errors"][0]["extensions"]["field"].as_str()), ("BAD_USER_INPUT", Some("score")));
    assert_eq!(status_of(&app, &live.all, &session).await["status"], "finalizing");

    // The grader's result, an hour later, is dated when the attempt ended.
    app.clock.advance(Millis::HOUR);
    let (_, body) = app.gql_as(&live.grader, RECORD, json!({ "id": session, "r": result })).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let recorded = &body["data"]["recordCompanyTestSessionResult"];
    assert_eq!(recorded["status"], "over");
    assert_eq!(recorded["finishDate"], json!(ended));
    let fired = events(&app, &live.all, &session).await;
    let (event, payload) = fired.last().unwrap();
    assert_eq!(event, "companyTestSessionFinished");
    assert_eq!(payload["score"], 1100);
    assert_eq!(payload["duration"], json!(Millis::minutes(40).as_millis()));
    assert_eq!((payload["plagiarismLabel"].as_str(), payload["plagiarismLevel"].as_i64()), (Some("low"), Some(1)));

    // A result is recorded once.
    let (_, body) = app.gql_as(&live.grader, RECORD, json!({ "id": session, "r": { "score": 1300 } })).await;
    assert_eq!(code(&body), "ILLEGAL_STATE", "{body:#}");
    assert_eq!(events(&app, &live.all, &session).await.len(), 3);

    // The integrity verdict the grader gave is published at the review.
    app.clock.advance(crate::INTEGRITY_DELAY);
    app.engine.fire_due_timers().await.unwrap();
    let fired = events(&app, &live.all, &session).await;
    let (event, payload) = fired.last().unwrap();
    assert_eq!(
        (event.as_str(), &payload["integrityReviewSuggested"]),
        ("preScreenIntegrityReviewUpdated", &json!(true))
    );
}

#[tokio::test]
async fn outside_a_sandbox_the_time_limit_ends_the_attempt_and_waits_for_the_grader() {
    let app = spawn_app().await;
    let live = live_company(&app).await;
    let (session, _) = started(&app, &live.all, "ada@example.com").await;
    // General Coding Assessment: 70 minutes.
    app.clock.advance(Millis::minutes(71));
    app.engine.fire_due_timers().await.unwrap();
    let now = status_of(&app, &live.all, &session).await;
    assert_eq!(now["status"], "finalizing", "{now:#}");
    assert_eq!(now["finishDate"], json!(START + Millis::minutes(70).as_millis()), "ended at the limit");
    assert_eq!(events(&app, &live.all, &session).await.len(), 2, "no score 0 is invented");

    let (_, body) = app.gql_as(&live.grader, RECORD, json!({ "id": session, "r": { "score": 400 } })).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    let fired = events(&app, &live.all, &session).await;
    assert_eq!(fired.last().unwrap().0, "companyTestSessionFinished");
    assert_eq!(fired.last().unwrap().1["duration"], json!(Millis::minutes(70).as_millis()));
}

#[tokio::test]
async fn a_sandbox_candidate_still_chooses_the_score_and_may_leave_it_to_the_grader() {
    let app = spawn_app().await;
    let (session, token) = started(&app, &app.admin_key, "ada@example.com").await;
    let page = app.http.get(format!("{}/c/{token}", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("name=\"score\"") && page.contains("Submit my answers"), "{page}");
    let (status, answer) = app.candidate(&token, "submit", json!({ "score": 900 })).await;
    assert_eq!((status, answer["status"].as_str()), (StatusCode::OK, Some("over")), "{answer:#}");
    assert_eq!(events(&app, &app.admin_key, &session).await.last().unwrap().0, "companyTestSessionFinished");

    // The grader's path works in a sandbox too, after an attempt ended without a score.
    let (second, token) = started(&app, &app.admin_key, "grace@example.com").await;
    let (_, answer) = app.candidate(&token, "submit", json!({})).await;
    assert_eq!(answer["status"], "finalizing");
    let (_, body) = app.gql_as(&app.admin_key, RECORD, json!({ "id": second, "r": { "score": 700 } })).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert_eq!(body["data"]["recordCompanyTestSessionResult"]["status"], "over");
    assert_eq!(events(&app, &app.admin_key, &second).await.last().unwrap().1["score"], 700);
}
