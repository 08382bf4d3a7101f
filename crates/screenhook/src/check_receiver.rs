//! `screenhook check-receiver`: sends a customer's endpoint every event type with valid
//! signatures, then the deliveries a receiver must handle with care — a duplicate, an
//! out-of-order pair, a forged signature, a stale timestamp, a malformed body — and reports
//! how it answered.
//!
//! It does not go through the SSRF guard: it is a command the user runs, from their
//! machine, against their own endpoint (often `localhost`), like `curl`. It never follows
//! redirects, so what is judged is the endpoint's own answer.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::bail;
use screenhook_domain::EventKind;
use screenhook_webhooks::{DeliveryHeaderParams, USER_AGENT, delivery_headers, envelope_body};
use serde_json::Value;

use crate::samples;

#[derive(Debug, Clone, clap::Args)]
pub struct CheckReceiverArgs {
    /// The endpoint, exactly as it will be configured on the webhook (X-CodeSignal-Signature
    /// signs this string).
    pub url: String,
    /// The secret the endpoint verifies with.
    #[arg(long, env = "SCREENHOOK_CHECK_SECRET")]
    pub secret: String,
    /// Per-request timeout, in seconds (the sender's own is 10).
    #[arg(long, default_value_t = 10)]
    pub timeout_secs: u64,
}

/// What kind of delivery a probe is, which decides what a correct receiver does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    /// A valid delivery of one event type.
    Event,
    /// A valid delivery resent with the same `webhook-id` (a retry).
    Duplicate,
    /// A valid delivery arriving before the one it follows.
    OutOfOrder,
    /// Both signatures made with another secret.
    Forged,
    /// Valid signatures, but `webhook-timestamp` (and `triggeredOn`) 10 minutes old.
    Stale,
    /// A body that is not JSON, validly signed by Standard Webhooks.
    Malformed,
}

impl ProbeKind {
    /// What a correct receiver does, in words.
    pub fn expectation(self) -> &'static str {
        match self {
            ProbeKind::Event => "200: only 200 counts as delivered, anything else is retried",
            ProbeKind::Duplicate => "200 and do nothing twice: de-duplicate on webhook-id",
            ProbeKind::OutOfOrder => "200: accept and reconcile by testSessionId and triggeredOn",
            ProbeKind::Forged => "4xx (401): signature invalid",
            ProbeKind::Stale => "4xx (401): webhook-timestamp older than 5 min, a replay",
            ProbeKind::Malformed => "4xx (400): body is not JSON",
        }
    }
}

/// One delivery to send.
#[derive(Debug, Clone)]
pub struct Probe {
    pub kind: ProbeKind,
    pub label: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

/// How one probe went.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub kind: ProbeKind,
    pub label: String,
    /// The status, or the transport error.
    pub answer: Result<u16, String>,
    pub latency: Duration,
    pub verdict: Verdict,
    pub note: &'static str,
}

/// Judges an answer. Accepting a forgery or a replay is the failure that matters most;
/// refusing a valid delivery fails too, since the sender would retry it and eventually
/// disable the webhook.
pub fn judge(kind: ProbeKind, answer: &Result<u16, String>) -> (Verdict, &'static str) {
    let Ok(status) = *answer else { return (Verdict::Fail, "no answer") };
    let accepted = (200..300).contains(&status);
    let client_error = (400..500).contains(&status);
    match kind {
        ProbeKind::Event | ProbeKind::Duplicate | ProbeKind::OutOfOrder => match status {
            200 => (Verdict::Pass, "accepted"),
            _ if accepted => (Verdict::Warn, "2xx but not 200: the sender counts only 200 and retries"),
            _ => (Verdict::Fail, "a valid delivery was refused: it would be retried, then the webhook disabled"),
        },
        ProbeKind::Forged | ProbeKind::Stale if accepted => {
            (Verdict::Fail, "ACCEPTED: anyone could forge or replay notifications")
        }
        ProbeKind::Forged | ProbeKind::Stale | ProbeKind::Malformed if client_error => (Verdict::Pass, "rejected"),
        ProbeKind::Forged | ProbeKind::Stale => (Verdict::Warn, "refused, but answer 4xx: other codes invite retries"),
        ProbeKind::Malformed if accepted => (Verdict::Warn, "accepted a body that is not JSON"),
        ProbeKind::Malformed => (Verdict::Warn, "answer 400: a 5xx would be retried and can never succeed"),
    }
}

fn unique_suffix() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{nanos:x}")
}

struct Signer<'a> {
    url: &'a str,
    secret: &'a str,
    run: String,
    now_ms: i64,
}

impl Signer<'_> {
    fn envelope(&self, kind: EventKind, triggered_on_ms: i64, payload: &Value) -> Vec<u8> {
        envelope_body(kind.name(), triggered_on_ms, &payload.to_string())
    }

    fn headers(
        &self,
        secret: &str,
        event: &str,
        triggered_on_ms: i64,
        id: &str,
        at_secs: i64,
        body: &[u8],
    ) -> Vec<(String, String)> {
        delivery_headers(DeliveryHeaderParams {
            user_agent: USER_AGENT,
            url: self.url,
            event,
            triggered_on_ms,
            webhook_id: id,
            attempt_unix_secs: at_secs,
            secret: Some(secret),
            retired_secrets: &[],
            body,
            custom_headers: &[],
        })
    }

    fn probe(&self, kind: ProbeKind, label: String, event: EventKind, payload: &Value, id: &str) -> Probe {
        let body = self.envelope(event, self.now_ms, payload);
        let headers = self.headers(self.secret, event.name(), self.now_ms, id, self.now_ms / 1000, &body);
        Probe { kind, label, headers, body }
    }
}

/// Every probe, in sending order.
pub fn probes(url: &str, secret: &str, now_ms: i64) -> Vec<Probe> {
    let signer = Signer { url, secret, run: unique_suffix(), now_ms };
    let payloads = samples::payloads();
    let mut out: Vec<Probe> = payloads
        .iter()
        .enumerate()
        .map(|(n, (kind, payload))| {
            let id = format!("msg_check_{}_{n}", signer.run);
            signer.probe(ProbeKind::Event, kind.name().to_owned(), *kind, payload, &id)
        })
        .collect();

    let (first_kind, first_payload) = &payloads[0];
    let first_id = format!("msg_check_{}_0", signer.run);
    out.push(signer.probe(
        ProbeKind::Duplicate,
        format!("{} again, same webhook-id", first_kind.name()),
        *first_kind,
        first_payload,
        &first_id,
    ));

    // A fresh session's Finished before its Started.
    let session = format!("chk-{}", signer.run);
    let payload_of = |kind: EventKind| {
        let mut payload = payloads.iter().find(|(k, _)| *k == kind).map(|(_, p)| p.clone()).unwrap_or_default();
        payload["testSessionId"] = Value::from(session.clone());
        payload
    };
    for kind in [EventKind::CompanyTestSessionFinished, EventKind::CompanyTestSessionStarted] {
        let id = format!("msg_check_{}_ooo_{}", signer.run, kind.name());
        out.push(signer.probe(
            ProbeKind::OutOfOrder,
            format!("{} (out of order)", kind.name()),
            kind,
            &payload_of(kind),
            &id,
        ));
    }

    let started = payload_of(EventKind::CompanyTestSessionStarted);
    let event = EventKind::CompanyTestSessionStarted;
    let body = signer.envelope(event, now_ms, &started);
    let forged_secret = format!("not-{secret}");
    let id = format!("msg_check_{}_forged", signer.run);
    let headers = signer.headers(&forged_secret, event.name(), now_ms, &id, now_ms / 1000, &body);
    out.push(Probe { kind: ProbeKind::Forged, label: "forged signatures (another secret)".into(), headers, body });

    let stale_ms = now_ms - 10 * 60 * 1000;
    let body = signer.envelope(event, stale_ms, &started);
    let id = format!("msg_check_{}_stale", signer.run);
    let headers = signer.headers(secret, event.name(), stale_ms, &id, stale_ms / 1000, &body);
    out.push(Probe { kind: ProbeKind::Stale, label: "stale: timestamp 10 min old".into(), headers, body });

    let body = br#"{"event":"companyTestSessionStarted","triggeredOn":"#.to_vec();
    let id = format!("msg_check_{}_malformed", signer.run);
    let headers = signer.headers(secret, "", 0, &id, now_ms / 1000, &body);
    out.push(Probe { kind: ProbeKind::Malformed, label: "malformed body (cut-off JSON)".into(), headers, body });
    out
}

/// Sends each probe in turn and judges the answers.
pub async fn run_probes(url: &str, probes: Vec<Probe>, timeout: Duration) -> anyhow::Result<Vec<Outcome>> {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(timeout).build()?;
    let mut outcomes = Vec::with_capacity(probes.len());
    for probe in probes {
        let mut request = client.post(url).body(probe.body);
        for (name, value) in &probe.headers {
            request = request.header(name, value);
        }
        let started = Instant::now();
        let answer = request.send().await.map(|res| res.status().as_u16()).map_err(|error| error.to_string());
        let latency = started.elapsed();
        let (verdict, note) = judge(probe.kind, &answer);
        outcomes.push(Outcome { kind: probe.kind, label: probe.label, answer, latency, verdict, note });
    }
    Ok(outcomes)
}

/// The report table.
pub fn table(outcomes: &[Outcome]) -> String {
    let label_width = outcomes.iter().map(|o| o.label.chars().count()).max().unwrap_or(0).max(4);
    let expected_width = outcomes.iter().map(|o| o.kind.expectation().len()).max().unwrap_or(0);
    let mut out = format!(
        "{:<label_width$}  {:>6}  {:>8}  {:<expected_width$}  VERDICT\n",
        "SENT", "GOT", "LATENCY", "A CORRECT RECEIVER ANSWERS"
    );
    for outcome in outcomes {
        let got = match &outcome.answer {
            Ok(status) => status.to_string(),
            Err(_) => "error".into(),
        };
        let verdict = match outcome.verdict {
            Verdict::Pass => "pass",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        };
        out.push_str(&format!(
            "{:<label_width$}  {got:>6}  {:>6}ms  {:<expected_width$}  {verdict}: {}",
            outcome.label,
            outcome.latency.as_millis(),
            outcome.kind.expectation(),
            outcome.note
        ));
        if let Err(error) = &outcome.answer {
            out.push_str(&format!(" ({error})"));
        }
        out.push('\n');
    }
    out
}

pub fn run(args: CheckReceiverArgs) -> anyhow::Result<()> {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default();
    let probes = probes(&args.url, &args.secret, now_ms);
    let timeout = Duration::from_secs(args.timeout_secs);
    let outcomes = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run_probes(&args.url, probes, timeout))?;
    print!("{}", table(&outcomes));
    let failed = outcomes.iter().filter(|o| o.verdict == Verdict::Fail).count();
    let warned = outcomes.iter().filter(|o| o.verdict == Verdict::Warn).count();
    println!("\n{} probes: {failed} failed, {warned} warnings.", outcomes.len());
    if failed > 0 {
        bail!("the receiver mishandled {failed} of {} probes (see FAIL above)", outcomes.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::Router;
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    use screenhook_webhooks::check::{Delivery, check};

    use super::*;

    const SECRET: &str = "receiver-secret";

    async fn serve(app: Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/hooks")
    }

    /// Verifies both signatures within ±5 min, rejects what fails with 401 and what does
    /// not parse with 400.
    async fn correct_receiver() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let signed_url = url.clone();
        let app = Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let url = signed_url.clone();
            async move {
                let pairs: Vec<(String, String)> =
                    headers.iter().map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned())).collect();
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
                let checks = check(SECRET, Delivery { url: &url, headers: &pairs, body: &body }, now, Some(300));
                if checks.standard.is_err() {
                    return StatusCode::UNAUTHORIZED;
                }
                if serde_json::from_slice::<Value>(&body).is_err() {
                    return StatusCode::BAD_REQUEST;
                }
                if checks.codesignal.is_err() { StatusCode::UNAUTHORIZED } else { StatusCode::OK }
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    fn now_ms() -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
    }

    #[test]
    fn there_is_a_probe_per_event_type_and_per_trap() {
        let probes = probes("https://x.example/hooks", SECRET, 1_700_000_000_000);
        assert_eq!(probes.iter().filter(|p| p.kind == ProbeKind::Event).count(), 20);
        let ooo: Vec<_> = probes.iter().filter(|p| p.kind == ProbeKind::OutOfOrder).collect();
        assert!(
            ooo[0].label.starts_with("companyTestSessionFinished")
                && ooo[1].label.starts_with("companyTestSessionStarted")
        );
        let id = |p: &Probe| p.headers.iter().find(|(n, _)| n == "webhook-id").unwrap().1.clone();
        let duplicate = probes.iter().find(|p| p.kind == ProbeKind::Duplicate).unwrap();
        assert_eq!(id(duplicate), id(&probes[0]));
        assert_eq!(probes.len(), 26);
    }

    #[tokio::test]
    async fn a_correct_receiver_passes_every_probe() {
        let url = correct_receiver().await;
        let outcomes = run_probes(&url, probes(&url, SECRET, now_ms()), Duration::from_secs(5)).await.unwrap();
        let report = table(&outcomes);
        assert!(outcomes.iter().all(|o| o.verdict == Verdict::Pass), "{report}");
        assert!(report.contains("A CORRECT RECEIVER ANSWERS"));
    }

    #[tokio::test]
    async fn a_receiver_that_accepts_everything_fails_on_the_forgery_and_the_replay() {
        let url = serve(Router::new().fallback(|| async { StatusCode::OK })).await;
        let outcomes = run_probes(&url, probes(&url, SECRET, now_ms()), Duration::from_secs(5)).await.unwrap();
        let failed: Vec<ProbeKind> = outcomes.iter().filter(|o| o.verdict == Verdict::Fail).map(|o| o.kind).collect();
        assert_eq!(failed, [ProbeKind::Forged, ProbeKind::Stale], "{}", table(&outcomes));
        let malformed = outcomes.iter().find(|o| o.kind == ProbeKind::Malformed).unwrap();
        assert_eq!(malformed.verdict, Verdict::Warn);
        assert!(table(&outcomes).contains("FAIL: ACCEPTED"));
        // The command exits non-zero.
        let args = CheckReceiverArgs { url: url.clone(), secret: SECRET.into(), timeout_secs: 5 };
        let error = tokio::task::spawn_blocking(move || run(args)).await.unwrap().unwrap_err();
        assert!(error.to_string().contains("mishandled 2 of 26"), "{error}");
    }

    #[tokio::test]
    async fn unreachable_and_refusing_receivers_fail() {
        let url = serve(Router::new().fallback(|| async { StatusCode::INTERNAL_SERVER_ERROR })).await;
        let outcomes = run_probes(&url, probes(&url, SECRET, now_ms()), Duration::from_secs(5)).await.unwrap();
        assert!(outcomes.iter().filter(|o| o.kind == ProbeKind::Event).all(|o| o.verdict == Verdict::Fail));
        assert_eq!(judge(ProbeKind::Event, &Err("connection refused".into())).0, Verdict::Fail);
        assert_eq!(judge(ProbeKind::Forged, &Ok(500)).0, Verdict::Warn);
        assert_eq!(judge(ProbeKind::Event, &Ok(204)).0, Verdict::Warn);
    }
}
