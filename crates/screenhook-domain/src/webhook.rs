//! Webhooks: where a company's events go, and how healthy that endpoint is.
//!
//! This is plain data. Checking a URL against the SSRF guard, validating custom headers and
//! the verification ping happen at the edge before a webhook is saved.

use serde::{Deserialize, Serialize};

use crate::{
    event::EventKind,
    ids::{CompanyId, WebhookId},
    time::Timestamp,
};

/// CodeSignal's states: new webhooks start active; any failed attempt makes them
/// unhealthy; 25 consecutive failures disable them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WebhookState {
    Active,
    Unhealthy,
    Disabled,
}

impl WebhookState {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookState::Active => "active",
            WebhookState::Unhealthy => "unhealthy",
            WebhookState::Disabled => "disabled",
        }
    }

    pub fn parse(raw: &str) -> Option<WebhookState> {
        match raw {
            "active" => Some(WebhookState::Active),
            "unhealthy" => Some(WebhookState::Unhealthy),
            "disabled" => Some(WebhookState::Disabled),
            _ => None,
        }
    }
}

/// A company's webhook as configured. `Debug` leaves the secrets out, so a logged webhook
/// never carries them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: WebhookId,
    pub company_id: CompanyId,
    /// The endpoint URL exactly as configured: `X-CodeSignal-Signature` signs this string.
    pub url: String,
    /// The events it is subscribed to (current and legacy Certify names).
    pub events: Vec<EventKind>,
    /// The secret key; `None` sends no signature headers.
    pub secret: Option<String>,
    /// Secrets replaced by a rotation that still sign deliveries until their time runs out,
    /// so receivers can switch at their own pace. Newest first; at most
    /// [`MAX_RETIRED_SECRETS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired_secrets: Vec<RetiredSecret>,
    pub owner_emails: Vec<String>,
    /// Extra request headers, validated when saved.
    pub custom_headers: Vec<(String, String)>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Most replaced secrets a webhook keeps signing with at once (Svix keeps ten).
pub const MAX_RETIRED_SECRETS: usize = 10;

/// A secret replaced by a rotation, still in force until `until`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetiredSecret {
    pub secret: String,
    pub until: Timestamp,
}

impl std::fmt::Debug for RetiredSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetiredSecret").field("secret", &"<redacted>").field("until", &self.until).finish()
    }
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("company_id", &self.company_id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("retired_secrets", &self.retired_secrets)
            .field("owner_emails", &self.owner_emails)
            .field("custom_headers", &self.custom_headers.iter().map(|(name, _)| name).collect::<Vec<_>>())
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

impl Webhook {
    /// The replaced secrets that still sign at `now`, newest first. A secret's overlap ends on
    /// its own: past `until` it is simply no longer used.
    pub fn retired_secrets_in_force(&self, now: Timestamp) -> impl Iterator<Item = &RetiredSecret> {
        self.retired_secrets.iter().filter(move |r| now < r.until)
    }

    /// Replaces the secret. The old one keeps signing until `old_until` (not at all when that
    /// is not after `now`). No secret replaced earlier outlives it: a rotation with no overlap,
    /// the answer to a leak, stops every old secret at once, not only the latest. Replaced
    /// secrets whose time has passed, and the new secret itself, are forgotten.
    pub fn rotate_secret(&mut self, new: String, now: Timestamp, old_until: Timestamp) {
        for retired in &mut self.retired_secrets {
            retired.until = retired.until.min(old_until);
        }
        self.retired_secrets.retain(|r| now < r.until && r.secret != new);
        if let Some(old) = self.secret.replace(new).filter(|old| now < old_until && Some(old) != self.secret.as_ref()) {
            self.retired_secrets.insert(0, RetiredSecret { secret: old, until: old_until });
            self.retired_secrets.truncate(MAX_RETIRED_SECRETS);
        }
    }
}

/// A webhook's delivery health, kept by the store beside the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookHealth {
    pub state: WebhookState,
    /// Failed attempts since the last success.
    pub consecutive_failures: u32,
    /// While unhealthy: when the next probe may go out.
    pub probe_after: Timestamp,
}

#[cfg(test)]
mod rotation_tests {
    use super::*;

    fn webhook(secret: &str) -> Webhook {
        Webhook {
            id: WebhookId::parse("wh_1").unwrap(),
            company_id: CompanyId::parse("acme").unwrap(),
            url: "https://example.com/hook".into(),
            events: Vec::new(),
            secret: Some(secret.into()),
            retired_secrets: Vec::new(),
            owner_emails: Vec::new(),
            custom_headers: Vec::new(),
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn the_old_secret_signs_until_its_overlap_ends() {
        let mut w = webhook("old");
        w.rotate_secret("new".into(), Timestamp::from_millis(1_000), Timestamp::from_millis(5_000));
        assert_eq!(w.secret.as_deref(), Some("new"));
        assert_eq!(
            w.retired_secrets_in_force(Timestamp::from_millis(4_999)).map(|r| r.secret.as_str()).collect::<Vec<_>>(),
            ["old"]
        );
        assert_eq!(w.retired_secrets_in_force(Timestamp::from_millis(5_000)).count(), 0, "ends on its own");
    }

    #[test]
    fn no_overlap_retires_nothing_and_expired_secrets_are_forgotten() {
        let mut w = webhook("a");
        w.rotate_secret("b".into(), Timestamp::from_millis(1_000), Timestamp::from_millis(1_000));
        assert!(w.retired_secrets.is_empty(), "an overlap ending now keeps nothing");
        w.rotate_secret("c".into(), Timestamp::from_millis(2_000), Timestamp::from_millis(3_000));
        w.rotate_secret("d".into(), Timestamp::from_millis(4_000), Timestamp::from_millis(9_000));
        assert_eq!(w.retired_secrets.iter().map(|r| r.secret.as_str()).collect::<Vec<_>>(), ["c"], "b expired");
    }

    #[test]
    fn a_rotation_without_overlap_stops_every_old_secret() {
        let mut w = webhook("a");
        w.rotate_secret("b".into(), Timestamp::from_millis(1_000), Timestamp::from_millis(90_000));
        w.rotate_secret("c".into(), Timestamp::from_millis(2_000), Timestamp::from_millis(2_000));
        assert_eq!(w.secret.as_deref(), Some("c"));
        assert_eq!(w.retired_secrets_in_force(Timestamp::from_millis(2_000)).count(), 0, "a stops too, not only b");
        assert!(w.retired_secrets.is_empty());
    }

    #[test]
    fn a_shorter_overlap_shortens_the_older_ones_and_a_longer_one_never_extends_them() {
        let mut w = webhook("a");
        w.rotate_secret("b".into(), Timestamp::from_millis(1_000), Timestamp::from_millis(50_000));
        w.rotate_secret("c".into(), Timestamp::from_millis(2_000), Timestamp::from_millis(10_000));
        let untils =
            |w: &Webhook| w.retired_secrets.iter().map(|r| (r.secret.clone(), r.until.as_millis())).collect::<Vec<_>>();
        assert_eq!(untils(&w), [("b".to_string(), 10_000), ("a".to_string(), 10_000)]);
        w.rotate_secret("d".into(), Timestamp::from_millis(3_000), Timestamp::from_millis(99_000));
        assert_eq!(untils(&w), [("c".to_string(), 99_000), ("b".to_string(), 10_000), ("a".to_string(), 10_000)]);
    }

    #[test]
    fn rotating_back_to_an_old_secret_signs_with_it_once() {
        let mut w = webhook("a");
        w.rotate_secret("b".into(), Timestamp::from_millis(1_000), Timestamp::from_millis(50_000));
        w.rotate_secret("a".into(), Timestamp::from_millis(2_000), Timestamp::from_millis(50_000));
        assert_eq!(w.secret.as_deref(), Some("a"));
        assert_eq!(w.retired_secrets.iter().map(|r| r.secret.as_str()).collect::<Vec<_>>(), ["b"]);
    }

    #[test]
    fn at_most_ten_replaced_secrets_are_kept_and_debug_hides_them() {
        let mut w = webhook("s0");
        for n in 1..=12 {
            w.rotate_secret(format!("s{n}"), Timestamp::from_millis(n), Timestamp::from_millis(1_000));
        }
        assert_eq!(w.retired_secrets.len(), MAX_RETIRED_SECRETS);
        assert_eq!(w.retired_secrets[0].secret, "s11", "newest first");
        let shown = format!("{w:?}");
        assert!(!shown.contains("s11") && !shown.contains("s12"), "{shown}");
    }
}
