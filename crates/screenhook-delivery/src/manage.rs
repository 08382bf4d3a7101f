//! Webhook management: create, update, delete and "test and save", plus replay and recovery of
//! a webhook's deliveries.
//!
//! Every save is gated on the **verification ping**, as at CodeSignal: the endpoint gets an
//! empty POST, signed and with its custom headers as a delivery would be, and must answer 200
//! within 10 s. Nothing is written unless it did, so a webhook that exists was reachable when
//! it was last saved. Input is validated first, so a typo costs no request to the endpoint.
//!
//! All operations are scoped to a company; another company's webhook reads as absent
//! ([`ManageError::NotFound`]).

use std::{collections::HashSet, sync::Arc};

use screenhook_domain::Clock;
use screenhook_domain::{
    CompanyId, EventId, EventKind, Millis, Timestamp, Webhook, WebhookHealth, WebhookId, validate,
};
use screenhook_store::{DeliveryRow, Store, StoreError, time_ordered_id};
mod plan;

pub use plan::{ApplyError, PlanApplied};

use screenhook_webhooks::{
    EgressPolicy, PingError, Sender, WebhookSecret, check_url, headers::MAX_CUSTOM_HEADERS, validate_custom_headers,
};

/// Most owner emails per webhook.
pub const MAX_OWNER_EMAILS: usize = 20;
/// Longest custom secret, in characters.
pub const MAX_SECRET_LEN: usize = 256;

/// A new webhook as the user describes it. `Debug` leaves the secret and header values out.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct WebhookInput {
    pub url: String,
    /// Event names (current or legacy Certify).
    pub events: Vec<String>,
    /// `None` generates a `whsec_…` secret.
    pub secret: Option<String>,
    pub owner_emails: Vec<String>,
    pub custom_headers: Vec<(String, String)>,
}

/// A change of secret. `Debug` leaves a given value out.
#[derive(Clone, PartialEq, Eq)]
pub enum NewSecret {
    /// A fresh random `whsec_…` secret.
    Generate,
    /// The user's own value.
    Given(String),
}

/// How long a replaced secret keeps signing unless the change says otherwise: a day, as Svix.
pub const DEFAULT_SECRET_OVERLAP: Millis = Millis::DAY;
/// The longest overlap a change may ask for: a week, as Svix.
pub const MAX_SECRET_OVERLAP: Millis = Millis::days(7);

/// Changes to a webhook; `None` keeps the current value. Lists are replaced whole. `Debug`
/// leaves the secret and header values out.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub secret: Option<NewSecret>,
    /// With a new secret: how long the old one keeps signing beside it (`webhook-signature`
    /// carries one `v1,` entry per secret). `None` is [`DEFAULT_SECRET_OVERLAP`]; zero stops
    /// it at once, for a secret that leaked.
    pub old_secret_valid_for: Option<Millis>,
    pub owner_emails: Option<Vec<String>>,
    pub custom_headers: Option<Vec<(String, String)>>,
}

impl std::fmt::Debug for WebhookInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookInput")
            .field("url", &self.url)
            .field("events", &self.events)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("owner_emails", &self.owner_emails)
            .field("custom_headers", &header_names(&self.custom_headers))
            .finish()
    }
}

impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NewSecret::Generate => f.write_str("Generate"),
            NewSecret::Given(_) => f.write_str("Given(<redacted>)"),
        }
    }
}

impl std::fmt::Debug for WebhookPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookPatch")
            .field("url", &self.url)
            .field("events", &self.events)
            .field("secret", &self.secret)
            .field("old_secret_valid_for", &self.old_secret_valid_for)
            .field("owner_emails", &self.owner_emails)
            .field("custom_headers", &self.custom_headers.as_deref().map(header_names))
            .finish()
    }
}

/// Header values often carry credentials of their own (`Authorization`), so only names show.
fn header_names(headers: &[(String, String)]) -> Vec<&str> {
    headers.iter().map(|(name, _)| name.as_str()).collect()
}

/// Why a management operation did nothing.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    /// An input field is invalid: which one, what is wrong with it and what is allowed.
    #[error("{field}: {problem}; allowed: {allowed}")]
    Invalid { field: &'static str, problem: String, allowed: String },
    /// No such webhook (or event) for this company.
    #[error("{what} {id} was not found")]
    NotFound { what: &'static str, id: String },
    /// The verification ping failed, so nothing was saved.
    #[error("the verification ping failed, nothing was saved: {0}")]
    Ping(#[from] PingError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ManageError {
    fn invalid(field: &'static str, problem: impl Into<String>, allowed: impl Into<String>) -> ManageError {
        ManageError::Invalid { field, problem: problem.into(), allowed: allowed.into() }
    }

    fn webhook_not_found(id: &WebhookId) -> ManageError {
        ManageError::NotFound { what: "webhook", id: id.to_string() }
    }
}

/// The webhook management service.
#[derive(Clone)]
pub struct WebhookManager {
    store: Arc<dyn Store>,
    sender: Sender,
    clock: Arc<dyn Clock>,
    /// The sender's own policy: a URL accepted at save time is one the worker may send to.
    egress: EgressPolicy,
}

impl WebhookManager {
    pub fn new(store: Arc<dyn Store>, sender: Sender, clock: Arc<dyn Clock>) -> WebhookManager {
        let egress = sender.config().egress.clone();
        WebhookManager { store, sender, clock, egress }
    }

    /// Validates, pings, and saves a new (active) webhook.
    pub async fn create(
        &self,
        company: &CompanyId,
        input: WebhookInput,
    ) -> Result<(Webhook, WebhookHealth), ManageError> {
        let webhook = self.new_webhook(company, input)?;
        self.ping(&webhook).await?;
        self.store.insert_webhook(&webhook).await?;
        self.find(company, &webhook.id).await
    }

    /// A new webhook from validated input, not yet pinged or saved.
    fn new_webhook(&self, company: &CompanyId, input: WebhookInput) -> Result<Webhook, ManageError> {
        let url = self.url(&input.url)?;
        let events = events(&input.events)?;
        let secret = match input.secret {
            Some(given) => secret(given)?,
            None => generated_secret(),
        };
        let owner_emails = owner_emails(&input.owner_emails)?;
        custom_headers(&input.custom_headers)?;
        let now = self.clock.now();
        let id = WebhookId::parse(time_ordered_id("wh_", 15)).expect("generated ids use the id alphabet");
        Ok(Webhook {
            id,
            company_id: company.clone(),
            url,
            events,
            secret: Some(secret),
            retired_secrets: Vec::new(),
            owner_emails,
            custom_headers: input.custom_headers,
            created_at: now,
            updated_at: now,
        })
    }

    /// Validates the changes, pings the endpoint as it would be after them (CodeSignal pings
    /// on every update) and saves. Health is kept: restoring a failing webhook is
    /// [`test_and_save`](Self::test_and_save)'s job.
    pub async fn update(
        &self,
        company: &CompanyId,
        id: &WebhookId,
        patch: WebhookPatch,
    ) -> Result<(Webhook, WebhookHealth), ManageError> {
        let (mut webhook, _) = self.find(company, id).await?;
        if let Some(url) = &patch.url {
            webhook.url = self.url(url)?;
        }
        if let Some(names) = &patch.events {
            webhook.events = events(names)?;
        }
        let overlap = patch.old_secret_valid_for.unwrap_or(DEFAULT_SECRET_OVERLAP);
        if !(0..=MAX_SECRET_OVERLAP.as_millis()).contains(&overlap.as_millis()) {
            return Err(ManageError::invalid(
                "oldSecretValidForSeconds",
                format!("is {} seconds", overlap.as_millis() / 1000),
                "0 (stop signing with the old secret now) to 604800 seconds (7 days)",
            ));
        }
        let now = self.clock.now();
        let new_secret = match patch.secret {
            Some(NewSecret::Given(given)) => Some(secret(given)?),
            Some(NewSecret::Generate) => Some(generated_secret()),
            None => None,
        };
        if let Some(new_secret) = new_secret {
            webhook.rotate_secret(new_secret, now, now.plus(overlap));
        }
        if let Some(emails) = &patch.owner_emails {
            webhook.owner_emails = owner_emails(emails)?;
        }
        if let Some(headers) = patch.custom_headers {
            custom_headers(&headers)?;
            webhook.custom_headers = headers;
        }
        webhook.updated_at = now;
        self.ping(&webhook).await?;
        self.store.update_webhook(&webhook).await?;
        self.find(company, id).await
    }

    /// Deletes a webhook; its queued deliveries are cancelled.
    pub async fn delete(&self, company: &CompanyId, id: &WebhookId) -> Result<(), ManageError> {
        if self.store.delete_webhook(company, id).await? { Ok(()) } else { Err(ManageError::webhook_not_found(id)) }
    }

    /// "Test and save": pings the webhook as configured and, on success, marks it active and
    /// makes its whole queue due now — a disabled webhook's kept queue included.
    pub async fn test_and_save(
        &self,
        company: &CompanyId,
        id: &WebhookId,
    ) -> Result<(Webhook, WebhookHealth), ManageError> {
        let (webhook, _) = self.find(company, id).await?;
        self.ping(&webhook).await?;
        if !self.store.restore_webhook(company, id, self.clock.now()).await? {
            // Deleted while the ping was in flight.
            return Err(ManageError::webhook_not_found(id));
        }
        self.find(company, id).await
    }

    /// Queues `event` to `webhook` again, with the same `webhook-id`.
    pub async fn replay(
        &self,
        company: &CompanyId,
        webhook: &WebhookId,
        event: &EventId,
    ) -> Result<DeliveryRow, ManageError> {
        self.find(company, webhook).await?;
        self.store
            .replay(company, webhook, event, self.clock.now())
            .await?
            .ok_or_else(|| ManageError::NotFound { what: "event", id: event.to_string() })
    }

    /// Queues again what failed for good since `since`; returns how many deliveries.
    pub async fn recover(
        &self,
        company: &CompanyId,
        webhook: &WebhookId,
        since: Timestamp,
    ) -> Result<u32, ManageError> {
        self.find(company, webhook).await?;
        Ok(self.store.recover(company, webhook, since, self.clock.now()).await?)
    }

    /// The company's webhook, or `NotFound`.
    pub async fn find(&self, company: &CompanyId, id: &WebhookId) -> Result<(Webhook, WebhookHealth), ManageError> {
        self.store.webhook(company, id).await?.ok_or_else(|| ManageError::webhook_not_found(id))
    }

    async fn ping(&self, webhook: &Webhook) -> Result<(), PingError> {
        self.sender.ping(&webhook.url, webhook.secret.as_deref(), &webhook.custom_headers).await
    }

    /// The URL as the user typed it (minus surrounding blanks): `X-CodeSignal-Signature`
    /// signs this exact string, so it is stored as given rather than normalised.
    fn url(&self, raw: &str) -> Result<String, ManageError> {
        let url = raw.trim();
        let allowed = "an absolute http(s) URL of at most 2048 characters to a public host, without \
                       credentials or fragment";
        if url.is_empty() {
            return Err(ManageError::invalid("url", "must not be empty", allowed));
        }
        // The server's own inspector bins are sent to without the SSRF guard, so they are
        // accepted at save time too; any other URL must pass the egress policy.
        if !self.sender.is_trusted(url) {
            check_url(&self.egress, url).map_err(|err| ManageError::invalid("url", err.to_string(), allowed))?;
        }
        Ok(url.to_owned())
    }
}

fn events(names: &[String]) -> Result<Vec<EventKind>, ManageError> {
    let allowed = || {
        let names: Vec<&str> = EventKind::ALL.iter().map(|kind| kind.name()).collect();
        format!("one or more distinct event names among: {}", names.join(", "))
    };
    if names.is_empty() {
        return Err(ManageError::invalid("events", "must name at least one event", allowed()));
    }
    let mut kinds = Vec::with_capacity(names.len());
    for name in names {
        let kind = EventKind::from_name(name)
            .ok_or_else(|| ManageError::invalid("events", format!("{name:?} is not an event name"), allowed()))?;
        if kinds.contains(&kind) {
            return Err(ManageError::invalid("events", format!("{name:?} is listed twice"), allowed()));
        }
        kinds.push(kind);
    }
    Ok(kinds)
}

/// A user-chosen secret. Any printable ASCII is accepted since CodeSignal lets users type
/// their own; the Standard Webhooks key is derived from it either way.
fn secret(given: String) -> Result<String, ManageError> {
    let allowed = format!("1–{MAX_SECRET_LEN} printable ASCII characters, or none to have one generated");
    let len = given.chars().count();
    if len == 0 {
        return Err(ManageError::invalid("secret", "must not be empty", allowed));
    }
    if len > MAX_SECRET_LEN {
        return Err(ManageError::invalid("secret", format!("is {len} characters long"), allowed));
    }
    if let Some(bad) = given.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(ManageError::invalid("secret", format!("contains {bad:?}, which is not printable ASCII"), allowed));
    }
    Ok(given)
}

/// `whsec_` + base64 of 32 random bytes: usable as-is by Standard Webhooks libraries.
fn generated_secret() -> String {
    WebhookSecret::from_bytes(rand::random()).to_string()
}

fn owner_emails(emails: &[String]) -> Result<Vec<String>, ManageError> {
    let allowed = format!("at most {MAX_OWNER_EMAILS} distinct addresses like name@example.com");
    if emails.len() > MAX_OWNER_EMAILS {
        return Err(ManageError::invalid("ownerEmails", format!("{} addresses given", emails.len()), allowed));
    }
    let mut seen = HashSet::with_capacity(emails.len());
    let mut out = Vec::with_capacity(emails.len());
    for email in emails {
        let address = validate::email(email).map_err(|err| match err {
            screenhook_domain::DomainError::Invalid { problem, .. } => {
                ManageError::invalid("ownerEmails", problem, allowed.clone())
            }
            other => ManageError::invalid("ownerEmails", other.to_string(), allowed.clone()),
        })?;
        if !seen.insert(address.clone()) {
            return Err(ManageError::invalid("ownerEmails", format!("{address:?} is listed twice"), allowed));
        }
        out.push(address);
    }
    Ok(out)
}

fn custom_headers(headers: &[(String, String)]) -> Result<(), ManageError> {
    validate_custom_headers(headers).map_err(|err| {
        ManageError::invalid(
            "customHeaders",
            err.to_string(),
            format!(
                "at most {MAX_CUSTOM_HEADERS} headers with distinct token names and values of at most 4096 bytes \
                 without control characters; not Host, Content-*, Connection, User-Agent, Cookie, Forwarded, \
                 Proxy-*, X-Forwarded-*, Webhook-* or X-CodeSignal-Signature"
            ),
        )
    })
}
