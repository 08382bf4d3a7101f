//! The sandbox clock: advancing it fires the timers that fall due at once, bad advances and
//! keys without `admin` are refused, and other companies get `NOT_A_SANDBOX`.

use screenhook_domain::{Company, CompanyId, Millis, Permission, SessionId, Timestamp};
use screenhook_engine::keys;
use serde_json::json;

use crate::{START, code, spawn_app};

const ADVANCE: &str = "mutation($by: Float!) { advanceSandboxClock(by: $by) { now offset } }";

#[tokio::test]
async fn advancing_the_sandbox_clock_expires_invitations_at_once() {
    let app = spawn_app().await;
    let clock = app.gql("{ sandboxClock { now offset } }", json!({})).await;
    assert_eq!(clock["sandboxClock"], json!({ "now": START, "offset": 0.0 }));

    let test = app.create_framework_test(&app.admin_key, false).await.expect("a test");
    let invited = app.invite(&app.admin_key, &test, "jane@example.com", "gh-1").await;
    let session = SessionId::parse(invited["id"].as_str().unwrap().to_owned()).unwrap();

    // A day is not enough: the invitation is still pending, and the clock moved.
    let day = Millis::DAY.as_millis() as f64;
    let moved = app.gql(ADVANCE, json!({ "by": day })).await;
    assert_eq!(moved["advanceSandboxClock"], json!({ "now": START + Millis::DAY.as_millis(), "offset": day }));
    let status = |s: &screenhook_domain::CompanyTestSession| s.status.as_str();
    let stored = app.store.session(&app.company, &session).await.unwrap().unwrap();
    assert_eq!(status(&stored), "pending");

    // Past the 14-day window the expiry fires during the mutation, without the scheduler.
    app.gql(ADVANCE, json!({ "by": 14.0 * day })).await;
    let stored = app.store.session(&app.company, &session).await.unwrap().unwrap();
    assert_eq!(status(&stored), "expired");
    let events = app.store.events_of_session(&app.company, &session).await.unwrap();
    // A Certified Evaluation also fires the legacy Certify events; they are not the point here.
    let kinds: Vec<_> = events.iter().filter(|e| !e.kind.is_legacy_certify()).map(|e| e.kind.name()).collect();
    assert_eq!(kinds, ["companyTestSessionCreated", "preScreenExpired"]);
    let clock = app.gql("{ sandboxClock { now offset } }", json!({})).await;
    assert_eq!(clock["sandboxClock"]["offset"], json!(15.0 * day));
}

#[tokio::test]
async fn bad_advances_and_keys_without_admin_are_refused() {
    let app = spawn_app().await;
    for by in [0.0, -1.0, 367.0 * Millis::DAY.as_millis() as f64] {
        let (_, body) = app.gql_as(&app.admin_key, ADVANCE, json!({ "by": by })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{by}: {body:#}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "by");
    }
    let issued =
        keys::issue(&*app.store, &app.company, "sessions only", vec![Permission::Sessions], START_TS).await.unwrap();
    let (_, body) = app.gql_as(&issued.token, ADVANCE, json!({ "by": 1000.0 })).await;
    assert_eq!(code(&body), "ACCESS_DENIED");
    // Nothing moved.
    let clock = app.gql("{ sandboxClock { offset } }", json!({})).await;
    assert_eq!(clock["sandboxClock"]["offset"], json!(0.0));
}

const START_TS: Timestamp = Timestamp::from_millis(START);

#[tokio::test]
async fn companies_that_are_not_sandboxes_are_refused() {
    let app = spawn_app().await;
    let id = CompanyId::parse("acme").unwrap();
    let company = Company {
        id: id.clone(),
        name: "Acme".into(),
        sandbox: false,
        clock_offset: Millis::from_millis(0),
        created_at: START_TS,
        disabled_at: None,
    };
    app.store.insert_company(&company).await.unwrap();
    let issued = keys::issue(&*app.store, &id, "admin", Permission::ALL.to_vec(), START_TS).await.unwrap();
    let (_, body) = app.gql_as(&issued.token, ADVANCE, json!({ "by": 1000.0 })).await;
    assert_eq!(code(&body), "NOT_A_SANDBOX", "{body:#}");
    let (_, body) = app.gql_as(&issued.token, "{ sandboxClock { now } }", json!({})).await;
    assert_eq!(code(&body), "NOT_A_SANDBOX");
    assert_eq!(app.store.company(&id).await.unwrap().unwrap().clock_offset, Millis::from_millis(0));
}
