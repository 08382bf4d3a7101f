//! The webhook inspector: bins with unguessable receiving URLs that keep every request sent
//! to them, a JSON API, and a live page that shows each request as it arrives with the
//! verdicts of both signatures — the self-hosted stand-in for webhook.site in the
//! "lightweight" integration test of CodeSignal's Certify transition guide (Step 4).
//!
//! # Routes
//! - `GET /inspect/new` — a page with a "create a bin" button.
//! - `POST /inspect` (optional JSON `{respondWith}`) → `201 {id, url, pageUrl, expiresAt,
//!   respondWith}`.
//! - `ANY /inspect/{bin}/in[/{extra path}]` — the receiving URL: keeps the request and
//!   answers the bin's status (200 unless set, to rehearse retries).
//! - `GET /inspect/{bin}` — the live page; `GET /inspect/{bin}/stream` — its server-sent
//!   events (`request`, data `{seq, dropped, html}`).
//! - `GET /inspect/{bin}/requests` — the bin and its requests, newest first.
//! - `PATCH /inspect/{bin}` `{respondWith}` — change the answered status.
//! - `POST /inspect/{bin}/verify` `{secret, url?}` — check every kept request's signatures
//!   with a typed secret.
//! - `DELETE /inspect/{bin}`.
//!
//! Bins are unauthenticated by design, like webhook.site: the random id is the capability.
//! They are bounded in number, in requests kept and in body bytes, and expire.
//!
//! # Signatures
//! When a screenhook webhook's configured URL is the URL a request came to, the request is
//! checked with that webhook's secret at arrival (the secret itself is never shown or
//! kept); the Standard Webhooks timestamp window is measured from the arrival time, so the
//! verdict stays meaningful when read later. The check itself is
//! [`screenhook_webhooks::check`], shared with the simulator and the CLI's `listen` and `verify`.
//!
//! # Layout
//! - [`bins`]: the in-memory registry.
//! - [`page`]: the HTML.

pub mod bins;
pub mod page;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use futures_util::{Stream, StreamExt};
use screenhook_domain::Clock;
use screenhook_domain::{Timestamp, Webhook};
use screenhook_store::Store;
use screenhook_webhooks::signature::DEFAULT_TOLERANCE_SECS;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_stream::wrappers::BroadcastStream;

use crate::bins::{BinError, BinInfo, BinLimits, Bins, Captured, Incoming, SenderVerdict};
use screenhook_webhooks::check::{Delivery, check};

/// Settings of the inspector (`[inspector]` in the configuration).
#[derive(Debug, Clone)]
pub struct InspectorConfig {
    /// This server's public URL without a trailing slash; bin URLs start with it.
    pub public_url: String,
    /// How long a bin lives after its creation.
    pub bin_ttl: Duration,
    /// Requests kept per bin; older ones are dropped and counted.
    pub max_requests_per_bin: usize,
    /// Body bytes kept per request; the rest is cut and the request marked truncated.
    pub max_body_bytes: usize,
    /// Bins alive at once in this process.
    pub max_bins: usize,
}

impl InspectorConfig {
    /// The defaults of `config.default.toml` for `public_url`.
    pub fn new(public_url: &str) -> InspectorConfig {
        InspectorConfig {
            public_url: public_url.trim_end_matches('/').to_owned(),
            bin_ttl: Duration::from_secs(24 * 60 * 60),
            max_requests_per_bin: 500,
            max_body_bytes: 256 * 1024,
            max_bins: 1000,
        }
    }

    /// The prefix every bin URL starts with: what the delivery sender may trust.
    pub fn bin_prefix(&self) -> String {
        format!("{}/inspect/", self.public_url)
    }
}

/// The inspector's shared state; [`Inspector::router`] serves it.
#[derive(Clone)]
pub struct Inspector {
    inner: Arc<Inner>,
}

struct Inner {
    config: InspectorConfig,
    bins: Bins,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl Inspector {
    /// `store` is read to find the webhook that sent a request; `clock` dates requests and
    /// expires bins.
    pub fn new(config: InspectorConfig, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Inspector {
        let ttl_ms = i64::try_from(config.bin_ttl.as_millis()).unwrap_or(i64::MAX);
        let bins = Bins::new(BinLimits {
            ttl_ms,
            max_requests: config.max_requests_per_bin.max(1),
            max_bins: config.max_bins.max(1),
        });
        Inspector { inner: Arc::new(Inner { config, bins, store, clock }) }
    }

    pub fn config(&self) -> &InspectorConfig {
        &self.inner.config
    }

    fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    fn bin_url(&self, id: &str) -> String {
        format!("{}/inspect/{id}/in", self.inner.config.public_url)
    }

    fn page_url(&self, id: &str) -> String {
        format!("{}/inspect/{id}", self.inner.config.public_url)
    }

    pub fn router(self) -> Router {
        Router::new()
            .route("/inspect", post(create_bin))
            .route("/inspect/new", get(home))
            .route("/inspect/{bin}", get(bin_page).delete(delete_bin).patch(set_status))
            .route("/inspect/{bin}/in", any(receive))
            .route("/inspect/{bin}/in/{*rest}", any(receive))
            .route("/inspect/{bin}/requests", get(list_requests))
            .route("/inspect/{bin}/stream", get(stream))
            .route("/inspect/{bin}/verify", post(verify_with_secret))
            .with_state(self)
    }
}

/// An inspector error as the API answers it: `{"error": {code, message}}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InspectorError {
    #[error(transparent)]
    Bin(#[from] BinError),
    #[error("respondWith must be an HTTP status from 200 to 599, found {0}")]
    BadStatus(u16),
    #[error("the request body must be JSON: {0}")]
    BadBody(String),
}

impl IntoResponse for InspectorError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            InspectorError::Bin(BinError::NotFound) => (StatusCode::NOT_FOUND, "not_found"),
            InspectorError::Bin(BinError::TooMany(_)) => (StatusCode::SERVICE_UNAVAILABLE, "too_many_bins"),
            InspectorError::BadStatus(_) | InspectorError::BadBody(_) => (StatusCode::BAD_REQUEST, "bad_request"),
        };
        (status, Json(json!({ "error": { "code": code, "message": self.to_string() } }))).into_response()
    }
}

fn status_of(respond_with: Option<u16>) -> Result<u16, InspectorError> {
    match respond_with {
        None => Ok(200),
        Some(status @ 200..=599) => Ok(status),
        Some(other) => Err(InspectorError::BadStatus(other)),
    }
}

/// An optional JSON body: empty means all defaults.
fn optional_json<T: for<'de> Deserialize<'de> + Default>(body: &Bytes) -> Result<T, InspectorError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|error| InspectorError::BadBody(error.to_string()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BinSettings {
    respond_with: Option<u16>,
}

fn bin_json(inspector: &Inspector, info: &BinInfo) -> Value {
    json!({
        "id": info.id,
        "url": inspector.bin_url(&info.id),
        "pageUrl": inspector.page_url(&info.id),
        "createdAt": info.created_at.as_millis(),
        "expiresAt": info.expires_at.as_millis(),
        "respondWith": info.respond_with,
        "dropped": info.dropped,
        "kept": info.kept,
    })
}

async fn create_bin(State(inspector): State<Inspector>, body: Bytes) -> Result<Response, InspectorError> {
    let settings: BinSettings = optional_json(&body)?;
    let info = inspector.inner.bins.create(inspector.now(), status_of(settings.respond_with)?)?;
    Ok((StatusCode::CREATED, Json(bin_json(&inspector, &info))).into_response())
}

async fn set_status(
    State(inspector): State<Inspector>,
    Path(bin): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, InspectorError> {
    let settings: BinSettings = optional_json(&body)?;
    let info = inspector.inner.bins.set_status(&bin, inspector.now(), status_of(settings.respond_with)?)?;
    Ok(Json(bin_json(&inspector, &info)))
}

async fn delete_bin(State(inspector): State<Inspector>, Path(bin): Path<String>) -> Result<StatusCode, InspectorError> {
    inspector.inner.bins.delete(&bin, inspector.now())?;
    Ok(StatusCode::NO_CONTENT)
}

async fn home() -> Html<String> {
    Html(page::home())
}

async fn bin_page(State(inspector): State<Inspector>, Path(bin): Path<String>) -> Result<Html<String>, InspectorError> {
    let (info, requests) = inspector.inner.bins.requests(&bin, inspector.now())?;
    Ok(Html(page::bin(&info, &inspector.bin_url(&bin), &requests)))
}

/// The JSON form of one kept request.
pub fn request_json(request: &Captured) -> Value {
    let sender = match &request.sender {
        SenderVerdict::Unknown => json!(null),
        SenderVerdict::NoSecret { webhook_id } => json!({ "webhookId": webhook_id, "signatures": null }),
        SenderVerdict::Checked { webhook_id, checks } => json!({ "webhookId": webhook_id, "signatures": checks }),
    };
    let body_json = serde_json::from_slice::<Value>(&request.body).ok();
    json!({
        "seq": request.seq,
        "receivedAt": request.received_at.as_millis(),
        "method": request.method,
        "path": request.path,
        "signedUrl": request.signed_url,
        "source": request.source,
        "headers": request.headers,
        "body": String::from_utf8_lossy(&request.body),
        "json": body_json,
        "bodyBytes": request.body.len(),
        "truncated": request.truncated,
        "sender": sender,
    })
}

async fn list_requests(
    State(inspector): State<Inspector>,
    Path(bin): Path<String>,
) -> Result<Json<Value>, InspectorError> {
    let (info, requests) = inspector.inner.bins.requests(&bin, inspector.now())?;
    let mut out = bin_json(&inspector, &info);
    out["requests"] = requests.iter().map(|request| request_json(request)).collect();
    Ok(Json(out))
}

async fn receive(
    State(inspector): State<Inspector>,
    Path(params): Path<Vec<(String, String)>>,
    request: Request,
) -> Result<StatusCode, InspectorError> {
    let bin = params.iter().find(|(name, _)| name == "bin").map(|(_, value)| value.clone()).unwrap_or_default();
    let now = inspector.now();
    // Refuse before reading a body nobody will keep.
    if !inspector.inner.bins.exists(&bin, now) {
        return Err(BinError::NotFound.into());
    }
    let (parts, body) = request.into_parts();
    let source = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.to_string());
    let prefix = format!("/inspect/{bin}/in");
    let extra = parts.uri.path().strip_prefix(&prefix).unwrap_or_default();
    let path = match parts.uri.query() {
        Some(query) => format!("{extra}?{query}"),
        None => extra.to_owned(),
    };
    let headers = header_pairs(&parts.headers);
    let (body, truncated) = read_capped(body, inspector.inner.config.max_body_bytes).await;
    let now_secs = now.as_millis().div_euclid(1000);
    let (signed_url, sender) = match sending_webhook(&inspector, &bin, &path).await {
        Some(webhook) => {
            let webhook_id = webhook.id.to_string();
            let verdict = match &webhook.secret {
                None => SenderVerdict::NoSecret { webhook_id },
                Some(secret) => {
                    let delivery = Delivery { url: &webhook.url, headers: &headers, body: &body };
                    let checks = check(secret, delivery, now_secs, Some(DEFAULT_TOLERANCE_SECS));
                    SenderVerdict::Checked { webhook_id, checks: checks.summary() }
                }
            };
            (webhook.url, verdict)
        }
        None => (format!("{}{path}", inspector.bin_url(&bin)), SenderVerdict::Unknown),
    };
    let incoming = Incoming {
        received_at: now,
        method: parts.method.to_string(),
        path,
        signed_url,
        source,
        headers,
        body,
        truncated,
        sender,
    };
    let status = inspector.inner.bins.record(&bin, incoming)?;
    Ok(StatusCode::from_u16(status).unwrap_or(StatusCode::OK))
}

/// The webhook of this server whose configured URL points at `/inspect/{bin}/in{path}`.
/// It is matched on the part after the host, since the URL may use the public form or
/// another address of this server (such as the listen address).
async fn sending_webhook(inspector: &Inspector, bin: &str, path: &str) -> Option<Webhook> {
    let wanted = format!("/inspect/{bin}/in{path}");
    let store = &inspector.inner.store;
    for company in store.companies().await.ok()? {
        let Ok(webhooks) = store.webhooks(&company.id).await else { continue };
        for (webhook, _) in webhooks {
            let Ok(url) = url::Url::parse(&webhook.url) else { continue };
            let target = match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_owned(),
            };
            if target == wanted {
                return Some(webhook);
            }
        }
    }
    None
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect()
}

/// Reads at most `cap` bytes of `body`; stops reading (and says so) beyond that.
async fn read_capped(body: Body, cap: usize) -> (Vec<u8>, bool) {
    let mut stream = body.into_data_stream();
    let mut kept = Vec::new();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else { return (kept, true) };
        let room = cap - kept.len();
        if chunk.len() > room {
            kept.extend_from_slice(&chunk[..room]);
            return (kept, true);
        }
        kept.extend_from_slice(&chunk);
    }
    (kept, false)
}

async fn stream(
    State(inspector): State<Inspector>,
    Path(bin): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, InspectorError> {
    let arrivals = inspector.inner.bins.subscribe(&bin, inspector.now())?;
    // A page that fell behind skips what it missed; a reload shows everything kept.
    let events = BroadcastStream::new(arrivals).filter_map(|arrival| async move {
        let arrival = arrival.ok()?;
        let data = json!({
            "seq": arrival.request.seq,
            "dropped": arrival.dropped,
            "html": page::request(&arrival.request),
        });
        Some(Ok(Event::default().event("request").id(arrival.request.seq.to_string()).data(data.to_string())))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    secret: String,
    /// The URL the sender signed, when it is not the bin URL the request came to.
    url: Option<String>,
}

async fn verify_with_secret(
    State(inspector): State<Inspector>,
    Path(bin): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, InspectorError> {
    let input: VerifyRequest =
        serde_json::from_slice(&body).map_err(|error| InspectorError::BadBody(error.to_string()))?;
    let (_, requests) = inspector.inner.bins.requests(&bin, inspector.now())?;
    let results: Vec<Value> = requests
        .iter()
        .map(|request| {
            let url = input.url.as_deref().unwrap_or(&request.signed_url);
            let delivery = Delivery { url, headers: &request.headers, body: &request.body };
            let at_arrival = request.received_at.as_millis().div_euclid(1000);
            let checks = check(&input.secret, delivery, at_arrival, Some(DEFAULT_TOLERANCE_SECS));
            json!({ "seq": request.seq, "signatures": checks.summary() })
        })
        .collect();
    Ok(Json(json!({ "results": results })))
}
