//! `screenhook listen`: a local webhook receiver that prints one line per notification,
//! checks both signatures with the webhook's secret, flags repeated `webhook-id`s, and
//! answers 200 — or 500 to a chosen share of requests, to rehearse retries.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use screenhook_domain::Timestamp;
use screenhook_domain::time::utc;
use screenhook_webhooks::check::Delivery;
use screenhook_webhooks::signature::DEFAULT_TOLERANCE_SECS;
use tokio::sync::mpsc;

use crate::receiver::{Summary, mark, summarise};

#[derive(Debug, Clone, clap::Args)]
pub struct ListenArgs {
    /// Port to listen on.
    #[arg(long, default_value_t = 8741)]
    pub port: u16,
    /// Address to listen on; 0.0.0.0 to accept from other machines.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// The webhook's secret, to check both signatures. Without it nothing is verified.
    #[arg(long, env = "SCREENHOOK_LISTEN_SECRET")]
    pub secret: Option<String>,
    /// The URL exactly as configured on the webhook. X-CodeSignal-Signature signs that
    /// string, which this receiver cannot see when a tunnel or proxy is in between (such as
    /// https://abc.ngrok.app/hooks). Default: http://<host>:<port>/
    #[arg(long)]
    pub url: Option<String>,
    /// Share of requests answered 500 instead of 200, from 0.0 to 1.0, spread evenly
    /// (0.25 fails every 4th request) so a retry rehearsal is reproducible.
    #[arg(long, default_value_t = 0.0, value_parser = parse_ratio)]
    pub fail_ratio: f64,
}

fn parse_ratio(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
        _ => Err(format!("must be a number from 0.0 to 1.0, found {text:?}")),
    }
}

/// Whether request number `seq` (1-based) is failed: exactly `⌊seq·ratio⌋` of the first
/// `seq` requests are, as evenly spread as possible.
pub fn should_fail(seq: u64, ratio: f64) -> bool {
    let failed_by = |n: u64| (n as f64 * ratio + 1e-9).floor() as u64;
    failed_by(seq) > failed_by(seq.saturating_sub(1))
}

/// One request heard.
#[derive(Debug, Clone)]
pub struct Heard {
    pub seq: u64,
    pub received_at_ms: i64,
    pub summary: Summary,
    /// The `webhook-id` was seen before (a retry or a duplicate).
    pub duplicate: bool,
    pub answered: u16,
}

/// What the receiver needs to know.
#[derive(Debug, Clone)]
pub struct ListenOptions {
    pub secret: Option<String>,
    /// The URL the sender signed.
    pub url: String,
    pub fail_ratio: f64,
}

struct Shared {
    options: ListenOptions,
    count: AtomicU64,
    seen: Mutex<HashSet<String>>,
    heard: mpsc::UnboundedSender<Heard>,
}

/// The receiver's routes: every method and path lands in the same handler.
pub fn router(options: ListenOptions, heard: mpsc::UnboundedSender<Heard>) -> Router {
    let shared = Arc::new(Shared { options, count: AtomicU64::new(0), seen: Mutex::default(), heard });
    Router::new().fallback(receive).with_state(shared)
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let seq = shared.count.fetch_add(1, Ordering::SeqCst) + 1;
    let received_at_ms = now_ms();
    let pairs: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    let delivery = Delivery { url: &shared.options.url, headers: &pairs, body: &body };
    let summary = summarise(
        delivery,
        shared.options.secret.as_deref(),
        received_at_ms.div_euclid(1000),
        Some(DEFAULT_TOLERANCE_SECS),
    );
    let duplicate = summary
        .webhook_id
        .as_ref()
        .is_some_and(|id| !shared.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id.clone()));
    let status =
        if should_fail(seq, shared.options.fail_ratio) { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK };
    let heard = Heard { seq, received_at_ms, summary, duplicate, answered: status.as_u16() };
    println!("{}", line(&heard));
    // Nobody listens in the CLI; tests read the channel.
    let _ = shared.heard.send(heard);
    status
}

/// The printed line for one request.
pub fn line(heard: &Heard) -> String {
    let summary = &heard.summary;
    let time = utc(Timestamp::from_millis(heard.received_at_ms));
    let mut out =
        format!("{} #{} {}", &time[11..23], heard.seq, summary.event.as_deref().unwrap_or("(not an envelope)"));
    if let Some((field, value)) = &summary.subject {
        out.push_str(&format!(" {field}={value}"));
    }
    for (field, value) in &summary.fields {
        out.push_str(&format!(" {field}={value}"));
    }
    out.push_str(&format!(" webhook-id={}", summary.webhook_id.as_deref().unwrap_or("-")));
    if heard.duplicate {
        out.push_str(" [DUPLICATE webhook-id]");
    }
    match &summary.checks {
        Some(checks) => out.push_str(&format!(
            " | X-CodeSignal-Signature {} | webhook-signature {}",
            mark(&checks.codesignal),
            mark(&checks.standard)
        )),
        None => out.push_str(" | signatures not checked (no --secret)"),
    }
    out.push_str(&format!(" → {}", heard.answered));
    out
}

pub fn run(args: ListenArgs) -> anyhow::Result<()> {
    let addr = SocketAddr::new(args.host, args.port);
    let url = args.url.clone().unwrap_or_else(|| format!("http://{addr}/"));
    let options = ListenOptions { secret: args.secret, url, fail_ratio: args.fail_ratio };
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening on {addr}"))?;
        println!("Listening on http://{addr}/ (checking signatures for {})", options.url);
        if options.secret.is_none() {
            println!("No --secret: signatures are shown but not checked.");
        }
        let (heard, _) = mpsc::unbounded_channel();
        axum::serve(listener, router(options, heard))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("serving")
    })
}

#[cfg(test)]
mod tests {
    use screenhook_webhooks::{DeliveryHeaderParams, USER_AGENT, delivery_headers, envelope_body};

    use super::*;

    #[test]
    fn the_fail_ratio_is_spread_evenly() {
        let fails = |ratio: f64| (1..=20).filter(|seq| should_fail(*seq, ratio)).collect::<Vec<_>>();
        assert_eq!(fails(0.0), Vec::<u64>::new());
        assert_eq!(fails(0.25), [4, 8, 12, 16, 20]);
        assert_eq!(fails(1.0).len(), 20);
        assert_eq!(fails(0.3).len(), 6);
        assert!(parse_ratio("1.5").is_err() && parse_ratio("x").is_err() && parse_ratio("0.5").is_ok());
    }

    #[tokio::test]
    async fn prints_and_checks_signed_unsigned_forged_and_repeated_deliveries() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let (heard, mut heard_rx) = mpsc::unbounded_channel();
        let options = ListenOptions { secret: Some("listen-secret".into()), url: url.clone(), fail_ratio: 0.25 };
        tokio::spawn(async move { axum::serve(listener, router(options, heard)).await.unwrap() });

        let now = now_ms();
        let body = envelope_body(
            "companyTestSessionFinished",
            now,
            r#"{"testSessionId":"s-1","candidateEmail":"a@b.c","score":900,"versionedCodingScore":{"value":512,"version":"codingScore2023"}}"#,
        );
        let headers_with = |secret: &str| {
            delivery_headers(DeliveryHeaderParams {
                user_agent: USER_AGENT,
                url: &url,
                event: "companyTestSessionFinished",
                triggered_on_ms: now,
                webhook_id: "msg_listen_1",
                attempt_unix_secs: now / 1000,
                secret: Some(secret),
                retired_secrets: &[],
                body: &body,
                custom_headers: &[],
            })
        };
        let http = reqwest::Client::new();
        let send = |headers: Vec<(String, String)>| {
            let mut request = http.post(&url).body(body.clone());
            for (name, value) in headers {
                request = request.header(name, value);
            }
            async move { request.send().await.unwrap().status().as_u16() }
        };
        assert_eq!(send(headers_with("listen-secret")).await, 200);
        assert_eq!(send(Vec::new()).await, 200);
        assert_eq!(send(headers_with("forged")).await, 200);
        assert_eq!(send(headers_with("listen-secret")).await, 500, "every 4th fails");

        let mut all = Vec::new();
        for _ in 0..4 {
            all.push(heard_rx.recv().await.unwrap());
        }
        let signed = &all[0];
        assert_eq!(signed.summary.event.as_deref(), Some("companyTestSessionFinished"));
        assert_eq!(signed.summary.subject, Some(("testSessionId".into(), "s-1".into())));
        assert!(signed.summary.checks.as_ref().unwrap().all_valid());
        let printed = line(signed);
        for part in [
            "testSessionId=s-1",
            "candidateEmail=a@b.c",
            "score=900",
            "versionedCodingScore=512",
            "webhook-id=msg_listen_1",
        ] {
            assert!(printed.contains(part), "{printed}");
        }
        assert!(printed.contains("X-CodeSignal-Signature ✓ | webhook-signature ✓ → 200"), "{printed}");

        let unsigned = all[1].summary.checks.as_ref().unwrap();
        assert!(unsigned.codesignal.is_err() && unsigned.standard.is_err());
        assert!(line(&all[1]).contains("webhook-id=-"));
        let forged = all[2].summary.checks.as_ref().unwrap();
        assert!(forged.codesignal.is_err() && forged.standard.is_err());
        assert!(all[2].duplicate && line(&all[2]).contains("[DUPLICATE webhook-id]"));
        assert_eq!(all[3].answered, 500);
    }
}
