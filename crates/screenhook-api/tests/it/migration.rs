//! The Certify transition over GraphQL after an import: old ids lead to the new data
//! (`certifyMigratedSession`, `certifyMigratedTest`, Certify lookups by the old request id,
//! `atsCompanyTestSessions`), and the advisor's plan is read and applied.

use screenhook_engine::certify_import::ImportOptions;
use screenhook_testkit::TestReceiver;
use serde_json::{Value, json};

use crate::{App, START, code, spawn_app};

const DAY: i64 = 86_400_000;

async fn import_sample(app: &App) {
    let created = START - 20 * DAY;
    let (started, finished) = (START - 19 * DAY, START - 19 * DAY + 3_600_000);
    let export = [
        r#"{"kind":"standardizedTest","id":"gca-1","title":"GCA","type":"certification","frameworkId":"general-coding","proctored":false}"#.to_owned(),
        format!(
            r#"{{"kind":"certificationRequest","id":"cr-1","testId":"gca-1","candidateName":"Ada Lovelace","candidateEmail":"ada@example.com","createDate":{created},"lastStatus":"shared","integrations":{{"greenhouseCandidateId":"gh-77"}},"results":[{{"testSessionId":"old-ts","startDate":{started},"finishDate":{finished},"codingScore":820,"score":500,"maxScore":600,"certificationStatus":"certified","proctored":false}}]}}"#
        ),
    ]
    .join("\n");
    let options = ImportOptions { company: app.company.clone(), dry_run: false };
    let report = app.engine.import_certify(export.as_bytes(), &options, &mut ()).await.expect("imported");
    assert_eq!((report.tests.imported, report.requests.imported), (1, 1), "{report:?}");
}

#[tokio::test]
async fn old_certify_ids_lead_to_the_imported_data() {
    let app = spawn_app().await;
    import_sample(&app).await;

    let data = app
        .gql(
            r#"{ certifyMigratedSession(certificationRequestId: "cr-1") { id status verificationStatus
                   test { id } result { versionedCodingScore { value } codingScore } testTaker { email } }
                 certifyMigratedTest(standardizedTestId: "gca-1") { id title proctored }
                 none: certifyMigratedSession(certificationRequestId: "cr-404") { id }
                 ats: atsCompanyTestSessions(id: "gh-77", idType: greenhouseCandidateId) { id } }"#,
            json!({}),
        )
        .await;
    let session = &data["certifyMigratedSession"];
    assert_eq!(session["status"], "over", "{data:#}");
    assert_eq!(session["verificationStatus"], "verified");
    assert_eq!(session["result"]["versionedCodingScore"]["value"], 575);
    assert_eq!(session["result"]["codingScore"], 820);
    assert_eq!(session["testTaker"]["email"], "ada@example.com");
    assert_eq!(data["certifyMigratedTest"]["title"], "[Migrated] GCA");
    assert_eq!(data["certifyMigratedTest"]["id"], session["test"]["id"]);
    assert_eq!(data["none"], Value::Null);
    assert_eq!(data["ats"], json!([{ "id": session["id"] }]));

    // A Certify-era client looks the request up by the id it stored, and gets that id back.
    let (_, body) = app
        .gql_as(
            &app.admin_key,
            r#"{ certificationRequest(requestFields: { requestId: "cr-1" }) { id lastStatus companyTestSessionId
                   bestResult { codingScore } } }"#,
            json!({}),
        )
        .await;
    let request = &body["data"]["certificationRequest"];
    assert_eq!(request["id"], "cr-1", "{body:#}");
    assert_eq!(request["lastStatus"], "shared");
    assert_eq!(request["companyTestSessionId"], session["id"]);
    assert_eq!(request["bestResult"]["codingScore"], 820);

    // A bad old id is refused with its field.
    let (_, body) = app
        .gql_as(&app.admin_key, r#"{ certifyMigratedSession(certificationRequestId: "no spaces") { id } }"#, json!({}))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "certificationRequestId", "{body:#}");
}

const PLAN: &str = "query($drop: Boolean) { certifyMigrationPlan(dropLegacy: $drop) {
    step1 recommendedEvents upToDate fingerprint newWebhookEvents dropLegacy
    tests { companyTestId title proctored proctoredSetting latestResult { companyTestSessionId proctored } }
    webhooks { webhookId url action eventsBefore missingEvents droppedEvents eventsAfter
               legacyEvents { certifyEvent replacedBy } } } }";

const APPLY: &str = "mutation($f: String!, $drop: Boolean, $url: String) {
    applyCertifyMigrationPlan(fingerprint: $f, dropLegacy: $drop, newWebhookUrl: $url) {
        updatedWebhooks { id events } createdWebhook { id url events } } }";

#[tokio::test]
async fn the_advisor_plan_is_read_and_applied_over_graphql() {
    let app = spawn_app().await;
    import_sample(&app).await;
    let receiver = TestReceiver::start().await;
    let created = app
        .gql(
            "mutation($w: WebhookInput!) { createWebhook(webhookFields: $w) { webhook { id } } }",
            json!({ "w": { "url": receiver.url("/certify"), "events": ["certificationResultShared"] } }),
        )
        .await;
    let webhook = created["createWebhook"]["webhook"]["id"].clone();

    let plan = app.gql(PLAN, json!({})).await["certifyMigrationPlan"].clone();
    assert_eq!(plan["step1"], "notProctored", "{plan:#}");
    assert_eq!(plan["tests"][0]["title"], "[Migrated] GCA");
    assert_eq!(plan["tests"][0]["latestResult"]["proctored"], false);
    assert_eq!(plan["upToDate"], false);
    let hook = &plan["webhooks"][0];
    assert_eq!(hook["webhookId"], webhook);
    assert_eq!(hook["action"], "update");
    assert_eq!(hook["legacyEvents"][0]["certifyEvent"], "certificationResultShared");
    assert!(hook["eventsAfter"].as_array().unwrap().contains(&json!("certificationResultShared")), "kept: {plan:#}");
    assert!(hook["eventsAfter"].as_array().unwrap().contains(&json!("companyTestSessionFinished")), "{plan:#}");

    // A stale fingerprint changes nothing.
    let (_, body) = app.gql_as(&app.admin_key, APPLY, json!({ "f": "0000000000000000" })).await;
    assert_eq!(code(&body), "CONFLICT", "{body:#}");
    let unchanged = app.gql("{ webhooks { events } }", json!({})).await;
    assert_eq!(unchanged["webhooks"][0]["events"], json!(["certificationResultShared"]));
    // Planned without dropping, applied with: a different plan, refused.
    let (_, body) = app.gql_as(&app.admin_key, APPLY, json!({ "f": plan["fingerprint"], "drop": true })).await;
    assert_eq!(code(&body), "CONFLICT", "{body:#}");

    let pings_before = receiver.received().len();
    let applied = app.gql(APPLY, json!({ "f": plan["fingerprint"] })).await["applyCertifyMigrationPlan"].clone();
    assert_eq!(applied["createdWebhook"], Value::Null);
    assert_eq!(applied["updatedWebhooks"][0]["id"], webhook);
    assert_eq!(applied["updatedWebhooks"][0]["events"], hook["eventsAfter"]);
    assert_eq!(receiver.received().len(), pings_before + 1, "the verification ping");
    let after = app.gql(PLAN, json!({})).await["certifyMigrationPlan"].clone();
    assert_eq!(after["upToDate"], true, "{after:#}");

    // Dropping the legacy subscription: the endpoint must answer its ping, or nothing changes.
    let plan = app.gql(PLAN, json!({ "drop": true })).await["certifyMigrationPlan"].clone();
    assert_eq!(plan["webhooks"][0]["droppedEvents"], json!(["certificationResultShared"]));
    receiver.answer(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    let (_, body) = app.gql_as(&app.admin_key, APPLY, json!({ "f": plan["fingerprint"], "drop": true })).await;
    assert_eq!(code(&body), "WEBHOOK_VERIFICATION_FAILED", "{body:#}");
    let unchanged = app.gql("{ webhooks { events } }", json!({})).await;
    assert_eq!(unchanged["webhooks"][0]["events"], hook["eventsAfter"]);
    receiver.answer(axum::http::StatusCode::OK);
    app.gql(APPLY, json!({ "f": plan["fingerprint"], "drop": true })).await;
    let dropped = app.gql("{ webhooks { events } }", json!({})).await;
    assert!(!dropped["webhooks"][0]["events"].as_array().unwrap().contains(&json!("certificationResultShared")));
}

#[tokio::test]
async fn a_plan_that_creates_a_webhook_needs_its_url() {
    let app = spawn_app().await;
    let plan = app.gql(PLAN, json!({})).await["certifyMigrationPlan"].clone();
    assert_eq!(plan["step1"], "noCertifiedEvaluations");
    assert!(plan["newWebhookEvents"].is_array(), "{plan:#}");
    let (_, body) = app.gql_as(&app.admin_key, APPLY, json!({ "f": plan["fingerprint"] })).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "newWebhookUrl");

    let receiver = TestReceiver::start().await;
    let applied = app
        .gql(APPLY, json!({ "f": plan["fingerprint"], "url": receiver.url("/new") }))
        .await["applyCertifyMigrationPlan"]
        .clone();
    assert_eq!(applied["createdWebhook"]["url"], receiver.url("/new"));
    assert_eq!(applied["createdWebhook"]["events"], plan["newWebhookEvents"]);
}
