//! Bins: create, receive, list, bounds, expiry, signatures, the page and its live stream.

use std::time::Duration;

use reqwest::StatusCode;
use screenhook_domain::{EventKind, Millis};
use screenhook_webhooks::{DeliveryHeaderParams, USER_AGENT, delivery_headers, envelope_body};
use serde_json::{Value, json};

use crate::{START, spawn_app};

/// A signed delivery as screenhook's sender builds it.
fn signed(url: &str, secret: &str, webhook_id: &str) -> (Vec<(String, String)>, Vec<u8>) {
    let triggered_on = START - 1_000;
    let body =
        envelope_body("companyTestSessionStarted", triggered_on, r#"{"testSessionId":"s1","candidateEmail":"a@b.c"}"#);
    let headers = delivery_headers(DeliveryHeaderParams {
        user_agent: USER_AGENT,
        url,
        event: "companyTestSessionStarted",
        triggered_on_ms: triggered_on,
        webhook_id,
        attempt_unix_secs: START / 1000,
        secret: Some(secret),
        retired_secrets: &[],
        body: &body,
        custom_headers: &[],
    });
    (headers, body)
}

async fn post(http: &reqwest::Client, url: &str, headers: &[(String, String)], body: Vec<u8>) -> StatusCode {
    let mut request = http.post(url).body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.send().await.unwrap().status()
}

#[tokio::test]
async fn a_bin_keeps_requests_newest_first_with_their_details() {
    let app = spawn_app(|_| {}).await;
    let bin = app.create_bin("").await;
    let id = bin["id"].as_str().unwrap();
    assert_eq!(id.len(), 32, "16 random bytes");
    assert_eq!(bin["url"], format!("{}/inspect/{id}/in", app.base));
    assert_eq!(bin["pageUrl"], format!("{}/inspect/{id}", app.base));
    assert_eq!(bin["expiresAt"], START + Millis::days(1).as_millis());
    assert_ne!(app.create_bin("").await["id"], bin["id"]);

    let url = bin["url"].as_str().unwrap();
    assert_eq!(
        app.http.put(format!("{url}/extra/path?x=1")).body("plain").send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        post(&app.http, url, &[("X-Custom".into(), "yes".into())], br#"{"a":1}"#.to_vec()).await,
        StatusCode::OK
    );

    let (status, listed) = app.requests(id).await;
    assert_eq!(status, StatusCode::OK);
    let requests = listed["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0]["seq"], 2, "newest first");
    assert_eq!(requests[0]["method"], "POST");
    assert_eq!(requests[0]["json"], json!({ "a": 1 }));
    assert!(requests[0]["headers"].as_array().unwrap().contains(&json!(["x-custom", "yes"])));
    assert!(requests[0]["source"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(requests[0]["sender"], Value::Null, "no webhook has this URL");
    assert_eq!(requests[1]["method"], "PUT");
    assert_eq!(requests[1]["path"], "/extra/path?x=1");
    assert_eq!(requests[1]["body"], "plain");
    assert_eq!(requests[1]["receivedAt"], START);

    assert_eq!(
        app.http.delete(format!("{}/inspect/{id}", app.base)).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.requests(id).await.0, StatusCode::NOT_FOUND);
    assert_eq!(post(&app.http, url, &[], Vec::new()).await, StatusCode::NOT_FOUND);
    assert_eq!(app.requests("0123456789abcdef0123456789abcdef").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bins_are_bounded_truncate_bodies_and_answer_a_chosen_status() {
    let app = spawn_app(|config| {
        config.max_requests_per_bin = 3;
        config.max_body_bytes = 10;
        config.max_bins = 2;
    })
    .await;
    let bin = app.create_bin(r#"{"respondWith": 503}"#).await;
    let id = bin["id"].as_str().unwrap();
    let url = bin["url"].as_str().unwrap();
    for n in 1..=5 {
        assert_eq!(
            post(&app.http, url, &[], format!("body number {n}").into_bytes()).await,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
    let (_, listed) = app.requests(id).await;
    assert_eq!(listed["dropped"], 2);
    let seqs: Vec<_> = listed["requests"].as_array().unwrap().iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [5, 4, 3], "the oldest were dropped");
    assert_eq!(listed["requests"][0]["body"], "body numbe");
    assert_eq!(listed["requests"][0]["truncated"], true);

    let res =
        app.http.patch(format!("{}/inspect/{id}", app.base)).body(r#"{"respondWith": 200}"#).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(post(&app.http, url, &[], b"short".to_vec()).await, StatusCode::OK);
    let res = app.http.patch(format!("{}/inspect/{id}", app.base)).body(r#"{"respondWith": 99}"#).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    app.create_bin("").await;
    let res = app.http.post(format!("{}/inspect", app.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_bins");
}

#[tokio::test]
async fn bins_expire() {
    let app = spawn_app(|config| config.bin_ttl = Duration::from_secs(60)).await;
    let bin = app.create_bin("").await;
    let id = bin["id"].as_str().unwrap();
    app.clock.advance(Millis::from_millis(59_999));
    assert_eq!(app.requests(id).await.0, StatusCode::OK);
    app.clock.advance(Millis::from_millis(1));
    assert_eq!(app.requests(id).await.0, StatusCode::NOT_FOUND);
    assert_eq!(post(&app.http, bin["url"].as_str().unwrap(), &[], Vec::new()).await, StatusCode::NOT_FOUND);
    assert_eq!(app.http.get(bin["pageUrl"].as_str().unwrap()).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn signatures_are_checked_with_the_sending_webhooks_secret_and_a_typed_one() {
    let app = spawn_app(|_| {}).await;
    let bin = app.create_bin("").await;
    let id = bin["id"].as_str().unwrap();
    let url = bin["url"].as_str().unwrap();
    let webhook = app.webhook(url, vec![EventKind::CompanyTestSessionStarted], Some("inspector-secret")).await;

    let (headers, body) = signed(url, "inspector-secret", "evt_good");
    post(&app.http, url, &headers, body.clone()).await;
    // Tampered: the payload changed after signing, and the CodeSignal header forged.
    let mut forged = headers.clone();
    forged
        .iter_mut()
        .filter(|(name, _)| name == "X-CodeSignal-Signature")
        .for_each(|(_, value)| *value = "00".repeat(32));
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    post(&app.http, url, &forged, tampered).await;

    let (_, listed) = app.requests(id).await;
    let [bad, good] = listed["requests"].as_array().unwrap().as_slice() else { panic!("two requests") };
    assert_eq!(good["sender"]["webhookId"], webhook.id.to_string());
    assert_eq!(good["sender"]["signatures"]["codesignal"], json!({ "valid": true }));
    assert_eq!(good["sender"]["signatures"]["standardWebhooks"], json!({ "valid": true }));
    assert_eq!(bad["sender"]["signatures"]["codesignal"]["valid"], false);
    assert_eq!(bad["sender"]["signatures"]["standardWebhooks"]["valid"], false);
    assert!(!listed.to_string().contains("inspector-secret"), "the secret is never shown");

    let verify = |secret: &'static str| {
        let request = app.http.post(format!("{}/inspect/{id}/verify", app.base)).json(&json!({ "secret": secret }));
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let typed = verify("inspector-secret").await;
    assert_eq!(typed["results"][1]["seq"], 1);
    assert_eq!(typed["results"][1]["signatures"]["codesignal"]["valid"], true);
    assert_eq!(typed["results"][1]["signatures"]["standardWebhooks"]["valid"], true);
    assert_eq!(typed["results"][0]["signatures"]["standardWebhooks"]["valid"], false);
    let wrong = verify("guess").await;
    assert_eq!(wrong["results"][1]["signatures"]["codesignal"]["valid"], false);
    assert_eq!(wrong["results"][1]["signatures"]["standardWebhooks"]["valid"], false);

    // The page shows both verdicts, escaped.
    post(&app.http, &format!("{url}/<script>"), &[], b"<b>hi</b>".to_vec()).await;
    let page = app.http.get(bin["pageUrl"].as_str().unwrap()).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("✓ X-CodeSignal-Signature valid"), "{page}");
    assert!(page.contains("✗ webhook-signature"));
    assert!(page.contains("&lt;b&gt;hi&lt;/b&gt;") && !page.contains("<b>hi</b>"));
    assert!(page.contains("/in/%3Cscript%3E") || page.contains("/in/&lt;script&gt;"));
    // The live updates come from the served script, which reads the stream's URL off the page.
    assert!(page.contains(&format!(r#"data-stream="{id}/stream""#)), "{page}");
    assert!(page.contains(r#"<script defer src="/assets/inspector.js"></script>"#));
    let home = app.http.get(format!("{}/inspect/new", app.base)).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.text().await.unwrap().contains("Create a bin"));
}

#[tokio::test]
async fn the_live_stream_sends_each_new_request() {
    let app = spawn_app(|_| {}).await;
    let bin = app.create_bin("").await;
    let id = bin["id"].as_str().unwrap();
    let mut stream = app.http.get(format!("{}/inspect/{id}/stream", app.base)).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(stream.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    post(&app.http, bin["url"].as_str().unwrap(), &[("webhook-id".into(), "evt_live".into())], br#"{"x":1}"#.to_vec())
        .await;
    let mut seen = String::new();
    while !seen.contains("\n\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk()).await.unwrap().unwrap().unwrap();
        seen.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(seen.contains("event: request"), "{seen}");
    assert!(seen.contains("id: 1"), "{seen}");
    let data: Value = serde_json::from_str(seen.lines().find_map(|l| l.strip_prefix("data: ")).unwrap()).unwrap();
    assert_eq!(data["seq"], 1);
    assert!(data["html"].as_str().unwrap().contains("evt_live"));
}
