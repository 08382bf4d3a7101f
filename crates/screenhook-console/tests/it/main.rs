//! The console over real HTTP: a SQLite store in a temp dir, the engine on a manual clock, the
//! console with the shared assets and security headers on 127.0.0.1:0, and a browser-like
//! client that keeps the session cookie. (The journeys in a real browser are in the binary's
//! `tests/browser.rs`; these check the rules a browser cannot easily break.)
//!
//! Not `screenhook::App` (what `serve` runs, in the binary's crate, which the journeys in
//! `tests/browser.rs` use): these test the console's own router on a manual clock with the
//! pending work run on demand, and `App` sits above this crate.

mod certify;
mod pages;
mod security;

use std::sync::Arc;

use reqwest::{StatusCode, header};
use screenhook_console::Console;
use screenhook_delivery::{DeliveryConfig, WebhookManager, Worker};
use screenhook_domain::{CompanyId, Millis, Permission, Timestamp};
use screenhook_engine::{Clock, Engine, EngineConfig, ManualClock, bootstrap, keys};
use screenhook_store::Store;
use screenhook_store_sqlite::SqliteStore;
use screenhook_webhooks::{EgressPolicy, Sender, SenderConfig};

/// 2025-06-15T12:00:00Z.
pub const START: i64 = 1_750_000_000_000;

pub struct App {
    pub base: String,
    pub admin_key: String,
    pub clock: Arc<ManualClock>,
    pub engine: Engine,
    pub store: Arc<dyn Store>,
    pub company: CompanyId,
    pub worker: Worker,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app() -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("console.db")).await.expect("open store"));
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(START)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let engine = Engine::new(
        store.clone(),
        clock.clone(),
        EngineConfig { public_url: base.clone(), integrity_review_delay: Millis::minutes(30) },
    );
    let (company, key) = bootstrap::ensure_sandbox(&*store, &*clock).await.expect("bootstrap").expect("fresh");
    let sender = Sender::new(SenderConfig {
        egress: EgressPolicy { allow_loopback: true, ..EgressPolicy::default() },
        ..SenderConfig::default()
    })
    .expect("sender");
    let worker = Worker::new(store.clone(), sender.clone(), clock.clone(), DeliveryConfig::default());
    let console = Console::new(engine.clone(), WebhookManager::new(store.clone(), sender, clock.clone()), base.clone());
    let app = console
        .router()
        .merge(screenhook_web::assets::router())
        .layer(axum::middleware::from_fn(screenhook_web::security_headers));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    App { base, admin_key: key.token, clock, engine, store, company: company.id, worker, _dir: dir }
}

impl App {
    /// A key of the sandbox company with these permissions.
    pub async fn key(&self, permissions: &[Permission]) -> String {
        keys::issue(&*self.store, &self.company, "test key", permissions.to_vec(), self.clock.now())
            .await
            .unwrap()
            .token
    }
}

/// A browser without JavaScript: it keeps the session cookie and reads forms' CSRF tokens.
pub struct Browser {
    pub base: String,
    pub http: reqwest::Client,
    pub session: Option<String>,
}

impl Browser {
    pub fn new(app: &App) -> Browser {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { base: app.base.clone(), http, session: None }
    }

    fn cookies(&self) -> String {
        self.session.as_ref().map(|s| format!("sh_session={s}")).unwrap_or_default()
    }

    pub async fn get(&self, path: &str) -> (StatusCode, String, reqwest::header::HeaderMap) {
        let res =
            self.http.get(format!("{}{path}", self.base)).header(header::COOKIE, self.cookies()).send().await.unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        (status, res.text().await.unwrap(), headers)
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String, reqwest::header::HeaderMap) {
        let body = url_encode(form);
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::COOKIE, self.cookies())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let (status, headers) = (res.status(), res.headers().clone());
        (status, res.text().await.unwrap(), headers)
    }

    /// Posts `multipart/form-data` as a browser's file form does: `(name, file name, content)`,
    /// in order.
    pub async fn post_multipart(&self, path: &str, parts: &[(&str, Option<&str>, &str)]) -> (StatusCode, String) {
        const BOUNDARY: &str = "----screenhook-test-boundary";
        let mut body = String::new();
        for (name, file, content) in parts {
            body += &format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"");
            match file {
                Some(file) => body += &format!("; filename=\"{file}\"\r\nContent-Type: application/x-ndjson\r\n\r\n"),
                None => body += "\r\n\r\n",
            }
            body += content;
            body += "\r\n";
        }
        body += &format!("--{BOUNDARY}--\r\n");
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header(header::COOKIE, self.cookies())
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.text().await.unwrap())
    }

    /// Signs in through the start page's form; returns the sign-in answer's status.
    pub async fn sign_in(&mut self, key: &str) -> (StatusCode, String) {
        let res = self.http.get(format!("{}/", self.base)).send().await.unwrap();
        let pre = cookie_of(res.headers(), "sh_signin").expect("the sign-in cookie");
        let page = res.text().await.unwrap();
        let csrf = csrf_of(&page);
        let res = self
            .http
            .post(format!("{}/signin", self.base))
            .header(header::COOKIE, format!("sh_signin={pre}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(url_encode(&[("_csrf", &csrf), ("key", key), ("next", "/prescreens")]))
            .send()
            .await
            .unwrap();
        let status = res.status();
        if let Some(session) = cookie_of(res.headers(), "sh_session") {
            self.session = Some(session);
        }
        (status, res.text().await.unwrap())
    }

    /// The CSRF token of the signed-in session, read from a page's form.
    pub async fn csrf(&self) -> String {
        let (_, page, _) = self.get("/lifecycle").await;
        csrf_of(&page)
    }
}

pub fn url_encode(form: &[(&str, &str)]) -> String {
    form.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn cookie_of(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .find(|(n, v)| *n == name && !v.is_empty())
        .map(|(_, v)| v.to_owned())
}

pub fn csrf_of(page: &str) -> String {
    let at = page.find(r#"name="_csrf" value=""#).expect("a form with a CSRF token") + r#"name="_csrf" value=""#.len();
    page[at..].split('"').next().unwrap().to_owned()
}
