//! Integrations → Webhooks, CodeSignal's Manage Webhooks page and more: the list with each
//! webhook's state and last delivery; adding and editing with an event picker (the transition
//! guide's Step 2 sets as one-click presets), custom headers and owner emails, behind the
//! verification ping, whose failure is shown on the form and saves nothing; "Test and save";
//! deleting; revealing the secret; and the delivery log with attempts, replay, recovery and a
//! chart.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, Query, State},
    response::{IntoResponse, Redirect},
};
use screenhook_delivery::{ManageError, NewSecret, WebhookInput, WebhookPatch};
use screenhook_domain::{EventId, EventKind, Millis, Permission, Webhook, WebhookHealth, WebhookId, certify};
use screenhook_store::DeliveryFilter;
use serde::Deserialize;

use crate::{
    Console, Failure, PageResult,
    auth::Signed,
    chart,
    form::{Fields, Posted},
    report::delivery_state,
    view::{self, Nav, Notice},
};

/// Deliveries per page of the log.
const LOG_PAGE: u32 = 30;

/// A group of the event picker.
pub struct EventGroup {
    pub title: &'static str,
    pub legacy: bool,
    pub events: Vec<&'static str>,
}

fn event_groups() -> Vec<EventGroup> {
    let pick = |f: &dyn Fn(EventKind) -> bool| EventKind::ALL.into_iter().filter(|k| f(*k)).map(|k| k.name()).collect();
    let assessment = |k: EventKind| matches!(k, EventKind::AssessmentCreated | EventKind::AssessmentUpdated);
    let interview = |k: EventKind| k.name().starts_with("liveInterview");
    vec![
        EventGroup {
            title: "Invitations and results",
            legacy: false,
            events: pick(&|k| !k.is_legacy_certify() && !assessment(k) && !interview(k)),
        },
        EventGroup { title: "Pre-Screens (assessments)", legacy: false, events: pick(&assessment) },
        EventGroup { title: "Live interviews", legacy: false, events: pick(&interview) },
        EventGroup {
            title: "Legacy Certify events (removed from the Webhook API; Certify-shaped payloads)",
            legacy: true,
            events: pick(&|k| k.is_legacy_certify()),
        },
    ]
}

fn preset(events: &[EventKind]) -> String {
    events.iter().map(|k| k.name()).collect::<Vec<_>>().join(" ")
}

/// A webhook as the list shows it.
pub struct WebhookRow {
    pub id: String,
    pub url: String,
    pub events: usize,
    pub legacy_events: usize,
    pub state: &'static str,
    pub state_class: &'static str,
    pub failures: u32,
    pub last_delivery: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "webhooks.html")]
struct ListPage {
    nav: Nav,
    notice: Option<Notice>,
    webhooks: Vec<WebhookRow>,
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// `GET /integrations/webhooks`.
pub async fn list(State(console): State<Console>, signed: Signed, Query(q): Query<Done>) -> PageResult {
    signed.require(Permission::Webhooks)?;
    let store = &console.engine.store;
    let mut webhooks = Vec::new();
    for (w, health) in store.webhooks(&signed.company.id).await? {
        let filter = DeliveryFilter { webhook: Some(w.id.clone()), limit: 1, ..DeliveryFilter::default() };
        let last = store.deliveries(&signed.company.id, &filter).await?.into_iter().next();
        let (state, state_class) = view::health(health.state);
        webhooks.push(WebhookRow {
            id: w.id.to_string(),
            url: w.url.clone(),
            events: w.events.len(),
            legacy_events: w.events.iter().filter(|k| k.is_legacy_certify()).count(),
            state,
            state_class,
            failures: health.consecutive_failures,
            last_delivery: match last {
                Some(d) => format!("{} · {} · {}", d.event_kind.name(), delivery_state(&d).0, view::when(d.created_at)),
                None => "never".to_owned(),
            },
        });
    }
    let notice = match q.done.as_deref() {
        Some("deleted") => Notice::ok("The webhook was deleted; its queued deliveries were cancelled."),
        _ => None,
    };
    Ok(ListPage { nav: Nav::new(&signed, "webhooks"), notice, webhooks }.into_response())
}

/// What the add/edit form shows: the saved or the typed values.
pub struct FormValues {
    pub url: String,
    pub events: Vec<String>,
    pub owner_emails: String,
    pub headers: String,
    pub secret: String,
}

impl FormValues {
    fn of(webhook: &Webhook) -> FormValues {
        FormValues {
            url: webhook.url.clone(),
            events: webhook.events.iter().map(|k| k.name().to_owned()).collect(),
            owner_emails: webhook.owner_emails.join(", "),
            headers: webhook.custom_headers.iter().map(|(n, v)| format!("{n}: {v}")).collect::<Vec<_>>().join("\n"),
            secret: String::new(),
        }
    }

    fn typed(fields: &Fields) -> FormValues {
        FormValues {
            url: fields.get("url").unwrap_or_default().to_owned(),
            events: fields.all("events"),
            owner_emails: fields.get("ownerEmails").unwrap_or_default().to_owned(),
            headers: fields.get("headers").unwrap_or_default().to_owned(),
            secret: fields.get("secret").unwrap_or_default().to_owned(),
        }
    }

    pub fn has(&self, event: &str) -> bool {
        self.events.iter().any(|e| e == event)
    }
}

fn emails(raw: &str) -> Vec<String> {
    raw.split([',', '\n', ';', ' ']).map(str::trim).filter(|e| !e.is_empty()).map(str::to_owned).collect()
}

/// `Name: value` lines.
fn headers(raw: &str) -> Result<Vec<(String, String)>, String> {
    raw.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| match line.split_once(':') {
            Some((name, value)) if !name.trim().is_empty() => Ok((name.trim().to_owned(), value.trim().to_owned())),
            _ => Err(format!("headers: “{line}” is not a header line (allowed: one “Name: value” per line)")),
        })
        .collect()
}

/// The webhook page (or the new-webhook page when `webhook` is `None`).
#[derive(Template, WebTemplate)]
#[template(path = "webhook.html")]
struct WebhookPage {
    nav: Nav,
    notice: Option<Notice>,
    /// Set when a save failed: shown beside the URL, where the ping went.
    form_error: Option<String>,
    values: FormValues,
    groups: Vec<EventGroup>,
    preset_proctored: String,
    preset_not_proctored: String,
    saved: Option<Saved>,
}

/// What only an existing webhook has.
pub struct Saved {
    pub id: String,
    pub secret: Option<String>,
    /// When each replaced secret stops signing, for those still in force.
    pub previous_until: Vec<String>,
    pub state: &'static str,
    pub state_class: &'static str,
    pub failures: u32,
    pub created: String,
    pub deliveries: Vec<LogRow>,
    pub older: Option<String>,
    pub window: &'static str,
    pub windows: Vec<(&'static str, &'static str, bool)>,
    pub chart: String,
    pub totals: (u32, u32, u32),
    pub recover_since: String,
}

pub struct LogRow {
    pub id: i64,
    pub event: &'static str,
    pub legacy: bool,
    pub event_id: String,
    pub session: Option<String>,
    pub state: &'static str,
    pub state_class: &'static str,
    pub replay: bool,
    pub created: String,
    pub attempts: Vec<AttemptView>,
}

pub struct AttemptView {
    pub number: u32,
    pub at: String,
    pub status: String,
    pub ok: bool,
    pub latency_ms: u32,
    pub error_class: String,
    pub excerpt: String,
}

fn page(
    signed: &Signed,
    notice: Option<Notice>,
    form_error: Option<String>,
    values: FormValues,
    saved: Option<Saved>,
) -> axum::response::Response {
    WebhookPage {
        nav: Nav::new(signed, "webhooks"),
        notice,
        form_error,
        values,
        groups: event_groups(),
        preset_proctored: preset(certify::STEP2_PROCTORED),
        preset_not_proctored: preset(certify::STEP2_NOT_PROCTORED),
        saved,
    }
    .into_response()
}

/// `GET /integrations/webhooks/new`.
pub async fn new_form(signed: Signed) -> PageResult {
    signed.require(Permission::Webhooks)?;
    let values = FormValues {
        url: String::new(),
        events: vec![],
        owner_emails: String::new(),
        headers: String::new(),
        secret: String::new(),
    };
    Ok(page(&signed, None, None, values, None))
}

/// A save's refusal, as the form shows it: the verification ping's outcome or the bad field.
fn refusal(err: ManageError) -> Result<String, Failure> {
    match err {
        ManageError::Invalid { .. } | ManageError::Ping(_) => Ok(err.to_string()),
        other => Err(other.into()),
    }
}

/// `POST /integrations/webhooks`: "Test and save" a new webhook.
pub async fn create(State(console): State<Console>, posted: Posted) -> PageResult {
    let Posted { signed, fields } = posted;
    signed.require(Permission::Webhooks)?;
    let values = FormValues::typed(&fields);
    let custom_headers = match headers(&values.headers) {
        Ok(h) => h,
        Err(message) => return Ok(page(&signed, None, Some(message), values, None)),
    };
    let input = WebhookInput {
        url: values.url.clone(),
        events: values.events.clone(),
        secret: fields.get("secret").map(str::to_owned),
        owner_emails: emails(&values.owner_emails),
        custom_headers,
    };
    match console.webhooks.create(&signed.company.id, input).await {
        Ok((webhook, _)) => {
            Ok(Redirect::to(&format!("/integrations/webhooks/{}?done=created", webhook.id)).into_response())
        }
        Err(err) => Ok(page(&signed, None, Some(refusal(err)?), values, None)),
    }
}

#[derive(Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
    before: Option<i64>,
    window: Option<String>,
}

/// The chart's windows: (name, label, span, bucket).
const WINDOWS: [(&str, &str, Millis, Millis); 3] = [
    ("hour", "Last hour", Millis::HOUR, Millis::MINUTE),
    ("day", "Last 24 hours", Millis::DAY, Millis::from_millis(30 * 60_000)),
    ("week", "Last 7 days", Millis::days(7), Millis::from_millis(6 * 3_600_000)),
];

async fn saved(
    console: &Console,
    signed: &Signed,
    webhook: &Webhook,
    health: WebhookHealth,
    before: Option<i64>,
    window: Option<&str>,
) -> Result<Saved, Failure> {
    let store = &console.engine.store;
    let company = &signed.company.id;
    let filter =
        DeliveryFilter { webhook: Some(webhook.id.clone()), before, limit: LOG_PAGE + 1, ..DeliveryFilter::default() };
    let mut rows = store.deliveries(company, &filter).await?;
    let more = rows.len() > LOG_PAGE as usize;
    rows.truncate(LOG_PAGE as usize);
    let mut deliveries = Vec::with_capacity(rows.len());
    for d in &rows {
        let attempts = store.attempts(company, d.id).await?;
        let (state, state_class) = delivery_state(d);
        deliveries.push(LogRow {
            id: d.id,
            event: d.event_kind.name(),
            legacy: d.event_kind.is_legacy_certify(),
            event_id: d.event_id.to_string(),
            session: d.session_id.as_ref().map(|s| s.to_string()),
            state,
            state_class,
            replay: d.replay,
            created: view::when(d.created_at),
            attempts: attempts
                .into_iter()
                .map(|a| AttemptView {
                    number: a.attempt,
                    at: view::when(a.at),
                    status: a.status.map(|s| s.to_string()).unwrap_or_else(|| "no answer".into()),
                    ok: a.status == Some(200),
                    latency_ms: a.latency_ms,
                    error_class: a.error_class.unwrap_or_default(),
                    excerpt: a.excerpt,
                })
                .collect(),
        });
    }
    let older = more.then(|| {
        let last = rows.last().map(|d| d.id).unwrap_or_default();
        format!("/integrations/webhooks/{}?before={last}", webhook.id)
    });

    let (window, _, span, bucket) = WINDOWS.iter().copied().find(|w| Some(w.0) == window).unwrap_or(WINDOWS[1]);
    let now = console.engine.company_now(company).await?;
    // Buckets end on a bucket boundary, so the chart does not shift with every reload.
    let until =
        screenhook_domain::Timestamp::from_millis((now.as_millis() / bucket.as_millis() + 1) * bucket.as_millis());
    let since = screenhook_domain::Timestamp::from_millis(until.as_millis() - span.as_millis());
    let series = store.delivery_series(company, &webhook.id, since, until, bucket).await?;
    let totals = series.iter().fold((0, 0, 0), |t, b| (t.0 + b.delivered, t.1 + b.failed, t.2 + b.pending));
    let (state, state_class) = view::health(health.state);
    Ok(Saved {
        id: webhook.id.to_string(),
        secret: webhook.secret.clone(),
        previous_until: webhook.retired_secrets_in_force(now).map(|retired| view::when(retired.until)).collect(),
        state,
        state_class,
        failures: health.consecutive_failures,
        created: view::when(webhook.created_at),
        deliveries,
        older,
        window,
        windows: WINDOWS.iter().map(|w| (w.0, w.1, w.0 == window)).collect(),
        chart: chart::deliveries(&series, bucket),
        totals,
        recover_since: view::datetime_local(screenhook_domain::Timestamp::from_millis(
            now.as_millis() - Millis::DAY.as_millis(),
        )),
    })
}

fn webhook_id(id: &str) -> Result<WebhookId, Failure> {
    WebhookId::parse(id).map_err(|_| Failure::NotFound("There is no such webhook.".into()))
}

async fn show_with(
    console: &Console,
    signed: &Signed,
    id: &WebhookId,
    notice: Option<Notice>,
    form: Option<(String, FormValues)>,
) -> PageResult {
    let (webhook, health) = console.webhooks.find(&signed.company.id, id).await?;
    let saved = saved(console, signed, &webhook, health, None, None).await?;
    let (form_error, values) = match form {
        Some((error, values)) => (Some(error), values),
        None => (None, FormValues::of(&webhook)),
    };
    Ok(page(signed, notice, form_error, values, Some(saved)))
}

/// `GET /integrations/webhooks/{id}`: settings, secret, delivery log and chart.
pub async fn show(
    State(console): State<Console>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> PageResult {
    signed.require(Permission::Webhooks)?;
    let id = webhook_id(&id)?;
    let (webhook, health) = console.webhooks.find(&signed.company.id, &id).await?;
    let saved = saved(&console, &signed, &webhook, health, q.before, q.window.as_deref()).await?;
    let notice = match q.done.as_deref() {
        Some("created") => {
            Notice::ok("The endpoint answered the verification ping with 200 OK: the webhook is saved and active.")
        }
        _ => None,
    };
    Ok(page(&signed, notice, None, FormValues::of(&webhook), Some(saved)))
}

/// `POST /integrations/webhooks/{id}`: "Test and save" a changed configuration.
pub async fn update(State(console): State<Console>, Path(id): Path<String>, posted: Posted) -> PageResult {
    let Posted { signed, fields } = posted;
    signed.require(Permission::Webhooks)?;
    let id = webhook_id(&id)?;
    let values = FormValues::typed(&fields);
    let custom_headers = match headers(&values.headers) {
        Ok(h) => h,
        Err(message) => return show_with(&console, &signed, &id, None, Some((message, values))).await,
    };
    let secret = match fields.get("secretChange") {
        Some("generate") => Some(NewSecret::Generate),
        Some("given") => match fields.get("secret") {
            Some(s) => Some(NewSecret::Given(s.to_owned())),
            None => {
                let message = "secret: empty (allowed: a secret of your own, or choose to keep or generate one)".into();
                return show_with(&console, &signed, &id, None, Some((message, values))).await;
            }
        },
        _ => None,
    };
    let old_secret_valid_for = match fields.get("oldSecretValidForSeconds").map(str::parse::<i64>) {
        None => None,
        Some(Ok(secs)) => Some(Millis::from_millis(secs.saturating_mul(1000))),
        Some(Err(_)) => {
            let message = "oldSecretValidForSeconds: not a number of seconds (allowed: 0 to 604800)".into();
            return show_with(&console, &signed, &id, None, Some((message, values))).await;
        }
    };
    let patch = WebhookPatch {
        url: Some(values.url.clone()),
        events: Some(values.events.clone()),
        secret,
        old_secret_valid_for,
        owner_emails: Some(emails(&values.owner_emails)),
        custom_headers: Some(custom_headers),
    };
    match console.webhooks.update(&signed.company.id, &id, patch).await {
        Ok(_) => {
            show_with(&console, &signed, &id, Notice::ok("The endpoint answered the verification ping: saved."), None)
                .await
        }
        Err(err) => {
            let message = refusal(err)?;
            show_with(&console, &signed, &id, None, Some((message, values))).await
        }
    }
}

/// `POST /integrations/webhooks/{id}/{test|delete|replay|recover}`.
pub async fn action(
    State(console): State<Console>,
    Path((id, action)): Path<(String, String)>,
    posted: Posted,
) -> PageResult {
    let Posted { signed, fields } = posted;
    signed.require(Permission::Webhooks)?;
    let id = webhook_id(&id)?;
    let company = &signed.company.id;
    let notice = match action.as_str() {
        "delete" => {
            console.webhooks.delete(company, &id).await?;
            return Ok(Redirect::to("/integrations/webhooks?done=deleted").into_response());
        }
        "test" => match console.webhooks.test_and_save(company, &id).await {
            Ok(_) => Notice::ok(
                "The endpoint answered 200 OK: the webhook is healthy, and its queue is being delivered now.",
            ),
            Err(err) => Notice::bad(refusal(err)?),
        },
        "replay" => {
            let event = fields
                .get("event")
                .and_then(|e| EventId::parse(e).ok())
                .ok_or_else(|| Failure::BadRequest("event: missing or not an event id".into()))?;
            match console.webhooks.replay(company, &id, &event).await {
                Ok(_) => Notice::ok(format!("Event {event} was queued again, with the same webhook-id.")),
                Err(err) => Notice::bad(refusal(err)?),
            }
        }
        "recover" => {
            let raw = fields.get("since").unwrap_or_default();
            match view::parse_datetime_local(raw) {
                None => Notice::bad(format!("since: “{raw}” is not a date and time (allowed: YYYY-MM-DDTHH:MM, UTC)")),
                Some(since) => match console.webhooks.recover(company, &id, since).await {
                    Ok(n) => {
                        Notice::ok(format!("{n} failed deliveries since {} were queued again.", view::when(since)))
                    }
                    Err(err) => Notice::bad(refusal(err)?),
                },
            }
        }
        _ => return Err(Failure::NotFound("There is no such action.".into())),
    };
    show_with(&console, &signed, &id, notice, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_picker_offers_every_event_once_and_marks_the_legacy_ones() {
        let groups = event_groups();
        let mut all: Vec<&str> = groups.iter().flat_map(|g| g.events.clone()).collect();
        all.sort_unstable();
        let mut expected: Vec<&str> = EventKind::ALL.iter().map(|k| k.name()).collect();
        expected.sort_unstable();
        assert_eq!(all, expected);
        let legacy = groups.iter().find(|g| g.legacy).unwrap();
        assert!(legacy.events.iter().all(|e| EventKind::from_name(e).unwrap().is_legacy_certify()));
        assert_eq!(legacy.events.len(), 6);
    }

    #[test]
    fn header_lines_and_emails_are_read_leniently_and_refused_clearly() {
        assert_eq!(
            headers("X-A: 1\n\n  X-B:two words ").unwrap(),
            [("X-A".into(), "1".into()), ("X-B".into(), "two words".into())]
        );
        assert!(headers("no colon here").unwrap_err().contains("Name: value"));
        assert_eq!(emails("a@x.io, b@x.io\nc@x.io"), ["a@x.io", "b@x.io", "c@x.io"]);
    }
}
