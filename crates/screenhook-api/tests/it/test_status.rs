//! Archiving, unarchiving and deleting a Pre-Screen: each answers the test as it now is and
//! fires `assessmentUpdated` with the new `assessmentStatus` to the webhooks subscribed to it;
//! a transition the test's state does not allow is refused and fires nothing.

use reqwest::StatusCode;
use screenhook_domain::{Millis, Permission, Timestamp};
use screenhook_engine::keys;
use screenhook_testkit::{Received, TestReceiver};
use serde_json::{Value, json};

use crate::{App, code, message, spawn_app, token_of, webhooks::create_webhook};

const ARCHIVE: &str = "mutation($id: ID!) { archiveCompanyTest(id: $id) { id title status } }";
const UNARCHIVE: &str = "mutation($id: ID!) { unarchiveCompanyTest(id: $id) { id title status } }";
const DELETE: &str = "mutation($id: ID!) { deleteCompanyTest(id: $id) { id title status } }";
const EDIT: &str = "mutation($id: ID!) { editCompanyTest(id: $id, testFields: { title: \"Renamed\" }) { id } }";

/// A webhook for `assessmentUpdated` only (its verification ping already received).
async fn subscribed(app: &App) -> TestReceiver {
    let receiver = TestReceiver::start().await;
    create_webhook(app, &app.admin_key, receiver.url("/assessments"), &["assessmentUpdated"]).await;
    receiver
}

fn envelope(received: &Received) -> Value {
    serde_json::from_slice(&received.body).expect("a JSON envelope")
}

/// Runs `query` on `test`, which must succeed; returns the answered test.
async fn transition(app: &App, query: &str, test: &str) -> Value {
    let data = app.gql(query, json!({ "id": test })).await;
    data.as_object().and_then(|fields| fields.values().next()).cloned().expect("one field")
}

/// Runs `query` on `test`, which must be refused with ILLEGAL_STATE; returns the message.
async fn refused(app: &App, query: &str, test: &str) -> String {
    let (_, body) = app.gql_as(&app.admin_key, query, json!({ "id": test })).await;
    assert_eq!(code(&body), "ILLEGAL_STATE", "{query}: {body:#}");
    assert_eq!(body["data"], Value::Null, "{body:#}");
    message(&body).to_owned()
}

#[tokio::test]
async fn archive_unarchive_and_delete_each_fire_assessment_updated() {
    let app = spawn_app().await;
    let receiver = subscribed(&app).await;
    let test = app.create_framework_test(&app.admin_key, true).await.expect("test created");
    let invited = app.invite(&app.admin_key, &test, "ada@example.com", "gh-1").await;

    app.clock.advance(Millis::from_millis(1_000));
    let archived = transition(&app, ARCHIVE, &test).await;
    assert_eq!(archived, json!({ "id": test, "title": "Backend GCA", "status": "archived" }));
    assert_eq!(app.worker.run_pending().await.unwrap(), 1, "the creation is not subscribed to; the update is");
    let received = receiver.received();
    assert_eq!(received.len(), 2, "ping, then the update");
    assert_eq!(
        envelope(&received[1]),
        json!({
            "event": "assessmentUpdated",
            "triggeredOn": crate::START + 1_000,
            "payload": { "assessmentId": test, "assessmentTitle": "Backend GCA", "assessmentStatus": "archived" }
        })
    );
    assert!(received[1].header("webhook-id").is_some_and(|id| id.starts_with("evt_")));

    // An archived test accepts no new invitation, and its invited candidates go on; unarchived,
    // it accepts invitations again.
    let (_, body) = app
        .gql_as(
            &app.admin_key,
            "mutation($id: ID!) { createCompanyTestSession(sessionFields: { testId: $id, candidateFirstName: \"Grace\", candidateEmail: \"grace@example.com\" }) { id } }",
            json!({ "id": test }),
        )
        .await;
    assert_eq!((code(&body), message(&body)), ("ILLEGAL_STATE", "cannot invite when the test is archived"));
    let (status, body) = app.candidate(&token_of(&invited["invitationUrl"]), "start", json!({})).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("active")), "{body}");

    let active = transition(&app, UNARCHIVE, &test).await;
    assert_eq!(active["status"], "active");
    assert_eq!(app.worker.run_pending().await.unwrap(), 1);
    assert_eq!(envelope(&receiver.received()[2])["payload"]["assessmentStatus"], "active");
    assert_eq!(app.invite(&app.admin_key, &test, "grace@example.com", "gh-2").await["status"], "pending");

    let deleted = transition(&app, DELETE, &test).await;
    assert_eq!(deleted["status"], "deleted");
    assert_eq!(app.worker.run_pending().await.unwrap(), 1);
    assert_eq!(envelope(&receiver.received()[3])["payload"]["assessmentStatus"], "deleted");

    // A deleted test leaves the list, and still reads by its id.
    let data = app
        .gql(
            "query($id: ID!) { companyTests(first: 10) { totalCount } companyTest(id: $id) { status } }",
            json!({ "id": test }),
        )
        .await;
    assert_eq!(data, json!({ "companyTests": { "totalCount": 0 }, "companyTest": { "status": "deleted" } }));
}

#[tokio::test]
async fn transitions_the_state_does_not_allow_are_refused_and_fire_nothing() {
    let app = spawn_app().await;
    let receiver = subscribed(&app).await;
    let test = app.create_framework_test(&app.admin_key, true).await.expect("test created");

    assert_eq!(refused(&app, UNARCHIVE, &test).await, "cannot unarchiveCompanyTest when the test is active");
    transition(&app, ARCHIVE, &test).await;
    assert_eq!(refused(&app, ARCHIVE, &test).await, "cannot archiveCompanyTest when the test is archived");

    // Deleting is allowed from archived too, and nothing is allowed after it.
    transition(&app, DELETE, &test).await;
    for (query, command) in [
        (ARCHIVE, "archiveCompanyTest"),
        (UNARCHIVE, "unarchiveCompanyTest"),
        (DELETE, "deleteCompanyTest"),
        (EDIT, "editCompanyTest"),
    ] {
        assert_eq!(refused(&app, query, &test).await, format!("cannot {command} when the test is deleted"));
    }

    assert_eq!(app.worker.run_pending().await.unwrap(), 2, "the archive and the delete only");
    let statuses: Vec<Value> =
        receiver.received()[1..].iter().map(|r| envelope(r)["payload"]["assessmentStatus"].clone()).collect();
    assert_eq!(statuses, [json!("archived"), json!("deleted")]);

    // Unknown and malformed ids.
    let (_, body) = app.gql_as(&app.admin_key, ARCHIVE, json!({ "id": "Zz9Yy8Xx7Ww6Vv5Uu" })).await;
    assert_eq!((code(&body), message(&body)), ("NOT_FOUND", "test Zz9Yy8Xx7Ww6Vv5Uu was not found"));
    let (_, body) = app.gql_as(&app.admin_key, DELETE, json!({ "id": "not an id!" })).await;
    assert_eq!((code(&body), body["errors"][0]["extensions"]["field"].as_str()), ("BAD_USER_INPUT", Some("id")));
}

#[tokio::test]
async fn status_changes_need_the_tests_permission() {
    let app = spawn_app().await;
    let test = app.create_framework_test(&app.admin_key, true).await.expect("test created");
    let without_tests = keys::issue(
        &*app.store,
        &app.company,
        "no tests",
        vec![Permission::Sessions, Permission::Results, Permission::Webhooks],
        Timestamp::from_millis(crate::START),
    )
    .await
    .expect("key")
    .token;
    for query in [ARCHIVE, UNARCHIVE, DELETE] {
        let (_, body) = app.gql_as(&without_tests, query, json!({ "id": test })).await;
        assert_eq!(code(&body), "ACCESS_DENIED", "{query}: {body:#}");
        assert_eq!(message(&body), "Access Denied: this API key lacks the 'tests' permission");
    }
    let data = app.gql("query($id: ID!) { companyTest(id: $id) { status } }", json!({ "id": test })).await;
    assert_eq!(data["companyTest"]["status"], "active");
}
