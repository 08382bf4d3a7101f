//! Test helpers shared by the crates' integration tests (a dev-dependency only).
//!
//! # Layout
//! - [`TestReceiver`]: a real HTTP endpoint on 127.0.0.1:0 that records every request and
//!   answers with a status the test can change at any time.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use tokio::sync::watch;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// How the receiver answers.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub retry_after: Option<String>,
}

#[derive(Clone)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    answer: Arc<Mutex<Answer>>,
    /// How long each request takes before it is answered (a slow endpoint).
    delay: Arc<Mutex<Duration>>,
    count: watch::Sender<usize>,
    /// Requests that arrived, answered or not yet.
    started: watch::Sender<usize>,
}

/// A webhook receiver for tests: records requests and answers `200` unless told otherwise.
pub struct TestReceiver {
    addr: SocketAddr,
    shared: Shared,
}

impl TestReceiver {
    pub async fn start() -> TestReceiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let addr = listener.local_addr().expect("a local address");
        let shared = Shared {
            received: Arc::default(),
            answer: Arc::new(Mutex::new(Answer { status: StatusCode::OK, retry_after: None })),
            delay: Arc::default(),
            count: watch::channel(0).0,
            started: watch::channel(0).0,
        };
        let app = Router::new().fallback(record).with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.expect("the receiver serves") });
        TestReceiver { addr, shared }
    }

    /// The URL of `path` on this receiver.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answers every following request with `status`.
    pub fn answer(&self, status: StatusCode) {
        *self.shared.answer.lock().expect("not poisoned") = Answer { status, retry_after: None };
    }

    /// Holds every following request for `delay` before recording and answering it.
    pub fn answer_after(&self, delay: Duration) {
        *self.shared.delay.lock().expect("not poisoned") = delay;
    }

    /// Answers every following request with `status` and a `Retry-After` header.
    pub fn answer_retry_after(&self, status: StatusCode, retry_after: &str) {
        *self.shared.answer.lock().expect("not poisoned") =
            Answer { status, retry_after: Some(retry_after.to_owned()) };
    }

    /// Everything received so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("not poisoned").clone()
    }

    /// Waits until at least `n` requests have started to arrive, answered or not.
    pub async fn wait_started(&self, n: usize) {
        let mut started = self.shared.started.subscribe();
        started.wait_for(|seen| *seen >= n).await.expect("the receiver is alive");
    }

    /// Waits until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let mut count = self.shared.count.subscribe();
        count.wait_for(|seen| *seen >= n).await.expect("the receiver is alive");
        self.received()
    }
}

async fn record(State(shared): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    shared.started.send_modify(|n| *n += 1);
    let delay = *shared.delay.lock().expect("not poisoned");
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let answer = shared.answer.lock().expect("not poisoned").clone();
    let mut received = shared.received.lock().expect("not poisoned");
    received.push(Received { method, path: uri.path().to_owned(), headers, body });
    shared.count.send_replace(received.len());
    drop(received);
    let mut response = answer.status.into_response();
    if let Some(retry_after) = answer.retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert("retry-after", retry_after);
    }
    response
}
