//! Bad inputs: each gets a clear error with a stable code, never a
//! 500, and changes nothing.

use reqwest::StatusCode;
use screenhook_api::ApiConfig;
use screenhook_domain::{Millis, Permission, Timestamp};
use screenhook_engine::keys;
use serde_json::{Value, json};

use crate::{App, code, message, spawn_app, spawn_app_with};

const INVITE: &str = "mutation($s: TestSessionInput!) { createCompanyTestSession(sessionFields: $s) { id } }";

async fn session_count(app: &App, test: &str) -> usize {
    let data = app
        .gql("query($t: ID!) { companyTestSessions(companyTestId: $t, first: 100) { id } }", json!({ "t": test }))
        .await;
    data["companyTestSessions"].as_array().unwrap().len()
}

async fn key_with(app: &App, permissions: &[Permission]) -> String {
    keys::issue(&*app.store, &app.company, "limited", permissions.to_vec(), Timestamp::from_millis(crate::START))
        .await
        .expect("key")
        .token
}

#[tokio::test]
async fn invalid_arguments_are_bad_user_input_and_change_nothing() {
    let app = spawn_app().await;
    let test = app.create_framework_test(&app.admin_key, true).await.expect("test");

    let (_, body) = app.gql_as(&app.admin_key, "{ companyTest(id: \"bad id!\") { id } }", json!({})).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "id");

    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "testId": test, "candidateFirstName": "Ann", "candidateLastName": "Lee", "candidateEmail": "not-an-email" }),
            "candidateEmail",
        ),
        (
            json!({ "testId": test, "candidateFirstName": "Ann", "candidateLastName": "Lee", "candidateEmail": "ok@example.com", "expireDuration": 1000.0 }),
            "expireDuration",
        ),
        (
            json!({ "testId": test, "candidateFirstName": "Ann", "candidateLastName": "Lee", "candidateEmail": "ok@example.com", "expireDuration": Millis::days(200).as_millis() }),
            "expireDuration",
        ),
        (
            json!({ "testId": test, "candidateFirstName": "Ann", "candidateLastName": "Lee", "candidateEmail": "ok@example.com", "expireDuration": -5 }),
            "expireDuration",
        ),
        (
            json!({ "testId": test, "candidateFirstName": "Ann", "candidateLastName": "Lee", "candidateEmail": "ok@example.com", "externalId": "x".repeat(300) }),
            "externalId",
        ),
    ];
    for (input, field) in cases {
        let (status, body) = app.gql_as(&app.admin_key, INVITE, json!({ "s": input })).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(code(&body), "BAD_USER_INPUT", "{field}: {body:#}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body:#}");
        assert!(body["errors"][0]["extensions"]["allowed"].is_string(), "{body:#}");
    }
    assert_eq!(session_count(&app, &test).await, 0);

    let (_, body) = app
        .gql_as(
            &app.admin_key,
            "mutation($f: CreateCompanyTestFromFrameworkInput!) { createCompanyTestFromFramework(testFields: $f) { id } }",
            json!({ "f": { "frameworkId": "no-such-framework", "title": "t", "externalTitle": "t" } }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert!(body["errors"][0]["extensions"]["allowed"].as_str().unwrap().contains("general-coding"));

    // Shortening an expiration is refused; the date stays.
    let invited = app.invite(&app.admin_key, &test, "ok@example.com", "gh").await;
    let id = invited["id"].as_str().unwrap();
    let read = "query($id: ID!) { companyTestSession(id: $id) { expirationDate } }";
    let before = app.gql(read, json!({ "id": id })).await;
    let (_, body) = app
        .gql_as(
            &app.admin_key,
            "mutation($id: ID!, $at: Timestamp!) { editCompanyTestSessionExpiration(id: $id, expirationDate: $at) { id } }",
            json!({ "id": id, "at": crate::START + Millis::days(2).as_millis() }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "expirationDate");
    assert!(message(&body).contains("never shortened"), "{body:#}");
    assert_eq!(app.gql(read, json!({ "id": id })).await, before);

    // Pages out of range.
    let (_, body) = app.gql_as(&app.admin_key, "{ companyTests(first: -1) { totalCount } }", json!({})).await;
    assert_eq!((code(&body), body["errors"][0]["extensions"]["field"].as_str()), ("BAD_USER_INPUT", Some("first")));
}

#[tokio::test]
async fn malformed_operations_are_refused_before_running() {
    let app = spawn_app().await;
    let test = app.create_framework_test(&app.admin_key, true).await.expect("test");

    // Unknown input field, wrong variable type, unknown field, syntax error.
    let (status, body) = app
        .gql_as(
            &app.admin_key,
            INVITE,
            json!({ "s": { "testId": test, "candidateEmail": "a@example.com", "bogus": 1 } }),
        )
        .await;
    assert_eq!(body["data"], Value::Null, "{body:#}");
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, "GRAPHQL_VALIDATION_FAILED"), "{body:#}");
    assert!(message(&body).contains("unknown field \"bogus\""), "{body:#}");
    let (status, body) = app
        .gql_as(&app.admin_key, "query($n: Int!) { companyTests(first: $n) { totalCount } }", json!({ "n": "ten" }))
        .await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, "GRAPHQL_VALIDATION_FAILED"), "{body:#}");
    let (status, body) = app.gql_as(&app.admin_key, "{ companyTests(first: 1) { nope } }", json!({})).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, "GRAPHQL_VALIDATION_FAILED"), "{body:#}");
    let (status, body) = app.gql_as(&app.admin_key, "{ companyTests(", json!({})).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, "GRAPHQL_VALIDATION_FAILED"), "{body:#}");
    assert_eq!(session_count(&app, &test).await, 0);

    // Too deep: 11 levels.
    let deep = "{ companyTestSession(id: \"x\") { test { testSessions(first: 1) { test { testSessions(first: 1) { test { testSessions(first: 1) { test { testSessions(first: 1) { test { id } } } } } } } } } } }";
    let (status, body) = app.gql_as(&app.admin_key, deep, json!({})).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, "QUERY_TOO_DEEP"), "{body:#}");

    // Too costly: cost is `first` times the selection.
    let (status, body) =
        app.gql_as(&app.admin_key, "{ companyTests(first: 100000) { companyTests { id title } } }", json!({})).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, "QUERY_TOO_COMPLEX"), "{body:#}");
    assert!(message(&body).contains("10000"), "{body:#}");

    // GraphiQL's introspection query nests deeper than 10 and is still answered.
    let introspection = "query IntrospectionQuery { __schema { queryType { name } types { name fields { name type { ...TypeRef } } } } }
        fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";
    let (status, body) = app.gql_as(&app.admin_key, introspection, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
}

#[tokio::test]
async fn transport_limits() {
    let app = spawn_app().await;
    let post = |body: String| {
        app.http
            .post(format!("{}/graphql", app.base))
            .bearer_auth(&app.admin_key)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let big = json!({ "query": format!("{{ company {{ id }} }} #{}", "x".repeat(70 * 1024)) }).to_string();
    let res = post(big).await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(code(&body), "PAYLOAD_TOO_LARGE");
    assert!(message(&body).contains("65536"));

    let res = post("{not json".into()).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code(&res.json::<Value>().await.unwrap()), "BAD_REQUEST");

    let op = json!({ "query": "{ company { id } }" });
    let res = post(Value::Array(vec![op.clone(); 11]).to_string()).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(code(&body), "BAD_REQUEST");
    assert!(message(&body).contains("1 to 10"), "{body:#}");
    let res = post(Value::Array(vec![op.clone(); 2]).to_string()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!([{ "data": { "company": { "id": "sandbox" } } }, { "data": { "company": { "id": "sandbox" } } }])
    );

    let res = app
        .http
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&app.admin_key)
        .header("content-type", "text/plain")
        .body(op.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn credentials_and_permissions() {
    let app = spawn_app().await;
    let query = "{ company { id } }";

    // Missing, malformed, unknown and revoked keys all get the same answer.
    let res = app.http.post(format!("{}/graphql", app.base)).json(&json!({ "query": query })).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let missing: Value = res.json().await.unwrap();
    assert_eq!(code(&missing), "UNAUTHENTICATED");
    let data = app
        .gql("mutation { createApiKey(description: \"temp\", permissions: [tests]) { key apiKey { publicId permissions } } }", json!({}))
        .await;
    let temp = data["createApiKey"]["key"].as_str().unwrap().to_owned();
    let temp_id = data["createApiKey"]["apiKey"]["publicId"].as_str().unwrap().to_owned();
    assert_eq!(data["createApiKey"]["apiKey"]["permissions"], json!(["tests"]));
    let (status, _) = app.gql_as(&temp, "{ companyTests(first: 1) { totalCount } }", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let data = app
        .gql("mutation($id: String!) { revokeApiKey(publicId: $id) { revokeDate } }", json!({ "id": temp_id }))
        .await;
    assert!(data["revokeApiKey"]["revokeDate"].is_number());
    for key in ["garbage", "sk_nope_nope", temp.as_str()] {
        let (status, body) = app.gql_as(key, query, json!({})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body, missing, "{key}");
    }

    // A key without the permission an operation needs.
    let tests_only = key_with(&app, &[Permission::Tests]).await;
    let test = app.create_framework_test(&tests_only, true).await.expect("tests permission suffices");
    let (_, body) = app
        .gql_as(
            &tests_only,
            INVITE,
            json!({ "s": { "testId": test, "candidateFirstName": "A", "candidateEmail": "a@example.com" } }),
        )
        .await;
    assert_eq!(code(&body), "ACCESS_DENIED");
    assert_eq!(message(&body), "Access Denied: this API key lacks the 'sessions' permission");
    assert_eq!(session_count(&app, &test).await, 0);

    let (_, body) = app.gql_as(&tests_only, "{ apiKeys { publicId } }", json!({})).await;
    assert_eq!(message(&body), "Access Denied: this API key lacks the 'admin' permission");

    // Sessions without results: the session reads, its result is refused.
    let invited = app.invite(&app.admin_key, &test, "a@example.com", "gh").await;
    let sessions_only = key_with(&app, &[Permission::Sessions]).await;
    let (_, body) = app
        .gql_as(
            &sessions_only,
            "query($id: ID!) { companyTestSession(id: $id) { status result { score } } }",
            json!({ "id": invited["id"] }),
        )
        .await;
    assert_eq!(body["data"]["companyTestSession"]["status"], "pending");
    assert_eq!(body["data"]["companyTestSession"]["result"], Value::Null);
    assert_eq!(message(&body), "Access Denied: this API key lacks the 'results' permission");

    // Proctor actions need the proctor permission, which admin does not imply.
    let admin_only = key_with(&app, &[Permission::Admin]).await;
    let (_, body) = app
        .gql_as(
            &admin_only,
            "mutation($id: ID!) { verifyCompanyTestSession(id: $id) { id } }",
            json!({ "id": invited["id"] }),
        )
        .await;
    assert_eq!(message(&body), "Access Denied: this API key lacks the 'proctor' permission");
    // ... and a key cannot grant what it does not hold.
    let (_, body) = app
        .gql_as(&admin_only, "mutation { createApiKey(description: \"p\", permissions: [proctor]) { key } }", json!({}))
        .await;
    assert_eq!(code(&body), "ACCESS_DENIED");
}

#[tokio::test]
async fn rate_limit_per_key() {
    let app = spawn_app_with(ApiConfig { rate_limit_per_second: 1, rate_limit_burst: 3, ..ApiConfig::default() }).await;
    for _ in 0..3 {
        let (status, _) = app.gql_as(&app.admin_key, "{ company { id } }", json!({})).await;
        assert_eq!(status, StatusCode::OK);
    }
    let res = app
        .http
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&app.admin_key)
        .json(&json!({ "query": "{ company { id } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().get("retry-after").is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(code(&body), "RATE_LIMITED");

    // Another key has its own bucket.
    let other = key_with(&app, &[Permission::Tests]).await;
    let (status, _) = app.gql_as(&other, "{ company { id } }", json!({})).await;
    assert_eq!(status, StatusCode::OK);
}
