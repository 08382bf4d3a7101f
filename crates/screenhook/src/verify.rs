//! `screenhook verify`: checks a delivery's two signatures from its headers, the URL the
//! webhook is configured with, and the exact body bytes.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use screenhook_webhooks::VerifyError;
use screenhook_webhooks::check::{CodeSignalError, Delivery, check, header, signed_fields};
use screenhook_webhooks::signature::DEFAULT_TOLERANCE_SECS;

#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// The webhook's secret.
    #[arg(long, env = "SCREENHOOK_VERIFY_SECRET")]
    pub secret: String,
    /// The endpoint URL exactly as configured on the webhook: X-CodeSignal-Signature signs it.
    #[arg(long)]
    pub url: String,
    /// A file of raw `Name: value` header lines (a leading request line is skipped).
    #[arg(long, value_name = "FILE")]
    pub headers: Option<PathBuf>,
    /// One header, `name: value`; repeat for each.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub header: Vec<String>,
    /// The body exactly as received (`-` reads standard input). Editors often add a final
    /// newline, which changes the bytes the Standard Webhooks signature covers.
    #[arg(long, value_name = "FILE")]
    pub body: PathBuf,
    /// Skip the Standard Webhooks ±5 min timestamp window, to check an old capture.
    #[arg(long)]
    pub ignore_timestamp: bool,
}

/// Parses `Name: value` lines; blank lines and a leading `METHOD /path HTTP/x` line are skipped.
pub fn parse_header_lines(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || (index == 0 && line.contains(" HTTP/")) {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            bail!("header line {} is not `Name: value`: {line:?}", index + 1);
        };
        out.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    Ok(out)
}

/// The printed report and whether every check passed.
pub fn report(
    secret: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    now_secs: i64,
    ignore_timestamp: bool,
) -> (String, bool) {
    let tolerance = (!ignore_timestamp).then_some(DEFAULT_TOLERANCE_SECS);
    let checks = check(secret, Delivery { url, headers, body }, now_secs, tolerance);
    let mut out = format!("URL signed: {url}\nBody: {} bytes\n\n", body.len());

    out.push_str("X-CodeSignal-Signature: HMAC-SHA256(secret, url + event + triggeredOn), hex\n");
    if let Some((event, triggered_on)) = signed_fields(body) {
        out.push_str(&format!("  event {event:?}, triggeredOn {triggered_on:?} (from the body)\n"));
    }
    match &checks.codesignal {
        Ok(()) => out.push_str("  ✓ valid\n"),
        Err(error) => {
            out.push_str(&format!("  ✗ {error}\n"));
            if matches!(error, CodeSignalError::Mismatch { .. }) {
                out.push_str("    It does not cover the body; a mismatch means another secret, URL, event or time.\n");
            }
        }
    }

    out.push_str("\nwebhook-signature (Standard Webhooks v1): HMAC-SHA256(key, webhook-id.webhook-timestamp.body)\n");
    out.push_str("  key: the secret itself when it is whsec_…, else SHA-256 of the secret\n");
    let timestamp = header(headers, "webhook-timestamp");
    if let (Some(id), Some(timestamp)) = (header(headers, "webhook-id"), timestamp) {
        out.push_str(&format!("  webhook-id {id:?}, webhook-timestamp {timestamp:?}\n"));
    }
    match &checks.standard {
        Ok(()) if ignore_timestamp => out.push_str("  ✓ valid (timestamp window not checked)\n"),
        Ok(()) => out.push_str(&format!("  ✓ valid, within ±{DEFAULT_TOLERANCE_SECS} s of now\n")),
        Err(error) => {
            out.push_str(&format!("  ✗ {error}\n"));
            match error {
                VerifyError::TimestampTooOld | VerifyError::TimestampTooNew => {
                    let age = timestamp.and_then(|t| t.trim().parse::<i64>().ok()).map(|t| now_secs - t);
                    if let Some(age) = age {
                        out.push_str(&format!(
                            "    it is {age} s from now; --ignore-timestamp checks an old capture\n"
                        ));
                    }
                }
                VerifyError::NoMatchingSignature if body.ends_with(b"\n") => {
                    out.push_str(
                        "    the body ends with a newline: if your file added it, the bytes differ from those sent\n",
                    );
                }
                _ => {}
            }
        }
    }
    let ok = checks.all_valid();
    out.push_str(if ok { "\nBoth signatures verify.\n" } else { "\nVerification FAILED.\n" });
    (out, ok)
}

fn read_body(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut body = Vec::new();
        std::io::stdin().read_to_end(&mut body).context("reading the body from standard input")?;
        return Ok(body);
    }
    std::fs::read(path).with_context(|| format!("reading the body from {}", path.display()))
}

pub fn run(args: VerifyArgs) -> anyhow::Result<()> {
    let mut headers = match &args.headers {
        Some(path) => parse_header_lines(
            &std::fs::read_to_string(path).with_context(|| format!("reading headers from {}", path.display()))?,
        )?,
        None => Vec::new(),
    };
    headers.extend(parse_header_lines(&args.header.join("\n"))?);
    let body = read_body(&args.body)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default();
    let (text, ok) = report(&args.secret, &args.url, &headers, &body, now, args.ignore_timestamp);
    print!("{text}");
    if !ok {
        bail!("the delivery's signatures do not verify");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use screenhook_webhooks::{DeliveryHeaderParams, USER_AGENT, delivery_headers, envelope_body};

    use super::*;

    const URL: &str = "https://hooks.example.com/codesignal";

    fn delivery(at: i64) -> (Vec<(String, String)>, Vec<u8>) {
        let body = envelope_body("companyTestSessionStarted", at * 1000, r#"{"testSessionId":"s1"}"#);
        let headers = delivery_headers(DeliveryHeaderParams {
            user_agent: USER_AGENT,
            url: URL,
            event: "companyTestSessionStarted",
            triggered_on_ms: at * 1000,
            webhook_id: "msg_1",
            attempt_unix_secs: at,
            secret: Some("verify-secret"),
            retired_secrets: &[],
            body: &body,
            custom_headers: &[],
        });
        (headers, body)
    }

    #[test]
    fn header_files_are_read_leniently_but_not_blindly() {
        let parsed = parse_header_lines("POST /codesignal HTTP/1.1\r\nwebhook-id: msg_1\r\n\r\nX-A:  b:c \n").unwrap();
        assert_eq!(parsed, [("webhook-id".into(), "msg_1".into()), ("X-A".into(), "b:c".into())]);
        assert!(parse_header_lines("webhook-id msg_1").is_err());
    }

    #[test]
    fn a_good_delivery_verifies_and_each_failure_is_explained() {
        let (headers, body) = delivery(1_700_000_000);
        let (text, ok) = report("verify-secret", URL, &headers, &body, 1_700_000_030, false);
        assert!(ok, "{text}");
        assert!(text.contains("Both signatures verify."));

        let (text, ok) = report("wrong", URL, &headers, &body, 1_700_000_030, false);
        assert!(!ok);
        assert!(text.contains("does not cover the body") && text.contains("no v1 signature"), "{text}");

        let (text, ok) = report("verify-secret", URL, &headers, &body, 1_700_003_600, false);
        assert!(!ok && text.contains("3600 s from now") && text.contains("--ignore-timestamp"), "{text}");
        assert!(report("verify-secret", URL, &headers, &body, 1_700_003_600, true).1);

        let mut with_newline = body.clone();
        with_newline.push(b'\n');
        let (text, ok) = report("verify-secret", URL, &headers, &with_newline, 1_700_000_030, false);
        assert!(!ok && text.contains("ends with a newline"), "{text}");

        let (text, ok) = report("verify-secret", "https://other.example/", &headers, &body, 1_700_000_030, false);
        assert!(!ok && text.contains("is the URL exactly the one configured"), "{text}");
    }

    #[test]
    fn the_command_reads_files_and_fails_on_a_bad_signature() {
        let dir = tempfile::tempdir().unwrap();
        let (headers, body) = delivery(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64);
        let header_file = dir.path().join("headers.txt");
        let text: String = headers.iter().map(|(name, value)| format!("{name}: {value}\n")).collect();
        std::fs::write(&header_file, text).unwrap();
        let body_file = dir.path().join("body.json");
        std::fs::write(&body_file, &body).unwrap();
        let args = |secret: &str| VerifyArgs {
            secret: secret.into(),
            url: URL.into(),
            headers: Some(header_file.clone()),
            header: vec!["X-Extra: 1".into()],
            body: body_file.clone(),
            ignore_timestamp: false,
        };
        run(args("verify-secret")).unwrap();
        assert!(run(args("nope")).is_err());
    }
}
