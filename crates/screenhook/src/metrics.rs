//! Operations: Prometheus metrics at `GET /metrics` and one log line per HTTP request.
//!
//! Counters and histograms are recorded where things happen, through the `metrics` facade
//! (events in the engine, attempts in the delivery worker, GraphQL operations in the API, HTTP
//! requests here); the queue and webhook gauges are read from the store at scrape time, so
//! every process reports the shared queue the same way. The names are listed in
//! docs/OPERATIONS.md.

use std::{sync::Arc, time::Instant};

use axum::{
    Router,
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use screenhook_domain::{Clock, Timestamp, WebhookState};
use screenhook_store::{QueueBucket, QueueStats, Store};
use subtle::ConstantTimeEq;

/// Seconds: from a fast local receiver (1 ms) to the 30 s a webhook request may take.
const LATENCY_BUCKETS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The process-wide recorder, installed by the first call (before anything records) and
/// shared by every later one: an [`App`](crate::App) built twice in one process (tests do)
/// reports through the same recorder.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    static INSTALLED: std::sync::Mutex<Option<PrometheusHandle>> = std::sync::Mutex::new(None);
    let mut installed = INSTALLED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(handle) = &*installed {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &LATENCY_BUCKETS)?
        .install_recorder()?;
    describe();
    *installed = Some(handle.clone());
    Ok(handle)
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!("screenhook_http_requests_total", "HTTP requests answered, by method, route pattern and status");
    describe_histogram!("screenhook_http_request_duration_seconds", "Time to answer an HTTP request, by route pattern");
    describe_counter!(
        "screenhook_graphql_operations_total",
        "GraphQL root fields run, by operation type, field and outcome (refused: the document did not validate)"
    );
    describe_counter!("screenhook_events_fired_total", "Events committed to the outbox, by event name");
    describe_counter!(
        "screenhook_delivery_attempts_total",
        "Webhook delivery attempts, by outcome: delivered, retrying, failed (gave up)"
    );
    describe_histogram!("screenhook_delivery_attempt_duration_seconds", "Duration of one webhook request");
    describe_histogram!("screenhook_timer_lag_seconds", "How late a timer fired after it was due (scheduler lag)");
    describe_gauge!(
        "screenhook_delivery_queue_depth",
        "Unfinished deliveries by state: due, scheduled, in_flight, waiting, paused"
    );
    describe_gauge!(
        "screenhook_delivery_queue_oldest_age_seconds",
        "Age of the oldest unfinished delivery in each state, from its event"
    );
    describe_gauge!(
        "screenhook_delivery_due_lag_seconds",
        "How long the oldest due delivery has been due without a worker taking it"
    );
    describe_gauge!("screenhook_webhooks", "Webhooks by health: active, unhealthy, disabled");
}

#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// Empty: no token needed.
    token: Arc<str>,
}

/// `GET /metrics`, guarded by `token` unless it is empty.
pub fn router(handle: PrometheusHandle, store: Arc<dyn Store>, clock: Arc<dyn Clock>, token: &str) -> Router {
    let state = Scrape { handle, store, clock, token: token.into() };
    Router::new().route("/metrics", get(scrape)).with_state(state)
}

async fn scrape(State(scrape): State<Scrape>, headers: HeaderMap) -> Response {
    if !scrape.token.is_empty() && !bearer_matches(&headers, &scrape.token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "GET /metrics needs Authorization: Bearer <metrics.token>\n",
        )
            .into_response();
    }
    let now = scrape.clock.now();
    match scrape.store.queue_stats(now).await {
        Ok(stats) => set_gauges(&stats, now),
        // The counters are still worth reading; the stale gauges say so by not moving.
        Err(err) => tracing::warn!(%err, "could not read the queue for /metrics"),
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], scrape.handle.render()).into_response()
}

fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|sent| bool::from(sent.trim().as_bytes().ct_eq(token.as_bytes())))
}

/// Every bucket and health gets a value, zero when empty, so a drained queue reads 0 rather
/// than its last non-zero value.
fn set_gauges(stats: &QueueStats, now: Timestamp) {
    let age = |since: Timestamp| (now.as_millis() - since.as_millis()).max(0) as f64 / 1000.0;
    for bucket in QueueBucket::ALL {
        let gauge = stats.queue.iter().find(|g| g.bucket == bucket);
        let state = bucket.as_str();
        metrics::gauge!("screenhook_delivery_queue_depth", "state" => state).set(gauge.map_or(0, |g| g.count) as f64);
        metrics::gauge!("screenhook_delivery_queue_oldest_age_seconds", "state" => state)
            .set(gauge.map_or(0.0, |g| age(g.oldest_created)));
        if bucket == QueueBucket::Due {
            metrics::gauge!("screenhook_delivery_due_lag_seconds").set(gauge.map_or(0.0, |g| age(g.earliest_due)));
        }
    }
    for health in [WebhookState::Active, WebhookState::Unhealthy, WebhookState::Disabled] {
        let count = stats.webhooks.iter().find(|(state, _)| *state == health).map_or(0, |(_, n)| *n);
        metrics::gauge!("screenhook_webhooks", "health" => health.as_str()).set(count as f64);
    }
}

/// Counts and logs every HTTP request: one line each, with the route pattern rather than the
/// path, because a candidate link's path is its credential.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Known methods only: a label must not take whatever a client sends.
    let method: &'static str = match *request.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    metrics::counter!(
        "screenhook_http_requests_total",
        "method" => method,
        "route" => route.clone(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!("screenhook_http_request_duration_seconds", "route" => route.clone())
        .record(elapsed.as_secs_f64());
    tracing::info!(
        target: "screenhook::http",
        method,
        route,
        status,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    response
}
