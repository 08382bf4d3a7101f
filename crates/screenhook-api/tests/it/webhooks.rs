//! Webhook management over HTTP against real receivers: the verification ping gates every
//! save, the delivery log shows attempts, replay keeps the `webhook-id`, recovery re-queues
//! what failed for good.

use reqwest::StatusCode as HttpStatus;
use screenhook_domain::{Millis, Permission, Timestamp};
use screenhook_engine::{Clock, keys};
use screenhook_testkit::TestReceiver;
use serde_json::{Value, json};

use crate::{App, code, message, spawn_app};

const CREATE: &str = "mutation($w: WebhookInput!) { createWebhook(webhookFields: $w) {
    secret webhook { id url events ownerEmails customHeaders { name value } state consecutiveFailures nextProbeDate createDate updateDate } } }";
const UPDATE: &str = "mutation($id: ID!, $w: WebhookUpdateInput!) { updateWebhook(id: $id, webhookFields: $w) {
    id url events state updateDate } }";
const DELIVERIES: &str = "query($w: ID, $e: ID, $s: ID, $first: Int, $before: ID) {
    webhookDeliveries(webhookId: $w, eventId: $e, sessionId: $s, first: $first, before: $before) {
        id webhookId eventId event sessionId state paused attempts nextAttemptDate lastStatus lastError replay createDate finishDate
        attemptLog { attempt date status errorClass latencyMs responseExcerpt } } }";

pub async fn create_webhook(app: &App, key: &str, url: String, events: &[&str]) -> Value {
    let (_, body) = app.gql_as(key, CREATE, json!({ "w": { "url": url, "events": events } })).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    body["data"]["createWebhook"].clone()
}

async fn key_with(app: &App, permissions: &[Permission]) -> String {
    keys::issue(&*app.store, &app.company, "limited", permissions.to_vec(), Timestamp::from_millis(crate::START))
        .await
        .expect("key")
        .token
}

#[tokio::test]
async fn create_update_test_and_save_and_delete_ping_the_endpoint() {
    let app = spawn_app().await;
    let receiver = TestReceiver::start().await;
    let fields = json!({ "w": {
        "url": receiver.url("/hook"),
        "events": ["companyTestSessionCreated", "preScreenResultShared"],
        "ownerEmails": ["ops@example.com"],
        "customHeaders": [{ "name": "Authorization", "value": "Bearer hunter2" }, { "name": "X-Team", "value": "hiring" }]
    } });
    let created = app.gql(CREATE, fields).await["createWebhook"].clone();
    let webhook = &created["webhook"];
    let id = webhook["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("wh_"), "{id}");
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(webhook["state"], "active");
    assert_eq!(webhook["consecutiveFailures"], 0);
    assert_eq!(webhook["nextProbeDate"], Value::Null);
    assert_eq!(webhook["createDate"], crate::START);
    assert_eq!(
        webhook["customHeaders"],
        json!([{ "name": "Authorization", "value": "[redacted]" }, { "name": "X-Team", "value": "hiring" }])
    );
    let pings = receiver.received();
    assert_eq!(pings.len(), 1);
    assert!(pings[0].body.is_empty(), "the verification ping is empty");
    assert_eq!(pings[0].header("authorization"), Some("Bearer hunter2"), "the real value is sent");

    // The secret is shown again only on request; never in listings.
    let listed = app.gql("{ webhooks { id url } }", json!({})).await;
    assert_eq!(listed["webhooks"], json!([{ "id": id, "url": receiver.url("/hook") }]));
    assert!(!listed.to_string().contains("whsec_"));
    let revealed = app.gql("mutation($id: ID!) { revealWebhookSecret(id: $id) }", json!({ "id": id })).await;
    assert_eq!(revealed["revealWebhookSecret"], created["secret"]);

    // An update whose ping fails saves nothing and says what the endpoint answered.
    receiver.answer(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    let (status, body) =
        app.gql_as(&app.admin_key, UPDATE, json!({ "id": id, "w": { "events": ["preScreenExpired"] } })).await;
    assert_eq!(status, HttpStatus::OK);
    assert_eq!(code(&body), "WEBHOOK_VERIFICATION_FAILED", "{body:#}");
    assert!(message(&body).contains("answered 500"), "{body:#}");
    let read = app.gql("query($id: ID!) { webhook(id: $id) { events } }", json!({ "id": id })).await;
    assert_eq!(read["webhook"]["events"], json!(["companyTestSessionCreated", "preScreenResultShared"]));

    // Once it answers 200, the update is saved.
    receiver.answer(axum::http::StatusCode::OK);
    app.clock.advance(Millis::from_millis(1_000));
    let updated =
        app.gql(UPDATE, json!({ "id": id, "w": { "events": ["preScreenExpired"], "secret": "s3cret" } })).await;
    assert_eq!(updated["updateWebhook"]["events"], json!(["preScreenExpired"]));
    assert_eq!(updated["updateWebhook"]["updateDate"], crate::START + 1_000);
    let revealed = app.gql("mutation($id: ID!) { revealWebhookSecret(id: $id) }", json!({ "id": id })).await;
    assert_eq!(revealed["revealWebhookSecret"], "s3cret");

    let saved = app.gql("mutation($id: ID!) { testAndSaveWebhook(id: $id) { id state } }", json!({ "id": id })).await;
    assert_eq!(saved["testAndSaveWebhook"], json!({ "id": id, "state": "active" }));
    let pings = receiver.received();
    assert_eq!(pings.len(), 4, "create, failed update, update, test-and-save");
    assert!(pings.iter().all(|p| p.body.is_empty()));

    // Bad input: the field and what is allowed, and no ping.
    let cases = [
        (json!({ "url": receiver.url("/x"), "events": ["nope"] }), "events"),
        (json!({ "url": receiver.url("/x"), "events": [] }), "events"),
        (json!({ "url": "ftp://example.com", "events": ["preScreenExpired"] }), "url"),
        (json!({ "url": receiver.url("/x"), "events": ["preScreenExpired"], "ownerEmails": ["x"] }), "ownerEmails"),
        (
            json!({ "url": receiver.url("/x"), "events": ["preScreenExpired"], "customHeaders": [{ "name": "Host", "value": "a" }] }),
            "customHeaders",
        ),
        (json!({ "url": receiver.url("/x"), "events": ["preScreenExpired"], "secret": "" }), "secret"),
    ];
    for (fields, field) in cases {
        let (_, body) = app.gql_as(&app.admin_key, CREATE, json!({ "w": fields })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body:#}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body:#}");
        assert!(body["errors"][0]["extensions"]["allowed"].is_string(), "{body:#}");
    }
    let (_, body) =
        app.gql_as(&app.admin_key, UPDATE, json!({ "id": id, "w": { "secret": "a", "generateSecret": true } })).await;
    assert_eq!(
        (code(&body), body["errors"][0]["extensions"]["field"].as_str()),
        ("BAD_USER_INPUT", Some("generateSecret"))
    );
    assert_eq!(receiver.received().len(), 4);

    // Rotation: the old secret keeps signing for the overlap asked for, and the webhook says
    // until when; an overlap without a new secret is refused.
    const ROTATE: &str = "mutation($id: ID!, $w: WebhookUpdateInput!) {
        updateWebhook(id: $id, webhookFields: $w) { previousSecretsValidUntil } }";
    let (_, body) = app
        .gql_as(
            &app.admin_key,
            ROTATE,
            json!({ "id": id, "w": { "generateSecret": true, "oldSecretValidForSeconds": 3600 } }),
        )
        .await;
    let until = app.clock.now().as_millis() + 3_600_000;
    // Both replaced secrets sign for the hour asked for: the one replaced by the earlier update
    // had most of its day left, but no older secret outlives a newer one.
    let valid_until = &body["data"]["updateWebhook"]["previousSecretsValidUntil"];
    assert_eq!(valid_until, &json!([until, until]), "{body:#}");
    app.clock.advance(Millis::HOUR);
    let shown =
        app.gql("query($id: ID!) { webhook(id: $id) { previousSecretsValidUntil } }", json!({ "id": id })).await;
    assert_eq!(shown["webhook"]["previousSecretsValidUntil"], json!([]), "an overlap ends on its own");
    let (_, body) =
        app.gql_as(&app.admin_key, ROTATE, json!({ "id": id, "w": { "oldSecretValidForSeconds": 60 } })).await;
    assert_eq!(
        (code(&body), body["errors"][0]["extensions"]["field"].as_str()),
        ("BAD_USER_INPUT", Some("oldSecretValidForSeconds"))
    );
    assert_eq!(receiver.received().len(), 5, "only the rotation pinged");

    let deleted = app.gql("mutation($id: ID!) { deleteWebhook(id: $id) }", json!({ "id": id })).await;
    assert_eq!(deleted["deleteWebhook"], id);
    let (_, body) =
        app.gql_as(&app.admin_key, "query($id: ID!) { webhook(id: $id) { id } }", json!({ "id": id })).await;
    assert_eq!(code(&body), "NOT_FOUND");
    assert_eq!(message(&body), format!("webhook {id} was not found"));
}

#[tokio::test]
async fn the_delivery_log_replay_and_recovery() {
    let app = spawn_app().await;
    let receiver = TestReceiver::start().await;
    let created = create_webhook(&app, &app.admin_key, receiver.url("/hook"), &["companyTestSessionCreated"]).await;
    let webhook = created["webhook"]["id"].as_str().unwrap().to_owned();
    let test = app.create_framework_test(&app.admin_key, false).await.unwrap();
    let session = app.invite(&app.admin_key, &test, "ada@example.com", "gh-1").await["id"].as_str().unwrap().to_owned();
    assert_eq!(app.worker.run_pending().await.unwrap(), 1);

    let events = app
        .gql(
            "query($s: ID!) { sessionEvents(sessionId: $s) { id event triggeredOn sessionId testId payload } }",
            json!({ "s": session }),
        )
        .await["sessionEvents"]
        .clone();
    assert_eq!(events.as_array().unwrap().len(), 1, "{events:#}");
    assert_eq!(events[0]["event"], "companyTestSessionCreated");
    assert_eq!(events[0]["sessionId"], session);
    let payload: Value = serde_json::from_str(events[0]["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["testSessionId"].as_str(), Some(session.as_str()), "{payload:#}");
    let event = events[0]["id"].as_str().unwrap().to_owned();

    let log = app.gql(DELIVERIES, json!({ "w": webhook })).await["webhookDeliveries"].clone();
    assert_eq!(log.as_array().unwrap().len(), 1, "{log:#}");
    let delivery = &log[0];
    assert_eq!(delivery["eventId"], event);
    assert_eq!(delivery["event"], "companyTestSessionCreated");
    assert_eq!(delivery["sessionId"], session);
    assert_eq!((delivery["state"].as_str(), delivery["attempts"].as_i64()), (Some("delivered"), Some(1)));
    assert_eq!((delivery["lastStatus"].as_i64(), delivery["replay"].as_bool()), (Some(200), Some(false)));
    assert_eq!(delivery["nextAttemptDate"], Value::Null);
    assert_eq!(delivery["attemptLog"][0]["attempt"], 1);
    assert_eq!(delivery["attemptLog"][0]["status"], 200);
    assert_eq!(delivery["attemptLog"][0]["errorClass"], Value::Null);

    // Replay: the same event again, with the same webhook-id.
    let replayed = app
        .gql(
            "mutation($w: ID!, $e: ID!) { replayWebhookEvent(webhookId: $w, eventId: $e) { eventId state replay } }",
            json!({ "w": webhook, "e": event }),
        )
        .await;
    assert_eq!(replayed["replayWebhookEvent"], json!({ "eventId": event, "state": "ready", "replay": true }));
    assert_eq!(app.worker.run_pending().await.unwrap(), 1);
    let received = receiver.received();
    assert_eq!(received.len(), 3, "ping, delivery, replay");
    assert_eq!(received[1].header("webhook-id"), Some(event.as_str()));
    assert_eq!(received[2].header("webhook-id"), Some(event.as_str()));
    assert_eq!(received[1].body, received[2].body);

    // Filters and paging.
    let by_event = app.gql(DELIVERIES, json!({ "e": event, "s": session })).await["webhookDeliveries"].clone();
    assert_eq!(by_event.as_array().unwrap().len(), 2);
    let newest = by_event[0]["id"].as_str().unwrap();
    let older = app.gql(DELIVERIES, json!({ "before": newest, "first": 1 })).await["webhookDeliveries"].clone();
    assert_eq!(older, json!([by_event[1].clone()]));
    let (_, body) = app.gql_as(&app.admin_key, DELIVERIES, json!({ "first": 101 })).await;
    assert_eq!((code(&body), body["errors"][0]["extensions"]["field"].as_str()), ("BAD_USER_INPUT", Some("first")));

    // A delivery that fails for good (25 attempts) is recovered, then sent once the endpoint
    // is fixed and tested.
    receiver.answer(axum::http::StatusCode::BAD_GATEWAY);
    let failing =
        app.invite(&app.admin_key, &test, "grace@example.com", "gh-2").await["id"].as_str().unwrap().to_owned();
    let failed_at = app.clock.now().as_millis();
    for _ in 0..40 {
        app.worker.run_pending().await.unwrap();
        app.clock.advance(Millis::days(30));
    }
    let log = app.gql(DELIVERIES, json!({ "s": failing })).await["webhookDeliveries"].clone();
    assert_eq!((log[0]["state"].as_str(), log[0]["attempts"].as_i64()), (Some("failed"), Some(25)), "{log:#}");
    assert_eq!(log[0]["lastStatus"], 502);
    assert_eq!(log[0]["attemptLog"].as_array().unwrap().len(), 25);
    let state =
        app.gql("query($id: ID!) { webhook(id: $id) { state consecutiveFailures } }", json!({ "id": webhook })).await;
    assert_eq!(state["webhook"], json!({ "state": "disabled", "consecutiveFailures": 25 }));

    let recover = "mutation($w: ID!, $since: Timestamp!) { recoverWebhook(webhookId: $w, since: $since) }";
    let recovered = app.gql(recover, json!({ "w": webhook, "since": failed_at })).await;
    assert_eq!(recovered["recoverWebhook"], 1);
    assert_eq!(app.worker.run_pending().await.unwrap(), 0, "queued behind the disabled webhook");
    receiver.answer(axum::http::StatusCode::OK);
    app.gql("mutation($id: ID!) { testAndSaveWebhook(id: $id) { state } }", json!({ "id": webhook })).await;
    assert_eq!(app.worker.run_pending().await.unwrap(), 1);
    let log = app.gql(DELIVERIES, json!({ "s": failing })).await["webhookDeliveries"].clone();
    assert_eq!((log[0]["state"].as_str(), log[0]["replay"].as_bool()), (Some("delivered"), Some(true)), "{log:#}");
    let again = app.gql(recover, json!({ "w": webhook, "since": failed_at })).await;
    assert_eq!(again["recoverWebhook"], 0, "a recovered delivery is not queued twice");
}

#[tokio::test]
async fn the_webhooks_permission_is_required() {
    let app = spawn_app().await;
    let receiver = TestReceiver::start().await;
    let created = create_webhook(&app, &app.admin_key, receiver.url("/hook"), &["preScreenExpired"]).await;
    let id = created["webhook"]["id"].as_str().unwrap().to_owned();
    let sessions_only = key_with(&app, &[Permission::Sessions, Permission::Results, Permission::Tests]).await;
    let operations = [
        ("{ webhooks { id } }".to_owned(), json!({})),
        ("query($id: ID!) { webhook(id: $id) { id } }".to_owned(), json!({ "id": id })),
        ("{ webhookDeliveries { id } }".to_owned(), json!({})),
        ("{ sessionEvents(sessionId: \"s1\") { id } }".to_owned(), json!({})),
        (CREATE.to_owned(), json!({ "w": { "url": receiver.url("/x"), "events": ["preScreenExpired"] } })),
        (UPDATE.to_owned(), json!({ "id": id, "w": { "url": receiver.url("/y") } })),
        ("mutation($id: ID!) { deleteWebhook(id: $id) }".to_owned(), json!({ "id": id })),
        ("mutation($id: ID!) { testAndSaveWebhook(id: $id) { id } }".to_owned(), json!({ "id": id })),
        ("mutation($id: ID!) { revealWebhookSecret(id: $id) }".to_owned(), json!({ "id": id })),
        (
            "mutation($id: ID!) { replayWebhookEvent(webhookId: $id, eventId: \"evt_x\") { id } }".to_owned(),
            json!({ "id": id }),
        ),
        ("mutation($id: ID!) { recoverWebhook(webhookId: $id, since: 0) }".to_owned(), json!({ "id": id })),
    ];
    for (query, variables) in operations {
        let (status, body) = app.gql_as(&sessions_only, &query, variables).await;
        assert_eq!(status, HttpStatus::OK);
        assert_eq!(code(&body), "ACCESS_DENIED", "{query}: {body:#}");
        assert!(message(&body).contains("'webhooks'"), "{body:#}");
    }
    assert_eq!(receiver.received().len(), 1, "only the admin's creation ping");
    let webhooks_only = key_with(&app, &[Permission::Webhooks]).await;
    let data = app.gql_as(&webhooks_only, "{ webhooks { id url } }", json!({})).await.1;
    assert_eq!(data["data"]["webhooks"][0]["id"], id);
}
