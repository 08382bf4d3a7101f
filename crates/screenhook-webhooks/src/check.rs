//! Checking both signatures of one received delivery against a secret, as a receiver does —
//! shared by the inspector, the simulator, `screenhook listen` and `screenhook verify`.
//!
//! * `X-CodeSignal-Signature` covers the endpoint URL *as the sender configured it*, the
//!   `event` and the `triggeredOn` of the body (CodeSignal's documented algorithm); the
//!   receiver has to know that URL, since a proxy may have rewritten what it sees. An empty
//!   body (the verification ping) signs the URL alone, as the documented defaults do.
//! * `webhook-signature` (Standard Webhooks `v1`) covers `webhook-id.webhook-timestamp.body`
//!   with the key [`standard_webhooks_key`] derives from the secret, within a timestamp
//!   tolerance measured from `now_secs`.

use crate::request::standard_webhooks_key;
use crate::signature::{
    CODESIGNAL_SIGNATURE_HEADER, SignedHeaders, VerifyError, WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMESTAMP_HEADER, verify, verify_codesignal_signature,
};
use serde::Serialize;

/// One received request, as needed to check its signatures.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The endpoint URL exactly as the sender has it configured.
    pub url: &'a str,
    /// Header names in any case.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl<'a> Delivery<'a> {
    /// The first value of header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        header(self.headers, name)
    }
}

/// The first value of header `name` in `headers`, compared case-insensitively.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
}

/// Why `X-CodeSignal-Signature` did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeSignalError {
    #[error("missing header X-CodeSignal-Signature")]
    Missing,
    #[error("the body is not a JSON envelope with `event` and `triggeredOn`, so the signed text cannot be rebuilt")]
    NotAnEnvelope,
    #[error(
        "X-CodeSignal-Signature is not HMAC-SHA256(secret, url + event + triggeredOn) for url {url:?}, event \
         {event:?}, triggeredOn {triggered_on:?} (is the URL exactly the one configured on the webhook?)"
    )]
    Mismatch { url: String, event: String, triggered_on: String },
}

/// Both verdicts for one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checks {
    pub codesignal: Result<(), CodeSignalError>,
    pub standard: Result<(), VerifyError>,
}

impl Checks {
    pub fn all_valid(&self) -> bool {
        self.codesignal.is_ok() && self.standard.is_ok()
    }

    /// The JSON form: `{ codesignal: {valid, reason?}, standardWebhooks: {valid, reason?} }`.
    pub fn summary(&self) -> ChecksSummary {
        ChecksSummary { codesignal: Verdict::of(&self.codesignal), standard_webhooks: Verdict::of(&self.standard) }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ChecksSummary {
    pub codesignal: Verdict,
    pub standard_webhooks: Verdict,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Verdict {
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Verdict {
    fn of<E: std::fmt::Display>(result: &Result<(), E>) -> Verdict {
        Verdict { valid: result.is_ok(), reason: result.as_ref().err().map(ToString::to_string) }
    }
}

/// `event` and `triggeredOn` (as the decimal text that was signed) from an envelope body;
/// empty strings for an empty body (the ping).
pub fn signed_fields(body: &[u8]) -> Option<(String, String)> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Some((String::new(), String::new()));
    }
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let event = value.get("event")?.as_str()?.to_owned();
    let triggered_on = match value.get("triggeredOn")? {
        serde_json::Value::Number(number) => number.as_i64()?.to_string(),
        serde_json::Value::String(text) => text.clone(),
        _ => return None,
    };
    Some((event, triggered_on))
}

/// Checks both signatures with `secret`. `tolerance_secs: None` skips the Standard Webhooks
/// timestamp window (for replaying an old capture on purpose).
pub fn check(secret: &str, delivery: Delivery<'_>, now_secs: i64, tolerance_secs: Option<u64>) -> Checks {
    Checks {
        codesignal: check_codesignal(secret, delivery),
        standard: check_standard(secret, delivery, now_secs, tolerance_secs),
    }
}

fn check_codesignal(secret: &str, delivery: Delivery<'_>) -> Result<(), CodeSignalError> {
    let claimed = delivery.header(CODESIGNAL_SIGNATURE_HEADER).ok_or(CodeSignalError::Missing)?;
    let (event, triggered_on) = signed_fields(delivery.body).ok_or(CodeSignalError::NotAnEnvelope)?;
    if verify_codesignal_signature(secret, delivery.url, &event, &triggered_on, claimed) {
        Ok(())
    } else {
        Err(CodeSignalError::Mismatch { url: delivery.url.to_owned(), event, triggered_on })
    }
}

fn check_standard(
    secret: &str,
    delivery: Delivery<'_>,
    now_secs: i64,
    tolerance_secs: Option<u64>,
) -> Result<(), VerifyError> {
    let headers = SignedHeaders {
        id: delivery.header(WEBHOOK_ID_HEADER),
        timestamp: delivery.header(WEBHOOK_TIMESTAMP_HEADER),
        signature: delivery.header(WEBHOOK_SIGNATURE_HEADER),
    };
    verify(&[standard_webhooks_key(secret)], headers, delivery.body, now_secs, tolerance_secs.unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use crate::{DeliveryHeaderParams, USER_AGENT, delivery_headers, envelope_body};

    use super::*;

    const URL: &str = "https://example.com/codesignal/webhook";

    fn signed(secret: &str, at: i64) -> (Vec<(String, String)>, Vec<u8>) {
        let body = envelope_body("companyTestSessionStarted", 1_553_720_789_347, r#"{"testSessionId":"s1"}"#);
        let headers = delivery_headers(DeliveryHeaderParams {
            user_agent: USER_AGENT,
            url: URL,
            event: "companyTestSessionStarted",
            triggered_on_ms: 1_553_720_789_347,
            webhook_id: "evt_1",
            attempt_unix_secs: at,
            secret: Some(secret),
            retired_secrets: &[],
            body: &body,
            custom_headers: &[],
        });
        (headers, body)
    }

    #[test]
    fn a_signed_delivery_verifies_both_ways() {
        let (headers, body) = signed("my-secret", 1_700_000_000);
        let delivery = Delivery { url: URL, headers: &headers, body: &body };
        assert!(check("my-secret", delivery, 1_700_000_010, Some(300)).all_valid());
        let wrong = check("other", delivery, 1_700_000_010, Some(300));
        assert!(matches!(wrong.codesignal, Err(CodeSignalError::Mismatch { .. })));
        assert_eq!(wrong.standard, Err(VerifyError::NoMatchingSignature));
        let other_url =
            check("my-secret", Delivery { url: "https://example.com/", ..delivery }, 1_700_000_010, Some(300));
        assert!(other_url.codesignal.is_err() && other_url.standard.is_ok());
    }

    #[test]
    fn tampering_and_staleness_are_told_apart() {
        let (headers, mut body) = signed("my-secret", 1_700_000_000);
        let late = check("my-secret", Delivery { url: URL, headers: &headers, body: &body }, 1_700_000_601, Some(300));
        assert_eq!(late.standard, Err(VerifyError::TimestampTooOld));
        assert!(
            check("my-secret", Delivery { url: URL, headers: &headers, body: &body }, 1_700_000_601, None).all_valid()
        );
        // The CodeSignal signature does not cover the payload; Standard Webhooks does.
        body.extend_from_slice(b" ");
        let tampered =
            check("my-secret", Delivery { url: URL, headers: &headers, body: &body }, 1_700_000_000, Some(300));
        assert!(tampered.codesignal.is_ok());
        assert_eq!(tampered.standard, Err(VerifyError::NoMatchingSignature));
        let bare = check("my-secret", Delivery { url: URL, headers: &[], body: b"not json" }, 0, None);
        assert_eq!(bare.codesignal, Err(CodeSignalError::Missing));
        assert_eq!(bare.standard, Err(VerifyError::MissingHeader("webhook-id")));
    }

    #[test]
    fn the_ping_signs_the_url_alone() {
        let headers = crate::ping_headers(USER_AGENT, URL, Some("my-secret"), &[]);
        let checks = check("my-secret", Delivery { url: URL, headers: &headers, body: b"" }, 0, None);
        assert_eq!(checks.codesignal, Ok(()));
        assert_eq!(signed_fields(b"{\"event\":1}"), None);
        assert_eq!(signed_fields(br#"{"event":"e","triggeredOn":12}"#), Some(("e".into(), "12".into())));
    }
}
