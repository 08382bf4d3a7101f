//! What `listen` and `verify` tell about one received delivery: the event, the key fields
//! of its payload, and both signature verdicts.

use screenhook_webhooks::check::{Checks, Delivery, check};
use serde_json::Value;

/// The identifier fields tried, in order, for the "which record is this about" column.
const ID_FIELDS: [&str; 5] =
    ["testSessionId", "certificationRequestId", "assessmentId", "interviewId", "mergedRequestId"];

/// The payload fields worth a glance, in print order; `versionedCodingScore` is shown by value.
const KEY_FIELDS: [&str; 8] = [
    "candidateEmail",
    "score",
    "expiredReason",
    "rejectedReasons",
    "integrityReviewSuggested",
    "assessmentStatus",
    "overallEvaluation",
    "deletedRequestId",
];

/// A delivery, summarised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// `None` when the body is not an envelope.
    pub event: Option<String>,
    /// `(field, value)`: the first of [`ID_FIELDS`] present.
    pub subject: Option<(String, String)>,
    /// `(field, value)` of the key fields present.
    pub fields: Vec<(String, String)>,
    pub webhook_id: Option<String>,
    /// `None` when no secret was given.
    pub checks: Option<Checks>,
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Summarises one delivery; checks its signatures when `secret` is given.
pub fn summarise(delivery: Delivery<'_>, secret: Option<&str>, now_secs: i64, tolerance_secs: Option<u64>) -> Summary {
    let envelope: Option<Value> = serde_json::from_slice(delivery.body).ok();
    let payload = envelope.as_ref().and_then(|envelope| envelope.get("payload")).filter(|p| p.is_object());
    let event = envelope.as_ref().and_then(|envelope| envelope.get("event")).and_then(Value::as_str).map(str::to_owned);
    let subject = payload.and_then(|payload| {
        ID_FIELDS.iter().find_map(|field| payload.get(*field).map(|value| ((*field).to_owned(), text(value))))
    });
    let mut fields: Vec<(String, String)> = Vec::new();
    if let Some(payload) = payload {
        for field in KEY_FIELDS {
            if let Some(value) = payload.get(field) {
                fields.push((field.to_owned(), text(value)));
            }
        }
        if let Some(value) = payload.pointer("/versionedCodingScore/value") {
            fields.push(("versionedCodingScore".to_owned(), text(value)));
        }
    }
    Summary {
        event,
        subject,
        fields,
        webhook_id: delivery.header("webhook-id").map(str::to_owned),
        checks: secret.map(|secret| check(secret, delivery, now_secs, tolerance_secs)),
    }
}

/// `✓`/`✗ reason` for one signature.
pub fn mark<E: std::fmt::Display>(result: &Result<(), E>) -> String {
    match result {
        Ok(()) => "✓".to_owned(),
        Err(error) => format!("✗ ({error})"),
    }
}
