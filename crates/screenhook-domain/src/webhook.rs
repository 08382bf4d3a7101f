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

/// The reference's states: new webhooks start active; any failed attempt makes them
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

/// A company's webhook as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: WebhookId,
    pub company_id: CompanyId,
    /// The endpoint URL exactly as configured: the reference signs this string.
    pub url: String,
    /// The events it is subscribed to (current and legacy Certify names).
    pub events: Vec<EventKind>,
    /// The secret key; `None` sends no signature headers.
    pub secret: Option<String>,
    pub owner_emails: Vec<String>,
    /// Extra request headers, validated when saved.
    pub custom_headers: Vec<(String, String)>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
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
