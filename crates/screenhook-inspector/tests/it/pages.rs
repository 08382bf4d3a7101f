//! The pages under the product's Content-Security-Policy: nothing inline, the shared shell and
//! stylesheet, the served script, and the controls that script drives.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{App, spawn_app};

async fn get(app: &App, path: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let res = app.http.get(format!("{}{path}", app.base)).send().await.unwrap();
    (res.status(), res.headers().clone(), res.text().await.unwrap())
}

/// Fails when `html` holds anything the CSP (`script-src 'self'; style-src 'self'`) blocks:
/// a script without `src` or with a body, a `<style>` element, a `style` attribute, an inline
/// event handler or a `javascript:` URL. Texts are escaped, so every `<` opens a tag.
fn assert_no_inline_code(html: &str) {
    let lower = html.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(at) = rest.find('<') {
        let end = rest[at..].find('>').expect("tag closes") + at;
        let tag = &rest[at + 1..end];
        let name: String = tag.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '!' || *c == '/').collect();
        assert_ne!(name, "style", "a <style> element");
        if name == "script" {
            assert!(tag.contains(" src=\"/assets/"), "an inline script: <{tag}>");
            assert!(rest[end + 1..].starts_with("</script>"), "a script with a body: <{tag}>");
        }
        // Attribute names: a space, letters, then `=`, outside quoted values.
        let mut quoted = false;
        for (k, c) in tag.char_indices() {
            if c == '"' {
                quoted = !quoted;
            } else if c == ' ' && !quoted {
                let attribute: String =
                    tag[k + 1..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
                assert_ne!(attribute, "style", "a style attribute in <{tag}>");
                assert!(!attribute.starts_with("on"), "an inline handler in <{tag}>");
            }
        }
        assert!(!tag.contains("javascript:"), "a javascript: URL in <{tag}>");
        rest = &rest[end + 1..];
    }
}

/// A bin holding one JSON request whose body and path try to inject markup.
async fn bin_with_a_request(app: &App) -> (Value, String) {
    let bin = app.create_bin("").await;
    let url = bin["url"].as_str().unwrap();
    let body = json!({ "event": "<script>alert(1)</script>", "style": "x\" style=\"color:red" });
    let res = app.http.post(format!("{url}/hook")).json(&body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let id = bin["id"].as_str().unwrap().to_owned();
    (bin, id)
}

#[tokio::test]
async fn pages_have_no_inline_script_or_style() {
    let app = spawn_app(|_| {}).await;
    let (_, id) = bin_with_a_request(&app).await;
    for path in ["/inspect/new".to_owned(), format!("/inspect/{id}")] {
        let (status, headers, page) = get(&app, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(headers["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
        assert_no_inline_code(&page);
        assert!(page.starts_with("<!doctype html>"), "the shared shell: {path}");
        assert!(page.contains(r#"<link rel="stylesheet" href="/assets/app.css">"#), "{path}");
        assert!(page.contains(r#"<script defer src="/assets/inspector.js"></script>"#), "{path}");
    }
    // The request is shown escaped, in the product's request card.
    let (_, _, page) = get(&app, &format!("/inspect/{id}")).await;
    assert!(page.contains(r#"<article class="request" id="r1">"#), "{page}");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.contains("<script>alert"));
    // What the stream sends is inline-free too.
    let html = fragment_of_next_request(&app, &id).await;
    assert_no_inline_code(&html);
    assert!(html.contains("&lt;i style=\\&quot;x\\&quot;&gt;"), "{html}");
}

/// The `html` of the `request` event a new request to bin `id` makes.
async fn fragment_of_next_request(app: &App, id: &str) -> String {
    {
        let mut stream = app.http.get(format!("{}/inspect/{id}/stream", app.base)).send().await.unwrap();
        let url = format!("{}/inspect/{id}/in", app.base);
        app.http.post(url).body(r#"{"a":"<i style=\"x\">"}"#).send().await.unwrap();
        let mut seen = String::new();
        while !seen.contains("\n\n") {
            let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk()).await.unwrap().unwrap().unwrap();
            seen.push_str(std::str::from_utf8(&chunk).unwrap());
        }
        let data: Value = serde_json::from_str(seen.lines().find_map(|l| l.strip_prefix("data: ")).unwrap()).unwrap();
        data["html"].as_str().unwrap().to_owned()
    }
}

#[tokio::test]
async fn the_bin_page_carries_its_controls() {
    let app = spawn_app(|_| {}).await;
    let (bin, id) = bin_with_a_request(&app).await;
    let (_, _, page) = get(&app, &format!("/inspect/{id}")).await;
    // What the script reads: the bin's API, stream, verify URL and where to go after deleting.
    for attribute in [
        format!(r#"data-api="{id}""#),
        format!(r#"data-stream="{id}/stream""#),
        format!(r#"data-verify="{id}/verify""#),
        r#"data-home="new""#.to_owned(),
    ] {
        assert!(page.contains(&attribute), "{attribute}");
    }
    assert!(page.contains(&format!(r#"<div class="secret-box" id="bin-url">{}</div>"#, bin["url"].as_str().unwrap())));
    // The status form shows the current status.
    assert!(page.contains(r#"<form id="status-form""#));
    assert!(page.contains(r#"value="200""#));
    assert!(page.contains(r#"<span id="respond-with" class="badge ok">200</span>"#));
    // Deleting asks first.
    assert!(page.contains(r#"id="delete-bin""#));
    assert!(page.contains(&format!(r#"data-confirm="Delete bin {id} and every request it kept?""#)));
    // The typed-secret check and the live list.
    assert!(page.contains(r#"<form id="secret-form""#) && page.contains(r#"id="secret" type="password""#));
    assert!(page.contains(r#"<div id="empty" class="empty" hidden>"#));

    // The status set through the JSON API the form uses is what the page shows next.
    let res =
        app.http.patch(format!("{}/inspect/{id}", app.base)).json(&json!({ "respondWith": 503 })).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["respondWith"], 503);
    let (_, _, page) = get(&app, &format!("/inspect/{id}")).await;
    assert!(page.contains(r#"value="503""#));
    assert!(page.contains(r#"<span id="respond-with" class="badge bad">503</span>"#));

    // A fresh bin's page says it is waiting.
    let empty = app.create_bin("").await;
    let (_, _, page) = get(&app, &format!("/inspect/{}", empty["id"].as_str().unwrap())).await;
    assert!(page.contains(r#"<div id="empty" class="empty">"#));

    // The button's DELETE, then the page it goes back to.
    let res = app.http.delete(format!("{}/inspect/{id}", app.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(get(&app, &format!("/inspect/{id}")).await.0, StatusCode::NOT_FOUND);
    let (status, _, home) = get(&app, "/inspect/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains(r#"<button type="button" id="create-bin" data-api="../inspect">Create a bin</button>"#));
}

#[tokio::test]
async fn the_script_is_served_and_finds_what_it_looks_for() {
    let app = spawn_app(|_| {}).await;
    let (_, id) = bin_with_a_request(&app).await;
    let (status, headers, script) = get(&app, "/assets/inspector.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/javascript"));
    // It drives the page through the JSON API and the stream, from the data- attributes.
    for used in [
        "new EventSource(page.dataset.stream)",
        "fetch(page.dataset.verify",
        r#"method: "PATCH""#,
        r#"method: "DELETE""#,
        "window.confirm(",
        "location.href = page.dataset.home",
        "fetch(create.dataset.api, { method: \"POST\" })",
    ] {
        assert!(script.contains(used), "inspector.js: {used}");
    }
    // Every element it looks up is on one of the two pages.
    let (_, _, home) = get(&app, "/inspect/new").await;
    let (_, _, bin) = get(&app, &format!("/inspect/{id}")).await;
    let mut ids = 0;
    for (at, _) in script.match_indices("getElementById(\"") {
        let rest = &script[at + "getElementById(\"".len()..];
        let name = &rest[..rest.find('"').unwrap()];
        let wanted = format!(r#"id="{name}""#);
        assert!(home.contains(&wanted) || bin.contains(&wanted), "no element #{name}");
        ids += 1;
    }
    assert!(ids >= 10, "{ids}");
    for selector in [".typed", "[data-copy]"] {
        assert!(script.contains(selector));
    }
    assert!(bin.contains(r#"class="typed""#) && bin.contains("data-copy=\"#bin-url\""));
}

#[test]
fn the_inline_check_catches_what_the_csp_blocks() {
    for bad in [
        "<p>x</p><script>alert(1)</script>",
        r#"<script src="/assets/a.js">alert(1)</script>"#,
        r#"<script src="https://elsewhere.example/a.js"></script>"#,
        "<style>p{}</style>",
        r#"<p style="color:red">x</p>"#,
        r#"<button onclick="go()">x</button>"#,
        r#"<a href="javascript:go()">x</a>"#,
    ] {
        let caught = std::panic::catch_unwind(|| assert_no_inline_code(bad)).is_err();
        assert!(caught, "not caught: {bad}");
    }
    assert_no_inline_code(
        r#"<p class="x" data-style="a">style= onclick= &lt;style&gt;</p><script defer src="/assets/a.js"></script>"#,
    );
}
