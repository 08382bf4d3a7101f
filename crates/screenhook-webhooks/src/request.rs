//! The signed request of one delivery attempt, and of the verification ping, built without I/O.
//!
//! Everything a receiver checks is decided here from values the caller passes in — the body
//! bytes, the event's id, the attempt's time, the secrets — so it is unit-tested exactly;
//! [`Sender`](crate::Sender) only puts the result on the wire.
//!
//! # Delivery headers
//!
//! [`delivery_headers`] emits, in order: `Content-Type`, `User-Agent`,
//! `X-CodeSignal-Signature` (with a secret), `webhook-id`,
//! `webhook-timestamp`, `webhook-signature` (with a secret), then the
//! tenant's custom headers minus any whose name collides with ours.
//! Delivery is at-least-once, so a retry keeps the `webhook-id` and gets a
//! fresh timestamp and signatures.
//!
//! # Secrets
//!
//! CodeSignal lets users type any secret, but Standard Webhooks needs a
//! `whsec_<base64>` key. [`standard_webhooks_key`] therefore uses a secret
//! that parses as [`WebhookSecret`] as is, and otherwise **derives** the key
//! as SHA-256 of the secret's UTF-8 bytes (32 bytes, i.e. the receiver's
//! `whsec_` value is `whsec_` + base64(SHA-256(secret))). Every webhook with
//! a secret thus gets both signatures, and the derivation is reproducible by
//! a receiver from the secret it typed.
//!
//! # The ping
//!
//! Whether CodeSignal signs the ping is not documented; following the
//! documented `getSignature` defaults (`eventType = ''`, `triggeredOn = ''`),
//! [`ping_headers`] gives a webhook with a secret an `X-CodeSignal-Signature`
//! = HMAC over the URL alone. It has no `webhook-*` headers: there is no
//! message, so no id to sign.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::signature::{
    CODESIGNAL_SIGNATURE_HEADER, WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER, WebhookSecret,
    codesignal_signature, signature_header,
};

/// What [`delivery_headers`] needs for one attempt.
#[derive(Clone, Copy)]
pub struct DeliveryHeaderParams<'a> {
    pub user_agent: &'a str,
    /// The endpoint URL exactly as configured (signed verbatim).
    pub url: &'a str,
    pub event: &'a str,
    /// The envelope's `triggeredOn`, in milliseconds.
    pub triggered_on_ms: i64,
    /// The event's id, stable across retries.
    pub webhook_id: &'a str,
    /// When this attempt is made, Unix seconds.
    pub attempt_unix_secs: i64,
    /// The webhook's secret as the user set it, if any.
    pub secret: Option<&'a str>,
    /// Replaced secrets still in their overlap window: each adds a `v1,` entry to
    /// `webhook-signature`. `X-CodeSignal-Signature` holds one value by definition, so it is
    /// always computed with the current secret.
    pub retired_secrets: &'a [&'a str],
    /// The exact body bytes to be sent.
    pub body: &'a [u8],
    /// Tenant headers, already validated.
    pub custom_headers: &'a [(String, String)],
}

impl fmt::Debug for DeliveryHeaderParams<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryHeaderParams")
            .field("url", &self.url)
            .field("event", &self.event)
            .field("webhook_id", &self.webhook_id)
            .field("secret", &self.secret.map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// Header names screenhook sets itself; custom headers never override them.
const OWN_HEADERS: [&str; 6] =
    ["content-type", "user-agent", "x-codesignal-signature", "webhook-id", "webhook-timestamp", "webhook-signature"];

fn custom_headers_without_ours(custom: &[(String, String)]) -> impl Iterator<Item = (String, String)> + '_ {
    custom.iter().filter(|(name, _)| !OWN_HEADERS.contains(&name.to_ascii_lowercase().as_str())).cloned()
}

/// The Standard Webhooks key for a webhook secret: the secret itself when
/// it is a valid `whsec_…` value, else SHA-256 of its UTF-8 bytes (see the
/// module docs).
pub fn standard_webhooks_key(secret: &str) -> WebhookSecret {
    WebhookSecret::parse(secret).unwrap_or_else(|_| WebhookSecret::from_bytes(Sha256::digest(secret.as_bytes()).into()))
}

/// All headers of one delivery attempt, in sending order.
pub fn delivery_headers(params: DeliveryHeaderParams<'_>) -> Vec<(String, String)> {
    let mut headers = vec![
        ("Content-Type".to_owned(), "application/json".to_owned()),
        ("User-Agent".to_owned(), params.user_agent.to_owned()),
    ];
    if let Some(secret) = params.secret {
        headers.push((
            CODESIGNAL_SIGNATURE_HEADER.to_owned(),
            codesignal_signature(secret, params.url, params.event, &params.triggered_on_ms.to_string()),
        ));
    }
    headers.push((WEBHOOK_ID_HEADER.to_owned(), params.webhook_id.to_owned()));
    headers.push((WEBHOOK_TIMESTAMP_HEADER.to_owned(), params.attempt_unix_secs.to_string()));
    if let Some(secret) = params.secret {
        headers.push((
            WEBHOOK_SIGNATURE_HEADER.to_owned(),
            signature_header(
                &std::iter::once(secret)
                    .chain(params.retired_secrets.iter().copied())
                    .map(standard_webhooks_key)
                    .collect::<Vec<_>>(),
                params.webhook_id,
                params.attempt_unix_secs,
                params.body,
            ),
        ));
    }
    headers.extend(custom_headers_without_ours(params.custom_headers));
    headers
}

/// Headers of the verification ping: `User-Agent`, the URL-only
/// `X-CodeSignal-Signature` when there is a secret, then custom headers.
pub fn ping_headers(
    user_agent: &str,
    url: &str,
    secret: Option<&str>,
    custom_headers: &[(String, String)],
) -> Vec<(String, String)> {
    let mut headers = vec![("User-Agent".to_owned(), user_agent.to_owned())];
    if let Some(secret) = secret {
        headers.push((CODESIGNAL_SIGNATURE_HEADER.to_owned(), codesignal_signature(secret, url, "", "")));
    }
    headers.extend(custom_headers_without_ours(custom_headers));
    headers
}

/// The delivery body `{"event":…,"triggeredOn":…,"payload":…}`, built by
/// concatenation so the payload's bytes are sent exactly as stored.
/// `payload_json_text` must be valid JSON; the event name is JSON-escaped.
pub fn envelope_body(event_name: &str, triggered_on_ms: i64, payload_json_text: &str) -> Vec<u8> {
    let event = serde_json::Value::from(event_name).to_string();
    format!(r#"{{"event":{event},"triggeredOn":{triggered_on_ms},"payload":{payload_json_text}}}"#).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sender::USER_AGENT;

    fn params<'a>(secret: Option<&'a str>, custom: &'a [(String, String)]) -> DeliveryHeaderParams<'a> {
        DeliveryHeaderParams {
            user_agent: USER_AGENT,
            url: "https://example.com/codesignal/webhook",
            event: "companyTestSessionFinished",
            triggered_on_ms: 1_553_720_789_347,
            webhook_id: "evt_1",
            attempt_unix_secs: 1_700_000_000,
            secret,
            retired_secrets: &[],
            body: b"{}",
            custom_headers: custom,
        }
    }

    #[test]
    fn headers_come_in_order_and_signatures_only_with_a_secret() {
        let names = |headers: Vec<(String, String)>| headers.into_iter().map(|(name, _)| name).collect::<Vec<_>>();
        assert_eq!(
            names(delivery_headers(params(None, &[]))),
            ["Content-Type", "User-Agent", "webhook-id", "webhook-timestamp"]
        );
        let custom = [("X-Tenant".to_owned(), "acme".to_owned())];
        let headers = delivery_headers(params(Some("my-secret"), &custom));
        assert_eq!(
            names(headers.clone()),
            [
                "Content-Type",
                "User-Agent",
                "X-CodeSignal-Signature",
                "webhook-id",
                "webhook-timestamp",
                "webhook-signature",
                "X-Tenant"
            ]
        );
        // Known answer for this secret, URL, event and time, computed independently (Python hmac).
        assert_eq!(headers[2].1, "7dd88207964db657e115060cf08a57e5d8e11e290bd1c5463e6a8a2f6a602ff8");
        assert_eq!(headers[4].1, "1700000000");
    }

    #[test]
    fn during_a_rotation_both_secrets_sign_the_body_and_codesignal_uses_the_new_one() {
        use crate::signature::{SignedHeaders, verify};
        let retired = ["old-secret"];
        let rotating = DeliveryHeaderParams { retired_secrets: &retired, ..params(Some("my-secret"), &[]) };
        let headers = delivery_headers(rotating);
        let value = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap();
        assert_eq!(value("X-CodeSignal-Signature"), "7dd88207964db657e115060cf08a57e5d8e11e290bd1c5463e6a8a2f6a602ff8");
        let signature = value("webhook-signature");
        assert_eq!(signature.split(' ').count(), 2, "{signature}");
        let signed = SignedHeaders { id: Some("evt_1"), timestamp: Some("1700000000"), signature: Some(signature) };
        for secret in ["my-secret", "old-secret"] {
            verify(&[standard_webhooks_key(secret)], signed, b"{}", 1_700_000_000, 300)
                .unwrap_or_else(|err| panic!("{secret}: {err}"));
        }
        assert!(verify(&[standard_webhooks_key("other")], signed, b"{}", 1_700_000_000, 300).is_err());
    }

    #[test]
    fn colliding_custom_headers_are_dropped() {
        let custom: Vec<(String, String)> = [
            "content-type",
            "USER-AGENT",
            "X-Codesignal-Signature",
            "Webhook-Id",
            "webhook-timestamp",
            "WEBHOOK-SIGNATURE",
            "X-Kept",
        ]
        .iter()
        .map(|name| ((*name).to_owned(), "forged".to_owned()))
        .collect();
        let headers = delivery_headers(params(None, &custom));
        let forged: Vec<_> = headers.iter().filter(|(_, value)| value == "forged").collect();
        assert_eq!(forged, [&("X-Kept".to_owned(), "forged".to_owned())]);
    }

    #[test]
    fn whsec_secrets_are_used_as_is_and_others_are_hashed() {
        let whsec = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
        assert_eq!(standard_webhooks_key(whsec).to_string(), whsec);
        let derived = standard_webhooks_key("my-secret");
        let expected: [u8; 32] = Sha256::digest(b"my-secret").into();
        assert_eq!(derived, WebhookSecret::from_bytes(expected));
        // A malformed whsec_ value is just another typed secret.
        assert_eq!(
            standard_webhooks_key("whsec_short"),
            WebhookSecret::from_bytes(Sha256::digest(b"whsec_short").into())
        );
    }

    #[test]
    fn envelope_is_concatenated_verbatim() {
        let payload = r#"{ "b":1,  "a":[2.50, "é"] }"#;
        let body = envelope_body("companyTestSessionFinished", 1_553_720_789_347, payload);
        assert_eq!(
            String::from_utf8(body.clone()).unwrap(),
            r#"{"event":"companyTestSessionFinished","triggeredOn":1553720789347,"payload":{ "b":1,  "a":[2.50, "é"] }}"#
        );
        let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(parsed["payload"]["b"], 1);
        assert_eq!(envelope_body("a\"b", 1, "null"), br#"{"event":"a\"b","triggeredOn":1,"payload":null}"#);
    }

    #[test]
    fn ping_headers_sign_the_url_alone() {
        let headers = ping_headers(USER_AGENT, "https://example.com/codesignal/webhook", Some("my-secret"), &[]);
        assert_eq!(
            headers[1],
            (
                "X-CodeSignal-Signature".to_owned(),
                "739464a48345960600242c01a0596975851d1051c5eb39c0a77f98af33f5462b".to_owned()
            )
        );
        assert_eq!(ping_headers(USER_AGENT, "https://x.example/", None, &[]).len(), 1);
    }

    fn value<'h>(headers: &'h [(String, String)], name: &str) -> &'h str {
        headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no {name}"))
    }

    #[test]
    fn the_standard_signature_covers_the_exact_body_id_and_attempt_time() {
        use crate::signature::{SignedHeaders, verify};
        let headers = delivery_headers(params(Some("my-secret"), &[]));
        let key = [standard_webhooks_key("my-secret")];
        let signature = Some(value(&headers, "webhook-signature"));
        assert_eq!(value(&headers, "webhook-id"), "evt_1");
        let signed = SignedHeaders { id: Some("evt_1"), timestamp: Some("1700000000"), signature };
        verify(&key, signed, b"{}", 1_700_000_000, 300).unwrap();
        assert!(verify(&key, signed, b"{ }", 1_700_000_000, 300).is_err(), "another body");
        let other_id = SignedHeaders { id: Some("evt_2"), ..signed };
        assert!(verify(&key, other_id, b"{}", 1_700_000_000, 300).is_err(), "another event");
        let other_time = SignedHeaders { timestamp: Some("1700000001"), ..signed };
        assert!(verify(&key, other_time, b"{}", 1_700_000_001, 300).is_err(), "another attempt time");
    }

    #[test]
    fn custom_headers_follow_ours_in_their_own_order() {
        let custom = [("X-B".to_owned(), "2".to_owned()), ("X-A".to_owned(), "1".to_owned())];
        let headers = delivery_headers(params(Some("my-secret"), &custom));
        assert_eq!(headers[headers.len() - 2..], custom);
    }

    #[test]
    fn ping_headers_have_no_message_headers_and_drop_colliding_custom_ones() {
        let custom = [("Webhook-Id".to_owned(), "forged".to_owned()), ("X-Tenant".to_owned(), "acme".to_owned())];
        let headers = ping_headers(USER_AGENT, "https://example.com/codesignal/webhook", Some("my-secret"), &custom);
        let names: Vec<&str> = headers.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["User-Agent", "X-CodeSignal-Signature", "X-Tenant"]);
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let retired = ["old-secret"];
        let rotating = DeliveryHeaderParams { retired_secrets: &retired, ..params(Some("my-secret"), &[]) };
        let shown = format!("{rotating:?}");
        assert!(shown.contains("<redacted>"), "{shown}");
        assert!(!shown.contains("my-secret") && !shown.contains("old-secret"), "{shown}");
    }
}
