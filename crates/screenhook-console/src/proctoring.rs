//! Proctoring: the queue of proctored results awaiting verification, and the proctor's three
//! decisions — verify, not verify with reasons, or a technical issue, which grants a retake.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    extract::{Path, State},
    response::IntoResponse,
};
use screenhook_domain::{Permission, RejectionReason, SessionId, VerificationStatus};
use screenhook_engine::{EngineError, SessionAction};
use screenhook_store::{Page, SessionFilter};

use crate::{
    Console, Failure, PageResult,
    auth::Signed,
    form::Posted,
    results::SessionRow,
    view::{Nav, Notice},
};

#[derive(Template, WebTemplate)]
#[template(path = "proctoring.html")]
struct QueuePage {
    nav: Nav,
    notice: Option<Notice>,
    queue: Vec<SessionRow>,
}

async fn page(console: &Console, signed: &Signed, notice: Option<Notice>) -> PageResult {
    let filter = SessionFilter { verification: Some(VerificationStatus::Pending), ..SessionFilter::default() };
    let mut queue =
        console.engine.store.company_sessions(&signed.company.id, &filter, Page { first: 200, offset: 0 }).await?;
    // Oldest submission first: the proctoring team works in arrival order.
    queue.sort_by_key(|s| s.finish_date);
    Ok(QueuePage { nav: Nav::new(signed, "proctoring"), notice, queue: queue.iter().map(SessionRow::of).collect() }
        .into_response())
}

/// `GET /proctoring`.
pub async fn queue(State(console): State<Console>, signed: Signed) -> PageResult {
    signed.require(Permission::Proctor)?;
    page(&console, &signed, None).await
}

/// `POST /proctoring/{id}` with `decision` = `verify`, `reject` or `technical`.
pub async fn decide(State(console): State<Console>, Path(id): Path<String>, posted: Posted) -> PageResult {
    let Posted { signed, fields } = posted;
    signed.require(Permission::Proctor)?;
    let id = SessionId::parse(id).map_err(|_| Failure::NotFound("There is no such result.".into()))?;
    let reasons = || {
        let name = fields.get("reason").unwrap_or("other").to_owned();
        let description = fields.get("description").unwrap_or_default().to_owned();
        vec![RejectionReason { name, description }]
    };
    let (action, done) = match fields.get("decision") {
        Some("verify") => (SessionAction::Verify, "verified"),
        Some("reject") => (SessionAction::NotVerify { reasons: reasons(), technical_issue: false }, "not verified"),
        Some("technical") => (
            SessionAction::NotVerify { reasons: reasons(), technical_issue: true },
            "not verified, and a retake was granted",
        ),
        other => {
            let message = format!(
                "decision: “{}” is not a decision (allowed: verify, reject, technical)",
                other.unwrap_or_default()
            );
            return page(&console, &signed, Notice::bad(message)).await;
        }
    };
    let notice = match console.engine.session_command(&signed.company.id, &id, action).await {
        Ok(outcome) => Notice::ok(format!("{}'s result was {done}.", outcome.session.candidate.full_name())),
        Err(EngineError::Refused(refused)) => Notice::bad(refused.to_string()),
        Err(other) => return Err(other.into()),
    };
    page(&console, &signed, notice).await
}
