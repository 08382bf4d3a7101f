//! The operator API over HTTP: companies created, listed, renamed, disabled and enabled with
//! the operator token alone; company keys do not open it, bad input changes nothing, and with
//! no token configured it does not exist.

use reqwest::StatusCode;
use screenhook_api::{ApiConfig, operator::OperatorToken};
use serde_json::{Value, json};

use crate::{App, code, spawn_app, spawn_app_with};

const TOKEN: &str = "operator-token-for-tests-0123456789abcdef";

async fn operator_app() -> App {
    spawn_app_with(ApiConfig { operator_token: Some(OperatorToken::new(TOKEN)), ..ApiConfig::default() }).await
}

/// A call with `token` (none when empty): the status and the JSON body.
async fn call(app: &App, method: reqwest::Method, path: &str, token: &str, body: Option<&str>) -> (StatusCode, Value) {
    let mut request = app.http.request(method, format!("{}/operator/v1{path}", app.base));
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_owned());
    }
    let response = request.send().await.expect("an answer");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn error_of(body: &Value) -> (&str, Option<&str>) {
    (body["error"]["code"].as_str().unwrap_or_default(), body["error"]["field"].as_str())
}

#[tokio::test]
async fn an_operator_creates_lists_renames_disables_and_enables_companies() {
    use reqwest::Method;
    let app = operator_app().await;
    app.clock.advance(screenhook_domain::Millis::SECOND);
    let (status, created) = call(
        &app,
        Method::POST,
        "/companies",
        TOKEN,
        Some(r#"{"id": "acme", "name": "  Acme Corp ", "sandbox": false}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["company"]["name"], "Acme Corp");
    assert_eq!(created["company"]["sandbox"], false);
    assert_eq!(created["company"]["disabledDate"], Value::Null);
    let admin_key = created["adminKey"].as_str().expect("the first admin key").to_owned();

    // The key works for that company, and only for it.
    const TESTS: &str = "{ companyTests(first: 10) { totalCount } }";
    let (_, body) = app.gql_as(&admin_key, TESTS, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["companyTests"]["totalCount"], 0, "a new company has no tests of its own");

    let (status, listed) = call(&app, Method::GET, "/companies", TOKEN, None).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = listed["companies"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["sandbox", "acme"]);

    let (status, renamed) = call(&app, Method::PATCH, "/companies/acme", TOKEN, Some(r#"{"name": "Acme"}"#)).await;
    assert_eq!((status, renamed["name"].as_str()), (StatusCode::OK, Some("Acme")));
    let (_, disabled) = call(&app, Method::PATCH, "/companies/acme", TOKEN, Some(r#"{"disabled": true}"#)).await;
    assert_eq!(disabled["disabledDate"], json!(crate::START + 1_000), "{disabled}");
    let (status, body) = app.gql_as(&admin_key, TESTS, json!({})).await;
    assert!(status == StatusCode::UNAUTHORIZED || code(&body) == "UNAUTHENTICATED", "{status} {body}");
    let (_, enabled) = call(&app, Method::PATCH, "/companies/acme", TOKEN, Some(r#"{"disabled": false}"#)).await;
    assert_eq!(enabled["disabledDate"], Value::Null);
    let (_, shown) = call(&app, Method::GET, "/companies/acme", TOKEN, None).await;
    assert_eq!(shown, enabled);
    let both = r#"{"name": "Acme Inc", "disabled": true}"#;
    let (_, changed) = call(&app, Method::PATCH, "/companies/acme", TOKEN, Some(both)).await;
    assert_eq!((changed["name"].as_str(), changed["disabledDate"].is_number()), (Some("Acme Inc"), true), "{changed}");
    let (_, shown) = call(&app, Method::GET, "/companies/acme", TOKEN, None).await;
    assert_eq!(shown, changed, "both changes in one write");
}

#[tokio::test]
async fn the_answer_that_carries_the_first_admin_key_is_never_cached() {
    let app = operator_app().await;
    let response = app
        .http
        .post(format!("{}/operator/v1/companies", app.base))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(r#"{"id": "acme", "name": "Acme"}"#)
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
}

#[tokio::test]
async fn bad_input_names_the_field_and_changes_nothing() {
    use reqwest::Method;
    let app = operator_app().await;
    let cases = [
        (r#"{"id": "no spaces", "name": "A"}"#, ("BAD_USER_INPUT", Some("id"))),
        (r#"{"id": "sandbox", "name": "Taken"}"#, ("BAD_USER_INPUT", Some("id"))),
        (r#"{"id": "blank", "name": "   "}"#, ("BAD_USER_INPUT", Some("name"))),
        (r#"{"id": "extra", "name": "A", "plan": "gold"}"#, ("BAD_REQUEST", None)),
        ("not json", ("BAD_REQUEST", None)),
    ];
    for (body, expected) in cases {
        let (status, answer) = call(&app, Method::POST, "/companies", TOKEN, Some(body)).await;
        assert_eq!(error_of(&answer), expected, "{body}: {answer}");
        assert!(status.is_client_error(), "{body}: {status}");
        if expected.1.is_some() {
            assert!(answer["error"]["allowed"].is_string(), "{answer}");
        }
    }
    let (_, answer) =
        call(&app, Method::PATCH, "/companies/sandbox", TOKEN, Some(r#"{"name": "", "disabled": true}"#)).await;
    assert_eq!(error_of(&answer), ("BAD_USER_INPUT", Some("name")), "{answer}");
    let (status, answer) = call(&app, Method::PATCH, "/companies/sandbox", TOKEN, Some("{}")).await;
    assert_eq!((status, error_of(&answer)), (StatusCode::BAD_REQUEST, ("BAD_REQUEST", None)), "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("nothing to change"), "{answer}");
    let (status, answer) = call(&app, Method::PATCH, "/companies/nobody", TOKEN, Some(r#"{"disabled": true}"#)).await;
    assert_eq!((status, error_of(&answer).0), (StatusCode::NOT_FOUND, "NOT_FOUND"));

    let (_, listed) = call(&app, Method::GET, "/companies", TOKEN, None).await;
    assert_eq!(listed["companies"].as_array().map(Vec::len), Some(1), "nothing was created: {listed}");
    assert_eq!(listed["companies"][0]["name"], "Sandbox", "nor renamed");
    assert_eq!(listed["companies"][0]["disabledDate"], Value::Null, "nor disabled");
}

#[tokio::test]
async fn only_the_operator_token_opens_it_and_without_one_it_is_not_there() {
    use reqwest::Method;
    let app = operator_app().await;
    for token in ["", "wrong-token", app.admin_key.as_str()] {
        let (status, answer) = call(&app, Method::GET, "/companies", token, None).await;
        assert_eq!((status, error_of(&answer).0), (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"), "{token:?}");
        let (status, _) = call(&app, Method::POST, "/companies", token, Some(r#"{"id": "x", "name": "X"}"#)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let off = spawn_app().await;
    let (status, _) = call(&off, Method::GET, "/companies", TOKEN, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no token configured: no operator API");
}
