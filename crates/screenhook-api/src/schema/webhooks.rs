//! Webhook management, the delivery log and replay — not in CodeSignal's API, where webhooks live
//! in the UI only. Everything needs the `webhooks` permission and is scoped to the caller's
//! company: another company's webhook, session or event is NOT_FOUND.
//!
//! Saves go through [`WebhookManager`], so every create, update and test-and-save sends the
//! verification ping and writes nothing unless the endpoint answered 200 within 10 s
//! (`WEBHOOK_VERIFICATION_FAILED` otherwise). The secret is returned by `createWebhook` and
//! `revealWebhookSecret` only.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject};
use screenhook_delivery::{NewSecret, WebhookInput as ManagedInput, WebhookManager, WebhookPatch};
use screenhook_domain::{EventId, Millis, Permission, SessionId, Webhook, WebhookHealth, WebhookId, WebhookState};
use screenhook_store::{AttemptRow, DeliveryFilter, DeliveryRow, StoredEvent};

use super::{allowed, engine, list_cost, parse_id, types::Ts};
use crate::error::ApiError;

/// Page size of `webhookDeliveries` when `first` is omitted, and its largest page.
pub const DEFAULT_DELIVERIES: i32 = 20;
pub const MAX_DELIVERIES: i32 = 100;

/// Shown instead of the value of a header that looks like a credential.
pub const REDACTED: &str = "[redacted]";

#[derive(Default)]
pub struct WebhookQuery;

#[derive(Default)]
pub struct WebhookMutation;

fn manager<'a>(ctx: &'a Context<'_>) -> &'a WebhookManager {
    ctx.data_unchecked::<WebhookManager>()
}

fn webhook_id(field: &str, id: &ID) -> Result<WebhookId, ApiError> {
    parse_id(field, id, WebhookId::parse)
}

/// A webhook's health.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "WebhookState", rename_items = "camelCase")]
pub enum WebhookStateObj {
    /// Delivering normally.
    Active,
    /// The last attempt failed: the webhook is probed with one delivery at a time.
    Unhealthy,
    /// Disabled after consecutive failures; its queue is kept until `testAndSaveWebhook`.
    Disabled,
}

impl From<WebhookState> for WebhookStateObj {
    fn from(state: WebhookState) -> WebhookStateObj {
        match state {
            WebhookState::Active => WebhookStateObj::Active,
            WebhookState::Unhealthy => WebhookStateObj::Unhealthy,
            WebhookState::Disabled => WebhookStateObj::Disabled,
        }
    }
}

/// A custom request header of a webhook.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct WebhookHeader {
    pub name: String,
    /// `[redacted]` for headers whose name suggests a credential (authorization, tokens, keys…).
    pub value: String,
}

#[derive(InputObject, Debug, Clone)]
pub struct WebhookHeaderInput {
    pub name: String,
    pub value: String,
}

/// Whether a header's value is likely a credential, and so is never read back.
fn is_credential(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["auth", "token", "secret", "key", "password", "passwd", "cookie", "session", "signature", "credential"]
        .iter()
        .any(|word| name.contains(word))
}

/// A webhook as listed: never its secret.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(name = "Webhook", complex)]
pub struct WebhookObj {
    pub id: ID,
    /// The endpoint URL exactly as configured (the `X-CodeSignal-Signature` signs this string).
    pub url: String,
    /// Subscribed event names.
    pub events: Vec<String>,
    pub owner_emails: Vec<String>,
    pub custom_headers: Vec<WebhookHeader>,
    pub state: WebhookStateObj,
    /// Failed attempts since the last success.
    pub consecutive_failures: i32,
    /// While unhealthy: when the next probe may go out.
    pub next_probe_date: Option<Ts>,
    pub create_date: Ts,
    pub update_date: Ts,
    /// When each replaced secret stops signing (see `previousSecretsValidUntil`).
    #[graphql(skip)]
    pub retired_until: Vec<screenhook_domain::Timestamp>,
}

#[ComplexObject]
impl WebhookObj {
    /// After a secret change, until when each replaced secret still signs deliveries beside the
    /// current one (one `v1,` entry each in `webhook-signature`), newest first. Empty when only
    /// the current secret signs.
    async fn previous_secrets_valid_until(&self, ctx: &Context<'_>) -> Vec<Ts> {
        let now = engine(ctx).clock.now();
        self.retired_until.iter().filter(|until| now < **until).map(|until| Ts(*until)).collect()
    }
}

impl From<(Webhook, WebhookHealth)> for WebhookObj {
    fn from((webhook, health): (Webhook, WebhookHealth)) -> WebhookObj {
        WebhookObj {
            id: ID(webhook.id.to_string()),
            url: webhook.url,
            events: webhook.events.iter().map(|kind| kind.name().to_owned()).collect(),
            owner_emails: webhook.owner_emails,
            custom_headers: webhook
                .custom_headers
                .into_iter()
                .map(|(name, value)| {
                    let value = if is_credential(&name) { REDACTED.to_owned() } else { value };
                    WebhookHeader { name, value }
                })
                .collect(),
            state: health.state.into(),
            consecutive_failures: i32::try_from(health.consecutive_failures).unwrap_or(i32::MAX),
            next_probe_date: (health.state == WebhookState::Unhealthy).then_some(Ts(health.probe_after)),
            create_date: Ts(webhook.created_at),
            update_date: Ts(webhook.updated_at),
            retired_until: webhook.retired_secrets.iter().map(|retired| retired.until).collect(),
        }
    }
}

/// `createWebhook`'s answer: the only place, with `revealWebhookSecret`, the secret is shown.
#[derive(SimpleObject)]
pub struct CreatedWebhook {
    pub webhook: WebhookObj,
    /// The signing secret (generated as `whsec_…` unless one was given).
    pub secret: String,
}

/// `createWebhook`.
#[derive(InputObject, Debug, Clone)]
pub struct WebhookInput {
    /// An absolute http(s) URL; it must answer the verification ping with 200 within 10 s.
    pub url: String,
    /// Event names to subscribe to (current or legacy Certify), at least one.
    pub events: Vec<String>,
    /// 1–256 printable ASCII characters; omitted, a `whsec_…` secret is generated.
    pub secret: Option<String>,
    /// Who is emailed about repeated failures (at most 20).
    #[graphql(default)]
    pub owner_emails: Vec<String>,
    /// Extra request headers (at most 20).
    #[graphql(default)]
    pub custom_headers: Vec<WebhookHeaderInput>,
}

/// `updateWebhook`: omitted fields are kept; lists are replaced whole.
#[derive(InputObject, Debug, Clone, Default)]
pub struct WebhookUpdateInput {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// Replaces the secret with this value.
    pub secret: Option<String>,
    /// Replaces the secret with a freshly generated one (read it with `revealWebhookSecret`).
    pub generate_secret: Option<bool>,
    /// With `secret` or `generateSecret`: how long the old secret keeps signing beside the new
    /// one, so receivers can switch without missing a delivery; older secrets still signing
    /// stop no later. 0 (for a leaked secret: every old secret stops now) to 604800 (7 days);
    /// omitted, 86400 (a day).
    pub old_secret_valid_for_seconds: Option<i32>,
    pub owner_emails: Option<Vec<String>>,
    pub custom_headers: Option<Vec<WebhookHeaderInput>>,
}

fn headers(input: Vec<WebhookHeaderInput>) -> Vec<(String, String)> {
    input.into_iter().map(|h| (h.name, h.value)).collect()
}

impl WebhookUpdateInput {
    fn into_patch(self) -> Result<WebhookPatch, ApiError> {
        let secret = match (self.secret, self.generate_secret.unwrap_or(false)) {
            (Some(_), true) => {
                return Err(ApiError::invalid(
                    "generateSecret",
                    "cannot be combined with secret",
                    "either secret or generateSecret: true, not both",
                ));
            }
            (Some(given), false) => Some(NewSecret::Given(given)),
            (None, true) => Some(NewSecret::Generate),
            (None, false) => None,
        };
        if self.old_secret_valid_for_seconds.is_some() && secret.is_none() {
            return Err(ApiError::invalid(
                "oldSecretValidForSeconds",
                "was given without a new secret",
                "only with secret or generateSecret: true",
            ));
        }
        Ok(WebhookPatch {
            url: self.url,
            events: self.events,
            secret,
            old_secret_valid_for: self.old_secret_valid_for_seconds.map(|s| Millis::from_millis(i64::from(s) * 1000)),
            owner_emails: self.owner_emails,
            custom_headers: self.custom_headers.map(headers),
        })
    }
}

/// `ready` (next in line), `waiting` (behind an earlier event of its session), `delivered`,
/// `failed` (gave up; replayable), `cancelled` (its webhook was deleted).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "camelCase")]
pub enum WebhookDeliveryState {
    Ready,
    Waiting,
    Delivered,
    Failed,
    Cancelled,
}

impl From<screenhook_store::DeliveryState> for WebhookDeliveryState {
    fn from(state: screenhook_store::DeliveryState) -> WebhookDeliveryState {
        use screenhook_store::DeliveryState as S;
        match state {
            S::Ready => WebhookDeliveryState::Ready,
            S::Waiting => WebhookDeliveryState::Waiting,
            S::Delivered => WebhookDeliveryState::Delivered,
            S::Failed => WebhookDeliveryState::Failed,
            S::Cancelled => WebhookDeliveryState::Cancelled,
        }
    }
}

/// One attempt to deliver.
#[derive(SimpleObject, Debug, Clone)]
pub struct WebhookAttempt {
    /// 1 for the first attempt.
    pub attempt: i32,
    pub date: Ts,
    /// The HTTP status received, if any.
    pub status: Option<i32>,
    /// Why no usable answer came: `timeout`, `connect`, `dns`, `tls`, `blocked_by_ssrf_guard`, …
    pub error_class: Option<String>,
    pub latency_ms: i32,
    /// The start of the response body (at most 2 KiB).
    pub response_excerpt: String,
}

impl From<AttemptRow> for WebhookAttempt {
    fn from(row: AttemptRow) -> WebhookAttempt {
        WebhookAttempt {
            attempt: i32::try_from(row.attempt).unwrap_or(i32::MAX),
            date: Ts(row.at),
            status: row.status.map(i32::from),
            error_class: row.error_class,
            latency_ms: i32::try_from(row.latency_ms).unwrap_or(i32::MAX),
            response_excerpt: row.excerpt,
        }
    }
}

/// One event queued to one webhook, and what became of it.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct WebhookDelivery {
    pub id: ID,
    pub webhook_id: ID,
    /// The event's id: the `webhook-id` header of every attempt, replays included.
    pub event_id: ID,
    /// The event name.
    pub event: String,
    pub session_id: Option<ID>,
    pub state: WebhookDeliveryState,
    /// Held while its webhook is unhealthy or disabled; sent once it recovers.
    pub paused: bool,
    pub attempts: i32,
    pub next_attempt_date: Option<Ts>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    /// Queued by `replayWebhookEvent` or `recoverWebhook` rather than by the event itself.
    pub replay: bool,
    pub create_date: Ts,
    pub finish_date: Option<Ts>,
}

#[ComplexObject]
impl WebhookDelivery {
    /// Every attempt, oldest first.
    #[graphql(complexity = "5 * child_complexity")]
    async fn attempt_log(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<WebhookAttempt>> {
        let caller = allowed(ctx, Permission::Webhooks)?;
        let id: i64 = self.id.parse().map_err(|_| ApiError::internal())?;
        let rows = engine(ctx).store.attempts(caller.company(), id).await.map_err(ApiError::from)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

impl From<DeliveryRow> for WebhookDelivery {
    fn from(row: DeliveryRow) -> WebhookDelivery {
        let open =
            matches!(row.state, screenhook_store::DeliveryState::Ready | screenhook_store::DeliveryState::Waiting);
        WebhookDelivery {
            id: ID(row.id.to_string()),
            webhook_id: ID(row.webhook_id.to_string()),
            event_id: ID(row.event_id.to_string()),
            event: row.event_kind.name().to_owned(),
            session_id: row.session_id.map(|s| ID(s.to_string())),
            state: row.state.into(),
            paused: row.paused,
            attempts: i32::try_from(row.attempts).unwrap_or(i32::MAX),
            next_attempt_date: open.then_some(Ts(row.next_attempt_at)),
            last_status: row.last_status.map(i32::from),
            last_error: row.last_error,
            replay: row.replay,
            create_date: Ts(row.created_at),
            finish_date: row.finished_at.map(Ts),
        }
    }
}

/// An event of the outbox, as delivered (`payload` is the envelope's `payload`).
#[derive(SimpleObject, Debug, Clone)]
pub struct WebhookEvent {
    /// The `webhook-id` of its deliveries; `replayWebhookEvent` takes it.
    pub id: ID,
    pub event: String,
    pub triggered_on: Ts,
    pub session_id: Option<ID>,
    pub test_id: Option<ID>,
    /// The payload as JSON text, exactly as sent.
    pub payload: String,
}

impl From<StoredEvent> for WebhookEvent {
    fn from(event: StoredEvent) -> WebhookEvent {
        WebhookEvent {
            id: ID(event.id.to_string()),
            event: event.kind.name().to_owned(),
            triggered_on: Ts(event.triggered_on),
            session_id: event.session_id.map(|s| ID(s.to_string())),
            test_id: event.test_id.map(|t| ID(t.to_string())),
            payload: event.payload.to_string(),
        }
    }
}

#[Object]
impl WebhookQuery {
    /// The company's webhooks, oldest first.
    async fn webhooks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<WebhookObj>> {
        let caller = allowed(ctx, Permission::Webhooks)?;
        let webhooks = engine(ctx).store.webhooks(caller.company()).await.map_err(ApiError::from)?;
        Ok(webhooks.into_iter().map(Into::into).collect())
    }

    async fn webhook(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<WebhookObj> {
        let caller = allowed(ctx, Permission::Webhooks)?;
        let found = manager(ctx).find(caller.company(), &webhook_id("id", &id)?).await.map_err(ApiError::from)?;
        Ok(found.into())
    }

    /// The delivery log, newest first; the filters combine. `first` defaults to 20 (at most
    /// 100); `before` (a delivery id) pages back.
    #[graphql(complexity = "list_cost(1, first, DEFAULT_DELIVERIES, child_complexity)")]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        webhook_id: Option<ID>,
        event_id: Option<ID>,
        session_id: Option<ID>,
        first: Option<i32>,
        before: Option<ID>,
    ) -> async_graphql::Result<Vec<WebhookDelivery>> {
        let caller = allowed(ctx, Permission::Webhooks)?;
        let first = first.unwrap_or(DEFAULT_DELIVERIES);
        if !(0..=MAX_DELIVERIES).contains(&first) {
            return Err(ApiError::invalid("first", format!("{first} is out of range"), "0 to 100").into());
        }
        let before = before
            .map(|b| {
                b.parse::<i64>().map_err(|_| {
                    ApiError::invalid(
                        "before",
                        format!("{:?} is not a delivery id", b.as_str()),
                        "the id of a delivery",
                    )
                })
            })
            .transpose()?;
        let webhook = match webhook_id {
            // Checked so that another company's webhook is NOT_FOUND, not an empty log.
            Some(id) => {
                Some(manager(ctx).find(caller.company(), &webhook_id_of(&id)?).await.map_err(ApiError::from)?.0.id)
            }
            None => None,
        };
        let session = match session_id {
            Some(id) => Some(own_session(ctx, caller.company(), &id).await?),
            None => None,
        };
        let event = event_id.map(|id| parse_id("eventId", &id, EventId::parse)).transpose()?;
        let filter = DeliveryFilter { webhook, event, session, before, limit: first as u32 };
        let rows = engine(ctx).store.deliveries(caller.company(), &filter).await.map_err(ApiError::from)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The events a test session fired, in firing order: what its webhooks were sent.
    async fn session_events(&self, ctx: &Context<'_>, session_id: ID) -> async_graphql::Result<Vec<WebhookEvent>> {
        let caller = allowed(ctx, Permission::Webhooks)?;
        let session = own_session(ctx, caller.company(), &session_id).await?;
        let events = engine(ctx).store.events_of_session(caller.company(), &session).await.map_err(ApiError::from)?;
        Ok(events.into_iter().map(Into::into).collect())
    }
}

fn webhook_id_of(id: &ID) -> Result<WebhookId, ApiError> {
    webhook_id("webhookId", id)
}

/// A session id of the caller's company, or NOT_FOUND.
async fn own_session(
    ctx: &Context<'_>,
    company: &screenhook_domain::CompanyId,
    id: &ID,
) -> Result<SessionId, ApiError> {
    let session = parse_id("sessionId", id, SessionId::parse)?;
    match engine(ctx).store.session(company, &session).await? {
        Some(_) => Ok(session),
        None => Err(ApiError::not_found("test session", id.as_str())),
    }
}

#[Object]
impl WebhookMutation {
    /// Pings the URL (an empty POST that must get 200 within 10 s) and saves the webhook only
    /// if it answered. The secret is in the answer: keep it.
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        webhook_fields: WebhookInput,
    ) -> async_graphql::Result<CreatedWebhook> {
        let caller = allowed(ctx, Permission::Webhooks)?;
        let input = ManagedInput {
            url: webhook_fields.url,
            events: webhook_fields.events,
            secret: webhook_fields.secret,
            owner_emails: webhook_fields.owner_emails,
            custom_headers: headers(webhook_fields.custom_headers),
        };
        let (webhook, health) = manager(ctx).create(caller.company(), input).await.map_err(ApiError::from)?;
        let secret = webhook.secret.clone().unwrap_or_default();
        Ok(CreatedWebhook { webhook: (webhook, health).into(), secret })
    }

    /// Changes a webhook; the endpoint is pinged as it will be configured, and nothing is saved
    /// unless it answers 200. Health is kept: use `testAndSaveWebhook` to restore a failing one.
    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        id: ID,
        webhook_fields: WebhookUpdateInput,
    ) -> async_graphql::Result<WebhookObj> {
        let caller = allowed(ctx, Permission::Webhooks)?;
        let id = webhook_id("id", &id)?;
        let patch = webhook_fields.into_patch()?;
        let saved = manager(ctx).update(caller.company(), &id, patch).await.map_err(ApiError::from)?;
        Ok(saved.into())
    }

    /// Deletes a webhook; its undelivered deliveries are cancelled. Returns the id.
    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let caller = allowed(ctx, Permission::Webhooks)?;
        manager(ctx).delete(caller.company(), &webhook_id("id", &id)?).await.map_err(ApiError::from)?;
        Ok(id)
    }

    /// "Test and save": pings the webhook and, if it answered 200, marks it active and sends
    /// its queue now — including what a disabled webhook kept.
    async fn test_and_save_webhook(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<WebhookObj> {
        let caller = allowed(ctx, Permission::Webhooks)?;
        let saved =
            manager(ctx).test_and_save(caller.company(), &webhook_id("id", &id)?).await.map_err(ApiError::from)?;
        Ok(saved.into())
    }

    /// The webhook's signing secret. Shown only here and by `createWebhook`.
    async fn reveal_webhook_secret(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<String>> {
        let caller = allowed(ctx, Permission::Webhooks)?;
        let (webhook, _) =
            manager(ctx).find(caller.company(), &webhook_id("id", &id)?).await.map_err(ApiError::from)?;
        Ok(webhook.secret)
    }

    /// Queues one event to the webhook again, with the same `webhook-id`.
    async fn replay_webhook_event(
        &self,
        ctx: &Context<'_>,
        webhook_id: ID,
        event_id: ID,
    ) -> async_graphql::Result<WebhookDelivery> {
        let caller = allowed(ctx, Permission::Webhooks)?;
        let webhook = webhook_id_of(&webhook_id)?;
        let event = parse_id("eventId", &event_id, EventId::parse)?;
        let row = manager(ctx).replay(caller.company(), &webhook, &event).await.map_err(ApiError::from)?;
        Ok(row.into())
    }

    /// Queues again every delivery to the webhook created since `since` that failed for good;
    /// returns how many.
    async fn recover_webhook(&self, ctx: &Context<'_>, webhook_id: ID, since: Ts) -> async_graphql::Result<i32> {
        let caller = allowed(ctx, Permission::Webhooks)?;
        let webhook = webhook_id_of(&webhook_id)?;
        let queued = manager(ctx).recover(caller.company(), &webhook, since.0).await.map_err(ApiError::from)?;
        Ok(i32::try_from(queued).unwrap_or(i32::MAX))
    }
}

#[cfg(test)]
mod unit {
    use super::is_credential;

    #[test]
    fn credential_like_header_names_are_recognised() {
        for name in ["Authorization", "X-Api-Key", "X-Auth-Token", "x-client-secret", "X-Session", "Api-Signature"] {
            assert!(is_credential(name), "{name}");
        }
        for name in ["X-Team", "X-Tenant", "Accept-Language"] {
            assert!(!is_credential(name), "{name}");
        }
    }
}
