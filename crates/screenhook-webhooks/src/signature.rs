//! Request signatures: the CodeSignal header and Standard Webhooks.
//!
//! Every delivery carries two independent proofs of origin, because receivers
//! come from two worlds:
//!
//! * **`X-CodeSignal-Signature`** — what existing CodeSignal integrations
//!   check. Lowercase hex HMAC-SHA256 over `endpointUrl + eventType +
//!   triggeredOn`, concatenated without separators (CodeSignal's Webhook
//!   API docs). The JSON body is *not* covered; that is the
//!   documented algorithm and we reproduce it byte for byte. The header is
//!   sent only when the webhook has a secret.
//! * **`webhook-signature`** (Standard Webhooks `v1`) — HMAC-SHA256 over
//!   `{webhook-id}.{webhook-timestamp}.{raw body}`, base64, so receivers using
//!   the standard libraries can verify the body too.
//!
//! # Which key signs the CodeSignal header
//!
//! CodeSignal's documented Node snippet feeds the secret *string* to `createHmac` as UTF-8. A
//! screenhook webhook has a single secret, stored as its `whsec_…` text, so
//! the CodeSignal key is that whole string's UTF-8 bytes — prefix included,
//! *not* the base64-decoded bytes. A receiver ported from CodeSignal pastes
//! the secret it was shown and the documented Node snippet just works.
//! Standard Webhooks, by contrast, keys the HMAC with the decoded bytes, as
//! its spec and libraries require.
//!
//! # Retries
//!
//! Delivery is at-least-once. The `webhook-id` stays the same across every
//! attempt of one event, so receivers can de-duplicate; each attempt gets a
//! fresh `webhook-timestamp` and therefore a fresh signature, so the ±5 min
//! replay window is measured from the attempt, not from the first try.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Name of the CodeSignal signature header, as CodeSignal spells it.
pub const CODESIGNAL_SIGNATURE_HEADER: &str = "X-CodeSignal-Signature";
/// Standard Webhooks header carrying the message id (stable across retries).
pub const WEBHOOK_ID_HEADER: &str = "webhook-id";
/// Standard Webhooks header carrying the attempt's Unix time in seconds.
pub const WEBHOOK_TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// Standard Webhooks header carrying space-separated `v1,<base64>` entries.
pub const WEBHOOK_SIGNATURE_HEADER: &str = "webhook-signature";

/// Replay window every Standard Webhooks library uses, in both directions.
pub const DEFAULT_TOLERANCE_SECS: u64 = 5 * 60;

const SECRET_PREFIX: &str = "whsec_";
const SIGNATURE_VERSION: &str = "v1";
/// The spec's bounds on decoded secret length (192–512 bits).
const SECRET_MIN_BYTES: usize = 24;
const SECRET_MAX_BYTES: usize = 64;

fn hmac_for(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    HmacSha256::new_from_slice(key).expect("HMAC-SHA256 accepts keys of any length")
}

fn codesignal_mac(secret: &str, endpoint_url: &str, event: &str, triggered_on: &str) -> HmacSha256 {
    let mut mac = hmac_for(secret.as_bytes());
    mac.update(endpoint_url.as_bytes());
    mac.update(event.as_bytes());
    mac.update(triggered_on.as_bytes());
    mac
}

/// The `X-CodeSignal-Signature` value: lowercase hex
/// HMAC-SHA256(`secret`, `endpoint_url + event + triggered_on`).
///
/// `endpoint_url` must be the URL string exactly as configured and
/// `triggered_on` the decimal millisecond timestamp sent in the body.
pub fn codesignal_signature(secret: &str, endpoint_url: &str, event: &str, triggered_on: &str) -> String {
    hex::encode(codesignal_mac(secret, endpoint_url, event, triggered_on).finalize().into_bytes())
}

/// Checks an `X-CodeSignal-Signature` value in constant time.
///
/// Hex of either case is accepted (Node emits lowercase; tolerating upper
/// case costs nothing). Anything that is not 64 hex digits fails.
pub fn verify_codesignal_signature(
    secret: &str,
    endpoint_url: &str,
    event: &str,
    triggered_on: &str,
    header_value: &str,
) -> bool {
    let Ok(claimed) = hex::decode(header_value.trim()) else {
        return false;
    };
    codesignal_mac(secret, endpoint_url, event, triggered_on).verify_slice(&claimed).is_ok()
}

/// Why a `whsec_…` string is not a usable secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("webhook secret must start with \"whsec_\"")]
    MissingPrefix,
    #[error("webhook secret after \"whsec_\" is not standard base64: {0}")]
    InvalidBase64(#[from] base64::DecodeError),
    #[error("webhook secret decodes to {len} bytes; it must be 24 to 64 bytes")]
    WrongLength { len: usize },
}

/// A Standard Webhooks symmetric secret: 24–64 random bytes, written
/// `whsec_<base64>`.
///
/// `Debug` never prints the key, so secrets cannot leak through logs.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

impl WebhookSecret {
    /// Wraps 32 random bytes supplied by the caller (who owns the RNG, so
    /// this module stays deterministic and testable).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self { key: bytes.to_vec() }
    }

    /// Parses `whsec_<base64>`; the decoded key must be 24–64 bytes.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text.strip_prefix(SECRET_PREFIX).ok_or(SecretError::MissingPrefix)?;
        let key = BASE64.decode(encoded)?;
        if !(SECRET_MIN_BYTES..=SECRET_MAX_BYTES).contains(&key.len()) {
            return Err(SecretError::WrongLength { len: key.len() });
        }
        Ok(Self { key })
    }

    fn mac(&self) -> HmacSha256 {
        hmac_for(&self.key)
    }
}

impl FromStr for WebhookSecret {
    type Err = SecretError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SECRET_PREFIX}{}", BASE64.encode(&self.key))
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

fn standard_mac(secret: &WebhookSecret, msg_id: &str, timestamp_secs: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = secret.mac();
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// One Standard Webhooks entry: `v1,` + base64(HMAC-SHA256(key,
/// `"{msg_id}.{timestamp_secs}.{body}"`)).
///
/// `msg_id` is generated by us and never contains `.`, which the spec
/// requires so the signed content cannot be ambiguous. Unlike the Standard
/// Webhooks reference library, bodies need not be UTF-8: we sign the exact bytes we send.
pub fn sign(secret: &WebhookSecret, msg_id: &str, timestamp_secs: i64, body: &[u8]) -> String {
    let digest = standard_mac(secret, msg_id, timestamp_secs, body).finalize().into_bytes();
    format!("{SIGNATURE_VERSION},{}", BASE64.encode(digest))
}

/// The full `webhook-signature` value: one entry per secret in force,
/// space-separated, so receivers keep verifying while a key is rotated.
pub fn signature_header(secrets: &[WebhookSecret], msg_id: &str, timestamp_secs: i64, body: &[u8]) -> String {
    secrets.iter().map(|secret| sign(secret, msg_id, timestamp_secs, body)).collect::<Vec<_>>().join(" ")
}

/// The three Standard Webhooks header values as received; `None` when a
/// header was absent.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignedHeaders<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// Why a Standard Webhooks delivery failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("header webhook-timestamp is not an integer number of seconds")]
    InvalidTimestamp,
    #[error("webhook-timestamp is more than the allowed tolerance in the past")]
    TimestampTooOld,
    #[error("webhook-timestamp is more than the allowed tolerance in the future")]
    TimestampTooNew,
    #[error("no v1 signature in webhook-signature matches any secret")]
    NoMatchingSignature,
}

/// Verifies a Standard Webhooks delivery against any of `secrets`.
///
/// The timestamp must lie within `tolerance_secs` of `now_secs` in either
/// direction (use [`DEFAULT_TOLERANCE_SECS`]). The signature header may hold
/// several space-separated entries; entries of other versions (such as
/// `v1a`) are ignored, and each `v1` entry is compared in constant time.
pub fn verify(
    secrets: &[WebhookSecret],
    headers: SignedHeaders<'_>,
    body: &[u8],
    now_secs: i64,
    tolerance_secs: u64,
) -> Result<(), VerifyError> {
    let id = headers.id.ok_or(VerifyError::MissingHeader(WEBHOOK_ID_HEADER))?;
    let timestamp = headers.timestamp.ok_or(VerifyError::MissingHeader(WEBHOOK_TIMESTAMP_HEADER))?;
    let signature = headers.signature.ok_or(VerifyError::MissingHeader(WEBHOOK_SIGNATURE_HEADER))?;

    let timestamp_secs: i64 = timestamp.trim().parse().map_err(|_| VerifyError::InvalidTimestamp)?;
    let tolerance = i64::try_from(tolerance_secs).unwrap_or(i64::MAX);
    if now_secs.saturating_sub(timestamp_secs) > tolerance {
        return Err(VerifyError::TimestampTooOld);
    }
    if timestamp_secs.saturating_sub(now_secs) > tolerance {
        return Err(VerifyError::TimestampTooNew);
    }

    let claimed: Vec<Vec<u8>> = signature
        .split(' ')
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == SIGNATURE_VERSION)
        .filter_map(|(_, encoded)| BASE64.decode(encoded).ok())
        .collect();

    // Evaluate every (secret, entry) pair without short-circuiting, so the
    // time taken does not reveal which secret or entry matched.
    let mut matched = false;
    for secret in secrets {
        for candidate in &claimed {
            let ok = standard_mac(secret, id, timestamp_secs, body).verify_slice(candidate).is_ok();
            matched |= ok;
        }
    }
    if matched { Ok(()) } else { Err(VerifyError::NoMatchingSignature) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const URL: &str = "https://example.com/codesignal/webhook";

    /// Known answers computed independently (Python hmac) from CodeSignal's documented algorithm.
    #[test]
    fn codesignal_known_answers() {
        assert_eq!(
            codesignal_signature("my-secret", URL, "companyTestSessionFinished", "1553720789347"),
            "7dd88207964db657e115060cf08a57e5d8e11e290bd1c5463e6a8a2f6a602ff8"
        );
        assert_eq!(
            codesignal_signature("my-secret", URL, "", ""),
            "739464a48345960600242c01a0596975851d1051c5eb39c0a77f98af33f5462b"
        );
    }

    #[test]
    fn codesignal_verifier_accepts_only_the_right_triple() {
        let good = codesignal_signature("my-secret", URL, "companyTestSessionFinished", "1553720789347");
        let verify = |secret, event, time, header: &str| verify_codesignal_signature(secret, URL, event, time, header);
        assert!(verify("my-secret", "companyTestSessionFinished", "1553720789347", &good));
        assert!(verify("my-secret", "companyTestSessionFinished", "1553720789347", &good.to_uppercase()));
        assert!(!verify("other", "companyTestSessionFinished", "1553720789347", &good));
        assert!(!verify("my-secret", "companyTestSessionStarted", "1553720789347", &good));
        assert!(!verify("my-secret", "companyTestSessionFinished", "1553720789348", &good));
        assert!(!verify("my-secret", "companyTestSessionFinished", "1553720789347", &good[..62]));
        assert!(!verify("my-secret", "companyTestSessionFinished", "1553720789347", "not hex"));
    }

    #[test]
    fn codesignal_key_is_the_whsec_string_itself() {
        let text = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
        let raw_string_key = {
            let mut mac = hmac_for(text.as_bytes());
            mac.update(format!("{URL}e1").as_bytes());
            hex::encode(mac.finalize().into_bytes())
        };
        assert_eq!(codesignal_signature(text, URL, "e", "1"), raw_string_key);
    }

    const KAT_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const KAT_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const KAT_TS: i64 = 1_649_367_553;
    const KAT_BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const KAT_SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    fn kat_secret() -> WebhookSecret {
        WebhookSecret::parse(KAT_SECRET).unwrap()
    }

    fn kat_headers(signature: &str) -> SignedHeaders<'_> {
        SignedHeaders { id: Some(KAT_ID), timestamp: Some("1649367553"), signature: Some(signature) }
    }

    #[test]
    fn standard_webhooks_known_answer() {
        assert_eq!(sign(&kat_secret(), KAT_ID, KAT_TS, KAT_BODY), KAT_SIGNATURE);
        assert_eq!(verify(&[kat_secret()], kat_headers(KAT_SIGNATURE), KAT_BODY, KAT_TS, 300), Ok(()));
    }

    #[test]
    fn secret_parsing_names_the_problem() {
        assert_eq!(WebhookSecret::parse("C2FVsBQIhrscChlQIMV+b5sSYspob7oD"), Err(SecretError::MissingPrefix));
        assert!(matches!(WebhookSecret::parse("whsec_!!!notbase64"), Err(SecretError::InvalidBase64(_))));
        let short = format!("whsec_{}", BASE64.encode([7u8; 23]));
        assert_eq!(WebhookSecret::parse(&short), Err(SecretError::WrongLength { len: 23 }));
        let long = format!("whsec_{}", BASE64.encode([7u8; 65]));
        assert_eq!(WebhookSecret::parse(&long), Err(SecretError::WrongLength { len: 65 }));
        assert!(WebhookSecret::parse(&format!("whsec_{}", BASE64.encode([7u8; 64]))).is_ok());
        assert!(WebhookSecret::parse("whsec_").unwrap_err().to_string().contains("0 bytes"));
    }

    #[test]
    fn secret_round_trips_and_never_debug_prints_the_key() {
        let secret = WebhookSecret::from_bytes([42u8; 32]);
        let text = secret.to_string();
        assert!(text.starts_with("whsec_"));
        assert_eq!(text.parse::<WebhookSecret>().unwrap(), secret);
        assert_eq!(kat_secret().to_string(), KAT_SECRET);
        assert_eq!(format!("{secret:?}"), "WebhookSecret(<redacted>)");
    }

    #[test]
    fn verify_reports_each_failure() {
        let secrets = [kat_secret()];
        let missing = |headers| verify(&secrets, headers, KAT_BODY, KAT_TS, 300);
        assert_eq!(
            missing(SignedHeaders { id: None, ..kat_headers(KAT_SIGNATURE) }),
            Err(VerifyError::MissingHeader("webhook-id"))
        );
        assert_eq!(
            missing(SignedHeaders { timestamp: None, ..kat_headers(KAT_SIGNATURE) }),
            Err(VerifyError::MissingHeader("webhook-timestamp"))
        );
        assert_eq!(
            missing(SignedHeaders { signature: None, ..kat_headers(KAT_SIGNATURE) }),
            Err(VerifyError::MissingHeader("webhook-signature"))
        );
        assert_eq!(
            missing(SignedHeaders { timestamp: Some("16493675.53"), ..kat_headers(KAT_SIGNATURE) }),
            Err(VerifyError::InvalidTimestamp)
        );
        assert_eq!(
            verify(&secrets, kat_headers("v1,AAAA v2,xyz garbage"), KAT_BODY, KAT_TS, 300),
            Err(VerifyError::NoMatchingSignature)
        );
        assert_eq!(
            verify(&secrets, kat_headers(KAT_SIGNATURE), b"tampered", KAT_TS, 300),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn tolerance_is_five_minutes_in_both_directions() {
        let secrets = [kat_secret()];
        let at = |now| verify(&secrets, kat_headers(KAT_SIGNATURE), KAT_BODY, now, DEFAULT_TOLERANCE_SECS);
        assert_eq!(at(KAT_TS + 300), Ok(()));
        assert_eq!(at(KAT_TS - 300), Ok(()));
        assert_eq!(at(KAT_TS + 301), Err(VerifyError::TimestampTooOld));
        assert_eq!(at(KAT_TS - 301), Err(VerifyError::TimestampTooNew));
    }

    #[test]
    fn rotation_header_verifies_with_either_key() {
        let old = WebhookSecret::from_bytes([1u8; 32]);
        let new = WebhookSecret::from_bytes([2u8; 32]);
        let header = signature_header(&[old.clone(), new.clone()], "msg_1", 10, b"{}");
        assert_eq!(header.split(' ').count(), 2);
        let headers = SignedHeaders { id: Some("msg_1"), timestamp: Some("10"), signature: Some(&header) };
        assert_eq!(verify(&[new], headers, b"{}", 10, 300), Ok(()));
        assert_eq!(verify(&[old], headers, b"{}", 10, 300), Ok(()));
        let stranger = WebhookSecret::from_bytes([3u8; 32]);
        assert_eq!(verify(&[stranger], headers, b"{}", 10, 300), Err(VerifyError::NoMatchingSignature));
    }

    #[test]
    fn each_attempt_signs_differently_under_the_same_id() {
        let secret = kat_secret();
        assert_ne!(sign(&secret, KAT_ID, KAT_TS, KAT_BODY), sign(&secret, KAT_ID, KAT_TS + 30, KAT_BODY));
    }

    fn now_secs() -> i64 {
        let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        i64::try_from(since_epoch.as_secs()).unwrap()
    }

    proptest! {
        /// The independent `standardwebhooks` crate accepts what we sign.
        /// It uses the wall clock, so we sign with "now"; and it only signs
        /// UTF-8, so bodies are strings here (our own verifier covers bytes).
        #[test]
        fn standardwebhooks_oracle_accepts_our_signatures(
            key in proptest::array::uniform32(any::<u8>()),
            id in "msg_[A-Za-z0-9]{1,40}",
            body in ".{0,300}",
        ) {
            let secret = WebhookSecret::from_bytes(key);
            let ts = now_secs();
            let signature = sign(&secret, &id, ts, body.as_bytes());

            let mut headers = http::HeaderMap::new();
            headers.insert(WEBHOOK_ID_HEADER, id.parse().unwrap());
            headers.insert(WEBHOOK_TIMESTAMP_HEADER, ts.to_string().parse().unwrap());
            headers.insert(WEBHOOK_SIGNATURE_HEADER, signature.parse().unwrap());
            let oracle = standardwebhooks::Webhook::new(&secret.to_string()).unwrap();
            prop_assert!(oracle.verify(body.as_bytes(), &headers).is_ok());
            prop_assert_eq!(oracle.sign(&id, ts, body.as_bytes()).unwrap(), signature);
        }

        #[test]
        fn our_verifier_accepts_our_signatures_on_any_bytes(
            key in proptest::array::uniform32(any::<u8>()),
            body in proptest::collection::vec(any::<u8>(), 0..300),
            ts in 0i64..4_000_000_000,
        ) {
            let secret = WebhookSecret::from_bytes(key);
            let signature = sign(&secret, "msg_x", ts, &body);
            let ts_text = ts.to_string();
            let headers = SignedHeaders { id: Some("msg_x"), timestamp: Some(&ts_text), signature: Some(&signature) };
            prop_assert_eq!(verify(&[secret], headers, &body, ts, DEFAULT_TOLERANCE_SECS), Ok(()));
        }
    }
}
