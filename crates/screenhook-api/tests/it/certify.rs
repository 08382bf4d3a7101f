//! Certify GraphQL, still answered: the removed operations over Pre-Screen
//! data, in every lookup mode, through a request's whole life, with their deprecation notices,
//! their errors and the key permissions.

use reqwest::StatusCode;
use screenhook_domain::{Company, CompanyId, Millis, Permission, Timestamp};
use screenhook_engine::keys;
use serde_json::{Value, json};

use crate::{App, START, code, message, spawn_app, token_of};

const REQUEST_FIELDS: &str = "id companyId company { id } testId test { id title type } lastStatus candidateEmail
    candidateName invitationUrl integrations { greenhouseApplicationId } customDuration companyTestId
    companyTestSessionId bestResult { testSessionId codingScore date }";

fn lookup_query() -> String {
    format!(
        "query($r: CertificationRequestInput!) {{ certificationRequest(requestFields: $r) {{ {REQUEST_FIELDS} }} }}"
    )
}

fn create_query() -> String {
    format!(
        "mutation($r: CreateCertificationRequestInput!) {{ createCertificationRequest(requestFields: $r) {{ {REQUEST_FIELDS} }} }}"
    )
}

fn revoke_query() -> String {
    format!(
        "mutation($r: CertificationRequestInput!) {{ revokeCertificationRequest(certificationRequestInput: $r) {{ {REQUEST_FIELDS} }} }}"
    )
}

const EXPIRED: &str = "query($test: ID, $from: Timestamp, $to: Timestamp, $first: Int!, $offset: Int) {
    expiredCertificationRequests(standardizedTestId: $test, expirationDateFrom: $from, expirationDateTo: $to,
        first: $first, offset: $offset) {
        totalCount pageInfo { hasNextPage } certificationRequests { id lastStatus candidateEmail invitationUrl }
    } }";

/// A call with the admin key that must succeed: `data`, after checking the answer's one
/// deprecation notice names `operation` and the Pre-Screen operation to use instead.
async fn certify(app: &App, operation: &str, instead: &str, query: &str, variables: Value) -> Value {
    let (status, body) = app.gql_as(&app.admin_key, query, variables).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
    let notices = body["extensions"]["deprecations"].as_array().unwrap_or_else(|| panic!("no notice: {body:#}"));
    assert_eq!(notices.len(), 1, "{body:#}");
    assert_eq!(notices[0]["operation"], operation);
    assert_eq!(notices[0]["path"], json!([operation]));
    let reason = notices[0]["reason"].as_str().expect("a reason");
    assert!(reason.starts_with("Certify GraphQL (removed 2025-03-06)"), "{reason}");
    assert!(reason.contains(instead), "{operation}: {reason:?} does not name {instead}");
    body["data"][operation].clone()
}

async fn lookup(app: &App, request_fields: Value) -> Value {
    certify(app, "certificationRequest", "companyTestSession(id)", &lookup_query(), json!({ "r": request_fields }))
        .await
}

async fn create(app: &App, request_fields: Value) -> Value {
    certify(
        app,
        "createCertificationRequest",
        "createCompanyTestSession",
        &create_query(),
        json!({ "r": request_fields }),
    )
    .await
}

async fn create_for(app: &App, test: &str, email: &str) -> Value {
    create(app, json!({ "candidateName": "Jane Doe", "candidateEmail": email, "testId": test })).await
}

/// A GraphQL call with `key` that must fail: the body.
async fn refused(app: &App, key: &str, query: &str, variables: Value) -> Value {
    let (status, body) = app.gql_as(key, query, variables).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert!(body["errors"].is_array(), "expected an error: {body:#}");
    body
}

fn assert_bad_input(body: &Value, field: &str, allowed: &str) {
    assert_eq!(code(body), "BAD_USER_INPUT", "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body:#}");
    let got = body["errors"][0]["extensions"]["allowed"].as_str().expect("allowed");
    assert!(got.contains(allowed), "{got:?} does not contain {allowed:?}");
}

async fn candidate_ok(app: &App, invitation_url: &Value, action: &str, body: Value) {
    let (status, answer) = app.candidate(&token_of(invitation_url), action, body).await;
    assert_eq!(status, StatusCode::OK, "{action}: {answer}");
}

async fn create_custom_test(app: &App) -> String {
    let data = app
        .gql(
            "mutation($f: CreateCompanyTestInput!) { createCompanyTest(testFields: $f) { id } }",
            json!({ "f": { "title": "Take-home", "externalTitle": "Take-home", "duration": 3_600_000.0 } }),
        )
        .await;
    data["createCompanyTest"]["id"].as_str().unwrap().to_owned()
}

async fn other_company_key(app: &App) -> String {
    let id = CompanyId::parse("company-b").unwrap();
    let company = Company {
        id: id.clone(),
        name: "B Corp".into(),
        sandbox: false,
        clock_offset: Millis::from_millis(0),
        created_at: Timestamp::from_millis(START),
        disabled_at: None,
    };
    app.store.insert_company(&company).await.expect("insert B");
    let issued = keys::issue(&*app.store, &id, "B admin", Permission::ALL.to_vec(), Timestamp::from_millis(START))
        .await
        .expect("B key");
    issued.token
}

#[tokio::test]
async fn a_request_is_created_and_found_in_every_lookup_mode() {
    let app = spawn_app().await;
    let test = app.create_framework_test(&app.admin_key, true).await.expect("a Certified Evaluation");
    let created = create(
        &app,
        json!({
            "candidateName": "Jane  Van Doe", "candidateEmail": "Jane.Doe@Example.com", "testId": test,
            "companyId": app.company.as_str(), "customDuration": 3_600_000,
            "certificationExpireDuration": Millis::days(7).as_millis() as f64, "externalId": "ats-17"
        }),
    )
    .await;
    let id = created["id"].as_str().expect("an id").to_owned();
    assert_eq!(created["lastStatus"], "pending");
    assert_eq!(created["companyId"], app.company.as_str());
    assert_eq!(created["company"]["id"], app.company.as_str());
    assert_eq!(created["testId"], "general-coding");
    assert_eq!(
        created["test"],
        json!({ "id": "general-coding", "title": "General Coding Framework", "type": "certification" })
    );
    assert_eq!(created["candidateEmail"], "jane.doe@example.com");
    assert_eq!(created["candidateName"], "Jane Van Doe");
    assert_eq!(created["customDuration"], 3_600_000);
    assert_eq!(created["integrations"], json!([]));
    assert_eq!(created["companyTestId"], test.as_str());
    assert_eq!(created["companyTestSessionId"], id.as_str(), "the request is the invitation's session");
    assert_eq!(created["bestResult"], Value::Null);
    assert!(created["invitationUrl"].as_str().unwrap().starts_with(&format!("{}/c/", app.base)));

    // The Pre-Screen session behind it is the same invitation.
    let session = app
        .gql(
            "query($id: ID!) { companyTestSession(id: $id) { status externalId expirationDate invitationUrl testTaker { firstName lastName } } }",
            json!({ "id": id }),
        )
        .await["companyTestSession"]
        .clone();
    assert_eq!(session["status"], "pending");
    assert_eq!(session["externalId"], "ats-17");
    assert_eq!(session["expirationDate"], json!(START + Millis::days(7).as_millis()));
    assert_eq!(session["invitationUrl"], created["invitationUrl"]);
    assert_eq!(session["testTaker"], json!({ "firstName": "Jane", "lastName": "Van Doe" }));

    // By id; by email and the framework's id; by email and the Pre-Screen's id; with the company.
    for fields in [
        json!({ "requestId": id }),
        json!({ "requestId": id, "companyId": app.company.as_str() }),
        json!({ "candidateEmail": "JANE.DOE@example.com", "testId": "general-coding" }),
        json!({ "candidateEmail": "jane.doe@example.com", "testId": test }),
        json!({ "candidateEmail": "jane.doe@example.com", "testId": test, "companyId": app.company.as_str() }),
    ] {
        assert_eq!(lookup(&app, fields.clone()).await, created, "{fields}");
    }

    // Creating it again answers the same request (Certify kept one per candidate and test).
    let again =
        create(&app, json!({ "candidateName": "Jane Doe", "candidateEmail": "jane.doe@example.com", "testId": test }))
            .await;
    assert_eq!(again["id"], id.as_str());

    // Made with the framework's id, a request lands in the one Certified Evaluation built on it.
    let by_framework = create_for(&app, "general-coding", "max@example.com").await;
    assert_eq!(by_framework["companyTestId"], test.as_str());
    assert_ne!(by_framework["id"], id.as_str());

    // The candidate's newest request for the test is the one found by email.
    let newer = app.create_framework_test(&app.admin_key, false).await.expect("a second evaluation");
    let second = create_for(&app, &newer, "jane.doe@example.com").await;
    let found = lookup(&app, json!({ "candidateEmail": "jane.doe@example.com", "testId": "general-coding" })).await;
    assert_eq!(found["id"], second["id"]);
    let found = lookup(&app, json!({ "candidateEmail": "jane.doe@example.com", "testId": test })).await;
    assert_eq!(found["id"], id.as_str(), "a Pre-Screen's id narrows the lookup to that Pre-Screen");
}

#[tokio::test]
async fn last_status_and_best_result_follow_a_proctored_request() {
    let app = spawn_app().await;
    let test = app.create_framework_test(&app.admin_key, true).await.expect("a Certified Evaluation");
    let created = create_for(&app, &test, "ada@example.com").await;
    let id = created["id"].as_str().unwrap().to_owned();
    let by_id = json!({ "requestId": id });

    candidate_ok(&app, &created["invitationUrl"], "open", json!({})).await;
    candidate_ok(&app, &created["invitationUrl"], "start", json!({})).await;
    let started = lookup(&app, by_id.clone()).await;
    assert_eq!(started["lastStatus"], "testStarted");
    assert_eq!(started["invitationUrl"], Value::Null, "the link is shown only while pending");

    app.clock.advance(Millis::minutes(40));
    candidate_ok(&app, &created["invitationUrl"], "submit", json!({ "score": 1000 })).await;
    let taken = lookup(&app, by_id.clone()).await;
    assert_eq!(taken["lastStatus"], "testTaken", "awaiting verification");
    assert_eq!(taken["bestResult"], Value::Null, "nothing is shared before verification");

    app.gql("mutation($id: ID!) { verifyCompanyTestSession(id: $id) { id } }", json!({ "id": id })).await;
    let shared = lookup(&app, by_id.clone()).await;
    assert_eq!(shared["lastStatus"], "shared");
    let session = app
        .gql(
            "query($id: ID!) { companyTestSession(id: $id) { finishDate result { codingScore versionedCodingScore { value } } } }",
            json!({ "id": id }),
        )
        .await["companyTestSession"]
        .clone();
    let legacy = session["result"]["codingScore"].as_i64().expect("an original-scale score");
    assert!((300..=850).contains(&legacy), "{legacy}");
    assert_eq!(
        shared["bestResult"],
        json!({ "testSessionId": id, "codingScore": legacy, "date": session["finishDate"] }),
        "Certify's codingScore is the original-scale score"
    );

    // The candidate re-shares that verified result to a new request: it is shared at once,
    // and its best result is the attempt it came from.
    let next = create_for(&app, &test, "ada@example.com").await;
    assert_ne!(next["id"], id.as_str());
    candidate_ok(&app, &next["invitationUrl"], "share", json!({})).await;
    let reshared = lookup(&app, json!({ "requestId": next["id"] })).await;
    assert_eq!(reshared["lastStatus"], "shared");
    assert_eq!(reshared["bestResult"]["testSessionId"], id.as_str());
    assert_eq!(reshared["bestResult"]["codingScore"], legacy);

    // An archived result still reads as shared.
    app.gql("mutation($id: ID!) { archiveCompanyTestSession(id: $id) { id } }", json!({ "id": id })).await;
    assert_eq!(lookup(&app, by_id).await["lastStatus"], "shared");
}

#[tokio::test]
async fn a_technical_retake_stays_in_its_request() {
    let app = spawn_app().await;
    let test = app.create_framework_test(&app.admin_key, true).await.expect("a Certified Evaluation");
    let created = create_for(&app, &test, "grace@example.com").await;
    let id = created["id"].as_str().unwrap().to_owned();
    candidate_ok(&app, &created["invitationUrl"], "start", json!({})).await;
    candidate_ok(&app, &created["invitationUrl"], "submit", json!({ "score": 500 })).await;

    let not_verified = app
        .gql(
            "mutation($id: ID!) { rejectCompanyTestSession(id: $id, reasons: [{ name: \"multiplePeople\", description: \"Two faces\" }]) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(not_verified["rejectCompanyTestSession"]["id"], id.as_str());
    let rejected = lookup(&app, json!({ "requestId": id })).await;
    assert_eq!(rejected["lastStatus"], "testTaken", "not verified is not final, as in Certify");
    assert_eq!(rejected["bestResult"], Value::Null);

    // A second attempt, rejected for a technical issue, grants a retake inside the same request.
    let other = create_for(&app, &test, "linus@example.com").await;
    let other_id = other["id"].as_str().unwrap().to_owned();
    candidate_ok(&app, &other["invitationUrl"], "start", json!({})).await;
    candidate_ok(&app, &other["invitationUrl"], "submit", json!({ "score": 400 })).await;
    let data = app
        .gql(
            "mutation($id: ID!) { rejectCompanyTestSession(id: $id, reasons: [{ name: \"screenNotVisible\", description: \"x\" }], technicalIssue: true) { retakeSession { id } } }",
            json!({ "id": other_id }),
        )
        .await;
    let retake = data["rejectCompanyTestSession"]["retakeSession"]["id"].as_str().unwrap().to_owned();
    let request = lookup(&app, json!({ "requestId": other_id })).await;
    assert_eq!(request["id"], other_id.as_str());
    assert_eq!(request["lastStatus"], "pending");
    assert_eq!(request["companyTestSessionId"], retake.as_str(), "the current session is the retake");
    let by_email = lookup(&app, json!({ "candidateEmail": "linus@example.com", "testId": test })).await;
    assert_eq!(by_email, request);

    candidate_ok(&app, &request["invitationUrl"], "start", json!({})).await;
    candidate_ok(&app, &request["invitationUrl"], "submit", json!({ "score": 900 })).await;
    app.gql("mutation($id: ID!) { verifyCompanyTestSession(id: $id) { id } }", json!({ "id": retake })).await;
    let shared = lookup(&app, json!({ "requestId": other_id })).await;
    assert_eq!(shared["lastStatus"], "shared");
    assert_eq!(shared["bestResult"]["testSessionId"], retake.as_str());
}

#[tokio::test]
async fn unproctored_declined_and_custom_sessions() {
    let app = spawn_app().await;
    let test = app.create_framework_test(&app.admin_key, false).await.expect("an unproctored evaluation");
    let finished = create_for(&app, &test, "kim@example.com").await;
    candidate_ok(&app, &finished["invitationUrl"], "start", json!({})).await;
    candidate_ok(&app, &finished["invitationUrl"], "submit", json!({ "score": 700 })).await;
    let request = lookup(&app, json!({ "requestId": finished["id"] })).await;
    assert_eq!(request["lastStatus"], "shared", "an unproctored result is final at once");
    assert_eq!(request["bestResult"]["testSessionId"], finished["id"]);

    let declined = create_for(&app, &test, "lee@example.com").await;
    candidate_ok(&app, &declined["invitationUrl"], "decline", json!({})).await;
    assert_eq!(lookup(&app, json!({ "requestId": declined["id"] })).await["lastStatus"], "rejected");

    // An invitation to a custom Pre-Screen is not a certification request.
    let custom = create_custom_test(&app).await;
    let invited = app.invite(&app.admin_key, &custom, "ann@example.com", "gh-1").await;
    let body = refused(&app, &app.admin_key, &lookup_query(), json!({ "r": { "requestId": invited["id"] } })).await;
    assert_eq!(code(&body), "NOT_FOUND");
    assert!(message(&body).contains("custom Pre-Screen"), "{body:#}");
    assert!(message(&body).contains("companyTestSession(id)"), "{body:#}");
    assert_eq!(body["extensions"]["deprecations"][0]["operation"], "certificationRequest", "errors carry it too");
}

#[tokio::test]
async fn a_revoked_request_is_no_longer_found() {
    let app = spawn_app().await;
    let test = app.create_framework_test(&app.admin_key, true).await.expect("a Certified Evaluation");
    let created = create_for(&app, &test, "rev@example.com").await;
    let id = created["id"].as_str().unwrap().to_owned();

    let revoked = certify(
        &app,
        "revokeCertificationRequest",
        "deleteCompanyTestSession(id)",
        &revoke_query(),
        json!({ "r": { "candidateEmail": "rev@example.com", "testId": "general-coding" } }),
    )
    .await;
    assert_eq!(revoked, created, "the answer is the request as it was revoked");
    let status = app.gql("query($id: ID!) { companyTestSession(id: $id) { status } }", json!({ "id": id })).await;
    assert_eq!(status["companyTestSession"]["status"], "deleted");

    let body = refused(&app, &app.admin_key, &lookup_query(), json!({ "r": { "requestId": id } })).await;
    assert_eq!(code(&body), "NOT_FOUND");
    assert_eq!(message(&body), format!("certification request {id} was revoked"));
    let body = refused(
        &app,
        &app.admin_key,
        &lookup_query(),
        json!({ "r": { "candidateEmail": "rev@example.com", "testId": test } }),
    )
    .await;
    assert_eq!(code(&body), "NOT_FOUND");
    assert_eq!(message(&body), format!("no certification request of rev@example.com for test {test} was found"));
    let body = refused(&app, &app.admin_key, &revoke_query(), json!({ "r": { "requestId": id } })).await;
    assert_eq!(code(&body), "NOT_FOUND", "revoking twice");

    // A new request for the same candidate is a new invitation, found by email again.
    let fresh = create_for(&app, &test, "rev@example.com").await;
    assert_ne!(fresh["id"], id.as_str());
    let found = lookup(&app, json!({ "candidateEmail": "rev@example.com", "testId": test })).await;
    assert_eq!(found["id"], fresh["id"]);
}

#[tokio::test]
async fn expired_requests_are_listed_latest_expiration_first() {
    let app = spawn_app().await;
    let gca = app.create_framework_test(&app.admin_key, true).await.expect("a Certified Evaluation");
    let day = Millis::DAY.as_millis();
    let mut ids = Vec::new();
    for (email, days) in [("d2@example.com", 2), ("d4@example.com", 4), ("d3@example.com", 3)] {
        let created = create(
            &app,
            json!({ "candidateName": "C", "candidateEmail": email, "testId": gca,
                    "certificationExpireDuration": (days * day) as f64 }),
        )
        .await;
        ids.push((days, created["id"].as_str().unwrap().to_owned()));
    }
    let pending = create_for(&app, &gca, "still@example.com").await;
    // Neither a custom Pre-Screen's expiry nor another framework's is listed under this one.
    let custom = create_custom_test(&app).await;
    app.gql(
        "mutation($s: TestSessionInput!) { createCompanyTestSession(sessionFields: $s) { id } }",
        json!({ "s": { "testId": custom, "candidateFirstName": "C", "candidateEmail": "custom@example.com",
                       "expireDuration": day as f64 } }),
    )
    .await;
    let ml = app
        .gql(
            "mutation { createCompanyTestFromFramework(testFields: { frameworkId: \"machine-learning\", title: \"ML\", externalTitle: \"ML\" }) { id } }",
            json!({}),
        )
        .await["createCompanyTestFromFramework"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ml_request = create(
        &app,
        json!({ "candidateName": "M", "candidateEmail": "ml@example.com", "testId": ml, "certificationExpireDuration": day as f64 }),
    )
    .await;

    let expired = |vars: Value| certify(&app, "expiredCertificationRequests", "companyTestSessions", EXPIRED, vars);
    let listed = expired(json!({ "first": 10 })).await;
    assert_eq!(listed["totalCount"], 0, "nothing expired yet: {listed:#}");

    app.clock.advance(Millis::from_millis(5 * day));
    app.engine.fire_due_timers().await.expect("timers");
    let id_of = |days: i64| ids.iter().find(|(d, _)| *d == days).unwrap().1.clone();

    let listed = expired(json!({ "test": "general-coding", "first": 10 })).await;
    assert_eq!(listed["totalCount"], 3);
    let order: Vec<&str> =
        listed["certificationRequests"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(order, [id_of(4), id_of(3), id_of(2)]);
    assert!(listed["certificationRequests"].as_array().unwrap().iter().all(|r| r["lastStatus"] == "expired"));
    assert!(!order.contains(&pending["id"].as_str().unwrap()));

    // Every framework when no test is named; a Pre-Screen's id narrows to that Pre-Screen.
    let all = expired(json!({ "first": 10 })).await;
    assert_eq!(all["totalCount"], 4);
    assert_eq!(all["certificationRequests"][3]["id"], ml_request["id"]);
    let ml_only = expired(json!({ "test": ml, "first": 10 })).await;
    assert_eq!(ml_only["totalCount"], 1);

    // Pages and the inclusive date range.
    let page = expired(json!({ "test": "general-coding", "first": 1, "offset": 1 })).await;
    assert_eq!(page["totalCount"], 3);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    assert_eq!(page["certificationRequests"][0]["id"], id_of(3).as_str());
    let last = expired(json!({ "test": "general-coding", "first": 1, "offset": 2 })).await;
    assert_eq!(last["pageInfo"]["hasNextPage"], false);
    let ranged =
        expired(json!({ "test": "general-coding", "first": 10, "from": START + 3 * day, "to": START + 4 * day })).await;
    let order: Vec<&str> =
        ranged["certificationRequests"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(order, [id_of(4), id_of(3)]);
    assert_eq!(ranged["totalCount"], 2);
}

#[tokio::test]
async fn bad_input_names_the_field_and_what_is_allowed() {
    let app = spawn_app().await;
    let test = app.create_framework_test(&app.admin_key, true).await.expect("a Certified Evaluation");
    let custom = create_custom_test(&app).await;
    let key = app.admin_key.clone();
    let lookup_modes = "requestId alone, or candidateEmail with testId";

    for (fields, field, allowed) in [
        (json!({}), "requestId", lookup_modes),
        (json!({ "requestId": "abc", "candidateEmail": "a@example.com" }), "requestId", lookup_modes),
        (json!({ "requestId": "abc", "testId": test }), "requestId", lookup_modes),
        (json!({ "candidateEmail": "a@example.com" }), "testId", lookup_modes),
        (json!({ "testId": test }), "candidateEmail", lookup_modes),
        (json!({ "requestId": "not an id!" }), "requestId", "letters, digits"),
        (json!({ "candidateEmail": "nobody", "testId": test }), "candidateEmail", "name@example.com"),
        (json!({ "candidateEmail": "a@example.com", "testId": custom }), "testId", "certificationTests id"),
    ] {
        let body = refused(&app, &key, &lookup_query(), json!({ "r": fields })).await;
        assert_bad_input(&body, field, allowed);
        let body = refused(&app, &key, &revoke_query(), json!({ "r": fields })).await;
        assert_bad_input(&body, field, allowed);
    }
    for (fields, expected) in [
        (json!({ "requestId": "Zz9NoSuchRequest1" }), "certification request Zz9NoSuchRequest1 was not found"),
        (
            json!({ "candidateEmail": "a@example.com", "testId": "Zz9NoSuchTest0001" }),
            "test Zz9NoSuchTest0001 was not found",
        ),
        (json!({ "requestId": "Zz9NoSuchRequest1", "companyId": "company-b" }), "company company-b was not found"),
    ] {
        let body = refused(&app, &key, &lookup_query(), json!({ "r": fields })).await;
        assert_eq!(code(&body), "NOT_FOUND");
        assert_eq!(message(&body), expected);
    }

    let create_bad = |fields: Value| {
        let mut request = json!({ "candidateName": "Jane Doe", "candidateEmail": "jane@example.com", "testId": test });
        request.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        request
    };
    for (fields, field, allowed) in [
        (json!({ "candidateName": "  " }), "candidateName", ""),
        (json!({ "candidateEmail": "jane" }), "candidateEmail", "name@example.com"),
        (json!({ "certificationExpireDuration": 1000.0 }), "certificationExpireDuration", "1 day"),
        (json!({ "customDuration": 1000 }), "customDuration", "minute"),
        (json!({ "testId": custom }), "testId", "certificationTests id"),
        (
            json!({ "testId": "data-analytics" }),
            "testId",
            "createCompanyTestFromFramework(frameworkId: \"data-analytics\")",
        ),
    ] {
        let body = refused(&app, &key, &create_query(), json!({ "r": create_bad(fields.clone()) })).await;
        assert_bad_input(&body, field, allowed);
        assert!(message(&body).starts_with(&format!("{field}: ")), "{body:#}");
    }
    // Two evaluations on one framework: its id is ambiguous, and the answer lists theirs.
    let second = app.create_framework_test(&app.admin_key, false).await.expect("a second evaluation");
    let body =
        refused(&app, &key, &create_query(), json!({ "r": create_bad(json!({ "testId": "general-coding" })) })).await;
    assert_bad_input(&body, "testId", &second);
    assert!(body["errors"][0]["extensions"]["allowed"].as_str().unwrap().contains(&test));

    let body = refused(&app, &key, EXPIRED, json!({ "first": 10, "from": START + 10, "to": START })).await;
    assert_bad_input(&body, "expirationDateTo", "at or after expirationDateFrom");
    let body = refused(&app, &key, EXPIRED, json!({ "first": -1 })).await;
    assert_bad_input(&body, "first", "0 to 1000");
    let body = refused(&app, &key, EXPIRED, json!({ "first": 1, "test": custom })).await;
    assert_bad_input(&body, "standardizedTestId", "certificationTests id");
    // Nothing was created by any refused call.
    let sessions =
        app.gql("query($t: ID!) { companyTestSessions(companyTestId: $t) { id } }", json!({ "t": test })).await;
    assert_eq!(sessions["companyTestSessions"], json!([]));
}

#[tokio::test]
async fn keys_need_the_sessions_permission_and_results_for_the_best_result() {
    let app = spawn_app().await;
    let test = app.create_framework_test(&app.admin_key, false).await.expect("a Certified Evaluation");
    let created = create_for(&app, &test, "perm@example.com").await;
    candidate_ok(&app, &created["invitationUrl"], "start", json!({})).await;
    candidate_ok(&app, &created["invitationUrl"], "submit", json!({ "score": 700 })).await;
    let by_id = json!({ "r": { "requestId": created["id"] } });
    let now = Timestamp::from_millis(START);

    let tests_only = keys::issue(&*app.store, &app.company, "tests", vec![Permission::Tests], now).await.unwrap().token;
    for (query, variables) in [
        (lookup_query(), by_id.clone()),
        (revoke_query(), by_id.clone()),
        (create_query(), json!({ "r": { "candidateName": "A B", "candidateEmail": "x@example.com", "testId": test } })),
        (EXPIRED.to_owned(), json!({ "first": 1 })),
    ] {
        let body = refused(&app, &tests_only, &query, variables).await;
        assert_eq!(code(&body), "ACCESS_DENIED", "{body:#}");
        assert_eq!(message(&body), "Access Denied: this API key lacks the 'sessions' permission");
        assert!(body["extensions"]["deprecations"].is_array(), "{body:#}");
    }

    // Without `results` the request reads, but not its best result.
    let sessions_only =
        keys::issue(&*app.store, &app.company, "sessions", vec![Permission::Sessions], now).await.unwrap().token;
    let (_, body) = app.gql_as(&sessions_only, &lookup_query(), by_id.clone()).await;
    assert_eq!(body["data"]["certificationRequest"]["lastStatus"], "shared");
    assert_eq!(body["data"]["certificationRequest"]["bestResult"], Value::Null);
    assert_eq!(code(&body), "ACCESS_DENIED");
    assert_eq!(body["errors"][0]["path"], json!(["certificationRequest", "bestResult"]));
    let with_results =
        keys::issue(&*app.store, &app.company, "both", vec![Permission::Sessions, Permission::Results], now)
            .await
            .unwrap()
            .token;
    let (_, body) = app.gql_as(&with_results, &lookup_query(), by_id).await;
    assert!(body.get("errors").is_none(), "{body:#}");
    assert!(body["data"]["certificationRequest"]["bestResult"]["codingScore"].is_number());
}

#[tokio::test]
async fn another_companys_requests_read_as_absent() {
    let app = spawn_app().await;
    let test = app.create_framework_test(&app.admin_key, true).await.expect("a Certified Evaluation");
    let created = create_for(&app, &test, "mine@example.com").await;
    let id = created["id"].as_str().unwrap().to_owned();
    let other = other_company_key(&app).await;

    let body = refused(&app, &other, &lookup_query(), json!({ "r": { "requestId": id } })).await;
    assert_eq!(message(&body), format!("certification request {id} was not found"));
    let body = refused(&app, &other, &revoke_query(), json!({ "r": { "requestId": id } })).await;
    assert_eq!(message(&body), format!("certification request {id} was not found"));
    let body = refused(
        &app,
        &other,
        &lookup_query(),
        json!({ "r": { "candidateEmail": "mine@example.com", "testId": test } }),
    )
    .await;
    assert_eq!(message(&body), format!("test {test} was not found"));
    let body = refused(
        &app,
        &other,
        &lookup_query(),
        json!({ "r": { "candidateEmail": "mine@example.com", "testId": "general-coding" } }),
    )
    .await;
    assert_eq!(message(&body), "no certification request of mine@example.com for test general-coding was found");
    let body = refused(
        &app,
        &other,
        &create_query(),
        json!({ "r": { "candidateName": "A B", "candidateEmail": "x@example.com", "testId": test } }),
    )
    .await;
    assert_eq!(message(&body), format!("test {test} was not found"));
    let (_, body) = app.gql_as(&other, EXPIRED, json!({ "first": 10 })).await;
    assert_eq!(body["data"]["expiredCertificationRequests"]["totalCount"], 0);

    // Untouched.
    assert_eq!(lookup(&app, json!({ "requestId": id })).await, created);
}

#[tokio::test]
async fn pre_screen_operations_carry_no_deprecation_notice() {
    let app = spawn_app().await;
    let (_, body) = app.gql_as(&app.admin_key, "{ certificationTests(first: 1) { totalCount } }", json!({})).await;
    assert!(body.get("extensions").is_none(), "{body:#}");
    // Aliases are named by the response key; several deprecated operations give a notice each.
    let (_, body) = app
        .gql_as(
            &app.admin_key,
            "{ old: expiredCertificationRequests(first: 1) { totalCount } company { id }
               again: expiredCertificationRequests(first: 2) { totalCount } }",
            json!({}),
        )
        .await;
    let notices = body["extensions"]["deprecations"].as_array().expect("notices");
    let paths: Vec<&Value> = notices.iter().map(|n| &n["path"]).collect();
    assert_eq!(paths, [&json!(["old"]), &json!(["again"])]);
    assert!(notices.iter().all(|n| n["operation"] == "expiredCertificationRequests"));
}

/// Operations picked by name, spread from fragments or selected in inline fragments are
/// noticed as if written at the root.
#[tokio::test]
async fn deprecated_operations_in_fragments_and_named_operations_are_noticed() {
    let app = spawn_app().await;
    let notice = |body: &Value| body["extensions"]["deprecations"][0]["operation"].clone();
    let spread = "query { ...Old } fragment Old on Query { expiredCertificationRequests(first: 1) { totalCount } }";
    let (_, body) = app.gql_as(&app.admin_key, spread, json!({})).await;
    assert_eq!(notice(&body), "expiredCertificationRequests", "{body:#}");
    let inline = "{ ... on Query { expiredCertificationRequests(first: 1) { totalCount } } }";
    let (_, body) = app.gql_as(&app.admin_key, inline, json!({})).await;
    assert_eq!(notice(&body), "expiredCertificationRequests", "{body:#}");
    let two = "query New { company { id } } query Old { expiredCertificationRequests(first: 1) { totalCount } }";
    let named = |name: &'static str| {
        let request = app.http.post(format!("{}/graphql", app.base)).bearer_auth(&app.admin_key);
        async move {
            let body = json!({ "query": two, "operationName": name });
            request.json(&body).send().await.expect("request").json::<Value>().await.expect("JSON body")
        }
    };
    let body = named("Old").await;
    assert_eq!(notice(&body), "expiredCertificationRequests", "{body:#}");
    let body = named("New").await;
    assert!(body.get("extensions").is_none(), "the operation run is the one noticed: {body:#}");
    assert!(body["data"]["company"]["id"].is_string() && body.get("errors").is_none(), "{body:#}");
}
