//! Live interviews over the API: scheduled, started, finished and given feedback, behind the
//! `interviews` permission; `liveInterviewFinished` and `liveInterviewFeedbackUpdated` reach a
//! real receiver, signed, with CodeSignal's payload fields.

use screenhook_domain::{Millis, Permission, Timestamp};
use screenhook_engine::keys;
use screenhook_testkit::TestReceiver;
use serde_json::{Value, json};

use crate::{START, code, spawn_app, webhooks::create_webhook};

const CREATE: &str = "mutation($c: LiveInterviewCandidateInput!, $i: ID!) {
    createLiveInterview(candidate: $c, interviewerId: $i) { id status startDate endDate } }";
const START_IT: &str = "mutation($id: ID!) { startLiveInterview(id: $id) { status startDate } }";
const FINISH: &str = "mutation($id: ID!, $s: Int!, $a: Int!) {
    finishLiveInterview(id: $id, questionsSolved: $s, questionsAttempted: $a) { status endDate questionsSolved url } }";
const FEEDBACK: &str = "mutation($id: ID!, $i: ID!, $f: LiveInterviewFeedbackInput!) {
    updateLiveInterviewFeedback(id: $id, interviewerId: $i, feedback: $f) { id } }";

fn body_of(received: &screenhook_testkit::Received) -> Value {
    serde_json::from_slice(&received.body).expect("a JSON body")
}

#[tokio::test]
async fn a_live_interview_fires_finished_and_feedback_updated_from_a_running_server() {
    let app = spawn_app().await;
    let receiver = TestReceiver::start().await;
    let events = ["liveInterviewFinished", "liveInterviewFeedbackUpdated"];
    create_webhook(&app, &app.admin_key, receiver.url("/hook"), &events).await;
    let candidate = json!({ "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com" });

    // A key without the permission is refused and nothing is created.
    let sessions =
        keys::issue(&*app.store, &app.company, "ATS", vec![Permission::Sessions], Timestamp::from_millis(START))
            .await
            .unwrap();
    let (_, body) = app.gql_as(&sessions.token, CREATE, json!({ "c": candidate, "i": "iv-1" })).await;
    assert_eq!(code(&body), "ACCESS_DENIED", "{body:#}");

    let created = app.gql(CREATE, json!({ "c": candidate, "i": "iv-1" })).await["createLiveInterview"].clone();
    assert_eq!(created["status"], "scheduled");
    let id = created["id"].as_str().unwrap().to_owned();

    // Finishing before the start is refused, and so is solving more than was attempted.
    let (_, body) = app.gql_as(&app.admin_key, FINISH, json!({ "id": id, "s": 1, "a": 2 })).await;
    assert_eq!(code(&body), "ILLEGAL_STATE", "{body:#}");
    app.gql(START_IT, json!({ "id": id })).await;
    app.clock.advance(Millis::minutes(45));
    let (_, body) = app.gql_as(&app.admin_key, FINISH, json!({ "id": id, "s": 3, "a": 2 })).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "questionsSolved");

    let finished = app.gql(FINISH, json!({ "id": id, "s": 2, "a": 3 })).await["finishLiveInterview"].clone();
    assert_eq!(finished["status"], "finished");
    assert_eq!(finished["endDate"], json!(START + Millis::minutes(45).as_millis()));
    let feedback = json!({
        "generalNotes": "Clear thinking.",
        "categories": [{ "name": "Coding", "attributes": [{ "name": "Correctness", "score": 4 }] }],
        "recommendedLevel": "Senior",
    });
    app.gql(FEEDBACK, json!({ "id": id, "i": "iv-1", "f": feedback })).await;
    let (_, body) = app.gql_as(&app.admin_key, START_IT, json!({ "id": id })).await;
    assert_eq!(code(&body), "ILLEGAL_STATE", "a finished interview does not start again");

    assert_eq!(app.worker.run_pending().await.unwrap(), 2);
    let received = receiver.received();
    // The first request is the creation's verification ping.
    let bodies: Vec<Value> = received[1..].iter().map(body_of).collect();
    let names: Vec<&str> = bodies.iter().map(|b| b["event"].as_str().unwrap()).collect();
    assert_eq!(names, events, "in firing order");
    let done = &bodies[0]["payload"];
    assert_eq!(done["interviewId"], json!(id));
    assert_eq!(
        (done["candidateName"].as_str(), done["candidateEmail"].as_str()),
        (Some("Ada Lovelace"), Some("ada@example.com"))
    );
    assert_eq!((done["questionsSolved"].as_i64(), done["questionsAttempted"].as_i64()), (Some(2), Some(3)));
    assert_eq!(
        done["endDate"].as_i64().unwrap() - done["startDate"].as_i64().unwrap(),
        Millis::minutes(45).as_millis()
    );
    assert_eq!(done["url"], finished["url"]);
    let updated = &bodies[1]["payload"];
    assert_eq!((updated["interviewId"].as_str(), updated["interviewerId"].as_str()), (Some(id.as_str()), Some("iv-1")));
    assert_eq!(updated["feedback"], feedback);
    assert!(received[1..].iter().all(|r| r.header("webhook-signature").is_some()), "every delivery is signed");
}
