//! The sender against real receivers on 127.0.0.1: axum apps for ordinary
//! answers, raw TCP listeners for endless bodies and for counting
//! connections that must never happen.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use screenhook_webhooks::{
    AttemptOutcome, DeliveryHeaderParams, EgressPolicy, ErrorClass, OutgoingRequest, PingError, RESPONSE_EXCERPT_CAP,
    RetryAfter, Sender, SenderConfig, USER_AGENT, check_resolved, codesignal_signature, delivery_headers,
    envelope_body, standard_webhooks_key, verify_codesignal_signature,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

type Captured = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

struct Receiver {
    addr: SocketAddr,
    captured: Captured,
}

impl Receiver {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

async fn capture(State(captured): State<Captured>, headers: HeaderMap, body: Bytes) -> &'static str {
    captured.lock().unwrap().push((headers, body));
    "ok"
}

/// An axum receiver. `redirect_to` is where `/redirect/{code}` points.
async fn receiver(redirect_to: &str) -> Receiver {
    let captured = Captured::default();
    let target = redirect_to.to_owned();
    let app = Router::new()
        .route(
            "/status/{code}",
            post(
                |Path(code): Path<u16>| async move { (StatusCode::from_u16(code).unwrap(), format!("answer {code}")) },
            ),
        )
        .route(
            "/redirect/{code}",
            post(move |Path(code): Path<u16>| async move {
                (StatusCode::from_u16(code).unwrap(), [(header::LOCATION, target)], "moved")
            }),
        )
        .route("/busy", post(|| async { (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "120")], "slow down") }))
        .route("/hang", post(std::future::pending::<StatusCode>))
        .route("/capture", post(capture))
        .with_state(Arc::clone(&captured));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { addr, captured }
}

/// Accepts and counts TCP connections, never answering.
struct ConnectionCounter {
    addr: SocketAddr,
    count: Arc<AtomicUsize>,
}

async fn connection_counter() -> ConnectionCounter {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    ConnectionCounter { addr, count }
}

/// Answers 200 with a chunked body that never ends. Each 16 KiB chunk is
/// `x`, 8191 two-byte `é`, `z`, so any cut may land inside a character.
async fn endless_body() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                // Read the request head (the body is tiny and ignored).
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|window| window == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => request.extend_from_slice(&buffer[..read]),
                    }
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n";
                stream.write_all(head.as_bytes()).await.ok();
                let chunk = format!("4000\r\nx{}z\r\n", "é".repeat(8191));
                // Ends when the client hangs up.
                while stream.write_all(chunk.as_bytes()).await.is_ok() {}
            });
        }
    });
    addr
}

fn config(allow_loopback: bool) -> SenderConfig {
    SenderConfig { egress: EgressPolicy { allow_loopback, ..EgressPolicy::default() }, ..SenderConfig::default() }
}

fn loopback_sender() -> Sender {
    Sender::new(config(true)).unwrap()
}

fn request(url: String) -> OutgoingRequest {
    OutgoingRequest {
        url,
        body: Bytes::from_static(b"{}"),
        headers: vec![("Content-Type".into(), "application/json".into())],
    }
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs().try_into().unwrap()
}

#[tokio::test]
async fn only_200_is_delivered() {
    let server = receiver("http://unused.example/").await;
    let sender = loopback_sender();
    let report = sender.send(request(server.url("/status/200"))).await;
    assert_eq!(report.outcome, AttemptOutcome::Delivered);
    assert_eq!(report.status, Some(200));
    assert_eq!(report.response_excerpt, "answer 200");
    assert_eq!(report.error, None);
    for status in [201, 204, 400, 500] {
        let report = sender.send(request(server.url(&format!("/status/{status}")))).await;
        assert_eq!(report.outcome, AttemptOutcome::Rejected { status }, "{status}");
        assert_eq!(report.status, Some(status));
    }
}

#[tokio::test]
async fn redirects_are_failures_and_never_followed() {
    let target = connection_counter().await;
    let server = receiver(&format!("http://{}/elsewhere", target.addr)).await;
    let sender = loopback_sender();
    for status in [301, 302, 303, 307, 308] {
        let report = sender.send(request(server.url(&format!("/redirect/{status}")))).await;
        assert_eq!(report.outcome, AttemptOutcome::Rejected { status });
        assert!(report.outcome.to_string().contains("redirects are not followed"));

        let ping = sender.ping(&server.url(&format!("/redirect/{status}")), None, &[]).await;
        let error = ping.unwrap_err();
        assert_eq!(
            error,
            PingError::Redirected { status, location: Some(format!("http://{}/elsewhere", target.addr)) }
        );
        assert!(error.to_string().contains("redirects are not followed"), "{error}");
    }
    assert_eq!(target.count.load(Ordering::SeqCst), 0, "the redirect target was contacted");
}

#[tokio::test]
async fn a_silent_receiver_times_out_within_the_total_timeout() {
    let server = receiver("http://unused.example/").await;
    let sender = Sender::new(SenderConfig {
        total_timeout: Duration::from_millis(500),
        ping_timeout: Duration::from_millis(500),
        ..config(true)
    })
    .unwrap();
    let report = sender.send(request(server.url("/hang"))).await;
    assert_eq!(report.outcome, AttemptOutcome::Failed(ErrorClass::Timeout));
    assert_eq!(report.status, None);
    assert!(report.latency >= Duration::from_millis(450), "{:?}", report.latency);
    assert!(report.latency < Duration::from_secs(3), "{:?}", report.latency);

    let error = sender.ping(&server.url("/hang"), None, &[]).await.unwrap_err();
    assert_eq!(error, PingError::Timeout(Duration::from_millis(500)));
    assert!(error.to_string().contains("did not answer within 0.5 s"), "{error}");
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_read_cap() {
    let addr = endless_body().await;
    let sender = loopback_sender();
    let report = sender.send(request(format!("http://{addr}/"))).await;
    assert_eq!(report.outcome, AttemptOutcome::Failed(ErrorClass::BodyTooLarge));
    assert_eq!(report.status, Some(200));
    assert!(report.response_excerpt.len() <= RESPONSE_EXCERPT_CAP);
    assert!(report.response_excerpt.len() >= RESPONSE_EXCERPT_CAP - 3);
    assert!(report.response_excerpt.starts_with("xéé"));
    assert!(!report.response_excerpt.contains('\u{FFFD}'));
    assert!(report.error.unwrap().contains("65536"));

    let error = sender.ping(&format!("http://{addr}/"), None, &[]).await.unwrap_err();
    assert_eq!(error, PingError::BodyTooLarge { status: 200, cap: 65536 });
}

#[tokio::test]
async fn loopback_is_refused_by_default_without_connecting() {
    let counter = connection_counter().await;
    let sender = Sender::new(SenderConfig::default()).unwrap();
    for url in [
        format!("http://127.0.0.1:{}/", counter.addr.port()),
        format!("http://[::ffff:127.0.0.1]:{}/", counter.addr.port()),
        format!("http://localhost:{}/", counter.addr.port()),
    ] {
        let report = sender.send(request(url.clone())).await;
        assert_eq!(report.outcome, AttemptOutcome::Failed(ErrorClass::BlockedBySsrfGuard), "{url}");
        assert!(report.error.as_deref().unwrap().contains("loopback"), "{url}: {:?}", report.error);

        let error = sender.ping(&url, None, &[]).await.unwrap_err();
        assert!(matches!(error, PingError::Blocked(_)), "{url}: {error}");
        assert!(error.to_string().starts_with("the endpoint was not contacted: "), "{error}");
    }
    assert_eq!(counter.count.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn loopback_is_allowed_when_the_operator_allows_it() {
    let server = receiver("http://unused.example/").await;
    let sender = loopback_sender();
    let by_name = format!("http://localhost:{}/status/200", server.addr.port());
    assert_eq!(sender.send(request(by_name.clone())).await.outcome, AttemptOutcome::Delivered);
    assert_eq!(sender.ping(&by_name, None, &[]).await, Ok(()));
}

/// The machine's own host name is not a `localhost` name, so the URL check
/// passes it and only the resolver can refuse it. On the project's machines
/// it resolves to 127.0.0.1 (via /etc/hosts).
#[tokio::test]
async fn the_resolver_refuses_names_that_resolve_to_forbidden_addresses() {
    let host = std::fs::read_to_string("/etc/hostname").unwrap().trim().to_owned();
    let resolved: Vec<IpAddr> = tokio::net::lookup_host((host.as_str(), 0))
        .await
        .map(|addresses| addresses.map(|address| address.ip()).collect())
        .unwrap_or_default();
    let counter = connection_counter().await;
    let url = format!("http://{host}:{}/", counter.addr.port());
    let report = Sender::new(SenderConfig::default()).unwrap().send(request(url)).await;
    if resolved.is_empty() {
        assert_eq!(report.outcome, AttemptOutcome::Failed(ErrorClass::Dns));
        return;
    }
    let expected = check_resolved(&EgressPolicy::default(), &host, &resolved)
        .expect_err("this test needs a host name resolving to a non-public address");
    assert_eq!(report.outcome, AttemptOutcome::Failed(ErrorClass::BlockedBySsrfGuard));
    assert_eq!(report.error.unwrap(), expected.to_string());
    assert_eq!(counter.count.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn unresolvable_names_are_dns_failures() {
    let sender = Sender::new(SenderConfig::default()).unwrap();
    let report = sender.send(request("http://no-such-host.invalid/".into())).await;
    assert_eq!(report.outcome, AttemptOutcome::Failed(ErrorClass::Dns), "{:?}", report.error);
    let error = sender.ping("http://no-such-host.invalid/", None, &[]).await.unwrap_err();
    assert!(matches!(error, PingError::Dns(_)), "{error}");
}

#[tokio::test]
async fn a_closed_port_is_a_connect_failure() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let sender = loopback_sender();
    let report = sender.send(request(format!("http://127.0.0.1:{port}/"))).await;
    assert_eq!(report.outcome, AttemptOutcome::Failed(ErrorClass::Connect), "{:?}", report.error);
    let error = sender.ping(&format!("http://127.0.0.1:{port}/"), None, &[]).await.unwrap_err();
    assert!(matches!(error, PingError::Connect(_)), "{error}");
}

#[tokio::test]
async fn retry_after_is_parsed_from_a_429() {
    let server = receiver("http://unused.example/").await;
    let report = loopback_sender().send(request(server.url("/busy"))).await;
    assert_eq!(report.outcome, AttemptOutcome::Rejected { status: 429 });
    assert_eq!(report.retry_after, Some(RetryAfter(Duration::from_secs(120))));
    assert_eq!(report.response_excerpt, "slow down");
}

fn single<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    let values: Vec<_> = headers.get_all(name).iter().collect();
    assert_eq!(values.len(), 1, "{name}: {values:?}");
    values[0].to_str().unwrap()
}

#[tokio::test]
async fn deliveries_carry_verifiable_signatures_and_our_headers_win() {
    let server = receiver("http://unused.example/").await;
    let sender = loopback_sender();
    let url = server.url("/capture");
    let custom = vec![
        ("X-Tenant".to_owned(), "acme".to_owned()),
        ("x-codesignal-signature".to_owned(), "forged".to_owned()),
        ("Webhook-Id".to_owned(), "forged".to_owned()),
        ("user-agent".to_owned(), "forged".to_owned()),
    ];
    let body = envelope_body("companyTestSessionFinished", 1_553_720_789_347, r#"{"testSession":{"id":"ts_1"}}"#);
    // One whsec_ secret, one typed by a user (its Standard Webhooks key is derived).
    for secret in ["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "my-secret"] {
        let attempt_secs = now_secs();
        let headers = delivery_headers(DeliveryHeaderParams {
            user_agent: USER_AGENT,
            url: &url,
            event: "companyTestSessionFinished",
            triggered_on_ms: 1_553_720_789_347,
            webhook_id: "evt_01",
            attempt_unix_secs: attempt_secs,
            secret: Some(secret),
            retired_secrets: &[],
            body: &body,
            custom_headers: &custom,
        });
        let report = sender.send(OutgoingRequest { url: url.clone(), body: Bytes::from(body.clone()), headers }).await;
        assert_eq!(report.outcome, AttemptOutcome::Delivered);

        let (received, received_body) = server.captured.lock().unwrap().pop().unwrap();
        assert_eq!(received_body, body);
        assert_eq!(single(&received, "content-type"), "application/json");
        assert_eq!(single(&received, "user-agent"), USER_AGENT);
        assert_eq!(single(&received, "webhook-id"), "evt_01");
        assert_eq!(single(&received, "webhook-timestamp"), attempt_secs.to_string());
        assert_eq!(single(&received, "x-tenant"), "acme");
        let signature = single(&received, "x-codesignal-signature");
        assert_eq!(signature, codesignal_signature(secret, &url, "companyTestSessionFinished", "1553720789347"));
        assert!(verify_codesignal_signature(secret, &url, "companyTestSessionFinished", "1553720789347", signature));

        let oracle = standardwebhooks::Webhook::new(&standard_webhooks_key(secret).to_string()).unwrap();
        oracle.verify(&received_body, &received).expect("the standardwebhooks crate accepts our signature");
    }
}

#[tokio::test]
async fn unsigned_deliveries_carry_no_signatures() {
    let server = receiver("http://unused.example/").await;
    let url = server.url("/capture");
    let headers = delivery_headers(DeliveryHeaderParams {
        user_agent: USER_AGENT,
        url: &url,
        event: "e",
        triggered_on_ms: 1,
        webhook_id: "evt_02",
        attempt_unix_secs: now_secs(),
        secret: None,
        retired_secrets: &[],
        body: b"{}",
        custom_headers: &[],
    });
    let report = loopback_sender().send(OutgoingRequest { url, body: Bytes::from_static(b"{}"), headers }).await;
    assert_eq!(report.outcome, AttemptOutcome::Delivered);
    let (received, _) = server.captured.lock().unwrap().pop().unwrap();
    assert!(received.get("x-codesignal-signature").is_none());
    assert!(received.get("webhook-signature").is_none());
    assert_eq!(single(&received, "webhook-id"), "evt_02");
}

#[tokio::test]
async fn ping_posts_an_empty_signed_body_and_needs_exactly_200() {
    let server = receiver("http://unused.example/").await;
    let sender = loopback_sender();
    let url = server.url("/capture");
    let custom = [("X-Tenant".to_owned(), "acme".to_owned())];
    assert_eq!(sender.ping(&url, Some("my-secret"), &custom).await, Ok(()));
    let (received, body) = server.captured.lock().unwrap().pop().unwrap();
    assert!(body.is_empty());
    assert_eq!(single(&received, "x-codesignal-signature"), codesignal_signature("my-secret", &url, "", ""));
    assert_eq!(single(&received, "x-tenant"), "acme");
    assert_eq!(single(&received, "user-agent"), USER_AGENT);

    assert_eq!(sender.ping(&server.url("/status/200"), None, &[]).await, Ok(()));
    for status in [201, 204, 500] {
        let error = sender.ping(&server.url(&format!("/status/{status}")), None, &[]).await.unwrap_err();
        // A 204 has no body by definition.
        let excerpt = if status == 204 { String::new() } else { format!("answer {status}") };
        assert_eq!(error, PingError::Status { status, excerpt });
    }
    let error = sender.ping(&server.url("/status/500"), None, &[]).await.unwrap_err();
    assert_eq!(error.to_string(), "the endpoint answered 500; it must answer 200 OK. Response: \"answer 500\"");
}

#[tokio::test]
async fn invalid_and_forbidden_urls_are_refused_before_any_request() {
    let sender = loopback_sender();
    for url in ["not a url", "ftp://example.com/", "http://10.0.0.1/", "http://127.0.0.1:25/", "http://[::1]:6379/"] {
        let report = sender.send(request(url.to_owned())).await;
        assert_eq!(report.outcome, AttemptOutcome::Failed(ErrorClass::BlockedBySsrfGuard), "{url}");
        assert!(matches!(sender.ping(url, None, &[]).await, Err(PingError::Blocked(_))), "{url}");
    }
}

/// An HTTPS URL pointing at a plain-HTTP server: the handshake fails, and
/// the attempt is classed `tls` (never retried over plain HTTP).
#[tokio::test]
async fn a_failed_tls_handshake_is_a_tls_failure() {
    let server = receiver("http://unused.example/").await;
    let url = format!("https://127.0.0.1:{}/status/200", server.addr.port());
    let sender = loopback_sender();
    let report = sender.send(request(url.clone())).await;
    assert_eq!(report.outcome, AttemptOutcome::Failed(ErrorClass::Tls), "{:?}", report.error);
    let error = sender.ping(&url, None, &[]).await.unwrap_err();
    assert!(matches!(error, PingError::Tls(_)), "{error}");
}

#[tokio::test]
async fn trusted_prefixes_pass_the_strict_guard_and_nothing_else_does() {
    // A loopback server whose `/capture` route stands for the inspector's bins.
    let server = receiver("http://unused.example/").await;
    let prefix = server.url("/capture/");
    let sender = Sender::new(SenderConfig { trusted_prefixes: vec![prefix.clone()], ..config(false) }).unwrap();
    assert!(sender.is_trusted(&format!("{prefix}bin1/in")));
    let via_localhost = format!("http://localhost:{}/capture/x", server.addr.port());
    for untrusted in [
        server.url("/capture"),
        server.url("/status/200"),
        server.url("/capture/../status/200"),
        server.url("/capture/%2e%2e/status/200"),
        format!("http://user@{}/capture/x", server.addr),
        format!("https://{}/capture/x", server.addr),
        via_localhost.clone(),
    ] {
        assert!(!sender.is_trusted(&untrusted), "{untrusted}");
    }

    // The capture route is `/capture` exactly; a trusted URL under it still
    // reaches the server (404 here), which proves it was not blocked.
    let report = sender.send(request(format!("{prefix}bin1/in"))).await;
    assert_eq!(report.outcome, AttemptOutcome::Rejected { status: 404 }, "{report:?}");
    let report = sender.send(request(server.url("/status/200"))).await;
    assert_eq!(report.outcome, AttemptOutcome::Failed(ErrorClass::BlockedBySsrfGuard));
    let report = sender.send(request(via_localhost)).await;
    assert_eq!(report.outcome, AttemptOutcome::Failed(ErrorClass::BlockedBySsrfGuard));

    // A `localhost` prefix goes through the system resolver, not the guarded one.
    let named = Sender::new(SenderConfig {
        trusted_prefixes: vec![format!("http://localhost:{}/status/", server.addr.port())],
        ..config(false)
    })
    .unwrap();
    let report = named.send(request(format!("http://localhost:{}/status/200", server.addr.port()))).await;
    assert_eq!(report.outcome, AttemptOutcome::Delivered, "{report:?}");
    assert_eq!(named.ping(&format!("http://localhost:{}/status/200", server.addr.port()), None, &[]).await, Ok(()));
    assert!(Sender::new(SenderConfig { trusted_prefixes: vec!["not a url".into()], ..config(false) }).is_err());
}
